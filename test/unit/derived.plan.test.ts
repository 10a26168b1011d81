/**
 * The pure parts of derived products (issue 24, part 3): names and ids, the checks that refuse a
 * derivation before GDAL sees it, GDAL's arguments, the normalized difference of one block, and
 * which orchestration versions run the derived step.
 */
import { describe, expect, it } from 'vitest';
import { derivesProducts, publishesEvents } from '../../src/orchestrations/versions.js';
import type { Derivation } from '../../src/pipeline/contracts.js';
import { isPermanentFailure } from '../../src/pipeline/failure.js';
import {
  buildDemArgs,
  buildDerivedWarpArgs,
  checkDerivedSize,
  deriveDerivedOutputs,
  deriveProductsInstanceId,
  describeDerivation,
  findDerivationProblem,
  findItemIdProblem,
  keepsSourceGrid,
  maxDerivedPixels,
  normalizedDifference,
} from '../../src/raster/derived.plan.js';

const bands = (count: number, type = 'Float32') => ({ count, dataTypeOf: () => type });
const ndi = (a: number, b: number): Derivation => ({ collection: 'rgb', product: 'normalized-difference', bands: [a, b] });

describe('derived outputs and ids', () => {
  it('keeps the source key and makes a version of the source version and the derived definition version', () => {
    const outputs = deriveDerivedOutputs({ collection: 'dems', sourceKey: 'dem-alps', version: 'v0123456789ab' }, { collection: 'hillshade', definitionVersion: 3 });
    expect(outputs).toEqual({ collection: 'hillshade', sourceKey: 'dem-alps', version: 'v0123456789ab-d3' });
    expect(deriveProductsInstanceId('ingest-abc', 'hillshade')).toBe('ingest-abc-derived-hillshade');
  });

  it('accepts the item ids the app makes and refuses anything that could become another blob name', () => {
    expect(findItemIdProblem('dem-alps-r0-c1')).toBeNull();
    expect(findItemIdProblem('dem.alps_tas-t3-r0-c0')).toBeNull();
    for (const id of ['../x', 'a/b', 'a..b', '', '-x', 'http://h/x', 'a\u0000b', 'a'.repeat(256), 'a b']) expect(findItemIdProblem(id)).not.toBeNull();
  });
});

describe('findDerivationProblem', () => {
  it('wants one real band for a hillshade or slope', () => {
    expect(findDerivationProblem({ collection: 'd', product: 'hillshade' }, bands(1))).toBeNull();
    expect(findDerivationProblem({ collection: 'd', product: 'slope' }, bands(3))?.message).toBe('a slope is made from a one-band DEM; the source item has 3 bands');
    expect(findDerivationProblem({ collection: 'd', product: 'hillshade' }, bands(1, 'CFloat32'))?.message).toMatch(/needs real elevations/);
    expect(findDerivationProblem({ collection: 'd', product: 'hillshade' }, bands(0))?.message).toMatch(/no bands/);
  });

  it('names the bands a normalized difference asks for that the source lacks', () => {
    expect(findDerivationProblem(ndi(4, 3), bands(4))).toBeNull();
    expect(findDerivationProblem(ndi(1, 5), bands(3))?.message).toBe('derivedFrom.bands names band 5, and the source item has 3 bands');
    expect(findDerivationProblem(ndi(9, 7), bands(1))?.message).toBe('derivedFrom.bands names band 9 and 7, and the source item has 1 band');
    expect(findDerivationProblem(ndi(2, 2), bands(3))?.message).toMatch(/the same band twice/);
    expect(findDerivationProblem(ndi(1, 2), bands(2, 'CInt16'))?.message).toMatch(/needs real values/);
  });

  it('asks only for the types of the bands it uses (a raster of 65,535 bands is not read band by band)', () => {
    const asked: number[] = [];
    findDerivationProblem(ndi(1, 65_535), { count: 65_535, dataTypeOf: (band) => (asked.push(band), 'Byte') });
    expect(asked).toEqual([1, 65_535]);
  });

  it('is a permanent failure: no retry helps', () => {
    const failure = findDerivationProblem(ndi(1, 5), bands(3))!;
    expect(failure.code).toBe('INVALID_INPUT');
    expect(isPermanentFailure(failure)).toBe(true);
  });
});

