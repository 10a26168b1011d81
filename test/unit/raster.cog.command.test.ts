import { describe, expect, it } from 'vitest';
import { buildCogCreationArgs, buildCogTranslateArgs, buildTileReadArgs, buildTileVrtArgs, chooseOverviewResampling, cogOverviewFactors, inMemoryTileLimitBytes, tileFitsInMemory } from '../../src/raster/cog.command.js';
import { ingestOptionsSchema } from '../../src/pipeline/options.js';
import type { TileWindow } from '../../src/pipeline/contracts.js';

const window: TileWindow = { index: 3, row: 1, col: 1, x: 4096, y: 4096, width: 1000, height: 500 };
const rgb = { bands: ['Red', 'Green', 'Blue'].map((c) => ({ gdalDataType: 'Byte', hasColorTable: false, colorInterpretation: c, nodata: null })) };
const paletted = { bands: [{ gdalDataType: 'Byte', hasColorTable: true, colorInterpretation: 'Palette', nodata: null }] };
const float = { bands: [{ gdalDataType: 'Float32', hasColorTable: false, colorInterpretation: 'Gray', nodata: -9999 }] };
const floatWithoutNodata = { bands: [{ gdalDataType: 'Float32', hasColorTable: false, colorInterpretation: 'Gray', nodata: null }] };

function creationOptions(args: string[]): string[] {
  return args.flatMap((arg, i) => (args[i - 1] === '-co' ? [arg] : []));
}

describe('buildCogTranslateArgs', () => {
  it('writes the window as a COG with lossless defaults', () => {
    const args = buildCogTranslateArgs(window, ingestOptionsSchema.parse({}), float);
    expect(args.slice(0, 7)).toEqual(['-of', 'COG', '-srcwin', '4096', '4096', '1000', '500']);
    expect(creationOptions(args)).toEqual([
      'COMPRESS=DEFLATE',
      'BLOCKSIZE=512',
      'BIGTIFF=IF_SAFER',
      'NUM_THREADS=ALL_CPUS',
      'OVERVIEWS=AUTO',
      'OVERVIEW_RESAMPLING=AVERAGE',
      'PREDICTOR=YES',
    ]);
  });

  it('uses nearest overviews and no predictor for paletted data', () => {
    const options = creationOptions(buildCogTranslateArgs(window, ingestOptionsSchema.parse({}), paletted));
    expect(options).toContain('OVERVIEW_RESAMPLING=NEAREST');
    expect(options).not.toContain('PREDICTOR=YES');
  });

  it('follows the options: compression, level, block size, resampling, predictor off', () => {
    const options = creationOptions(
      buildCogTranslateArgs(window, ingestOptionsSchema.parse({ compression: 'ZSTD', level: 9, blockSize: 256, resampling: 'CUBIC', predictor: false }), float),
    );
    expect(options).toEqual(expect.arrayContaining(['COMPRESS=ZSTD', 'LEVEL=9', 'BLOCKSIZE=256', 'OVERVIEW_RESAMPLING=CUBIC']));
    expect(options).not.toContain('PREDICTOR=YES');
  });

  it('allows lossy compression only for 8-bit imagery and never adds a predictor to it', () => {
    const options = creationOptions(buildCogTranslateArgs(window, ingestOptionsSchema.parse({ compression: 'JPEG' }), rgb));
    expect(options).toContain('COMPRESS=JPEG');
    expect(options).not.toContain('PREDICTOR=YES');
    expect(() => buildCogTranslateArgs(window, ingestOptionsSchema.parse({ compression: 'WEBP' }), float)).toThrow(/lossy.*DEFLATE/);
    expect(() => buildCogTranslateArgs(window, ingestOptionsSchema.parse({ compression: 'JPEG' }), paletted)).toThrow(/colour table/);
  });

  it('adds no predictor for complex samples', () => {
    const complex = { bands: [{ gdalDataType: 'CInt16', hasColorTable: false, colorInterpretation: 'Gray', nodata: null }] };
    expect(creationOptions(buildCogTranslateArgs(window, ingestOptionsSchema.parse({}), complex))).not.toContain('PREDICTOR=YES');
  });

  it('rejects a DEFLATE level the driver does not have', () => {
    expect(() => buildCogTranslateArgs(window, ingestOptionsSchema.parse({ level: 15 }), float)).toThrow(/1-12/);
  });

  it('declares NaN nodata only for float rasters that declare none', () => {
    expect(buildCogTranslateArgs(window, ingestOptionsSchema.parse({}), floatWithoutNodata).join(' ')).toContain('-a_nodata nan');
    expect(buildCogTranslateArgs(window, ingestOptionsSchema.parse({}), float)).not.toContain('-a_nodata');
    expect(buildCogTranslateArgs(window, ingestOptionsSchema.parse({}), rgb)).not.toContain('-a_nodata');
  });

  it('picks resampling by data kind unless told', () => {
    expect(chooseOverviewResampling({}, paletted)).toBe('NEAREST');
    expect(chooseOverviewResampling({}, float)).toBe('AVERAGE');
    expect(chooseOverviewResampling({ resampling: 'MODE' }, float)).toBe('MODE');
  });
});

