/**
 * Opens an untrusted source for reading: only with the one driver its first bytes allow (see
 * `source.format.ts`), under the process-wide GDAL settings that keep GDAL away from sidecar files
 * and the network (`gdal.setup.ts`). Then, optionally, reprojects it through a warped VRT of our own.
 */
import gdal from 'gdal-async';
import { FailureError, redactLocalPaths } from '../pipeline/failure.js';
import type { IngestOptions } from '../pipeline/options.js';
import { openByteSource } from './byte.source.js';
import { readBandInfo } from './raster.inspect.js';
import { formatSniffBytes, identifySourceFormat, type SourceDriver } from './source.format.js';
import { buildWarpVrtArgs } from './warp.command.js';

/** How messages name what a file starts like. */
const formatNames: Readonly<Record<SourceDriver, string>> = { GTiff: 'a TIFF', netCDF: 'netCDF', JP2OpenJPEG: 'JPEG 2000' };

/** The prefix of a source read in place: `/vsicurl/<signed URL of our own blob>`. */
const inPlacePrefix = '/vsicurl/';

/** Replacements that hide a source's GDAL path (and, read in place, its signed URL) behind its blob name. */
export function sourcePathNames(path: string, shownAs: string): Array<[string, string]> {
  return path.startsWith(inPlacePrefix) ? [[path, shownAs], [path.slice(inPlacePrefix.length), shownAs]] : [[path, shownAs]];
}

async function readHead(path: string): Promise<Uint8Array> {
  const bytes = await openByteSource(path, formatSniffBytes);
  try {
    return await bytes.read(0, formatSniffBytes);
  } finally {
    await bytes.close();
  }
}

/**
 * The dataset of an uploaded file at `path` (a local copy), opened with the single driver its
 * format allows. Refusals and unreadable files throw a `FailureError` whose message names the
 * file as `shownAs` (its blob name), never by its local path.
 */
export async function openUntrustedSource(path: string, shownAs: string): Promise<gdal.Dataset> {
  const verdict = identifySourceFormat(await readHead(path));
  if (!verdict.ok) throw new FailureError(verdict.failure);
  try {
    return await gdal.openAsync(path, 'r', [verdict.driver]);
  } catch (error) {
    const detail = redactLocalPaths(error instanceof Error ? error.message : String(error), sourcePathNames(path, shownAs));
    throw new FailureError({
      code: 'INVALID_INPUT',
      message:
        `it starts like ${formatNames[verdict.driver]} but GDAL cannot read it (${detail}); the file is probably truncated or corrupt — upload it again`,
    });
  }
}

export interface TilingSource {
  /** The dataset tiles are cut from (the source, or its warped VRT). */
  dataset: gdal.Dataset;
  /** The source as uploaded, for what a warp does not carry (e.g. its metadata). */
  original: gdal.Dataset;
  close(): void;
}

/**
 * `vrtPath` is where the warped VRT is written when reprojecting (a scratch file next to the
 * caller's other outputs).
 */
export async function openTilingSource(
  sourcePath: string,
  shownAs: string,
  options: Pick<IngestOptions, 'targetCrs' | 'resampling'> | undefined,
  vrtPath: string,
): Promise<TilingSource> {
  const source = await openUntrustedSource(sourcePath, shownAs);
  if (!options?.targetCrs) return { dataset: source, original: source, close: () => source.close() };
  try {
    const bands = [];
    for (let i = 1; i <= source.bands.count(); i++) bands.push(readBandInfo(source.bands.get(i)));
    const warped = await gdal.warpAsync(vrtPath, null, [source], buildWarpVrtArgs(options.targetCrs, options, bands));
    return {
      dataset: warped,
      original: source,
      close: () => {
        warped.close();
        source.close();
      },
    };
  } catch (error) {
    source.close();
    throw error;
  }
}
