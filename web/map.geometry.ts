/**
 * Longitudes for a web map, pure (no OpenLayers): tile bboxes that cross the antimeridian
 * (west > east, as STAC writes them) or lie past 180° (0–360° grids) placed as continuous
 * rectangles, and country outlines whose rings jump across the antimeridian split into pieces
 * that each stay on one side, so no edge is drawn across the whole world.
 */

import { clipRing, unwrapLongitudes } from '../src/raster/footprint.js';

/** `[west, south, east, north]` in degrees. */
export type Bbox = [number, number, number, number];
/** `[lon, lat]` */
export type Position = [number, number];
export type Ring = Position[];

/** `lon` in [-180, 180). */
export function normalizeLongitude(lon: number): number {
  return ((((lon + 180) % 360) + 360) % 360) - 180;
}

/** Degrees of longitude a bbox spans eastwards from its west edge: across the antimeridian when west > east; a whole turn at most. */
export function longitudeSpan([west, , east]: Bbox): number {
  if (east - west >= 360) return 360;
  const span = east - west;
  return span >= 0 ? span : span + 360;
}

/**
 * Where on the circle of longitudes a set of bboxes begins: just after the widest gap they leave
 * (so a set around the antimeridian starts west of it, e.g. at 170°), or -180 when they cover
 * every longitude.
 */
export function coverageStart(bboxes: readonly Bbox[]): number {
  const intervals = bboxes
    .map((bbox) => ({ start: normalizeLongitude(bbox[0]), span: longitudeSpan(bbox) }))
    .sort((a, b) => a.start - b.start);
  if (intervals.length === 0 || intervals.some((interval) => interval.span >= 360)) return -180;
  // Walk around the circle twice from the first start, tracking how far east the covered arc reaches.
  let bestGap = 0;
  let bestStart = -180;
  let reach = intervals[0]!.start + intervals[0]!.span;
  for (let i = 1; i <= intervals.length; i++) {
    const next = intervals[i % intervals.length]!;
    const nextStart = next.start + (i === intervals.length ? 360 : 0);
    const gap = nextStart - reach;
    if (gap > bestGap) {
      bestGap = gap;
      bestStart = normalizeLongitude(next.start);
    }
    reach = Math.max(reach, nextStart + next.span);
  }
  return bestGap > 0 ? bestStart : -180;
}

/**
 * Bboxes as continuous rectangles (west < east), each shifted by whole turns into
 * [start, start + 360), `start` being where the set begins (`coverageStart`): tiles of one raster
 * across the antimeridian stay side by side (170°…182.8°, 182.8°…190°), and a 0–360° grid keeps
 * its tiles in one piece. `null` (a bbox not known yet) stays `null`.
 */
export function placeBboxes(bboxes: ReadonlyArray<Bbox | null>): Array<Bbox | null> {
  const known = bboxes.filter((bbox): bbox is Bbox => bbox !== null && bbox.every(Number.isFinite));
  const start = coverageStart(known);
  return bboxes.map((bbox) => {
    if (!bbox || !bbox.every(Number.isFinite)) return null;
    const span = longitudeSpan(bbox);
    let west = normalizeLongitude(bbox[0]);
    while (west < start) west += 360;
    while (west >= start + 360) west -= 360;
    return [west, Math.max(-90, bbox[1]), west + span, Math.min(90, bbox[3])];
  });
}

/** Steps between consecutive longitudes of more than 180°: where a ring jumps across the antimeridian. */
export function countJumps(ring: Ring): number {
  let jumps = 0;
  for (let i = 1; i < ring.length; i++) if (Math.abs(ring[i]![0] - ring[i - 1]![0]) > 180) jumps++;
  return jumps;
}

/** The ring with its ±360° jumps removed: continuous, possibly past ±180° (the footprints' own). */
export { unwrapLongitudes as unwrapRing };

const shiftRing = (ring: Ring, dx: number): Ring => ring.map(([lon, lat]) => [lon + dx, lat]);

/**
 * A polygon (outer ring, then holes) whose rings jump across the antimeridian, as pieces that
 * each lie within [-180, 180]: the rings are made continuous, then cut at ±180° and the parts
 * past it moved back by a whole turn. A ring around a pole (an odd number of jumps: its jump is
 * the edge along the pole) is left as it is, as is every polygon that does not jump.
 */
export function splitAtAntimeridian(polygon: readonly Ring[]): Ring[][] {
  const outer = polygon[0];
  if (!outer) return [];
  const jumps = countJumps(outer);
  if (jumps === 0 || jumps % 2 === 1) return [polygon.map((ring) => [...ring])];
  const unwrapped = polygon.map((ring) => unwrapLongitudes(ring));
  const lons = unwrapped.flat().map(([lon]) => lon);
  const min = Math.min(...lons);
  const max = Math.max(...lons);
  const pieces: Ring[][] = [];
  // Each world the continuous polygon touches: [offset - 180, offset + 180].
  for (let offset = Math.round(min / 360) * 360; offset - 180 < max; offset += 360) {
    const rings = unwrapped
      .map((ring) => clipRing(clipRing(ring, offset - 180, 'above'), offset + 180, 'below'))
      .map((ring) => shiftRing(ring, -offset));
    if (rings[0]!.length >= 4) pieces.push(rings.filter((ring) => ring.length >= 4));
  }
  return pieces;
}
