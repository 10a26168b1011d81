/**
 * Builds the `gdal_translate` arguments that turn one tile window of a source into a COG.
 * Pure: unit-tested without GDAL; `cog.create.ts` runs what this returns.
 */
import type { BandInfo, TileWindow } from '../pipeline/contracts.js';
import type { IngestOptions } from '../pipeline/options.js';
import { isComplexDataType, isFloatDataType } from './data.type.js';

/** What the builder needs to know about the source beyond the options. */
export interface CogSourceTraits {
  bands: Pick<BandInfo, 'gdalDataType' | 'hasColorTable' | 'colorInterpretation' | 'nodata'>[];
}

const losslessCompressions = new Set(['DEFLATE', 'ZSTD', 'LZW']);

export function isLossless(compression: IngestOptions['compression']): boolean {
  return losslessCompressions.has(compression);
}

function isPaletted(source: CogSourceTraits): boolean {
  return source.bands.some((band) => band.hasColorTable);
}

/** The overview resampling: the caller's choice, else nearest for paletted data (indices must not blend), else average. */
export function chooseOverviewResampling(options: Pick<IngestOptions, 'resampling'>, source: CogSourceTraits): string {
  if (options.resampling) return options.resampling;
  return isPaletted(source) ? 'NEAREST' : 'AVERAGE';
}

/**
 * Float rasters that declare no nodata get NaN as nodata: NaN can never be a valid value, and
 * without the declaration GDAL's overview averaging spreads NaN pixels into their neighbours
 * (checked with GDAL 3.6: a half-NaN tile got all-NaN overviews). Pixel values are unchanged.
 */
export function needsNanNodata(source: CogSourceTraits): boolean {
  return source.bands.length > 0 && source.bands.every((band) => isFloatDataType(band.gdalDataType) && band.nodata === null);
}

/** Throws when the options ask for something the COG driver cannot do with this source. */
export function checkCompressionFits(options: Pick<IngestOptions, 'compression'>, source: CogSourceTraits): void {
  if (isLossless(options.compression)) return;
  const allBytes = source.bands.every((band) => band.gdalDataType === 'Byte');
  const bandCountOk = options.compression === 'JPEG' ? [1, 3].includes(source.bands.length) : [3, 4].includes(source.bands.length);
  if (!allBytes || !bandCountOk || isPaletted(source)) {
    throw new Error(
      `compression ${options.compression} is lossy and only for 8-bit imagery without a colour table ` +
        `(${options.compression === 'JPEG' ? '1 or 3' : '3 or 4'} bands); this raster has ${source.bands.length} band(s) of ` +
        `${[...new Set(source.bands.map((b) => b.gdalDataType))].join('/')}: use DEFLATE, ZSTD or LZW`,
    );
  }
}

/**
 * Arguments for `gdal.translate(dest, source, args)` writing a COG of `window`.
 * Overviews come from the COG driver (internal, down to one block); BIGTIFF=IF_SAFER because
 * IF_NEEDED cannot predict compressed sizes.
 */
export function buildCogTranslateArgs(window: TileWindow, options: IngestOptions, source: CogSourceTraits): string[] {
  checkCompressionFits(options, source);
  const args = ['-of', 'COG', '-srcwin', String(window.x), String(window.y), String(window.width), String(window.height)];
  if (needsNanNodata(source)) args.push('-a_nodata', 'nan');
  const creation: string[] = [
    `COMPRESS=${options.compression}`,
    `BLOCKSIZE=${options.blockSize}`,
    'BIGTIFF=IF_SAFER',
    'NUM_THREADS=ALL_CPUS',
    'OVERVIEWS=AUTO',
    `OVERVIEW_RESAMPLING=${chooseOverviewResampling(options, source)}`,
  ];
  // A predictor on palette indices only scrambles them; it helps continuous data.
  // GDAL has no horizontal predictor for complex samples.
  const predictable = !isPaletted(source) && !source.bands.some((band) => isComplexDataType(band.gdalDataType));
  if (options.predictor && isLossless(options.compression) && predictable) creation.push('PREDICTOR=YES');
  // LEVEL only means something to DEFLATE and ZSTD; LZW has none, JPEG/WEBP use QUALITY.
  if (options.level !== undefined) {
    if (options.compression === 'DEFLATE' && options.level > 12) throw new Error(`DEFLATE level must be 1-12, got ${options.level}`);
    if (options.compression === 'DEFLATE' || options.compression === 'ZSTD') creation.push(`LEVEL=${options.level}`);
  }
  for (const option of creation) args.push('-co', option);
  return args;
}
