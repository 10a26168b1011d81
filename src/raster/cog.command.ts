/**
 * Builds the `gdal_translate` arguments that turn one tile window of a source into a COG.
 * Pure: unit-tested without GDAL; `cog.create.ts` runs what this returns.
 */
import type { BandInfo, TileWindow } from '../pipeline/contracts.js';
import type { IngestOptions } from '../pipeline/options.js';
import { bytesPerSample, isComplexDataType, isFloatDataType } from './data.type.js';

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

/** The COG creation options (`-of COG -co …`) for this source: no window, no nodata override. */
export function buildCogCreationArgs(options: IngestOptions, source: CogSourceTraits): string[] {
  checkCompressionFits(options, source);
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
  return ['-of', 'COG', ...creation.flatMap((option) => ['-co', option])];
}

/** The window, and for a tile of one step of a variable that step's band alone (`source` then describes that band). */
function windowArgs(window: TileWindow, source: CogSourceTraits): string[] {
  const args = ['-srcwin', String(window.x), String(window.y), String(window.width), String(window.height)];
  if (window.slice?.band !== undefined) args.push('-b', String(window.slice.band));
  if (needsNanNodata(source)) args.push('-a_nodata', 'nan');
  return args;
}

/**
 * Arguments for `gdal.translate(dest, source, args)` writing a COG of `window` straight from the
 * source. Overviews come from the COG driver (internal, down to one block); BIGTIFF=IF_SAFER
 * because IF_NEEDED cannot predict compressed sizes.
 */
export function buildCogTranslateArgs(window: TileWindow, options: IngestOptions, source: CogSourceTraits): string[] {
  const creation = buildCogCreationArgs(options, source);
  return [...creation.slice(0, 2), ...windowArgs(window, source), ...creation.slice(2)];
}

/** Arguments for `gdal.translate('', source, args)` reading `window` into memory (GDAL's MEM driver). */
export function buildTileReadArgs(window: TileWindow, source: CogSourceTraits): string[] {
  return ['-of', 'MEM', ...windowArgs(window, source)];
}

/**
 * Arguments for `gdal.translate('', source, args)` making an in-memory VRT of `window` (no pixel
 * is read), whose band values can be changed before the COG is written from it.
 */
export function buildTileVrtArgs(window: TileWindow, source: CogSourceTraits): string[] {
  return ['-of', 'VRT', ...windowArgs(window, source)];
}

/**
 * Overview factors for a `width` × `height` tile: powers of two until the smallest level fits in
 * one block, with levels sized as GDAL sizes them when it builds overviews (rounding up: 4097 px
 * at factor 2 is 2049). 4096 → 2, 4, 8 (as the COG driver gives); 4097 → 2, 4, 8, 16; 512 → none.
 */
export function cogOverviewFactors(width: number, height: number, blockSize: number): number[] {
  const factors: number[] = [];
  for (let factor = 2; Math.ceil(width / (factor / 2)) > blockSize || Math.ceil(height / (factor / 2)) > blockSize; factor *= 2) factors.push(factor);
  return factors;
}

/**
 * A tile whose pixels take at most this many bytes is read into memory once, given its overviews
 * there, and written as a COG from that (measured on the bench shapes: the COG driver otherwise
 * reads the source window twice — for the overviews, then for the image — and compresses the
 * overviews twice, through a temporary file; 11–17 % less CPU on the striped float32 shape).
 * Larger tiles (many bands, huge tile sizes) go straight from the source, in bounded memory.
 */
export const inMemoryTileLimitBytes = 512 * 1024 ** 2;

export function tileFitsInMemory(window: Pick<TileWindow, 'width' | 'height'>, source: CogSourceTraits, limitBytes = inMemoryTileLimitBytes): boolean {
  const pixelBytes = source.bands.reduce((sum, band) => sum + bytesPerSample(band.gdalDataType), 0);
  // Overviews add a third of the image.
  return (window.width * window.height * pixelBytes * 4) / 3 <= limitBytes;
}
