/** Geotransform arithmetic, pure. GDAL order: [originX, pixelWidth, rowRotation, originY, columnRotation, pixelHeight]. */

export type GeoTransform = [number, number, number, number, number, number];
export type Bbox = [number, number, number, number];

/** STAC `proj:transform` (affine in row-major order) from a GDAL geotransform: [g1, g2, g0, g4, g5, g3]. */
export function toProjTransform(gt: GeoTransform): [number, number, number, number, number, number] {
  return [gt[1], gt[2], gt[0], gt[4], gt[5], gt[3]];
}

/** The georeferenced position of pixel/line coordinates (pixel corners at integers). */
export function applyGeoTransform(gt: GeoTransform, pixel: number, line: number): [number, number] {
  return [gt[0] + pixel * gt[1] + line * gt[2], gt[3] + pixel * gt[4] + line * gt[5]];
}

/** The geotransform of a pixel window of a raster: same pixel size and rotation, shifted origin. */
export function windowGeoTransform(gt: GeoTransform, x: number, y: number): GeoTransform {
  const [originX, originY] = applyGeoTransform(gt, x, y);
  return [originX, gt[1], gt[2], originY, gt[4], gt[5]];
}

/** Native-CRS bounds [minX, minY, maxX, maxY] of a `width` × `height` raster, rotation included. */
export function nativeBounds(gt: GeoTransform, width: number, height: number): Bbox {
  const corners = [applyGeoTransform(gt, 0, 0), applyGeoTransform(gt, width, 0), applyGeoTransform(gt, width, height), applyGeoTransform(gt, 0, height)];
  const xs = corners.map((c) => c[0]);
  const ys = corners.map((c) => c[1]);
  return [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
}

/** `true` when the geotransform is GDAL's "none" default (identity, origin 0,0), i.e. no georeferencing. */
export function isDefaultGeoTransform(gt: GeoTransform): boolean {
  return gt[0] === 0 && gt[1] === 1 && gt[2] === 0 && gt[3] === 0 && gt[4] === 0 && gt[5] === 1;
}
