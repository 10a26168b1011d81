/** Transforms native outlines to WGS84 lon/lat with GDAL; the geometry work is in `footprint.ts`. */
import gdal from 'gdal-async';
import { LRUCache } from 'lru-cache';
import type { Bbox, GeoTransform } from './geo.transform.js';
import { densifyOutline, toGeoJsonFootprint, type FootprintGeometry, type Ring } from './footprint.js';

/** OGC:CRS84 is WGS84 with longitude first, whatever the axis-order conventions. */
let crs84: gdal.SpatialReference | undefined;

function wgs84LonLat(): gdal.SpatialReference {
  crs84 ??= gdal.SpatialReference.fromUserInput('OGC:CRS84');
  return crs84;
}

/**
 * Transformations to CRS84 by the source CRS's WKT. PROJ builds a transformation pipeline in about
 * 8 ms (a batch of small rasters spent a quarter of its host CPU here), while a batch's sources
 * nearly always share a few CRSs. Each entry is built from its key alone, so what one upload
 * declares never changes another's footprint; the bound keeps uploads with endless distinct CRSs
 * from growing it.
 */
const transformsByWkt = new LRUCache<string, gdal.CoordinateTransformation>({ max: 64 });

function toLonLat(srs: gdal.SpatialReference): gdal.CoordinateTransformation {
  let wkt: string;
  let keyed: gdal.SpatialReference;
  try {
    wkt = srs.toWKT();
    const cached = transformsByWkt.get(wkt);
    if (cached) return cached;
    keyed = gdal.SpatialReference.fromWKT(wkt);
  } catch {
    // A CRS whose WKT1 does not read back is transformed as given, uncached.
    return new gdal.CoordinateTransformation(srs, wgs84LonLat());
  }
  const transform = new gdal.CoordinateTransformation(keyed, wgs84LonLat());
  transformsByWkt.set(wkt, transform);
  return transform;
}

/**
 * The WGS84 footprint and bbox of a raster: its outline densified in pixel space, transformed
 * point by point, then split at the antimeridian where needed.
 */
export function computeWgs84Footprint(
  srs: gdal.SpatialReference,
  gt: GeoTransform,
  width: number,
  height: number,
): { geometry: FootprintGeometry; bbox: Bbox } {
  const outline = densifyOutline(gt, width, height);
  // gdal-async hands out the CRS with its authority axis order; a geotransform is always
  // easting/longitude first, so lat-first CRSs (EPSG:4326 and friends) get their inputs swapped.
  const swap = srs.EPSGTreatsAsLatLong() || srs.EPSGTreatsAsNorthingEasting();
  const transform = toLonLat(srs);
  const lonLat: Ring = [];
  let failed = 0;
  for (const [x, y] of outline) {
    let point: { x: number; y: number } | undefined;
    try {
      point = swap ? transform.transformPoint(y, x) : transform.transformPoint(x, y);
    } catch {
      point = undefined;
    }
    // A few outline points outside the projection's domain (e.g. past a pole) are dropped; the rest still bound it.
    if (point && Number.isFinite(point.x) && Number.isFinite(point.y)) lonLat.push([point.x, point.y]);
    else failed++;
  }
  if (lonLat.length < 4 || failed > outline.length / 4) {
    throw new Error(`${failed} of ${outline.length} outline points cannot be transformed to WGS84`);
  }
  const first = lonLat[0]!;
  const last = lonLat[lonLat.length - 1]!;
  if (first[0] !== last[0] || first[1] !== last[1]) lonLat.push([first[0], first[1]]);
  return toGeoJsonFootprint(lonLat);
}
