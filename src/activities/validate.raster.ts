/**
 * Activity: decide whether a source can become correct COGs, and describe it. A rejection is a
 * result with a reason a person can act on; storage trouble throws so the orchestrator retries.
 */
import { randomUUID } from 'node:crypto';
import { open, rm } from 'node:fs/promises';
import gdal from 'gdal-async';
import type { ValidateRasterInput, ValidationResult } from '../pipeline/contracts.js';
import type { IngestOptions } from '../pipeline/options.js';
import { checkCompressionFits } from '../raster/cog.command.js';
import { openTilingSource, type TilingSource } from '../raster/source.open.js';
import { findGeoreferencingProblem, findUnreadablePixels, listSubdatasets, readBandInfo, readRasterInfo } from '../raster/raster.inspect.js';
import type { ActivityDependencies } from './activity.dependencies.js';
import { SourceChangedError, SourceMissingError } from './source.cache.js';

export type ValidateRaster = (input: ValidateRasterInput) => Promise<ValidationResult>;

/** The orchestrator prefixes the source ("Cannot ingest uploads/x.tif: …"), so reasons start with what is wrong. */
function reject(why: string): ValidationResult {
  return { accepted: false, reason: why };
}

export function createValidateRaster(deps: Pick<ActivityDependencies, 'settings' | 'sources'>): ValidateRaster {
  return async ({ source, options }) => {
    if (source.size === 0) return reject('the file is empty (0 bytes); upload it again');
    let verdict: ValidationResult;
    try {
      verdict = await deps.sources.withLocalCopy(source, (path) => inspectLocalCopy(path, source.name, deps.settings.maxDimension, options));
    } catch (error) {
      if (error instanceof SourceChangedError) return reject(`it was replaced after this job was submitted (expected ETag ${source.etag}); the new upload is a job of its own`);
      if (error instanceof SourceMissingError) return reject('it no longer exists; upload it again');
      throw error;
    }
    // A rejected source has no tiles coming: free its copy now.
    if (!verdict.accepted) await deps.sources.evict(source);
    return verdict;
  };
}

async function inspectLocalCopy(path: string, sourceName: string, maxDimension: number, options: IngestOptions | undefined): Promise<ValidationResult> {
  let dataset: gdal.Dataset;
  try {
    dataset = await gdal.openAsync(path);
  } catch (error) {
    const detail = (error as Error).message.replaceAll(path, sourceName);
    return reject(
      (await startsLikeTiff(path))
        ? `it starts like a TIFF but GDAL cannot read it (${detail}); the file is probably truncated or corrupt — upload it again`
        : `it is not a raster GDAL can read (${detail}); upload a GeoTIFF or another GDAL raster format`,
    );
  }
  try {
    const problem = (await findProblem(dataset, maxDimension)) ?? (options ? findOptionsProblem(dataset, options) : null);
    // GDAL messages name the local copy; a person knows the file by its blob name.
    if (problem) return reject(problem.replaceAll(path, sourceName));
    if (options?.targetCrs) return await describeReprojected(path, sourceName, dataset.driver.description, maxDimension, options);
    return { accepted: true, info: await readRasterInfo(dataset) };
  } finally {
    dataset.close();
  }
}

/** With a target CRS the tiles are cut from the warped grid, so that grid is what validation reports. */
async function describeReprojected(path: string, sourceName: string, driver: string, maxDimension: number, options: IngestOptions): Promise<ValidationResult> {
  const warpScratch = `${path}.${randomUUID()}.warp.vrt`;
  let warped: TilingSource;
  try {
    warped = await openTilingSource(path, options, warpScratch);
  } catch (error) {
    await rm(warpScratch, { force: true });
    return reject(`it cannot be reprojected to ${options.targetCrs} (${(error as Error).message.replaceAll(path, sourceName)}); choose another target CRS or none`);
  }
  try {
    const { x: width, y: height } = warped.dataset.rasterSize;
    if (width > maxDimension || height > maxDimension) {
      return reject(`reprojected to ${options.targetCrs} it would be ${width}×${height} pixels, over the limit of ${maxDimension} pixels a side (setting INGEST_MAX_DIMENSION)`);
    }
    const problem = findGeoreferencingProblem(warped.dataset);
    if (problem) return reject(`reprojected to ${options.targetCrs}, ${problem}`);
    return { accepted: true, info: { ...(await readRasterInfo(warped.dataset)), driver } };
  } finally {
    warped.close();
    await rm(warpScratch, { force: true });
  }
}

/** TIFF and BigTIFF magic numbers, little- and big-endian. */
async function startsLikeTiff(path: string): Promise<boolean> {
  const file = await open(path, 'r');
  try {
    const { buffer, bytesRead } = await file.read(Buffer.alloc(4), 0, 4, 0);
    if (bytesRead < 4) return false;
    const magic = buffer.toString('hex');
    return ['49492a00', '4d4d002a', '49492b00', '4d4d002b'].includes(magic);
  } finally {
    await file.close();
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
