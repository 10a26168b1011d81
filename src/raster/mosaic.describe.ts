/** Describes a source for its VRT mosaic with GDAL; the XML itself is built in `mosaic.vrt.ts`. */
import type { TileWindow } from '../pipeline/contracts.js';
import type { IngestOptions } from '../pipeline/options.js';
import { needsNanNodata } from './cog.command.js';
import type { GeoTransform } from './geo.transform.js';
import type { MosaicDescription } from './mosaic.vrt.js';
import { readCrs, readMosaicBands } from './raster.inspect.js';
import { openTilingSource, type CrsAssumption } from './source.open.js';

/** `options` matter when they reproject: the mosaic then has the warped grid the tiles were cut from. */
export async function describeMosaic(
  sourcePath: string,
  shownAs: string,
  tiles: Array<{ file: string; window: TileWindow }>,
  options: Pick<IngestOptions, 'targetCrs' | 'resampling'> | undefined,
  scratchVrtPath: string,
  /** The CRS the tiles were made with when the source declares none (as validation decided). */
  assumption?: CrsAssumption,
): Promise<MosaicDescription> {
  const source = await openTilingSource(sourcePath, shownAs, options, scratchVrtPath, assumption);
  const dataset = source.dataset;
  try {
    const crs = await readCrs(dataset);
    const gt = dataset.geoTransform as GeoTransform | null;
    if (!crs || !gt) throw new Error(`${shownAs} lost its georeferencing`);
    const bands = readMosaicBands(dataset);
    // The tiles got NaN nodata when the source declared none (see needsNanNodata); say the same.
    if (needsNanNodata({ bands: bands.map((b) => ({ ...b, hasColorTable: false })) })) for (const band of bands) band.nodata = 'nan';
    return { width: dataset.rasterSize.x, height: dataset.rasterSize.y, srsWkt: crs.wkt2, geoTransform: gt, bands, tiles };
  } finally {
    source.close();
  }
}
