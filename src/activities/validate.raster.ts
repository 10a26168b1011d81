/**
 * Activity: decide whether a source can become correct COGs, and describe it. A rejection is a
 * `FailureError` with a reason a person can act on (returned to the orchestrator as a final
 * failure, not retried); storage trouble is retried.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type gdal from 'gdal-async';
import type { RasterInfo, ValidateRasterInput } from '../pipeline/contracts.js';
import { FailureError, redactLocalPaths } from '../pipeline/failure.js';
import type { IngestOptions } from '../pipeline/options.js';
import { checkCompressionFits } from '../raster/cog.command.js';
import { openTilingSource, openUntrustedSource, sourcePathNames, type TilingSource } from '../raster/source.open.js';
import { findGeoreferencingProblem, findUnreadablePixels, listSubdatasets, readBandInfo, readRasterInfo } from '../raster/raster.inspect.js';
import type { ActivityDependencies } from './activity.dependencies.js';
import { isFinalFailure } from './failure.classify.js';
import { inspectionReadMode } from './source.cache.js';

export type ValidateRaster = (input: ValidateRasterInput) => Promise<RasterInfo>;

/** The orchestrator prefixes the source ("Cannot ingest uploads/x.tif: …"), so reasons start with what is wrong. */
function reject(why: string): never {
  throw new FailureError({ code: 'INVALID_INPUT', message: why });
}

export function createValidateRaster(deps: Pick<ActivityDependencies, 'settings' | 'sources' | 'scratchDir'>): ValidateRaster {
  return async ({ source, options }) => {
    if (source.size === 0) reject('the file is empty (0 bytes); upload it again');
    try {
      // Headers and a few blocks, read where the blob is; a small source is downloaded whole (see inspectionReadMode).
      return await deps.sources.withGdalPath(source, inspectionReadMode(source, deps.settings.sourceRead), (path) => inspectSource(path, source.name, deps.settings.maxDimension, options, deps.scratchDir));
    } catch (error) {
      // A rejected source has no tiles coming: free its copy now.
      if (error instanceof FailureError && isFinalFailure(error.failure)) await deps.sources.evict(source);
      throw error;
    }
  };
}

async function inspectSource(path: string, sourceName: string, maxDimension: number, options: IngestOptions | undefined, scratchDir: string): Promise<RasterInfo> {
  const dataset = await openUntrustedSource(path, sourceName);
  try {
    const problem = (await findProblem(dataset, maxDimension)) ?? (options ? findOptionsProblem(dataset, options) : null);
    // GDAL messages name the local copy; a person knows the file by its blob name.
    if (problem) reject(redactLocalPaths(problem, sourcePathNames(path, sourceName)));
    if (options?.targetCrs) return await describeReprojected(path, sourceName, dataset.driver.description, maxDimension, options, scratchDir);
    return await readRasterInfo(dataset);
  } finally {
    dataset.close();
  }
}

/** With a target CRS the tiles are cut from the warped grid, so that grid is what validation reports. */
async function describeReprojected(path: string, sourceName: string, driver: string, maxDimension: number, options: IngestOptions, scratchDir: string): Promise<RasterInfo> {
  await mkdir(scratchDir, { recursive: true });
  const warpScratch = join(scratchDir, `${randomUUID()}.warp.vrt`);
  let warped: TilingSource;
  try {
    warped = await openTilingSource(path, sourceName, options, warpScratch);
  } catch (error) {
    await rm(warpScratch, { force: true });
    if (error instanceof FailureError) throw error;
    const detail = redactLocalPaths((error as Error).message, [[warpScratch, 'the warped grid'], ...sourcePathNames(path, sourceName)]);
    return reject(`it cannot be reprojected to ${options.targetCrs} (${detail}); choose another target CRS or none`);
  }
  try {
    const { x: width, y: height } = warped.dataset.rasterSize;
    if (width > maxDimension || height > maxDimension) {
      reject(`reprojected to ${options.targetCrs} it would be ${width}×${height} pixels, over the limit of ${maxDimension} pixels a side (setting INGEST_MAX_DIMENSION)`);
    }
    const problem = findGeoreferencingProblem(warped.dataset);
    if (problem) reject(`reprojected to ${options.targetCrs}, ${problem}`);
    return { ...(await readRasterInfo(warped.dataset)), driver };
  } finally {
    warped.close();
    await rm(warpScratch, { force: true });
  }
}

async function findProblem(dataset: gdal.Dataset, maxDimension: number): Promise<string | null> {
  if (dataset.bands.count() === 0) {
    const subdatasets = listSubdatasets(dataset);
    if (subdatasets.length > 0) {
      const shown = subdatasets.slice(0, 5).join('; ') + (subdatasets.length > 5 ? '; …' : '');
      return `it holds ${subdatasets.length} subdatasets rather than one raster (${shown}); extract the one you want (for example \`gdal_translate NETCDF:"file.nc":<variable> out.tif\`) and upload that`;
    }
    return 'it has no raster bands';
  }
  const { x: width, y: height } = dataset.rasterSize;
  if (width > maxDimension || height > maxDimension) {
    return `it is ${width}×${height} pixels, over the limit of ${maxDimension} pixels a side (setting INGEST_MAX_DIMENSION); split it first or raise the limit`;
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
