/**
 * WGS84 footprints, pure: densified edges and antimeridian handling. The coordinate
 * transformation itself is injected so this module needs no GDAL.
 */
import { applyGeoTransform, type Bbox, type GeoTransform } from './geo.transform.js';

export type Position = [number, number];
export type Ring = Position[];
export type FootprintGeometry = { type: 'Polygon'; coordinates: Ring[] } | { type: 'MultiPolygon'; coordinates: Ring[][] };

/**
 * The outline of a `width` × `height` raster in its native CRS, as a closed counter-clockwise
 * (in pixel space: top-left, down the left edge, ...) ring with `pointsPerEdge` segments per
 * edge, so curved edges survive reprojection.
 */
export function densifyOutline(gt: GeoTransform, width: number, height: number, pointsPerEdge = 16): Ring {
  const pixelRing: Position[] = [];
  const edge = (from: Position, to: Position): void => {
    for (let i = 0; i < pointsPerEdge; i++) {
      const t = i / pointsPerEdge;
      pixelRing.push([from[0] + (to[0] - from[0]) * t, from[1] + (to[1] - from[1]) * t]);
    }
  };
  // Pixel space has y down, so this order is counter-clockwise once y points north.
  edge([0, 0], [0, height]);
  edge([0, height], [width, height]);
  edge([width, height], [width, 0]);
  edge([width, 0], [0, 0]);
  const ring = pixelRing.map(([p, l]) => applyGeoTransform(gt, p, l));
  ring.push([ring[0]![0], ring[0]![1]]);
  return ring;
}

/** Removes ±360° jumps between consecutive longitudes so the ring is continuous. */
export function unwrapLongitudes(ring: Ring): Ring {
  const out: Ring = [];
  let offset = 0;
  for (let i = 0; i < ring.length; i++) {
    const [lon, lat] = ring[i]!;
    if (i > 0) {
      const previous = ring[i - 1]![0];
      const step = lon - previous;
      if (step > 180) offset -= 360;
      else if (step < -180) offset += 360;
    }
    out.push([lon + offset, lat]);
  }
  return out;
}

/** Clips a ring to the half-plane x ≤ limit (keep = 'below') or x ≥ limit (keep = 'above'); the dashboard's map uses it too. */
export function clipRing(ring: Ring, limit: number, keep: 'below' | 'above'): Ring {
  const inside = (p: Position): boolean => (keep === 'below' ? p[0] <= limit : p[0] >= limit);
  const out: Ring = [];
  const open = ring.slice(0, -1);
  for (let i = 0; i < open.length; i++) {
    const current = open[i]!;
    const next = open[(i + 1) % open.length]!;
    if (inside(current)) out.push(current);
    if (inside(current) !== inside(next)) {
      const t = (limit - current[0]) / (next[0] - current[0]);
      out.push([limit, current[1] + (next[1] - current[1]) * t]);
    }
  }
  if (out.length > 0) out.push([out[0]![0], out[0]![1]]);
  return dedupe(out);
}

/** Shoelace area: positive for counter-clockwise rings. */
function signedArea(ring: Ring): number {
  let sum = 0;
  for (let i = 0; i < ring.length - 1; i++) sum += ring[i]![0] * ring[i + 1]![1] - ring[i + 1]![0] * ring[i]![1];
  return sum / 2;
}

function dedupe(ring: Ring): Ring {
  return ring.filter((p, i) => i === 0 || p[0] !== ring[i - 1]![0] || p[1] !== ring[i - 1]![1]);
}

function shift(ring: Ring, dx: number): Ring {
  return ring.map(([x, y]) => [x + dx, y]);
}

function round(ring: Ring, digits: number): Ring {
  const f = 10 ** digits;
  return dedupe(ring.map(([x, y]) => [Math.round(x * f) / f, Math.round(y * f) / f]));
}