describe('GDAL arguments', () => {
  it('computes edges, and scales a geographic DEM from degrees to metres', () => {
    expect(buildDemArgs(false)).toContain('-compute_edges');
    expect(buildDemArgs(false)).not.toContain('-s');
    expect(buildDemArgs(true).slice(-2)).toEqual(['-s', '111120']);
  });

  it('warps to the target CRS and resolution, with NaN or an alpha band where the source declares no nodata', () => {
    const float = [{ gdalDataType: 'Float32', nodata: null, hasColorTable: false }];
    const byte = [{ gdalDataType: 'Byte', nodata: null, hasColorTable: false }];
    const palette = [{ gdalDataType: 'Byte', nodata: 0, hasColorTable: true }];
    expect(buildDerivedWarpArgs({ targetCrs: 'EPSG:3857', resolution: 30 }, float)).toEqual(expect.arrayContaining(['-t_srs', 'EPSG:3857', '-tr', '30', '30', '-dstnodata', 'nan', '-r', 'bilinear']));
    expect(buildDerivedWarpArgs({ targetCrs: 'EPSG:4326' }, byte)).toContain('-dstalpha');
    expect(buildDerivedWarpArgs({ targetCrs: 'EPSG:4326' }, byte)).not.toContain('-tr');
    expect(buildDerivedWarpArgs({ targetCrs: 'EPSG:4326' }, palette)).toEqual(expect.arrayContaining(['-r', 'near']));
    expect(buildDerivedWarpArgs({ targetCrs: 'EPSG:4326' }, palette)).not.toContain('-dstalpha');
  });

  it('refuses a reprojection larger than the limit, or of no finite size, as an input limit', () => {
    expect(checkDerivedSize(16_384, 16_384)).toBeNull();
    expect(checkDerivedSize(16_385, 16_384)?.code).toBe('INPUT_LIMIT');
    expect(checkDerivedSize(Number.POSITIVE_INFINITY, 10)?.message).toMatch(/∞ × 10 pixels, over the limit of 268,435,456/);
    expect(maxDerivedPixels).toBe(16_384 * 16_384);
  });
});

describe('normalizedDifference', () => {
  it('is (a − b) / (a + b) in Float32, NaN where either is nodata or NaN, or the sum is 0', () => {
    const a = [3, 0, -9999, 5, Number.NaN, 2, 32767];
    const b = [1, 0, 4, -9999, 1, -2, 32767];
    const out = new Float32Array(a.length);
    normalizedDifference(a, b, { a: -9999, b: -9999 }, out);
    expect(out[0]).toBeCloseTo(0.5, 7);
    expect(Number.isNaN(out[1]!)).toBe(true);
    expect(Number.isNaN(out[2]!)).toBe(true);
    expect(Number.isNaN(out[3]!)).toBe(true);
    expect(Number.isNaN(out[4]!)).toBe(true);
    expect(Number.isNaN(out[5]!)).toBe(true);
    // Int16 sums beyond Int16 do not overflow: the inputs are doubles.
    expect(out[6]).toBe(0);
  });

  it('keeps values when the bands declare no nodata', () => {
    const out = new Float32Array(1);
    normalizedDifference([0], [7], { a: null, b: null }, out);
    expect(out[0]).toBe(-1);
  });
});

describe('lineage and grids', () => {
  it('says what the product is and where it came from', () => {
    expect(describeDerivation(ndi(4, 3), 'rgb', 'rgb-x-r0-c0')).toBe('Normalized difference (b4 - b3) / (b4 + b3) of item rgb-x-r0-c0 of collection rgb, Float32, NaN where either band is nodata or the sum is 0');
    expect(describeDerivation({ collection: 'd', product: 'reproject', targetCrs: 'EPSG:3857', resolution: 10 }, 'd', 'i')).toMatch(/to EPSG:3857 at 10 units per pixel/);
    expect(keepsSourceGrid('hillshade')).toBe(true);
    expect(keepsSourceGrid('reproject')).toBe(false);
  });
});

describe('orchestration versions', () => {
  it('runs the derived step from 1.6 on; older instances (and none) replay without it', () => {
    for (const version of ['1.6', '1.7', '1.10', '2.0']) expect(derivesProducts(version)).toBe(true);
    for (const version of ['1.5', '1.0', '', undefined, 'x']) expect(derivesProducts(version)).toBe(false);
    // 1.6 keeps 1.5's step.
    expect(publishesEvents('1.6')).toBe(true);
  });
});
