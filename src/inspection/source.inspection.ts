/**
 * Decides whether one untrusted upload can become correct COGs, and describes it. Runs inside
 * the inspecting process (`inspector.child.ts`), never on the app's event loop: GDAL and PROJ
 * parse what the upload declares here, and a crafted file may block or balloon while they do.
 *
 * Order matters: the header is read from raw bytes first, so a CRS naming a file is refused, and a
 * size the bytes cannot back is refused, before GDAL or PROJ parse anything; then GDAL opens the
 * file with the one driver its first bytes allow, and the CRS it reports is checked again.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type gdal from 'gdal-async';
import type { RasterInfo } from '../pipeline/contracts.js';
import { FailureError, redactLocalPaths } from '../pipeline/failure.js';
import type { IngestOptions } from '../pipeline/options.js';
import { checkCompressionFits } from '../raster/cog.command.js';
import { openByteSource } from '../raster/byte.source.js';
import { readContainerHeader } from '../raster/container.header.js';
import { crsReferenceFailure, findCrsFileReference, type CrsReferenceRules } from '../raster/crs.references.js';
import { checkDeclaredSize, checkTileCount } from '../raster/declared.size.js';
import { projDataDirectory } from '../raster/gdal.setup.js';
import { checkBandCount, checkIngestibleBands } from '../raster/metadata.bounds.js';
import { findGeoreferencingProblem, findUnreadablePixels, listSubdatasets, readBandInfo, readRasterInfo } from '../raster/raster.inspect.js';
import { formatSniffBytes, identifySourceFormat } from '../raster/source.format.js';
import { openTilingSource, sourcePathNames, type TilingSource } from '../raster/source.open.js';
import type { InspectionRequest } from './inspection.protocol.js';

/** Plain names PROJ may resolve: files in its own pinned data folder. */
export function projDataRules(dataDirectory = projDataDirectory()): CrsReferenceRules {
  return { hasDataFile: (name) => dataDirectory !== undefined && existsSync(join(dataDirectory, name)) };
}

function reject(why: string): never {
  throw new FailureError({ code: 'INVALID_INPUT', message: why });
}

/** Header, CRS text and declared size, judged from raw bytes before GDAL parses anything. */
async function checkHeader(request: InspectionRequest, rules: CrsReferenceRules): Promise<void> {
  const bytes = await openByteSource(request.path, request.size);
  try {
    const verdict = identifySourceFormat(await bytes.read(0, Math.min(formatSniffBytes, bytes.size)), bytes.size);
    if (!verdict.ok) throw new FailureError(verdict.failure);
    const header = await readContainerHeader(bytes, verdict.driver);
    if (!header.ok) throw new FailureError(header.failure);
    const reference = findCrsFileReference(header.header.crsTexts, rules);
    if (reference) throw new FailureError(crsReferenceFailure(reference));
    const sizeProblem = checkDeclaredSize(header.header, bytes.size, request.declaredSize);
    if (sizeProblem) throw new FailureError(sizeProblem);
  } finally {
    await bytes.close();
  }
}

/** The CRS GDAL built, as PROJ and WKT text: checked again, in case GDAL derived a reference the raw text did not spell. */
function checkOpenedCrs(dataset: gdal.Dataset, rules: CrsReferenceRules): void {
  const srs = dataset.srs;
  if (!srs) return;
  const texts = [];
  for (const [where, exporter] of [
    ['the CRS as GDAL reads it (PROJ string)', () => srs.toProj4()],
    ['the CRS as GDAL reads it (WKT)', () => srs.toWKT()],
  ] as const) {
    try {
      texts.push({ where, text: exporter() });
    } catch {
      // Not every CRS has a PROJ string; the other form is still checked.
    }
  }
  const reference = findCrsFileReference(texts, { ...rules, requirePresent: false });
  if (reference) throw new FailureError(crsReferenceFailure(reference));
}

export async function inspectUntrustedSource(request: InspectionRequest, rules: CrsReferenceRules = projDataRules()): Promise<RasterInfo> {
  await checkHeader(request, rules);
  const { path, shownAs, scratchDir } = request;
  await mkdir(scratchDir, { recursive: true });
  const crsScratch = join(scratchDir, `${randomUUID()}.vrt`);
  // The source as tiles will see it: with the CRS its grid implies when it declares none.
  const source = await openTilingSource(path, shownAs, undefined, crsScratch, { assumeCfLonLat: request.assumeCfLonLat, size: request.size });
  try {
    const dataset = source.dataset;
    checkOpenedCrs(source.original, rules);
    const problem = (await findProblem(dataset, request)) ?? (request.options ? findOptionsProblem(dataset, request.options) : null);
    // GDAL messages name the local copy; a person knows the file by its blob name.
    if (problem) reject(redactLocalPaths(problem, sourcePathNames(path, shownAs)));
    const driver = source.original.driver.description;
    if (request.options?.targetCrs) return await describeReprojected(request, driver);
    return { ...(await readRasterInfo(dataset)), driver, ...(source.assumedCrs ? { crsAssumed: source.assumedCrs } : {}) };
  } finally {
    source.close();
    await rm(`${crsScratch}.crs.vrt`, { force: true });
  }
}

