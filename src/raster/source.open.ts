/**
 * Opens an untrusted source for reading: only with the one driver its first bytes allow (see
 * `source.format.ts`), under the process-wide GDAL settings that keep GDAL away from sidecar files
 * and the network (`gdal.setup.ts`). Then, optionally, reprojects it through a warped VRT of our own.
 */
import { randomUUID } from 'node:crypto';
import { rm, symlink } from 'node:fs/promises';
import gdal from 'gdal-async';
import { FailureError, redactLocalPaths } from '../pipeline/failure.js';
import type { IngestOptions } from '../pipeline/options.js';
import { openByteSource, remoteSize } from './byte.source.js';
import { readContainerHeader, type ByteSource } from './container.header.js';
import { findAssumedCrs } from './crs.assumed.js';
import { directIoBeforeOpen } from './gdal.setup.js';
import { parseInPlacePath, pinnedInPlacePath } from './in.place.path.js';
import { readBandInfo } from './raster.inspect.js';
import { variableDatasetName } from './source.variables.js';
import { formatSniffBytes, identifySourceFormat, type SourceDriver } from './source.format.js';
import { buildWarpVrtArgs } from './warp.command.js';

/** How messages name what a file starts like. */
const formatNames: Readonly<Record<SourceDriver, string>> = { GTiff: 'a TIFF', netCDF: 'netCDF', JP2OpenJPEG: 'JPEG 2000', HFA: 'Erdas Imagine', HDF5: 'HDF5', GTX: 'a GTX grid' };

/** Replacements that hide a source's GDAL path (and, read in place, its signed URL and pin file) behind its blob name. */
export function sourcePathNames(path: string, shownAs: string): Array<[string, string]> {
  const inPlace = parseInPlacePath(path);
  if (!inPlace) return [[path, shownAs]];
  return [[path, shownAs], [inPlace.url, shownAs], [encodeURIComponent(inPlace.url), shownAs], ...(inPlace.headerFile ? ([[inPlace.headerFile, shownAs]] as Array<[string, string]>) : [])];
}

/** The first bytes of `path`, and its size when it is a local file (a signed URL's was checked by validation). */
async function readHead(path: string): Promise<{ head: Uint8Array; size?: number }> {
  const bytes = await openByteSource(path, formatSniffBytes);
  try {
    return { head: await bytes.read(0, formatSniffBytes), ...(parseInPlacePath(path) ? {} : { size: bytes.size }) };
  } finally {
    await bytes.close();
  }
}

/**
 * The dataset of an uploaded file at `path` (a local copy), opened with the single driver its
 * format allows. Refusals and unreadable files throw a `FailureError` whose message names the
 * file as `shownAs` (its blob name), never by its local path.
 */
export async function openUntrustedSource(path: string, shownAs: string, variable?: string): Promise<gdal.Dataset> {
  const { head, size } = await readHead(path);
  const verdict = identifySourceFormat(head, size);
  if (!verdict.ok) throw new FailureError(verdict.failure);
  // netCDF-4 is HDF5 inside: `openHdf5` takes the variable when the file opens as netCDF, and refuses it otherwise.
  if (variable !== undefined && verdict.driver !== 'netCDF' && verdict.driver !== 'HDF5') {
    throw new FailureError({ code: 'INVALID_INPUT', message: `the variable option is for netCDF sources, and this is ${formatNames[verdict.driver]}; submit it without a variable` });
  }
  directIoBeforeOpen(parseInPlacePath(path) !== undefined);
  try {
    if (verdict.driver === 'HDF5') return await openHdf5(path, variable);
    if (verdict.driver === 'GTX') return await openGtx(path);
    // One variable of a file of several: a dataset name of our own, still only the netCDF driver.
    return await gdal.openAsync(variable === undefined ? path : variableDatasetName(path, variable), 'r', [verdict.driver]);
  } catch (error) {
    if (error instanceof FailureError) throw error;
    const detail = redactLocalPaths(error instanceof Error ? error.message : String(error), sourcePathNames(path, shownAs));
    throw new FailureError({
      code: 'INVALID_INPUT',
      message:
        `it starts like ${formatNames[verdict.driver]} but GDAL cannot read it (${detail}); the file is probably truncated or corrupt — upload it again`,
    });
  }
}

