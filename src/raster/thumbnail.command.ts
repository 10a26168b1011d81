/**
 * Builds the `gdal_translate` arguments for a tile's PNG thumbnail. Pure; the runner is in
 * `cog.create.ts`. Nodata becomes transparent (the mask band as alpha), paletted data keeps its
 * colours, 8-bit RGB is shown as is, and anything else is stretched to mean ± 2σ.
 */
import type { BandInfo, BandStatistics } from '../pipeline/contracts.js';
import { isComplexDataType } from './data.type.js';

export const thumbnailMaxSize = 256;

type ThumbnailBand = Pick<BandInfo, 'gdalDataType' | 'colorInterpretation' | 'hasColorTable'> & { statistics: BandStatistics | null };

/** Output size keeping the aspect ratio, longest side at most `maxSize`, never upsampled. */
export function thumbnailSize(width: number, height: number, maxSize = thumbnailMaxSize): [number, number] {
  const scale = Math.min(1, maxSize / Math.max(width, height));
  return [Math.max(1, Math.round(width * scale)), Math.max(1, Math.round(height * scale))];
}

/**
 * The value range shown black to white: mean ± 2 standard deviations within [min, max]. Always
 * two finite numbers (they become `-scale` arguments), whatever infinities the band holds.
 */
export function stretchRange(statistics: BandStatistics | null): [number, number] {
  if (!statistics) return [0, 1];
  let low = Math.max(statistics.minimum, statistics.mean - 2 * statistics.stddev);
  let high = Math.min(statistics.maximum, statistics.mean + 2 * statistics.stddev);
  if (!(high > low)) [low, high] = [statistics.minimum, statistics.minimum + 1];
  if (!Number.isFinite(low) || !Number.isFinite(high) || !(high > low)) return [0, 1];
  return [low, high];
}

/** Complex samples (radar phase and amplitude) have no single sensible picture; they get no thumbnail. */
export function canRenderThumbnail(bands: readonly Pick<BandInfo, 'gdalDataType'>[]): boolean {
  return bands.length > 0 && !bands.some((band) => isComplexDataType(band.gdalDataType));
}

export function buildThumbnailTranslateArgs(bands: readonly ThumbnailBand[], width: number, height: number): string[] {
  const [outWidth, outHeight] = thumbnailSize(width, height);
  const args = ['-of', 'PNG', '-outsize', String(outWidth), String(outHeight)];
  const first = bands[0];
  if (!first) throw new Error('a thumbnail needs at least one band');
  if (first.hasColorTable) return [...args, '-r', 'nearest', '-b', '1', '-expand', 'rgba'];
  args.push('-r', 'average', '-ot', 'Byte');
  const rgb = ['Red', 'Green', 'Blue'].map((name) => bands.findIndex((band) => band.colorInterpretation === name));
  const shown = rgb.every((index) => index >= 0) ? rgb : [0];
  shown.forEach((bandIndex, outputIndex) => {
    args.push('-b', String(bandIndex + 1));
    const band = bands[bandIndex]!;
    if (band.gdalDataType !== 'Byte') {
      const [low, high] = stretchRange(band.statistics);
      args.push(`-scale_${outputIndex + 1}`, String(low), String(high), '0', '255');
    }
  });
  args.push('-b', 'mask');
  return args;
}
