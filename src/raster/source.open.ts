/** Opens a source for tiling: as it is, or reprojected through a warped VRT when the options ask. */
import gdal from 'gdal-async';
import type { IngestOptions } from '../pipeline/options.js';
import { readBandInfo } from './raster.inspect.js';
import { buildWarpVrtArgs } from './warp.command.js';

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
export async function openTilingSource(sourcePath: string, options: Pick<IngestOptions, 'targetCrs' | 'resampling'> | undefined, vrtPath: string): Promise<TilingSource> {
  const source = await gdal.openAsync(sourcePath);
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
