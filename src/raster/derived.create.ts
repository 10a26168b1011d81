/**
 * Runs a derived product's GDAL step on a source item's COG (a local copy of the app's own output,
 * never a URL from an item) and writes the result as a COG with the project's creation options.
 * GDAL's own algorithms do the work: DEM processing (`gdal.demAsync`, i.e. gdaldem) for hillshade
 * and slope, warp for a reprojection; the normalized difference is band math read and written
 * block by block, so memory stays at a few blocks whatever the raster's size. What is decided
 * without GDAL is in `derived.plan.ts`.
 */
import gdal from 'gdal-async';
import type { Derivation } from '../pipeline/contracts.js';
import { FailureError } from '../pipeline/failure.js';
import type { IngestOptions } from '../pipeline/options.js';
import { buildCogCreationArgs } from './cog.command.js';
import { buildDemArgs, buildDerivedWarpArgs, checkDerivedSize, findDerivationProblem, normalizedDifference } from './derived.plan.js';
import { checkBandCount } from './metadata.bounds.js';
import { readBandInfo } from './raster.inspect.js';

/** Writes the derived raster of `sourcePath` to `intermediatePath` (a tiled GeoTIFF), then its COG to `cogPath`. */
export async function writeDerivedCog(sourcePath: string, derivation: Derivation, intermediatePath: string, cogPath: string, options: IngestOptions): Promise<void> {
  let source: gdal.Dataset;
  try {
    // The app's own COG, so a GeoTIFF: nothing else at its place is opened (a VRT there could name any file).
    source = await gdal.openAsync(sourcePath, 'r', ['GTiff']);
  } catch {
    throw new FailureError({ code: 'INVALID_INPUT', message: 'its source item COG is not a GeoTIFF; derived products are made from the COGs this service wrote' });
  }
  try {
    const count = source.bands.count();
    // A COG holds at most so many bands; reading each band's type of, say, 100,000 is not started.
    checkBandCount(count);
    const problem = findDerivationProblem(derivation, { count, dataTypeOf: (band) => source.bands.get(band).dataType ?? 'Unknown' });
    if (problem) throw new FailureError(problem);
    switch (derivation.product) {
      case 'hillshade':
      case 'slope':
        (await gdal.demAsync(intermediatePath, source, derivation.product, buildDemArgs(source.srs?.isGeographic() ?? false))).close();
        break;
      case 'normalized-difference':
        await writeNormalizedDifference(source, derivation.bands!, intermediatePath);
        break;
      case 'reproject':
        await warpToTarget(source, derivation, intermediatePath);
        break;
    }
  } finally {
    source.close();
  }
  const derived = await gdal.openAsync(intermediatePath);
  try {
    const bands = Array.from({ length: derived.bands.count() }, (_, i) => readBandInfo(derived.bands.get(i + 1)));
    (await gdal.translateAsync(cogPath, derived, buildCogCreationArgs(options, { bands }))).close();
  } finally {
    derived.close();
  }
}

/** Float32 (a − b) / (a + b), NaN as nodata, one source block at a time. */
async function writeNormalizedDifference(source: gdal.Dataset, [first, second]: [number, number], path: string): Promise<void> {
  const { x: width, y: height } = source.rasterSize;
  const a = source.bands.get(first);
  const b = source.bands.get(second);
  const output = gdal.open(path, 'w', 'GTiff', width, height, 1, gdal.GDT_Float32, ['TILED=YES', 'COMPRESS=DEFLATE', 'BIGTIFF=IF_SAFER']);
  try {
    if (source.geoTransform) output.geoTransform = source.geoTransform;
    if (source.srs) output.srs = source.srs;
    const band = output.bands.get(1);
    band.noDataValue = Number.NaN;
    const nodata = { a: a.noDataValue, b: b.noDataValue };
    // The source's own blocks (a COG's tiles), capped: reads follow its layout and stay small.
    const blockWidth = Math.min(Math.max(a.blockSize.x, 256), 1024, width);
    const blockHeight = Math.min(Math.max(a.blockSize.y, 256), 1024, height);
    for (let y = 0; y < height; y += blockHeight) {
      for (let x = 0; x < width; x += blockWidth) {
        const w = Math.min(blockWidth, width - x);
        const h = Math.min(blockHeight, height - y);
        const [valuesA, valuesB] = await Promise.all([a.pixels.readAsync(x, y, w, h, new Float64Array(w * h)), b.pixels.readAsync(x, y, w, h, new Float64Array(w * h))]);
        const out = new Float32Array(w * h);
        normalizedDifference(valuesA, valuesB, nodata, out);
        await band.pixels.writeAsync(x, y, w, h, out);
      }
    }
    output.flush();
  } finally {
    output.close();
  }
}

/** Warps to the target grid after checking that PROJ knows the CRS and that the output stays within `maxDerivedPixels`. */
async function warpToTarget(source: gdal.Dataset, derivation: Derivation, path: string): Promise<void> {
  const targetCrs = derivation.targetCrs ?? '';
  // Checked again here (the definition's schema checked it too): only an EPSG code reaches PROJ,
  // never text it would read as a file name or a URL.
  const code = /^EPSG:(\d{4,6})$/.exec(targetCrs)?.[1];
  if (!code) throw new FailureError({ code: 'INVALID_INPUT', message: 'derivedFrom.targetCrs must be an EPSG code such as "EPSG:3857"' });
  const resolution = derivation.resolution;
  if (resolution !== undefined && !(Number.isFinite(resolution) && resolution > 0)) throw new FailureError({ code: 'INVALID_INPUT', message: 'derivedFrom.resolution must be a positive number' });
  let target: gdal.SpatialReference;
  try {
    target = gdal.SpatialReference.fromEPSG(Number(code));
  } catch {
    throw new FailureError({ code: 'INVALID_INPUT', message: `derivedFrom.targetCrs ${targetCrs} is not a CRS this service's PROJ database knows; choose another EPSG code` });
  }
  const sourceSrs = source.srs;
  if (!sourceSrs) throw new FailureError({ code: 'INVALID_INPUT', message: 'its source item has no CRS to reproject from' });
  let size: { width: number; height: number };
  try {
    const suggested = gdal.suggestedWarpOutput({ src: source, s_srs: sourceSrs, t_srs: target });
    const [, pixelWidth = 0, , , , pixelHeight = 0] = suggested.geoTransform;
    size = resolution === undefined
      ? { width: suggested.rasterSize.x, height: suggested.rasterSize.y }
      : { width: (suggested.rasterSize.x * Math.abs(pixelWidth)) / resolution, height: (suggested.rasterSize.y * Math.abs(pixelHeight)) / resolution };
  } catch {
    throw new FailureError({ code: 'INVALID_INPUT', message: `its source item cannot be transformed to ${targetCrs} (the two CRSs have no transformation over its area)` });
  }
  const tooLarge = checkDerivedSize(size.width, size.height);
  if (tooLarge) throw new FailureError(tooLarge);
  const bands = Array.from({ length: source.bands.count() }, (_, i) => readBandInfo(source.bands.get(i + 1)));
  try {
    (await gdal.warpAsync(path, null, [source], buildDerivedWarpArgs(derivation, bands))).close();
  } catch {
    // GDAL's text would name local paths: say what failed.
    throw new FailureError({ code: 'INVALID_INPUT', message: `its source item could not be warped to ${targetCrs}` });
  }
}
