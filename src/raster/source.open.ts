/**
 * Opens an untrusted source for reading: only with the one driver its first bytes allow (see
 * `source.format.ts`), under the process-wide GDAL settings that keep GDAL away from sidecar files
 * and the network (`gdal.setup.ts`). Then, optionally, reprojects it through a warped VRT of our own.
 */
import gdal from 'gdal-async';
import { FailureError, redactLocalPaths } from '../pipeline/failure.js';
import type { IngestOptions } from '../pipeline/options.js';
import { openByteSource } from './byte.source.js';
import { findAssumedCrs } from './crs.assumed.js';
import { directIoBeforeOpen } from './gdal.setup.js';
import { parseInPlacePath } from './in.place.path.js';
import { readBandInfo } from './raster.inspect.js';
import { formatSniffBytes, identifySourceFormat, type SourceDriver } from './source.format.js';
import { buildWarpVrtArgs } from './warp.command.js';

/** How messages name what a file starts like. */
const formatNames: Readonly<Record<SourceDriver, string>> = { GTiff: 'a TIFF', netCDF: 'netCDF', JP2OpenJPEG: 'JPEG 2000', HFA: 'Erdas Imagine' };

/** Replacements that hide a source's GDAL path (and, read in place, its signed URL and pin file) behind its blob name. */
export function sourcePathNames(path: string, shownAs: string): Array<[string, string]> {
  const inPlace = parseInPlacePath(path);
  if (!inPlace) return [[path, shownAs]];
  return [[path, shownAs], [inPlace.url, shownAs], [encodeURIComponent(inPlace.url), shownAs], ...(inPlace.headerFile ? ([[inPlace.headerFile, shownAs]] as Array<[string, string]>) : [])];
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
  directIoBeforeOpen(parseInPlacePath(path) !== undefined);
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
  /** The CRS assumed for a source that declares none (`crs.assumed.ts`), or `null`. */
  assumedCrs: string | null;
  close(): void;
}

/** How a source without a CRS of its own may get one: see `findAssumedCrs`. */
export interface CrsAssumption {
  /** Setting INGEST_ASSUME_CF_LONLAT. */
  assumeCfLonLat: boolean;
  /** The upload's size in bytes (its header is read again to decide). */
  size: number;
}

/**
 * `vrtPath` is where the warped VRT is written when reprojecting (a scratch file next to the
 * caller's other outputs); `${vrtPath}.crs.vrt` when a CRS is assumed.
 */
export async function openTilingSource(
  sourcePath: string,
  shownAs: string,
  options: Pick<IngestOptions, 'targetCrs' | 'resampling'> | undefined,
  vrtPath: string,
  assumption?: CrsAssumption,
): Promise<TilingSource> {
  const source = await openUntrustedSource(sourcePath, shownAs);
  const opened: gdal.Dataset[] = [source];
  const close = (): void => {
    for (const dataset of opened.reverse()) dataset.close();
  };
  try {
    let dataset = source;
    const assumedCrs = assumption ? await findAssumedCrs(sourcePath, source, assumption) : null;
    if (assumedCrs) {
      // Our own VRT over the source, with the CRS the grid's coordinates imply.
      dataset = await gdal.translateAsync(`${vrtPath}.crs.vrt`, source, ['-of', 'VRT', '-a_srs', assumedCrs]);
      opened.push(dataset);
    }
    if (options?.targetCrs) {
      const bands = [];
      for (let i = 1; i <= dataset.bands.count(); i++) bands.push(readBandInfo(dataset.bands.get(i)));
      dataset = await gdal.warpAsync(vrtPath, null, [dataset], buildWarpVrtArgs(options.targetCrs, options, bands));
      opened.push(dataset);
    }
    return { dataset, original: source, assumedCrs, close };
  } catch (error) {
    close();
    throw error;
  }
}