/** With a target CRS the tiles are cut from the warped grid, so that grid is what validation reports. */
async function describeReprojected(request: InspectionRequest, driver: string): Promise<RasterInfo> {
  const { path, shownAs, scratchDir } = request;
  const options = request.options!;
  await mkdir(scratchDir, { recursive: true });
  const warpScratch = join(scratchDir, `${randomUUID()}.warp.vrt`);
  let warped: TilingSource;
  try {
    warped = await openTilingSource(path, shownAs, options, warpScratch, { assumeCfLonLat: request.assumeCfLonLat, size: request.size });
  } catch (error) {
    await rm(warpScratch, { force: true });
    await rm(`${warpScratch}.crs.vrt`, { force: true });
    if (error instanceof FailureError) throw error;
    const detail = redactLocalPaths((error as Error).message, [[warpScratch, 'the warped grid'], ...sourcePathNames(path, shownAs)]);
    return reject(`it cannot be reprojected to ${options.targetCrs} (${detail}); choose another target CRS or none`);
  }
  try {
    const { x: width, y: height } = warped.dataset.rasterSize;
    if (width > request.maxDimension || height > request.maxDimension) {
      reject(`reprojected to ${options.targetCrs} it would be ${width}×${height} pixels, over the limit of ${request.maxDimension} pixels a side (setting INGEST_MAX_DIMENSION)`);
    }
    const tiles = checkTileCount(width, height, request.tileSize, request.maxTilesPerJob);
    if (tiles) throw new FailureError({ ...tiles, message: `reprojected to ${options.targetCrs}, ${tiles.message}` });
    const problem = findGeoreferencingProblem(warped.dataset);
    if (problem) reject(`reprojected to ${options.targetCrs}, ${problem}`);
    return { ...(await readRasterInfo(warped.dataset)), driver };
  } finally {
    warped.close();
    await rm(warpScratch, { force: true });
    await rm(`${warpScratch}.crs.vrt`, { force: true });
  }
}

async function findProblem(dataset: gdal.Dataset, request: InspectionRequest): Promise<string | null> {
  if (dataset.bands.count() === 0) {
    const subdatasets = listSubdatasets(dataset);
    if (subdatasets.length > 0) {
      const shown = subdatasets.slice(0, 5).join('; ') + (subdatasets.length > 5 ? '; …' : '');
      return `it holds ${subdatasets.length} subdatasets rather than one raster (${shown}); extract the one you want (for example \`gdal_translate NETCDF:"file.nc":<variable> out.tif\`) and upload that`;
    }
    return 'it has no raster bands';
  }
  // Before any band is described: more bands than a TIFF holds, or a type STAC cannot name, never becomes a COG.
  checkBandCount(dataset.bands.count());
  const bands = [];
  for (let i = 1; i <= dataset.bands.count(); i++) bands.push(readBandInfo(dataset.bands.get(i)));
  checkIngestibleBands(bands);
  const { x: width, y: height } = dataset.rasterSize;
  if (width > request.maxDimension || height > request.maxDimension) {
    return `it is ${width}×${height} pixels, over the limit of ${request.maxDimension} pixels a side (setting INGEST_MAX_DIMENSION); split it first or raise the limit`;
  }
  // Before any pixel is read: a job of too many tiles is refused whatever its pixels hold.
  if (!request.options?.targetCrs) {
    const tiles = checkTileCount(width, height, request.tileSize, request.maxTilesPerJob);
    if (tiles) throw new FailureError(tiles);
  }
  return findGeoreferencingProblem(dataset) ?? (await findUnreadablePixels(dataset));
}

/** Options the COG step would refuse, reported now rather than as retried tile failures. */
function findOptionsProblem(dataset: gdal.Dataset, options: IngestOptions): string | null {
  const bands = [];
  for (let i = 1; i <= dataset.bands.count(); i++) bands.push(readBandInfo(dataset.bands.get(i)));
  try {
    checkCompressionFits(options, { bands });
    return null;
  } catch (error) {
    return `the options do not fit it: ${(error as Error).message}`;
  }
}
