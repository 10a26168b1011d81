import { describe, expect, it } from 'vitest';
import { buildWarpVrtArgs, chooseWarpResampling } from '../../src/raster/warp.command.js';
import { ingestOptionsSchema } from '../../src/pipeline/options.js';

const byte = { gdalDataType: 'Byte', nodata: null, hasColorTable: false };
const floatNoNodata = { gdalDataType: 'Float32', nodata: null, hasColorTable: false };
const dem = { gdalDataType: 'Int16', nodata: -9999, hasColorTable: false };
const palette = { gdalDataType: 'Byte', nodata: null, hasColorTable: true };

describe('buildWarpVrtArgs', () => {
  it('warps to a VRT in the target CRS, bilinear by default', () => {
    expect(buildWarpVrtArgs('EPSG:3857', {}, [dem])).toEqual(['-of', 'VRT', '-t_srs', 'EPSG:3857', '-r', 'bilinear', '-et', '0']);
  });

  it('gives areas outside the source a nodata meaning when the source has none', () => {
    expect(buildWarpVrtArgs('EPSG:4326', {}, [floatNoNodata])).toContain('nan');
    expect(buildWarpVrtArgs('EPSG:4326', {}, [byte, byte, byte])).toContain('-dstalpha');
  });

  it('uses nearest for palettes and the caller’s resampling otherwise', () => {
    expect(chooseWarpResampling({}, [palette])).toBe('near');
    expect(chooseWarpResampling({ resampling: 'CUBIC' }, [dem])).toBe('cubic');
  });
});

describe('targetCrs option', () => {
  it('accepts EPSG codes only', () => {
    expect(ingestOptionsSchema.parse({ targetCrs: 'EPSG:3857' }).targetCrs).toBe('EPSG:3857');
    expect(() => ingestOptionsSchema.parse({ targetCrs: '+proj=merc' })).toThrow(/EPSG code/);
  });
});
