/**
 * Builds the `gdalwarp` arguments that reproject a source to the job's target CRS as a VRT
 * (nothing is resampled until tiles read it). Pure. Every process that builds the same VRT from
 * the same source gets the same grid, so validation plans tiles on the grid the tile activities
 * later read.
 */
import type { BandInfo } from '../pipeline/contracts.js';
import type { IngestOptions } from '../pipeline/options.js';
import { isFloatDataType } from './data.type.js';

type WarpBand = Pick<BandInfo, 'gdalDataType' | 'nodata' | 'hasColorTable'>;

const warpResampling: Readonly<Record<NonNullable<IngestOptions['resampling']>, string>> = {
  NEAREST: 'near',
  AVERAGE: 'average',
  BILINEAR: 'bilinear',
  CUBIC: 'cubic',
  CUBICSPLINE: 'cubicspline',
  LANCZOS: 'lanczos',
  MODE: 'mode',
  RMS: 'rms',
};

/** Nearest for palettes (indices must not blend), bilinear otherwise, unless the options say. */
export function chooseWarpResampling(options: Pick<IngestOptions, 'resampling'>, bands: readonly WarpBand[]): string {
  if (options.resampling) return warpResampling[options.resampling];
  return bands.some((band) => band.hasColorTable) ? 'near' : 'bilinear';
}

export function buildWarpVrtArgs(targetCrs: string, options: Pick<IngestOptions, 'resampling'>, bands: readonly WarpBand[]): string[] {
  // -et 0: exact per-pixel transformation. The default approximation is fitted per warp chunk,
  // so tiles cut from the VRT would differ slightly from each other's chunking (visible seams).
  const args = ['-of', 'VRT', '-t_srs', targetCrs, '-r', chooseWarpResampling(options, bands), '-et', '0'];
  // Pixels outside the source's footprint need a nodata meaning: the source's own, NaN for
  // floats, else an alpha band (0 would collide with real values).
  if (bands.every((band) => band.nodata === null)) {
    if (bands.every((band) => isFloatDataType(band.gdalDataType))) args.push('-dstnodata', 'nan');
    else args.push('-dstalpha');
  }
  return args;
}
