/** Band statistics of a COG, with GDAL saying whether they were approximated. */
import gdal from 'gdal-async';
import type { BandStatistics } from '../pipeline/contracts.js';

/**
 * Above this many pixels a tile's statistics come from GDAL's approximation (an overview or a
 * sample) instead of every pixel: reading a whole 4096² float tile again would add a visible
 * share to the COG's own write time. The item says which it got.
 */
export const exactStatisticsPixelLimit = 2048 * 2048;

/**
 * Statistics of one band, or `null` when it has no valid pixel (all nodata). GDAL reports in the
 * band metadata whether it approximated and what share of pixels was valid.
 */
export async function computeBandStatistics(band: gdal.RasterBand): Promise<BandStatistics | null> {
  const { x, y } = band.size;
  const allowApproximation = x * y > exactStatisticsPixelLimit;
  let stats: { min: number; max: number; mean: number; std_dev: number };
  try {
    stats = await band.computeStatisticsAsync(allowApproximation);
  } catch (error) {
    if (/no valid pixels/i.test((error as Error).message)) return null;
    throw error;
  }
  const metadata = (band.getMetadata() ?? {}) as Record<string, string | undefined>;
  const validPercent = Number(metadata['STATISTICS_VALID_PERCENT'] ?? '100');
  return {
    minimum: stats.min,
    maximum: stats.max,
    mean: stats.mean,
    stddev: stats.std_dev,
    valid_percent: Number.isFinite(validPercent) ? validPercent : 100,
    approximate: metadata['STATISTICS_APPROXIMATE'] === 'YES',
  };
}
