/** Transforms native outlines to WGS84 lon/lat with GDAL; the geometry work is in `footprint.ts`. */
import gdal from 'gdal-async';
import type { Bbox, GeoTransform } from './geo.transform.js';
import { densifyOutline, toGeoJsonFootprint, type FootprintGeometry, type Ring } from './footprint.js';

/** OGC:CRS84 is WGS84 with longitude first, whatever the axis-order conventions. */
let crs84: gdal.SpatialReference | undefined;

function wgs84LonLat(): gdal.SpatialReference {
  crs84 ??= gdal.SpatialReference.fromUserInput('OGC:CRS84');
  return crs84;
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
  const transform = new gdal.CoordinateTransformation(srs, wgs84LonLat());
  const lonLat: Ring = outline.map(([x, y]) => {
    const point = swap ? transform.transformPoint(y, x) : transform.transformPoint(x, y);
    if (!Number.isFinite(point.x) || !Number.isFinite(point.y)) {
      throw new Error(`cannot transform (${x}, ${y}) to WGS84: the raster's outline lies outside its CRS's valid area`);
    }
    return [point.x, point.y];
  });
  return toGeoJsonFootprint(lonLat);
}
