/**
 * Bytes present must back the size declared. A header can declare any number of pixels in a few
 * hundred bytes; each pixel then costs decoding, memory, tiles and orchestrations. Each format
 * has a policy, judged on what its header declares (`container.header.ts`) before GDAL reads a
 * pixel; a format added later plugs in its own. The bounds (docs/security.md) are settings.
 *
 * - Missing bytes (a block or variable past the end of the file) were refused by the header
 *   reader as truncated (INVALID_INPUT).
 * - GeoTIFF: compressed and sparse blocks are legitimate, up to `maxExpansionRatio` declared pixel
 *   bytes per stored byte over the whole raster (rasters up to `freeDeclaredBytes` are exempt);
 *   a single compressed block larger than `maxBlockBytes` decoded is refused (any read of one of
 *   its pixels decodes all of it).
 * - netCDF classic stores every byte it declares (no compression, no sparse data): the header
 *   reader's presence check is its whole policy.
 * - JPEG 2000: the same ratio over its codestream, and a codestream tile (decoded whole) over the
 *   block bound is refused.
 * - HDF5 and netCDF-4: every dataset (coordinates too) against its stored chunks, as GeoTIFF; and
 *   a single chunk that decodes to more than `maxExpansionRatio` bytes per stored byte is a
 *   decompression bomb (deflate alone stays near 1:1000; only stacked filters go further).
 *   Chunks past the end of the file were refused by the header reader.
 * - GTX stores every sample it declares: the header reader checks the file's size is exactly that.
 */
import type { Failure } from '../pipeline/failure.js';
import { formatBytes, type ContainerHeader, type DeclaredRaster } from './container.header.js';
import type { SourceDriver } from './source.format.js';

export interface DeclaredSizeLimits {
  /** Declared pixel bytes allowed per byte of the upload (setting INGEST_MAX_EXPANSION_RATIO). */
  maxExpansionRatio: number;
  /** Rasters declaring at most this many pixel bytes are not held to the ratio. */
  freeDeclaredBytes: number;
  /** Largest compressed block, decoded. */
  maxBlockBytes: number;
}

export const defaultDeclaredSizeLimits: DeclaredSizeLimits = {
  maxExpansionRatio: 2000,
  freeDeclaredBytes: 256 * 1024 ** 2,
  maxBlockBytes: 256 * 1024 ** 2,
};

type DeclaredSizePolicy = (raster: DeclaredRaster & { name: string }, uploadBytes: number, limits: DeclaredSizeLimits) => string | null;

const expansionPolicy: DeclaredSizePolicy = (raster, uploadBytes, limits) => {
  if (raster.declaredBytes <= limits.freeDeclaredBytes) return null;
  const ratio = raster.declaredBytes / Math.max(1, uploadBytes);
  if (ratio <= limits.maxExpansionRatio) return null;
  const sparse = raster.sparseBlocks > 0 ? ` (${raster.sparseBlocks} of its ${raster.totalBlocks} blocks are empty)` : '';
  return (
    `${raster.name} declares ${raster.width}×${raster.height} pixels in ${raster.bands} band(s), ${formatBytes(raster.declaredBytes)} decoded, ` +
    `from a ${formatBytes(uploadBytes)} file${sparse}: ${Math.round(ratio).toLocaleString('en-US')} bytes per stored byte, over the limit of ` +
    `${limits.maxExpansionRatio.toLocaleString('en-US')} (setting INGEST_MAX_EXPANSION_RATIO)`
  );
};

const blockPolicy: DeclaredSizePolicy = (raster, _uploadBytes, limits) => {
  if (!raster.compressed || raster.largestBlockBytes <= limits.maxBlockBytes) return null;
  return (
    `${raster.name} stores its pixels in compressed blocks of ${formatBytes(raster.largestBlockBytes)} decoded each, over the limit of ${formatBytes(limits.maxBlockBytes)}; ` +
    're-tile it first (for example `gdal_translate -co TILED=YES -co COMPRESS=DEFLATE in.tif out.tif`) and upload that'
  );
};

const chunkExpansionPolicy: DeclaredSizePolicy = (raster, _uploadBytes, limits) => {
  const expansion = raster.largestBlockExpansion ?? 0;
  if (expansion <= limits.maxExpansionRatio) return null;
  return (
    `${raster.name} has a compressed chunk that decodes to ${Math.round(expansion).toLocaleString('en-US')} bytes per stored byte, over the limit of ` +
    `${limits.maxExpansionRatio.toLocaleString('en-US')} (setting INGEST_MAX_EXPANSION_RATIO): a decompression bomb, or data compressed twice; re-encode it once with deflate ` +
    '(`nccopy -d 4 in.nc out.nc`) and upload that'
  );
};

/** The policies of each format that may be opened. */
const policies: Readonly<Record<SourceDriver, readonly DeclaredSizePolicy[]>> = {
  GTiff: [blockPolicy, expansionPolicy],
  netCDF: [],
  // Lossy JPEG 2000 is legitimately compressed far more than lossless data, within the same ratio.
  JP2OpenJPEG: [blockPolicy, expansionPolicy],
  HFA: [blockPolicy, expansionPolicy],
  HDF5: [chunkExpansionPolicy, blockPolicy, expansionPolicy],
  GTX: [],
};

/** Why the declared size cannot be taken on (INPUT_LIMIT), or `null`. */
export function checkDeclaredSize(header: ContainerHeader, uploadBytes: number, limits: DeclaredSizeLimits = defaultDeclaredSizeLimits): Failure | null {
  for (const raster of [...header.rasters, ...(header.otherArrays ?? [])]) {
    for (const policy of policies[header.driver]) {
      const problem = policy(raster, uploadBytes, limits);
      if (problem) return { code: 'INPUT_LIMIT', message: problem };
    }
  }
  return null;
}

/** Why a job would plan more tiles than allowed (INPUT_LIMIT), or `null`: judged before any plan is built. */
export function checkTileCount(width: number, height: number, tileSize: number, maxTiles: number): Failure | null {
  const tiles = Math.ceil(width / tileSize) * Math.ceil(height / tileSize);
  if (tiles <= maxTiles) return null;
  return {
    code: 'INPUT_LIMIT',
    message:
      `at ${tileSize}-pixel tiles its ${width}×${height} pixels would make ${tiles.toLocaleString('en-US')} tiles, over the limit of ` +
      `${maxTiles.toLocaleString('en-US')} tiles per job (setting INGEST_MAX_TILES_PER_JOB); submit it with a larger options.tileSize or split it first`,
  };
}
