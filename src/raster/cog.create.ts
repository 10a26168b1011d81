/**
 * Runs the COG translation of one tile window and measures the result. The arguments come from
 * the pure builder in `cog.command.ts`.
 */
import gdal from 'gdal-async';
import type { BandInfo, BandStatistics, CrsInfo, TileWindow } from '../pipeline/contracts.js';
import type { IngestOptions } from '../pipeline/options.js';
import { buildCogCreationArgs, buildCogTranslateArgs, buildTileReadArgs, buildTileVrtArgs, chooseOverviewResampling, cogOverviewFactors, inMemoryTileLimitBytes, tileFitsInMemory } from './cog.command.js';
import { buildThumbnailTranslateArgs } from './thumbnail.command.js';
import { computeBandStatistics } from './band.statistics.js';
import { computeWgs84Footprint } from './footprint.transform.js';
import type { FootprintGeometry } from './footprint.js';
import { nativeBounds, type Bbox, type GeoTransform } from './geo.transform.js';
import { readBandInfo, readCrs, readTimeMetadata } from './raster.inspect.js';
import { findAcquisitionTime, type AcquisitionTime } from './acquisition.time.js';
import { checkBandCount, checkIngestibleBands, findCogBandOverride, type CogBandOverride } from './metadata.bounds.js';
import { cfLonLatNote } from './crs.assumed.js';
import { openTilingSource, type CrsAssumption } from './source.open.js';
import { FailureError } from '../pipeline/failure.js';

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
}

/** What writing a tile's COG learned from the source's metadata. */
export interface WrittenTileCog {
  /** The source's acquisition time, or `null` when its metadata holds none. */
  acquired: AcquisitionTime | null;
  /** Metadata values left out of the COG or not used for the item's time, one short sentence each. */
  notes: string[];
}

/** The values the source's bands would hand the COG, and what replaces the out-of-bounds ones. */
function findCogBandOverrides(dataset: gdal.Dataset, bandNumbers: readonly number[], notes: string[]): Array<CogBandOverride | null> {
  return bandNumbers.map((number, index) => {
    const band = dataset.bands.get(number);
    return findCogBandOverride({ unit: band.unitType ?? '', scale: band.scale, offset: band.offset }, index, notes);
  });
}

function applyCogBandOverride(band: gdal.RasterBand, override: CogBandOverride | null): void {
  if (override?.unit !== undefined) band.unitType = override.unit;
  if (override?.scale !== undefined) band.scale = override.scale;
  if (override?.offset !== undefined) band.offset = override.offset;
}

/**
 * Writes the COG of `window` of the raster at `sourcePath` (an upload, named `shownAs` in errors)
 * to `destinationPath`; returns the source's acquisition time (from its metadata) and notes on the
 * metadata values that were left out. A raster that cannot become a COG at all (too many bands, a
 * data type STAC cannot name) is an `INVALID_INPUT` failure.
 */
export async function writeTileCog(
  sourcePath: string,
  shownAs: string,
  destinationPath: string,
  window: TileWindow,
  options: IngestOptions,
  /** Tiles whose pixels (and overviews) exceed this go straight from the source; tests lower it. */
  inMemoryLimitBytes = inMemoryTileLimitBytes,
  /** How a source without a CRS may get one (as validation decided); none when absent. */
  assumption?: CrsAssumption,
): Promise<WrittenTileCog> {
  // When reprojecting, the window is in the warped grid (validation planned the tiles on it).
  // A tile of a variable opens that variable alone, when the file holds several.
  const raster = window.slice?.subdataset ? { variable: window.slice.variable } : {};
  const source = await openTilingSource(sourcePath, shownAs, options, `${destinationPath}.warp.vrt`, assumption, raster);
  try {
    const bandCount = source.dataset.bands.count();
    // A tile of one step of a variable is that step's band alone.
    const step = window.slice?.band;
    if (step !== undefined && (step < 1 || step > bandCount)) {
      throw new FailureError({ code: 'SOURCE_CHANGED', message: `its variable has ${bandCount} steps now, not the ${step} validation counted; submit it again` });
    }
    const sourceBands = step === undefined ? Array.from({ length: bandCount }, (_, i) => i + 1) : [step];
    // Checked before reading a description of each of, say, 100,000 bands.
    checkBandCount(sourceBands.length);
    const bands: BandInfo[] = sourceBands.map((number) => readBandInfo(source.dataset.bands.get(number)));
    checkIngestibleBands(bands);
    const notes: string[] = source.assumedCrs ? [cfLonLatNote] : [];
    const overrides = findCogBandOverrides(source.dataset, sourceBands, notes);
    const traits = { bands };
    if (tileFitsInMemory(window, traits, inMemoryLimitBytes)) {
      // Read once, overviews made in memory, then written: see `inMemoryTileLimitBytes`.
      const tile = await gdal.translateAsync('', source.dataset, buildTileReadArgs(window, traits));
      try {
        for (let i = 1; i <= tile.bands.count(); i++) {
          // GDAL 3.6 drops band units on the way into MEM (offset, scale and metadata survive).
          tile.bands.get(i).unitType = source.dataset.bands.get(sourceBands[i - 1]!).unitType;
          applyCogBandOverride(tile.bands.get(i), overrides[i - 1] ?? null);
        }
        const factors = cogOverviewFactors(window.width, window.height, options.blockSize);
        if (factors.length > 0) await tile.buildOverviewsAsync(chooseOverviewResampling(options, traits), factors);
        (await gdal.translateAsync(destinationPath, tile, buildCogCreationArgs(options, traits))).close();
      } finally {
        tile.close();
      }
    } else if (overrides.some((override) => override !== null)) {
      // The window as an in-memory VRT (no pixels read) takes the overrides; the COG is written from it.
      const tile = await gdal.translateAsync('', source.dataset, buildTileVrtArgs(window, traits));
      try {
        for (let i = 1; i <= tile.bands.count(); i++) applyCogBandOverride(tile.bands.get(i), overrides[i - 1] ?? null);
        (await gdal.translateAsync(destinationPath, tile, buildCogCreationArgs(options, traits))).close();
      } finally {
        tile.close();
      }
    } else {
      (await gdal.translateAsync(destinationPath, source.dataset, buildCogTranslateArgs(window, options, traits))).close();
    }
    // A step's time is that band's own (its CF time coordinate), not the span of all steps.
    const time = findAcquisitionTime(readTimeMetadata(source.original, step));
    return { acquired: time.acquired, notes: [...notes, ...time.notes] };
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
