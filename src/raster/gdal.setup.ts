/** Process-wide GDAL settings for the activities, applied once when their dependencies are built. */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import gdal from 'gdal-async';

/**
 * GDAL's block cache defaults to 5% of RAM (1.2 GB on a 24 GB machine) and, being per process,
 * adds to the host's own memory. COG writing streams through it, so a modest cap costs no speed.
 * An explicit `GDAL_CACHEMAX` in the environment wins.
 */
export const defaultGdalCacheMb = 256;

/**
 * Uploads are untrusted, so GDAL must not read anything beside them. These are always set, whatever
 * the environment says:
 * - `GDAL_DISABLE_READDIR_ON_OPEN=EMPTY_DIR`: drivers see an empty folder, so no sidecar
 *   (`.aux.xml`, `.ovr`, `.msk`, world files, `.IMD`/`.RPB`, ...) is ever looked for or read;
 * - `GDAL_PAM_ENABLED=NO`: no `.aux.xml` is read (or written next to our own outputs);
 * - `GDAL_GEOREF_SOURCES=INTERNAL`: georeferencing only from inside the file;
 * - `GDAL_VRT_ENABLE_PYTHON=NO`: no Python pixel functions, should a VRT ever be opened;
 * - `GML_DOWNLOAD_SCHEMA=NO`, `GML_SKIP_RESOLVE_ELEMS=ALL`: GML inside a JP2 fetches nothing.
 * Which drivers may open a source is decided per file (`source.format.ts`).
 */
export const untrustedInputGdalConfig: Readonly<Record<string, string>> = {
  GDAL_DISABLE_READDIR_ON_OPEN: 'EMPTY_DIR',
  GDAL_PAM_ENABLED: 'NO',
  GDAL_GEOREF_SOURCES: 'INTERNAL',
  GDAL_VRT_ENABLE_PYTHON: 'NO',
  // A JP2's GML box is also read as GML features: never fetch their schemas or resolve their links.
  GML_DOWNLOAD_SCHEMA: 'NO',
  GML_SKIP_RESOLVE_ELEMS: 'ALL',
};

/**
 * Reads of our own blobs in place (`/vsicurl/` on a signed URL): retry what storage throttles,
 * merge adjacent ranges into one request, and keep recently read blocks (validation reads a header
 * and then blocks near it). An explicit value in the environment wins.
 */
export const inPlaceReadGdalConfig: Readonly<Record<string, string>> = {
  GDAL_HTTP_MAX_RETRY: '4',
  GDAL_HTTP_RETRY_DELAY: '1',
  GDAL_HTTP_MERGE_CONSECUTIVE_RANGES: 'YES',
  CPL_VSIL_CURL_CACHE_SIZE: String(128 * 1024 * 1024),
};

/**
 * When tiles read local copies: an uncompressed striped GeoTIFF (a common export) otherwise goes
 * through the block cache a whole scanline at a time, so a tile 808 pixels wide of a 9000-pixel
 * raster copied eleven times its bytes; GDAL's direct path reads the window's bytes alone (tiles
 * of the bench shapes 10–35 % faster). Not set when tiles read in place: a tile window over HTTP
 * would become a request per row (validation of a large source, in place either way, reads only a
 * few blocks).
 */
export const localSourceReadGdalConfig: Readonly<Record<string, string>> = {
  GTIFF_DIRECT_IO: 'YES',
};

/** Where a system PROJ keeps its data (proj.db and grids), by distribution. */
const systemProjDataCandidates = ['/usr/share/proj', '/usr/local/share/proj', '/opt/homebrew/share/proj', '/opt/conda/share/proj'];

/**
 * PROJ's own data folder: the one bundled with gdal-async's prebuilt binary, else the system's.
 * Never taken from the environment: that is what `pinProj` overrides.
 */
export function projDataDirectory(): string | undefined {
  if ((gdal as { bundled?: boolean }).bundled) {
    const bundled = join(dirname(createRequire(import.meta.url).resolve('gdal-async/package.json')), 'deps', 'libproj', 'proj', 'data');
    if (existsSync(join(bundled, 'proj.db'))) return bundled;
  }
  return systemProjDataCandidates.find((candidate) => existsSync(join(candidate, 'proj.db')));
}

/**
 * The environment PROJ must see, whatever the process's says: its data folder pinned to its own,
 * its user folder unread, its network off. A CRS in an upload may name grids, and PROJ would
 * otherwise look for them wherever `PROJ_DATA` points and fetch them when `PROJ_NETWORK=ON` (or
 * proj.ini) allows. `crs.references.ts` refuses paths and URLs; this keeps plain names inside
 * PROJ's own data.
 */