describe('the in-memory tile path', () => {
  it('reads the window into MEM, declaring NaN nodata where the source declares none, and writes with the same creation options', () => {
    expect(buildTileReadArgs(window, float)).toEqual(['-of', 'MEM', '-srcwin', '4096', '4096', '1000', '500']);
    expect(buildTileReadArgs(window, floatWithoutNodata)).toEqual(['-of', 'MEM', '-srcwin', '4096', '4096', '1000', '500', '-a_nodata', 'nan']);
    const options = ingestOptionsSchema.parse({});
    const creation = buildCogCreationArgs(options, float);
    expect(creation.slice(0, 2)).toEqual(['-of', 'COG']);
    expect(creation).not.toContain('-srcwin');
    expect(creationOptions(creation)).toEqual(creationOptions(buildCogTranslateArgs(window, options, float)));
  });

  it('cuts the same window as an in-memory VRT when band values must change before a large tile is written', () => {
    expect(buildTileVrtArgs(window, float)).toEqual(['-of', 'VRT', '-srcwin', '4096', '4096', '1000', '500']);
    expect(buildTileVrtArgs(window, floatWithoutNodata).slice(2)).toEqual(buildTileReadArgs(window, floatWithoutNodata).slice(2));
  });

  it('gives overviews down to one block, sized as GDAL sizes them (rounding up)', () => {
    expect(cogOverviewFactors(4096, 4096, 512)).toEqual([2, 4, 8]);
    expect(cogOverviewFactors(4097, 1025, 512)).toEqual([2, 4, 8, 16]);
    expect(cogOverviewFactors(672, 6483, 512)).toEqual([2, 4, 8, 16]);
    expect(cogOverviewFactors(513, 300, 512)).toEqual([2]);
    expect(cogOverviewFactors(512, 512, 512)).toEqual([]);
    expect(cogOverviewFactors(300, 200, 128)).toEqual([2, 4]);
  });

  it('keeps tiles whose pixels and overviews exceed the limit out of memory', () => {
    const manyBands = { bands: Array.from({ length: 200 }, () => float.bands[0]!) };
    expect(tileFitsInMemory({ width: 4096, height: 4096 }, float)).toBe(true);
    expect(tileFitsInMemory({ width: 4096, height: 4096 }, rgb)).toBe(true);
    expect(tileFitsInMemory({ width: 4096, height: 4096 }, manyBands)).toBe(false);
    // 8192² float32 is 256 MiB, a third more with overviews: in; 16384² is not.
    expect(tileFitsInMemory({ width: 8192, height: 8192 }, float)).toBe(true);
    expect(tileFitsInMemory({ width: 16384, height: 16384 }, float)).toBe(false);
    expect(inMemoryTileLimitBytes).toBe(512 * 1024 ** 2);
  });
});