/**
 * HDF5 and netCDF-4: with the driver its structure calls for (`hdf5.header.ts`). GDAL's netCDF
 * driver leaves HDF5 files to the HDF5 driver unless named by a `.nc` extension, which copies do
 * not have (`source.cache.ts`), so netCDF-4 is opened by its `NETCDF:"…"` name.
 */
async function openHdf5(path: string, variable?: string): Promise<gdal.Dataset> {
  const bytes = await openByteSource(path, Number.MAX_SAFE_INTEGER);
  let header;
  try {
    header = await readContainerHeader(await sizedSource(bytes, path), 'HDF5');
  } finally {
    await bytes.close();
  }
  if (!header.ok) throw new FailureError(header.failure);
  if (header.header.opensWith === 'netCDF') return gdal.openAsync(variable === undefined ? `NETCDF:"${path}"` : variableDatasetName(path, variable), 'r', ['netCDF']);
  if (variable !== undefined) throw new FailureError({ code: 'INVALID_INPUT', message: 'the variable option applies to netCDF (classic or netCDF-4); this HDF5 file has no netCDF dimensions — extract the dataset to a GeoTIFF first' });
  return gdal.openAsync(path, 'r', ['HDF5']);
}

/**
 * GDAL's GTX driver recognises a grid by its `.gtx` extension alone. A local copy is opened
 * through a link of that name (removed once GDAL holds the file open); a signed URL gets a query
 * parameter storage ignores.
 */
async function openGtx(path: string): Promise<gdal.Dataset> {
  const inPlace = parseInPlacePath(path);
  if (inPlace) {
    // GDAL takes the extension after the path's last dot: the (encoded) URL's end, in either form.
    const url = `${inPlace.url}${inPlace.url.includes('?') ? '&' : '?'}format=.gtx`;
    return gdal.openAsync(inPlace.headerFile ? pinnedInPlacePath(url, inPlace.headerFile) : `/vsicurl/${url}`, 'r', ['GTX']);
  }
  const link = `${path}.${randomUUID()}.gtx`;
  await symlink(path, link);
  try {
    return await gdal.openAsync(link, 'r', ['GTX']);
  } finally {
    await rm(link, { force: true });
  }
}

/** The byte source with the upload's real size (a local file knows it; a URL is asked with a HEAD-less ranged read of the last byte). */
async function sizedSource(bytes: ByteSource, path: string): Promise<ByteSource> {
  if (!parseInPlacePath(path)) return bytes;
  return { size: await remoteSize(path), read: (offset, length) => bytes.read(offset, length) };
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

/**
 * How a source without a CRS of its own may get one: decided here from its header (validation,
 * and tiles of jobs from before validation passed its decision on), or as validation decided.
 */
export type CrsAssumption =
  | {
      /** Setting INGEST_ASSUME_CF_LONLAT. */
      assumeCfLonLat: boolean;
      /** The upload's size in bytes (its header is read again to decide). */
      size: number;
    }
  | { assumedCrs: string | null };

/** Only an EPSG code is ever assumed (validation's decision, carried by the job and the work queue). */
function checkedAssumedCrs(crs: string | null): string | null {
  if (crs !== null && !/^EPSG:\d{1,9}$/.test(crs)) throw new FailureError({ code: 'INTERNAL', message: 'the tile was given an assumed CRS that is not an EPSG code' });
  return crs;
}

/** What to open: the file, or one variable of it (and which band of that, for the caller). */
export interface SourceRaster {
  /** A variable opened alone (`NETCDF:"<path>":<name>`); absent: the file as GDAL opens it. */
  variable?: string;
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
  raster: SourceRaster = {},
): Promise<TilingSource> {
  const source = await openUntrustedSource(sourcePath, shownAs, raster.variable);
  const opened: gdal.Dataset[] = [source];
  const close = (): void => {
    for (const dataset of opened.reverse()) dataset.close();
  };
  try {
    let dataset = source;
    const assumedCrs = !assumption ? null : 'assumedCrs' in assumption ? (source.srs ? null : checkedAssumedCrs(assumption.assumedCrs)) : await findAssumedCrs(sourcePath, source, assumption);
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
