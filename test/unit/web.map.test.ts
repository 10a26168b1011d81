/**
 * The dashboard map's pure parts: bboxes across the antimeridian and 0–360° grids placed as
 * continuous rectangles, country rings split at the antimeridian (on the real world-atlas data),
 * and the 2–98 % stretch of a COG's values with nodata left out.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { chooseStretch, formatRange, percentileRanges, stretchColorExpression } from '../../web/cog.stretch.js';
import { countJumps, coverageStart, placeBboxes, splitAtAntimeridian, type Bbox, type Ring } from '../../web/map.geometry.js';

describe('tile bboxes on a web map', () => {
  it('places tiles across the antimeridian side by side, west of it first', () => {
    // writeAntimeridian's two tiles, as STAC writes them: the first one with west > east.
    const bboxes: Bbox[] = [[170, -25, -177.2, -15], [-177.2, -25, -170, -15]];
    expect(coverageStart(bboxes)).toBe(170);
    expect(placeBboxes(bboxes)).toEqual([[170, -25, 182.8, -15], [182.8, -25, 190, -15]]);
  });

  it('keeps a 0–360° grid in one piece', () => {
    // writeGlobal0To360 in 256-pixel tiles (128°): the middle column crosses the antimeridian, the last lies past it.
    const bboxes: Bbox[] = [[0, -38, 128, 90], [128, -38, -104, 90], [-104, -38, 0, 90], [0, -90, 128, -38], [128, -90, -104, -38], [-104, -90, 0, -38]];
    const placed = placeBboxes(bboxes) as Bbox[];
    for (const [west, south, east, north] of placed) {
      expect(east).toBeGreaterThan(west);
      expect(north).toBeGreaterThan(south);
      expect(east - west).toBeCloseTo(west === -104 ? 104 : 128);
    }
    // Contiguous: together they span exactly one turn.
    expect(Math.max(...placed.map((b) => b[2])) - Math.min(...placed.map((b) => b[0]))).toBeCloseTo(360);
    expect(placed[1]).toEqual([128, -38, 256, 90]);
  });

  it('keeps polar bboxes that span every longitude, and grids past 180° given as such', () => {
    expect(placeBboxes([[-180, 77, 180, 90], [0, 77, 119.36, 87.39]])).toEqual([[-180, 77, 180, 90], [0, 77, 119.36, 87.39]]);
    expect(placeBboxes([[190, 10, 200, 20]])).toEqual([[-170, 10, -160, 20]]);
  });

  it('leaves unknown bboxes unknown and ordinary ones as they are', () => {
    expect(placeBboxes([null, [14, 46.5, 14.256, 46.744]])).toEqual([null, [14, 46.5, 14.256, 46.744]]);
    expect(placeBboxes([])).toEqual([]);
  });
});

describe('country outlines across the antimeridian', () => {
  const ring = (points: Array<[number, number]>): Ring => [...points, points[0]!];

  it('splits a ring that jumps across it into one piece on each side', () => {
    // An island from 178°E to 178°W, written with longitudes in [-180, 180].
    const island = ring([[178, -17], [-178, -17], [-178, -16], [178, -16]]);
    expect(countJumps(island)).toBe(2);
    const pieces = splitAtAntimeridian([island]);
    expect(pieces).toHaveLength(2);
    for (const [outer] of pieces) {
      expect(countJumps(outer!)).toBe(0);
      const lons = outer!.map(([lon]) => lon);
      expect(Math.max(...lons) - Math.min(...lons)).toBeCloseTo(2);
    }
  });

  it('leaves rings that do not jump, and rings around a pole, as they are', () => {
    const square = ring([[10, 10], [20, 10], [20, 20], [10, 20]]);
    expect(splitAtAntimeridian([square])).toEqual([[square]]);
    const aroundThePole = ring([[-180, -80], [0, -70], [180, -80], [180, -90], [-180, -90]]);
    expect(splitAtAntimeridian([aroundThePole])).toEqual([[aroundThePole]]);
  });

  it('leaves no ring of the world-atlas countries jumping across the map', () => {
    const require = createRequire(import.meta.url);
    const topology = JSON.parse(readFileSync(require.resolve('world-atlas/countries-110m.json'), 'utf8')) as {
      arcs: Array<Array<[number, number]>>;
      transform: { scale: [number, number]; translate: [number, number] };
      objects: { countries: { geometries: Array<{ type: string; arcs: unknown; properties: { name: string } }> } };
    };
    // TopoJSON decoding, enough for this check: delta-encoded, quantized arcs.
    const arcs = topology.arcs.map((arc) => {
      let x = 0;
      let y = 0;
      return arc.map(([dx, dy]): [number, number] => {
        x += dx;
        y += dy;
        return [x * topology.transform.scale[0] + topology.transform.translate[0], y * topology.transform.scale[1] + topology.transform.translate[1]];
      });
    });
    const ringOf = (indexes: number[]): Ring =>
      indexes.flatMap((index, i) => {
        const arc = index >= 0 ? arcs[index]! : [...arcs[~index]!].reverse();
        return i === 0 ? arc : arc.slice(1);
      });
    let jumping = 0;
    for (const geometry of topology.objects.countries.geometries) {
      const polygons = (geometry.type === 'Polygon' ? [geometry.arcs] : geometry.type === 'MultiPolygon' ? geometry.arcs : []) as number[][][];
      for (const polygon of polygons) {
        const rings = polygon.map(ringOf);
        const before = countJumps(rings[0]!);
        if (before > 0 && before % 2 === 0) jumping++;
        for (const piece of splitAtAntimeridian(rings)) {
          for (const part of piece) {
            // Rings around a pole keep their one jump: it is their edge along the pole.
            if (before % 2 === 0) expect(countJumps(part), geometry.properties.name).toBe(0);
            for (const [lon] of part) expect(Math.abs(lon)).toBeLessThanOrEqual(180);
          }
        }
      }
    }
    // Fiji and two parts of Russia jump in the 110 m data.
    expect(jumping).toBe(3);
  });
});

describe('COG stretch', () => {
  it('takes the 2nd and 98th percentiles of valid values, nodata and NaN left out', () => {
    // One band plus alpha: 100 valid values 1..100, then nodata pixels whose value would spoil the range.
    const data: number[] = [];
    for (let v = 1; v <= 100; v++) data.push(v, 255);
    for (let i = 0; i < 50; i++) data.push(-9999, 0);
    data.push(Number.NaN, 255);
    const [range] = percentileRanges(data, 2, 1);
    expect(range!.low).toBeCloseTo(3, 0);
    expect(range!.high).toBeCloseTo(98, 0);
  });

  it('stretches single bands of any type, shows 8-bit RGB as it is, and gives up on all-nodata', () => {
    const float = chooseStretch([0.001, 0.002, 0.003, 0.004], 1);
    expect(float).toMatchObject({ mode: 'grey' });
    expect(float!.ranges[0]!.high).toBeGreaterThan(float!.ranges[0]!.low);
    const rgb: number[] = [];
    for (let i = 0; i < 30; i++) rgb.push(i, 2 * i, 3 * i);
    expect(chooseStretch(rgb, 3)).toEqual({ mode: 'rgb', ranges: [{ low: 0, high: 255 }, { low: 0, high: 255 }, { low: 0, high: 255 }] });
    const uint16: number[] = [];
    for (let i = 0; i < 30; i++) uint16.push(i * 1000, i * 900, i * 800);
    expect(chooseStretch(uint16, 3)!.ranges[0]!.high).toBeGreaterThan(255);
    expect(chooseStretch([5, 0, 6, 0], 2, 1)).toBeNull();
    // A constant band still draws: one unit around its value.
    expect(chooseStretch([7, 7, 7], 1)).toEqual({ mode: 'grey', ranges: [{ low: 6.5, high: 7.5 }] });
  });

  it('draws the stretch as a WebGL colour, transparent where the alpha band says nodata', () => {
    const expression = stretchColorExpression({ mode: 'grey', ranges: [{ low: 10, high: 20 }] }, 2);
    const grey = ['*', 255, ['clamp', ['/', ['-', ['band', 1], 10], 10], 0, 1]];
    expect(expression).toEqual(['color', grey, grey, grey, ['/', ['band', 2], 255]]);
    expect(stretchColorExpression({ mode: 'grey', ranges: [{ low: 0, high: 1 }] }).at(-1)).toBe(1);
    expect(formatRange({ low: 120.04, high: 323.4 })).toBe('120 – 323');
    expect(formatRange({ low: 0.00123, high: 0.00456 })).toBe('0.00123 – 0.00456');
  });
});