/** A bbox rounded outwards, so it still contains the rounded geometry. */
function roundBboxOutwards([w, s, e, n]: Bbox, digits: number): Bbox {
  const f = 10 ** digits;
  return [Math.floor(w * f) / f, Math.floor(s * f) / f, Math.ceil(e * f) / f, Math.ceil(n * f) / f];
}

/** Perpendicular distance of `p` from the line through `a` and `b`. */
function distanceFromLine(p: Position, a: Position, b: Position): number {
  const dx = b[0] - a[0];
  const dy = b[1] - a[1];
  const length = Math.hypot(dx, dy);
  if (length === 0) return Math.hypot(p[0] - a[0], p[1] - a[1]);
  return Math.abs(dy * p[0] - dx * p[1] + b[0] * a[1] - b[1] * a[0]) / length;
}

/**
 * Douglas–Peucker on a closed ring: drops densification points that lie within `tolerance`
 * (degrees) of a straight edge, so straight outlines stay 5 points and curved ones keep their
 * curve. The bbox is computed before this, from every point.
 */
export function simplifyRing(ring: Ring, tolerance: number): Ring {
  if (ring.length <= 5) return ring;
  const keep = new Array<boolean>(ring.length).fill(false);
  keep[0] = true;
  keep[ring.length - 1] = true;
  // Split the closed ring at the point farthest from its start, then simplify both halves.
  let farthest = 1;
  for (let i = 1; i < ring.length - 1; i++) {
    if (Math.hypot(ring[i]![0] - ring[0]![0], ring[i]![1] - ring[0]![1]) > Math.hypot(ring[farthest]![0] - ring[0]![0], ring[farthest]![1] - ring[0]![1])) farthest = i;
  }
  keep[farthest] = true;
  const stack: Array<[number, number]> = [
    [0, farthest],
    [farthest, ring.length - 1],
  ];
  while (stack.length > 0) {
    const [start, end] = stack.pop()!;
    let worst = -1;
    let worstDistance = tolerance;
    for (let i = start + 1; i < end; i++) {
      const d = distanceFromLine(ring[i]!, ring[start]!, ring[end]!);
      if (d > worstDistance) {
        worst = i;
        worstDistance = d;
      }
    }
    if (worst >= 0) {
      keep[worst] = true;
      stack.push([start, worst], [worst, end]);
    }
  }
  return ring.filter((_, i) => keep[i]);
}

/**
 * A lon/lat ring as GeoJSON: a Polygon when it stays within [-180, 180], otherwise a
 * MultiPolygon split at the antimeridian (RFC 7946 §3.1.9). A ring that goes once around a pole
 * is closed over that pole. Also returns the bbox; it has west > east when it crosses the
 * antimeridian (RFC 7946 §5.2).
 */
export function toGeoJsonFootprint(lonLatRing: Ring, digits = 7): { geometry: FootprintGeometry; bbox: Bbox } {
  // Grids whose pixel edges pass a pole (e.g. -90.04°) are clamped to it.
  let ring = unwrapLongitudes(lonLatRing).map(([lon, lat]): Position => [lon, Math.max(-90, Math.min(90, lat))]);
  // RFC 7946 wants exterior rings counter-clockwise; south-up or mirrored grids come out clockwise.
  if (signedArea(ring) < 0) ring = ring.reverse();
  const first = ring[0]!;
  const last = ring[ring.length - 1]!;
  const winding = last[0] - first[0];
  if (Math.abs(winding) > 180) {
    // The outline circles a pole: close it along the pole's latitude, then it spans 360°.
    const lats = ring.map((p) => p[1]);
    const poleLat = lats.reduce((a, b) => a + b, 0) / lats.length >= 0 ? 90 : -90;
    ring = [...ring, [last[0], poleLat], [first[0], poleLat], [first[0], first[1]]];
  }
  const minLon = Math.min(...ring.map((p) => p[0]));
  // Bring the ring's west edge into [-180, 180).
  const turns = Math.floor((minLon + 180) / 360);
  ring = shift(ring, -360 * turns);
  const maxLon = Math.max(...ring.map((p) => p[0]));
  const lats = ring.map((p) => p[1]);
  const south = Math.min(...lats);
  const north = Math.max(...lats);
  const west = Math.min(...ring.map((p) => p[0]));
  const tidy = (part: Ring): Ring => round(simplifyRing(part, simplifyTolerance), digits);
  if (maxLon <= 180) {
    return { geometry: { type: 'Polygon', coordinates: [tidy(ring)] }, bbox: roundBboxOutwards([west, south, maxLon, north], digits) };
  }
  const western = clipRing(ring, 180, 'below');
  const eastern = shift(clipRing(ring, 180, 'above'), -360);
  const parts = [western, eastern].filter((part) => part.length >= 4).map((part) => [tidy(part)]);
  const spansGlobe = maxLon - west >= 360;
  const bbox: Bbox = spansGlobe ? [-180, south, 180, north] : [west, south, maxLon - 360, north];
  return { geometry: { type: 'MultiPolygon', coordinates: parts }, bbox: roundBboxOutwards(bbox, digits) };
}

