import { describe, expect, it } from 'vitest';
import { toSha256Multihash } from '../../src/raster/checksum.js';
import { nodataArgument, toNodata, toStacDataType } from '../../src/raster/data.type.js';
import { applyGeoTransform, isDefaultGeoTransform, nativeBounds, toProjTransform, windowGeoTransform, type GeoTransform } from '../../src/raster/geo.transform.js';

describe('geotransform', () => {
  const gt: GeoTransform = [500000, 10, 0, 6000000, 0, -10];

  it('maps to proj:transform as [g1, g2, g0, g4, g5, g3]', () => {
    expect(toProjTransform([1, 2, 3, 4, 5, 6])).toEqual([2, 3, 1, 5, 6, 4]);
    expect(toProjTransform(gt)).toEqual([10, 0, 500000, 0, -10, 6000000]);
  });

  it('shifts the origin for a window', () => {
    expect(windowGeoTransform(gt, 512, 256)).toEqual([505120, 10, 0, 5997440, 0, -10]);
  });

  it('bounds a rotated raster by all four corners', () => {
    const rotated: GeoTransform = [100, 1, 1, 200, 1, -1];
    expect(applyGeoTransform(rotated, 10, 0)).toEqual([110, 210]);
    expect(nativeBounds(rotated, 10, 10)).toEqual([100, 190, 120, 210]);
  });

  it("recognises GDAL's default (no georeferencing) transform", () => {
    expect(isDefaultGeoTransform([0, 1, 0, 0, 0, 1])).toBe(true);
    expect(isDefaultGeoTransform(gt)).toBe(false);
  });
});

describe('data types and nodata', () => {
  it('uses STAC names', () => {
    expect(['Byte', 'Int16', 'UInt16', 'Float32', 'Float64', 'CInt16'].map(toStacDataType)).toEqual(['uint8', 'int16', 'uint16', 'float32', 'float64', 'cint16']);
    expect(() => toStacDataType('Unknown')).toThrow(/Unknown/);
  });

  it('writes NaN and infinities as strings', () => {
    expect([Number.NaN, Infinity, -Infinity, -9999, null].map(toNodata)).toEqual(['nan', 'inf', '-inf', -9999, null]);
    expect(nodataArgument('nan')).toBe('nan');
    expect(nodataArgument(null)).toBe('none');
  });
});

describe('checksum', () => {
  it('prefixes SHA-256 with the multihash code and length', () => {
    const hex = 'E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855';
    expect(toSha256Multihash(hex)).toBe(`1220${hex.toLowerCase()}`);
    expect(() => toSha256Multihash('abc')).toThrow(/SHA-256/);
  });
});