export function pinnedProjEnvironment(dataDirectory = projDataDirectory()): Record<string, string> {
  return {
    PROJ_NETWORK: 'OFF',
    PROJ_SKIP_READ_USER_WRITABLE_DIRECTORY: 'YES',
    ...(dataDirectory ? { PROJ_DATA: dataDirectory, PROJ_USER_WRITABLE_DIRECTORY: dataDirectory } : {}),
  };
}

/**
 * Applies `pinnedProjEnvironment` to this process: PROJ reads these variables when GDAL first
 * makes a PROJ context on a thread, and GDAL's search path wins over `PROJ_DATA` for all of them.
 * `PROJ_LIB` (deprecated) is removed so it cannot point elsewhere.
 */
/** Older spellings of PROJ's data folder, which could point elsewhere (not settings: they are removed, never read). */
const droppedProjVariables = ['PROJ_LIB'] as const;

export function pinProj(): void {
  const dataDirectory = projDataDirectory();
  for (const name of droppedProjVariables) delete process.env[name];
  Object.assign(process.env, pinnedProjEnvironment(dataDirectory));
  const setSearchPath = (gdal as unknown as { setPROJSearchPath?: (path: string) => void }).setPROJSearchPath;
  if (dataDirectory && setSearchPath) setSearchPath(dataDirectory);
}

/** GTIFF_DIRECT_IO as `configureGdal` set it for local copies; `undefined` when the environment or nothing set it (then it is left alone). */
let localCopyDirectIo: string | undefined;

/**
 * Before a source is opened: GDAL reads GTIFF_DIRECT_IO when a dataset opens, and on a source
 * read in place it turns a tile window into a request per row (300 GETs for a 300-row window of a
 * striped file, against 1 without it). So it is on for local copies only, when the app set it.
 * Opens of both kinds at once in one process may see each other's value: only speed differs.
 */
export function directIoBeforeOpen(readInPlace: boolean): void {
  if (localCopyDirectIo !== undefined) gdal.config.set('GTIFF_DIRECT_IO', readInPlace ? 'NO' : localCopyDirectIo);
}

/**
 * A folder that stays empty (created read-only, checked empty): where libhdf5 is told to look for
 * filter plugins, external-link targets and virtual-dataset sources.
 */
export function emptyDirectory(): string {
  const fixed = join(tmpdir(), 'raster-ingest-empty');
  try {
    mkdirSync(fixed, { recursive: true, mode: 0o555 });
    chmodSync(fixed, 0o555);
    if (readdirSync(fixed).length === 0) return fixed;
  } catch {
    // Taken by someone else: a folder of our own instead.
  }
  const own = mkdtempSync(join(tmpdir(), 'raster-ingest-empty-'));
  chmodSync(own, 0o555);
  return own;
}

/**
 * libhdf5's own ways out, pinned to an empty folder whatever the environment says: filter plugins
 * (`HDF5_PLUGIN_PATH`: a shared library loaded and run for an unknown filter id), and the
 * prefixes it searches for external-link targets and virtual-dataset sources given by relative
 * name (`HDF5_EXT_PREFIX`, `HDF5_VDS_PREFIX`). Belt and braces: `hdf5.header.ts` refuses files
 * with external links, virtual datasets or unknown filters before libhdf5 opens them (an absolute
 * link target is tried as given whatever the prefix says).
 */
export function pinnedHdf5Environment(directory = emptyDirectory()): Record<string, string> {
  return { HDF5_PLUGIN_PATH: directory, HDF5_EXT_PREFIX: directory, HDF5_VDS_PREFIX: directory };
}

export function configureGdal(env: Readonly<Record<string, string | undefined>> = process.env, reads: { tilesReadLocalCopies: boolean } = { tilesReadLocalCopies: false }): void {
  if (!env['GDAL_CACHEMAX']) gdal.config.set('GDAL_CACHEMAX', String(defaultGdalCacheMb));
  if (reads.tilesReadLocalCopies) for (const [key, value] of Object.entries(localSourceReadGdalConfig)) if (!env[key]) gdal.config.set(key, value);
  localCopyDirectIo = reads.tilesReadLocalCopies && !env['GTIFF_DIRECT_IO'] ? localSourceReadGdalConfig['GTIFF_DIRECT_IO'] : undefined;
  for (const [key, value] of Object.entries(inPlaceReadGdalConfig)) if (!env[key]) gdal.config.set(key, value);
  for (const [key, value] of Object.entries(untrustedInputGdalConfig)) gdal.config.set(key, value);
  // libhdf5 reads these from the process environment when it needs them.
  Object.assign(process.env, pinnedHdf5Environment());
  pinProj();
}