/** About 1 cm at the equator: well below any pixel, well above floating-point noise. */
const simplifyTolerance = 1e-7;

/**
 * The smallest bbox covering all given lon/lat bboxes, treating longitude as a circle (so two
 * boxes either side of the antimeridian union across it, not across the whole globe).
 */
export function unionLonLatBboxes(bboxes: readonly Bbox[]): Bbox | undefined {
  if (bboxes.length === 0) return undefined;
  const south = Math.min(...bboxes.map((b) => b[1]));
  const north = Math.max(...bboxes.map((b) => b[3]));
  // Longitude intervals as [start, end] with start in [-180, 180) and end ≥ start.
  const intervals = bboxes
    .map(([w, , e]) => {
      let start = w;
      let end = e < w ? e + 360 : e;
      if (start >= 180) {
        start -= 360;
        end -= 360;
      }
      return [start, end] as [number, number];
    })
    .sort((a, b) => a[0] - b[0]);
  if (intervals.some(([s, e]) => e - s >= 360)) return [-180, south, 180, north];
  // Merge, then the largest gap (including the one across the wrap) is what the union leaves out.
  const merged: Array<[number, number]> = [];
  for (const [s, e] of intervals) {
    const top = merged[merged.length - 1];
    if (top && s <= top[1]) top[1] = Math.max(top[1], e);
    else merged.push([s, e]);
  }
  // Merging may leave the last interval overlapping the first across the wrap.
  while (merged.length > 1 && merged[merged.length - 1]![1] - 360 >= merged[0]![0]) {
    const lastInterval = merged.pop()!;
    merged[0] = [lastInterval[0] - 360, Math.max(merged[0]![1], lastInterval[1] - 360)];
    merged.sort((a, b) => a[0] - b[0]);
  }
  if (merged.length === 1) {
    const [s, e] = merged[0]!;
    if (e - s >= 360) return [-180, south, 180, north];
    return [normalizeLon(s), south, normalizeLon(e), north];
  }
  let gapAfter = merged.length - 1;
  let largestGap = merged[0]![0] + 360 - merged[merged.length - 1]![1];
  for (let i = 0; i < merged.length - 1; i++) {
    const gap = merged[i + 1]![0] - merged[i]![1];
    if (gap > largestGap) {
      largestGap = gap;
      gapAfter = i;
    }
  }
  const west = merged[(gapAfter + 1) % merged.length]![0];
  const east = merged[gapAfter]![1];
  return [normalizeLon(west), south, normalizeLon(east), north];
}

/** A longitude in [-180, 180], keeping 180 as 180. */
function normalizeLon(lon: number): number {
  if (lon >= -180 && lon <= 180) return lon;
  const wrapped = ((((lon + 180) % 360) + 360) % 360) - 180;
  return wrapped === -180 && lon > 0 ? 180 : wrapped;
}
