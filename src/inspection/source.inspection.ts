/**
 * Decides whether one untrusted upload can become correct COGs, and describes it. Runs inside
 * the inspecting process (`inspector.child.ts`), never on the app's event loop: GDAL and PROJ
 * parse what the upload declares here, and a crafted file may block or balloon while they do.
 *
 * Order matters: the header is read from raw bytes first, so a CRS naming a file is refused, and a
 * size the bytes cannot back is refused, before GDAL or PROJ parse anything; then GDAL opens the
 * file with the one driver its first bytes allow, and the CRS it reports is checked again.
 */
import { createHash, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type gdal from 'gdal-async';
import type { RasterInfo, RasterVariable } from '../pipeline/contracts.js';
import { assignVariableKeys } from '../pipeline/variable.name.js';
import { isDefaultGeoTransform, type GeoTransform } from '../raster/geo.transform.js';
import { quoteValue } from '../raster/metadata.bounds.js';
import { countVariableTiles } from '../raster/tile.plan.js';
import { listVariableCandidates, readStepLabel, readVariableName } from '../raster/source.variables.js';
import { FailureError, redactLocalPaths, type Failure } from '../pipeline/failure.js';
import type { IngestOptions } from '../pipeline/options.js';
import { checkCompressionFits } from '../raster/cog.command.js';
import { openByteSource } from '../raster/byte.source.js';
import { readContainerHeader, type ContainerHeader } from '../raster/container.header.js';
import { crsReferenceFailure, findCrsFileReference, type CrsReferenceRules } from '../raster/crs.references.js';
import { checkDeclaredSize, checkTileCount } from '../raster/declared.size.js';
import { projDataDirectory } from '../raster/gdal.setup.js';
import { checkBandCount, checkIngestibleBands } from '../raster/metadata.bounds.js';
import { findGeoreferencingProblem, findUnreadablePixels, listSubdatasets, readBandInfo, readRasterInfo } from '../raster/raster.inspect.js';
import { formatSniffBytes, identifySourceFormat } from '../raster/source.format.js';
import { openTilingSource, openUntrustedSource, sourcePathNames, type SourceRaster, type TilingSource } from '../raster/source.open.js';
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
    const stepsProblem = checkDeclaredSteps(header.header, request);
    if (stepsProblem) throw new FailureError(stepsProblem);
  } finally {
    await bytes.close();
  }
}

/**
 * Each time step or level of a variable becomes at least one tile: a header declaring more steps
 * than a job may have tiles is refused before GDAL makes a band of each (a 1×1 grid of a million
 * steps is a 4 MB file). Variables of one band (bounds, 2-D fields) are not counted: a lower bound.
 */
function checkDeclaredSteps(header: ContainerHeader, request: InspectionRequest): Failure | null {
  // Only netCDF steps become tiles of their own; a TIFF's bands are one COG's samples.
  if (header.driver !== 'netCDF') return null;
  const wanted = request.options?.variable;
  const stepped = header.rasters.filter((raster) => raster.bands > 1 && (wanted === undefined || raster.name === `variable ${wanted}`));
  const steps = stepped.reduce((sum, raster) => sum + raster.bands, 0);
  if (steps <= request.maxTilesPerJob) return null;
  return {
    code: 'INPUT_LIMIT',
    message:
      `its variables declare ${steps.toLocaleString('en-US')} time steps or levels, and each becomes a tile of its own: over the limit of ` +
      `${request.maxTilesPerJob.toLocaleString('en-US')} tiles per job (setting INGEST_MAX_TILES_PER_JOB); pick one variable with the variable option, or split the file by time first (for example \`ncks -d time,0,99 in.nc part.nc\`)`,
  };
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
  // The file as GDAL opens it: one raster, or a container of variables (netCDF).
  const layout = await findLayout(request, rules);
  if (layout.kind === 'raster') return describeRaster(request, rules, {});
  return describeVariables(request, rules, layout);
}

/** What a source is made of: one raster, or gridded variables each ingested on its own. */
type SourceLayout = { kind: 'raster' } | { kind: 'variables'; names: string[]; unsafe: string[]; subdataset: boolean };

