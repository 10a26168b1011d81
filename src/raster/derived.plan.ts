/**
 * Derived products (issue 24, part 3): what a derived collection makes of a source item, decided
 * without GDAL. Pure: the orchestrators import the names and ids, `derived.create.ts` runs the
 * arguments, and every check that can refuse a derivation up front does so here with a failure a
 * person can act on (the source lacks a band the definition names, a DEM of many bands), so GDAL
 * never sees a request it would answer with an opaque error.
 */
import type { DerivedCollectionPlan, Derivation, OutputLocation } from '../pipeline/contracts.js';
import type { Failure } from '../pipeline/failure.js';
import { isComplexDataType } from './data.type.js';

/**
 * Where a derived collection's outputs of one source go: the source's key (one derived source per
 * source, so a replaced source replaces its derived outputs), in a version folder of the source's
 * version and the derived definition's version (a changed derivation never overwrites the COGs an
 * item still links to).
 */
export function deriveDerivedOutputs(sourceOutputs: OutputLocation, target: Pick<DerivedCollectionPlan, 'collection' | 'definitionVersion'>): OutputLocation {
  return { collection: target.collection, sourceKey: sourceOutputs.sourceKey, version: `${sourceOutputs.version}-d${target.definitionVersion}` };
}

/** The `deriveProducts` instance of one job and one derived collection: a replay starts the same one. */
export function deriveProductsInstanceId(jobId: string, collection: string): string {
  return `${jobId}-derived-${collection}`;
}

/** Item ids the app made: a derived step names blobs after them, so anything else is refused before it becomes a path. */
const itemIdPattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/;

export function findItemIdProblem(itemId: string): string | null {
  if (!itemIdPattern.test(itemId) || itemId.includes('..')) return 'is not an item id this app makes (letters, digits, ".", "_" and "-", no "..")';
  return null;
}

/** The source COG's bands as the derived step needs them. */
export interface DerivationSourceBands {
  count: number;
  /** A band's GDAL data type name (1-based); asked only of the bands the derivation uses, so a raster of 65,535 bands is not read band by band. */
  dataTypeOf: (band: number) => string;
}

/** Why this derivation cannot be made from this source item (a permanent `INVALID_INPUT`), or `null`. */
export function findDerivationProblem(derivation: Derivation, bands: DerivationSourceBands): Failure | null {
  const invalid = (message: string): Failure => ({ code: 'INVALID_INPUT', message });
  if (bands.count < 1) return invalid('its source item has no bands');
  switch (derivation.product) {
    case 'hillshade':
    case 'slope':
      if (bands.count !== 1) return invalid(`a ${derivation.product} is made from a one-band DEM; the source item has ${bands.count} bands`);
      if (isComplexDataType(bands.dataTypeOf(1))) return invalid(`a ${derivation.product} needs real elevations; the source item's band is complex (${bands.dataTypeOf(1)})`);
      return null;
    case 'normalized-difference': {
      const [a, b] = derivation.bands ?? [0, 0];
      const missing = [a, b].filter((band) => band < 1 || band > bands.count);
      if (missing.length > 0) return invalid(`derivedFrom.bands names band ${missing.join(' and ')}, and the source item has ${bands.count} band${bands.count === 1 ? '' : 's'}`);
      if (a === b) return invalid('derivedFrom.bands names the same band twice: the difference would be 0 everywhere');
      if ([a, b].some((band) => isComplexDataType(bands.dataTypeOf(band)))) return invalid('a normalized difference needs real values; a band it names is complex');
      return null;
    }
    case 'reproject':
      return null;
  }
}

/**
 * `gdaldem` arguments for a hillshade or slope. Edges are computed (a tile's border pixels are not
 * left nodata); elevations over a geographic grid are scaled from degrees to metres (GDAL's own
 * advice for lat/long DEMs: 111120), so a DEM in EPSG:4326 does not come out flat.
 */
