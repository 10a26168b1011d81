import { describe, expect, it } from 'vitest';
import { CliUsageError, collectOptionPair, contentTypeOf, parseFailureCode, parseOptionPair, parseSince, parseStatusList, parseSubmitTarget } from '../../cli/cli.args.js';

describe('CLI option values', () => {
  it('reads --option key=value with numbers and booleans typed', () => {
    expect(parseOptionPair('tileSize=1024')).toEqual(['tileSize', 1024]);
    expect(parseOptionPair('predictor=false')).toEqual(['predictor', false]);
    expect(parseOptionPair('targetCrs=EPSG:3857')).toEqual(['targetCrs', 'EPSG:3857']);
    expect(collectOptionPair('level=9', { compression: 'ZSTD' })).toEqual({ compression: 'ZSTD', level: 9 });
    expect(() => parseOptionPair('tileSize')).toThrow(CliUsageError);
    expect(() => parseOptionPair('tile size=1')).toThrow(/not an option name/);
  });

  it('takes --since as a span or an ISO time, and names a bad one', () => {
    expect(parseSince('1d')).toBe('1d');
    expect(parseSince('30m')).toBe('30m');
    expect(parseSince('2w')).toBe('2w');
    expect(parseSince('2026-11-30T08:00:00Z')).toBe('2026-11-30T08:00:00Z');
    expect(() => parseSince('yesterday')).toThrow(/"yesterday"/);
    expect(() => parseSince('2026-13-45')).toThrow(CliUsageError);
  });

  it('spells statuses and failure codes as the service does', () => {
    expect(parseStatusList('failed, running')).toEqual(['Failed', 'Running']);
    expect(() => parseStatusList('Broken')).toThrow(/Broken/);
    expect(parseFailureCode('transient-storage')).toBe('TRANSIENT_STORAGE');
    expect(() => parseFailureCode('OOPS')).toThrow(/INVALID_INPUT/);
  });

  it('tells a local file from a container/blob path', () => {
    const files = new Set(['scene.tif', 'incoming/local.tif']);
    const isFile = (path: string): boolean => files.has(path);
    expect(parseSubmitTarget('scene.tif', isFile)).toEqual({ kind: 'file', path: 'scene.tif' });
    expect(parseSubmitTarget('incoming/local.tif', isFile)).toEqual({ kind: 'file', path: 'incoming/local.tif' });
    expect(parseSubmitTarget('uploads/2026/scene.tif', isFile)).toEqual({ kind: 'blob', container: 'uploads', name: '2026/scene.tif' });
    expect(() => parseSubmitTarget('missing.tif', isFile)).toThrow(/neither a local file nor/);
    expect(() => parseSubmitTarget('Bad_Container/x.tif', isFile)).toThrow(CliUsageError);
  });

  it('stores uploads with a content type from their extension', () => {
    expect(contentTypeOf('a.TIF')).toBe('image/tiff');
    expect(contentTypeOf('a.nc')).toBe('application/x-netcdf');
    expect(contentTypeOf('a.img')).toBe('application/octet-stream');
  });
});