async function findLayout(request: InspectionRequest, rules: CrsReferenceRules): Promise<SourceLayout> {
  const { path, shownAs } = request;
  const wanted = request.options?.variable;
  const dataset = await openUntrustedSource(path, shownAs);
  try {
    checkOpenedCrs(dataset, rules);
    if (dataset.driver.description !== 'netCDF') {
      if (wanted !== undefined) reject(`the variable option is for netCDF sources, and this is a ${dataset.driver.description} raster; submit it without a variable`);
      return { kind: 'raster' };
    }
    if (dataset.bands.count() > 0) {
      // One variable: it is the file. Its time steps or levels (bands) become items of their own.
      const name = readVariableName(dataset);
      if (wanted !== undefined && wanted !== name) reject(`it has no variable ${quoteValue(wanted)}; its one gridded variable is ${quoteValue(name ?? 'unnamed')}`);
      if (name === null || readStepLabel(dataset) === null) return { kind: 'raster' };
      return { kind: 'variables', names: [name], unsafe: [], subdataset: false };
    }
    const candidates = listVariableCandidates(dataset, path);
    if (candidates.names.length === 0) return { kind: 'raster' };
    return { kind: 'variables', ...candidates, subdataset: true };
  } finally {
    dataset.close();
  }
}

/** Gridded variables one job may ingest: each adds to the job's status (the tile ledger plans from it). */
export const maxVariablesPerJob = 32;

/** How many names a message lists. */
const listedNames = 10;

function listNames(names: readonly string[]): string {
  const shown = names.slice(0, listedNames).map((name) => quoteValue(name));
  return shown.join(', ') + (names.length > listedNames ? ` and ${names.length - listedNames} more` : '');
}

/**
 * Each gridded variable (or the one the `variable` option names) described on its own: its grid,
 * its bands (one per time step or level), its CRS. Variables GDAL cannot place on a grid (bounds,
 * coordinates, station series) are skipped; if none can be, the first one's problem is the answer.
 */
async function describeVariables(request: InspectionRequest, rules: CrsReferenceRules, layout: Extract<SourceLayout, { kind: 'variables' }>): Promise<RasterInfo> {
  const wanted = request.options?.variable;
  let names = layout.names;
  if (wanted !== undefined) {
    if (!names.includes(wanted)) reject(`it has no variable ${quoteValue(wanted)}; its variables are ${listNames(names)}`);
    names = [wanted];
  } else if (layout.unsafe.length > 0) {
    reject(
      `its variable ${quoteValue(layout.unsafe[0]!)} has a name the app does not open (only letters, digits and _ . @ + -); ` +
        'rename it (for example `ncrename -v "old name",new_name file.nc`) or pick another with the variable option',
    );
  }
  if (names.length > maxVariablesPerJob) {
    throw new FailureError({ code: 'INPUT_LIMIT', message: `it holds ${names.length} variables, over the ${maxVariablesPerJob} one job may ingest; pick one with the variable option (one job per variable)` });
  }
  // Which candidates are grids, and how many steps each has: opened alone, nothing read yet.
  const shapes: Array<{ name: string; width: number; height: number; steps: number; stepLabel: 't' | 'b' | null }> = [];
  let firstProblem: string | null = null;
  for (const name of names) {
    const dataset = await openUntrustedSource(request.path, request.shownAs, layout.subdataset ? name : undefined);
    try {
      const problem = dataset.bands.count() === 0 ? 'it has no raster bands' : findGeoreferencingProblem(dataset);
      // A grid without a CRS is still a grid (its problem is told below); no geotransform at all is not.
      if (problem !== null && !(dataset.geoTransform && !isDefaultGeoTransform(dataset.geoTransform as GeoTransform))) {
        firstProblem ??= `its variable ${quoteValue(name)}: ${problem}`;
        if (wanted !== undefined) reject(firstProblem);
        continue;
      }
      shapes.push({ name, width: dataset.rasterSize.x, height: dataset.rasterSize.y, steps: dataset.bands.count(), stepLabel: readStepLabel(dataset) });
    } finally {
      dataset.close();
    }
  }
  if (shapes.length === 0) reject(firstProblem ?? 'it has no raster bands');
  // Before any pixel is read: every variable × step × window is a tile of its own.
  if (!request.options?.targetCrs) checkVariableTiles(shapes, request);
  const keys = assignKeys(shapes.map((shape) => shape.name));
  const variables: RasterVariable[] = [];
  let first: RasterInfo | undefined;
  for (const [index, shape] of shapes.entries()) {
    let info: RasterInfo;
    try {
      info = await describeRaster(request, rules, layout.subdataset ? { variable: shape.name } : {}, { countTiles: false });
    } catch (error) {
      if (error instanceof FailureError) throw new FailureError({ ...error.failure, message: `its variable ${quoteValue(shape.name)}: ${error.failure.message}` });
      throw error;
    }
    first ??= info;
    variables.push({
      name: shape.name,
      key: keys[index]!,
      subdataset: layout.subdataset,
      width: info.width,
      height: info.height,
      band: info.bands[0]!,
      steps: shape.stepLabel === null ? 1 : info.bands.length,
      stepLabel: shape.stepLabel,
      crs: info.crs,
      geoTransform: info.geoTransform,
      ...(info.crsAssumed ? { crsAssumed: info.crsAssumed } : {}),
    });
  }
  // Reprojected, the windows are the warped grids'.
  if (request.options?.targetCrs) checkVariableTiles(variables, request);
  return { ...first!, variables };
}