export function buildDemArgs(geographic: boolean): string[] {
  return ['-of', 'GTiff', '-co', 'TILED=YES', '-co', 'COMPRESS=DEFLATE', '-co', 'BIGTIFF=IF_SAFER', '-compute_edges', ...(geographic ? ['-s', '111120'] : [])];
}

/** The largest derived raster one item may become (pixels): a reprojection to a tiny resolution is refused, not attempted. */
export const maxDerivedPixels = 16_384 * 16_384;

/**
 * `gdalwarp` arguments to the target grid: bilinear (nearest for palettes), the source's nodata
 * kept, NaN (floats) or an alpha band (integers) outside the source where it declares none.
 */
export function buildDerivedWarpArgs(derivation: Pick<Derivation, 'targetCrs' | 'resolution'>, bands: ReadonlyArray<{ gdalDataType: string; nodata: unknown; hasColorTable: boolean }>): string[] {
  const args = ['-of', 'GTiff', '-co', 'TILED=YES', '-co', 'COMPRESS=DEFLATE', '-co', 'BIGTIFF=IF_SAFER', '-t_srs', derivation.targetCrs ?? '', '-r', bands.some((band) => band.hasColorTable) ? 'near' : 'bilinear'];
  if (derivation.resolution !== undefined) args.push('-tr', String(derivation.resolution), String(derivation.resolution));
  if (bands.every((band) => band.nodata === null)) {
    if (bands.every((band) => /^Float/.test(band.gdalDataType))) args.push('-dstnodata', 'nan');
    else args.push('-dstalpha');
  }
  return args;
}

/** The output size a reprojection would have, or the failure when it exceeds `maxDerivedPixels`. */
export function checkDerivedSize(width: number, height: number): Failure | null {
  if (!Number.isFinite(width) || !Number.isFinite(height) || width * height > maxDerivedPixels) {
    return { code: 'INPUT_LIMIT', message: `the derived raster would be ${Number.isFinite(width) ? Math.ceil(width) : '∞'} × ${Number.isFinite(height) ? Math.ceil(height) : '∞'} pixels, over the limit of ${maxDerivedPixels.toLocaleString('en-US')}; choose a coarser derivedFrom.resolution` };
  }
  return null;
}

/**
 * (a − b) / (a + b) of one block, as Float32: NaN (the output's nodata) where either input is its
 * band's nodata (or NaN) or a + b is 0. Inputs are read as Float64, so integer sums never overflow.
 */
export function normalizedDifference(a: ArrayLike<number>, b: ArrayLike<number>, nodata: { a: number | null; b: number | null }, out: Float32Array): void {
  for (let i = 0; i < out.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    const sum = x + y;
    out[i] = Number.isNaN(x) || Number.isNaN(y) || x === nodata.a || y === nodata.b || sum === 0 ? Number.NaN : (x - y) / sum;
  }
}

/** What the item says the product is (`processing:lineage`). */
export function describeDerivation(derivation: Derivation, sourceCollection: string, sourceItemId: string): string {
  const of = `of item ${sourceItemId} of collection ${sourceCollection}`;
  switch (derivation.product) {
    case 'hillshade':
      return `Hillshade ${of}, by GDAL DEM processing (gdaldem hillshade, edges computed)`;
    case 'slope':
      return `Slope in degrees ${of}, by GDAL DEM processing (gdaldem slope, edges computed)`;
    case 'normalized-difference':
      return `Normalized difference (b${derivation.bands?.[0]} - b${derivation.bands?.[1]}) / (b${derivation.bands?.[0]} + b${derivation.bands?.[1]}) ${of}, Float32, NaN where either band is nodata or the sum is 0`;
    case 'reproject':
      return `Reprojection ${of} to ${derivation.targetCrs}${derivation.resolution !== undefined ? ` at ${derivation.resolution} units per pixel` : ''}, by GDAL warp (bilinear)`;
  }
}

/** Products on the source item's own pixel grid: their items keep its tile window (the collection mosaic places them by it). */
export function keepsSourceGrid(product: Derivation['product']): boolean {
  return product !== 'reproject';
}
