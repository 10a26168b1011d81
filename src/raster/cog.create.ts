/**
 * Runs the COG translation of one tile window and measures the result. The arguments come from
 * the pure builder in `cog.command.ts`.
 */
import gdal from 'gdal-async';
import type { BandInfo, BandStatistics, CrsInfo, TileWindow } from '../pipeline/contracts.js';
import type { IngestOptions } from '../pipeline/options.js';
import { buildCogCreationArgs, buildCogTranslateArgs, buildTileReadArgs, chooseOverviewResampling, cogOverviewFactors, inMemoryTileLimitBytes, tileFitsInMemory } from './cog.command.js';
import { buildThumbnailTranslateArgs } from './thumbnail.command.js';
import { computeBandStatistics } from './band.statistics.js';
import { computeWgs84Footprint } from './footprint.transform.js';
import type { FootprintGeometry } from './footprint.js';
import { nativeBounds, type Bbox, type GeoTransform } from './geo.transform.js';
import { readBandInfo, readCrs, readTimeMetadata } from './raster.inspect.js';
import { findAcquisitionTime, type AcquisitionTime } from './acquisition.time.js';
import { openTilingSource } from './source.open.js';

/** What a written COG is, measured from the file itself. */
export interface CogDescription {
  width: number;
  height: number;
  geoTransform: GeoTransform;
  crs: CrsInfo | null;
  bands: Array<BandInfo & { statistics: BandStatistics | null }>;
  geometry: FootprintGeometry;
  bbox: Bbox;
  nativeBbox: Bbox;
  overviewCount: number;
}

/**
 * Writes the COG of `window` of the raster at `sourcePath` (an upload, named `shownAs` in errors)
 * to `destinationPath`; returns the
 * source's acquisition time (from its metadata), or `null` when it has none.
 */
export async function writeTileCog(
  sourcePath: string,
  shownAs: string,
  destinationPath: string,
  window: TileWindow,
  options: IngestOptions,
  /** Tiles whose pixels (and overviews) exceed this go straight from the source; tests lower it. */
  inMemoryLimitBytes = inMemoryTileLimitBytes,
): Promise<AcquisitionTime | null> {
  // When reprojecting, the window is in the warped grid (validation planned the tiles on it).
  const source = await openTilingSource(sourcePath, shownAs, options, `${destinationPath}.warp.vrt`);
  try {
    const bands: BandInfo[] = [];
    for (let i = 1; i <= source.dataset.bands.count(); i++) bands.push(readBandInfo(source.dataset.bands.get(i)));
    const traits = { bands };
    if (tileFitsInMemory(window, traits, inMemoryLimitBytes)) {
      // Read once, overviews made in memory, then written: see `inMemoryTileLimitBytes`.
      const tile = await gdal.translateAsync('', source.dataset, buildTileReadArgs(window, traits));
      try {
        // GDAL 3.6 drops band units on the way into MEM (offset, scale and metadata survive).
        for (let i = 1; i <= tile.bands.count(); i++) tile.bands.get(i).unitType = source.dataset.bands.get(i).unitType;
        const factors = cogOverviewFactors(window.width, window.height, options.blockSize);
        if (factors.length > 0) await tile.buildOverviewsAsync(chooseOverviewResampling(options, traits), factors);
        (await gdal.translateAsync(destinationPath, tile, buildCogCreationArgs(options, traits))).close();
      } finally {
        tile.close();
      }
    } else {
      (await gdal.translateAsync(destinationPath, source.dataset, buildCogTranslateArgs(window, options, traits))).close();
    }
    return findAcquisitionTime(readTimeMetadata(source.original));
  } finally {
    source.close();
  }
}

/** Reads back a COG: grid, CRS, bands with statistics, footprint. */
export async function describeCog(path: string): Promise<CogDescription> {
  const dataset = await gdal.openAsync(path);
  try {
    const { x: width, y: height } = dataset.rasterSize;
    const gt = dataset.geoTransform as GeoTransform | null;
    const srs = dataset.srs;
    if (!gt || !srs) throw new Error(`COG ${path} lost its georeferencing`);
    const bands: CogDescription['bands'] = [];
    for (let i = 1; i <= dataset.bands.count(); i++) {
      const band = dataset.bands.get(i);
      bands.push({ ...readBandInfo(band), statistics: await computeBandStatistics(band) });
    }
    const { geometry, bbox } = computeWgs84Footprint(srs, gt, width, height);
    return {
      width,
      height,
      geoTransform: gt,
      crs: await readCrs(dataset),
      bands,
      geometry,
      bbox,
      nativeBbox: nativeBounds(gt, width, height),
      overviewCount: dataset.bands.get(1).overviews.count(),
    };
  } finally {
    dataset.close();
  }
}

/** Renders a PNG thumbnail of a COG (from its overviews) with the stretch its statistics suggest. */
export async function writeThumbnail(cogPath: string, pngPath: string, description: Pick<CogDescription, 'bands' | 'width' | 'height'>): Promise<void> {
  const cog = await gdal.openAsync(cogPath);
  try {
    const output = await gdal.translateAsync(pngPath, cog, buildThumbnailTranslateArgs(description.bands, description.width, description.height));
    output.close();
  } finally {
    cog.close();
  }
}