function assignKeys(names: readonly string[]): string[] {
  try {
    return assignVariableKeys(names, (name) => createHash('sha256').update(name).digest('hex'));
  } catch {
    return reject('two of its variables have names that differ only in case or punctuation and cannot be told apart in item ids; rename one (ncrename) or pick one with the variable option');
  }
}

function checkVariableTiles(variables: ReadonlyArray<{ width: number; height: number; steps: number }>, request: InspectionRequest): void {
  const tiles = countVariableTiles(variables, request.tileSize);
  if (tiles <= request.maxTilesPerJob) return;
  const steps = variables.reduce((sum, variable) => sum + variable.steps, 0);
  throw new FailureError({
    code: 'INPUT_LIMIT',
    message:
      `its ${variables.length} variable${variables.length === 1 ? '' : 's'} with ${steps.toLocaleString('en-US')} time steps or levels in all, at ${request.tileSize}-pixel tiles, ` +
      `would make ${tiles.toLocaleString('en-US')} tiles (one per variable, step and window), over the limit of ${request.maxTilesPerJob.toLocaleString('en-US')} per job ` +
      '(setting INGEST_MAX_TILES_PER_JOB); pick one variable with the variable option, or split the file by time first (for example `ncks -d time,0,99 in.nc part.nc`)',
  });
}

/** One raster (the file, or one variable of it) as tiles will see it: with the CRS its grid implies when it declares none. */
async function describeRaster(request: InspectionRequest, rules: CrsReferenceRules, raster: SourceRaster, checks: { countTiles: boolean } = { countTiles: true }): Promise<RasterInfo> {
  const { path, shownAs, scratchDir } = request;
  await mkdir(scratchDir, { recursive: true });
  const crsScratch = join(scratchDir, `${randomUUID()}.vrt`);
  const source = await openTilingSource(path, shownAs, undefined, crsScratch, { assumeCfLonLat: request.assumeCfLonLat, size: request.size }, raster);
  try {
    const dataset = source.dataset;
    checkOpenedCrs(source.original, rules);
    const problem = (await findProblem(dataset, request, checks)) ?? (request.options ? findOptionsProblem(dataset, request.options) : null);
    // GDAL messages name the local copy; a person knows the file by its blob name.
    if (problem) reject(redactLocalPaths(problem, sourcePathNames(path, shownAs)));
    const driver = source.original.driver.description;
    if (request.options?.targetCrs) return await describeReprojected(request, driver, raster, checks);
    return { ...(await readRasterInfo(dataset)), driver, ...(source.assumedCrs ? { crsAssumed: source.assumedCrs } : {}) };
  } finally {
    source.close();
    await rm(`${crsScratch}.crs.vrt`, { force: true });
  }
}

/** With a target CRS the tiles are cut from the warped grid, so that grid is what validation reports. */
async function describeReprojected(request: InspectionRequest, driver: string, raster: SourceRaster, checks: { countTiles: boolean }): Promise<RasterInfo> {
  const { path, shownAs, scratchDir } = request;
  const options = request.options!;
  await mkdir(scratchDir, { recursive: true });
  const warpScratch = join(scratchDir, `${randomUUID()}.warp.vrt`);
  let warped: TilingSource;
  try {
    warped = await openTilingSource(path, shownAs, options, warpScratch, { assumeCfLonLat: request.assumeCfLonLat, size: request.size }, raster);
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
    const tiles = checks.countTiles ? checkTileCount(width, height, request.tileSize, request.maxTilesPerJob) : null;
    if (tiles) throw new FailureError({ ...tiles, message: `reprojected to ${options.targetCrs}, ${tiles.message}` });
    const problem = findGeoreferencingProblem(warped.dataset);
    if (problem) reject(`reprojected to ${options.targetCrs}, ${problem}`);
    // The tiles warp from the source with the CRS assumed for it, as here.
    return { ...(await readRasterInfo(warped.dataset)), driver, ...(warped.assumedCrs ? { crsAssumed: warped.assumedCrs } : {}) };
  } finally {
    warped.close();
    await rm(warpScratch, { force: true });
    await rm(`${warpScratch}.crs.vrt`, { force: true });
  }
}

async function findProblem(dataset: gdal.Dataset, request: InspectionRequest, checks: { countTiles: boolean }): Promise<string | null> {
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
  if (!request.options?.targetCrs && checks.countTiles) {
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
