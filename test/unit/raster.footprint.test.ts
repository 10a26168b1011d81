import { describe, expect, it } from 'vitest';
import { densifyOutline, simplifyRing, toGeoJsonFootprint, unionLonLatBboxes, unwrapLongitudes, type Ring } from '../../src/raster/footprint.js';

describe('densifyOutline', () => {
  it('returns a closed ring with points along every edge', () => {
    const ring = densifyOutline([10, 1, 0, 50, 0, -1], 4, 2, 4);
    expect(ring).toHaveLength(17);
    expect(ring[0]).toEqual(ring[16]);
    expect(ring).toContainEqual([10, 49.5]);
    expect(ring).toContainEqual([14, 48]);
  });
});

describe('toGeoJsonFootprint', () => {
  /** A lon/lat box outline with points every `step` degrees, as a transformed, densified outline looks. */
  const box = (w: number, s: number, e: number, n: number, step = 10): Ring => {
    const ring: Ring = [[w, n], [w, s]];
    for (let x = w + step; x < e; x += step) ring.push([x, s]);
    ring.push([e, s], [e, n]);
    for (let x = e - step; x > w; x -= step) ring.push([x, n]);
    ring.push([w, n]);
    return ring;
  };

  it('keeps a ring within ±180 as a Polygon', () => {
    const { geometry, bbox } = toGeoJsonFootprint(box(10, 40, 20, 50));
    expect(geometry.type).toBe('Polygon');
    expect(bbox).toEqual([10, 40, 20, 50]);
  });

  it('splits a ring crossing the antimeridian into two polygons, bbox west > east', () => {
    const { geometry, bbox } = toGeoJsonFootprint(box(170, -20, 190, -10));
    expect(geometry.type).toBe('MultiPolygon');
    expect(bbox).toEqual([170, -20, -170, -10]);
    const parts = geometry.coordinates as Ring[][];
    const lons = parts.map((polygon) => polygon[0]!.map((p) => p[0]));
    expect(Math.min(...lons[0]!)).toBe(170);
    expect(Math.max(...lons[0]!)).toBe(180);
    expect(Math.min(...lons[1]!)).toBe(-180);
    expect(Math.max(...lons[1]!)).toBe(-170);
  });

  it('handles transformed longitudes that jump from +180 to -180', () => {
    const wrapped: Ring = [
      [170, -10],
      [170, -20],
      [179, -20],
      [-179, -20],
      [-170, -20],
      [-170, -10],
      [179, -10],
      [170, -10],
    ];
    expect(toGeoJsonFootprint(wrapped).bbox).toEqual([170, -20, -170, -10]);
  });

  it('shifts a 0–360 grid into range and splits it', () => {
    const { geometry, bbox } = toGeoJsonFootprint(box(0, -90, 360, 90));
    expect(bbox).toEqual([-180, -90, 180, 90]);
    expect(geometry.type).toBe('MultiPolygon');
    const { bbox: eastOnly } = toGeoJsonFootprint(box(200, 0, 250, 10));
    expect(eastOnly).toEqual([-160, 0, -110, 10]);
  });

  it('closes a ring that circles a pole over that pole', () => {
    const ring: Ring = [];
    for (let lon = -180; lon < 180; lon += 30) ring.push([lon, 70]);
    ring.push([-180, 70]);
    const { bbox } = toGeoJsonFootprint(ring);
    expect(bbox).toEqual([-180, 70, 180, 90]);
  });

  it('makes exterior rings counter-clockwise', () => {
    const clockwise: Ring = [[0, 0], [0, 1], [1, 1], [1, 0], [0, 0]];
    const { geometry } = toGeoJsonFootprint(clockwise);
    expect(geometry.coordinates).toEqual([[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]);
  });

  it('unwraps ±360 jumps', () => {
    expect(unwrapLongitudes([[179, 0], [-179, 0], [-178, 0]])).toEqual([[179, 0], [181, 0], [182, 0]]);
  });
});

describe('unionLonLatBboxes', () => {
  it('unions ordinary boxes', () => {
    expect(unionLonLatBboxes([[0, 0, 10, 10], [5, -5, 20, 5]])).toEqual([0, -5, 20, 10]);
  });

  it('unions across the antimeridian when that is shorter', () => {
    expect(unionLonLatBboxes([[170, 0, 175, 1], [-175, 2, -170, 3]])).toEqual([170, 0, -170, 3]);
    expect(unionLonLatBboxes([[170, 0, -170, 1], [-175, 2, -160, 3]])).toEqual([170, 0, -160, 3]);
  });

  it('covers the globe when the boxes do', () => {
    expect(unionLonLatBboxes([[-180, -90, 0, 90], [0, -90, 180, 90]])).toEqual([-180, -90, 180, 90]);
  });

  it('is undefined for nothing', () => {
    expect(unionLonLatBboxes([])).toBeUndefined();
  });
});

describe('simplifyRing', () => {
  it('keeps a straight-edged outline to its corners and a curved one to its curve', () => {
    const straight = densifyOutline([10, 0.001, 0, 50, 0, -0.001], 1000, 500, 16);
    expect(simplifyRing(straight, 1e-9)).toEqual([[10, 50], [10, 49.5], [11, 49.5], [11, 50], [10, 50]]);
    const arc: Ring = [];
    for (let i = 0; i <= 32; i++) arc.push([Math.cos((i / 32) * Math.PI * 2), Math.sin((i / 32) * Math.PI * 2)]);
    expect(simplifyRing(arc, 1e-3).length).toBe(arc.length);
  });
});
