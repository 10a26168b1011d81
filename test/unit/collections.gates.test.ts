/** Quality gates (issue 24, step 2): each rule against measurements, the CRS family from WKT2, the footprint around tile boxes. */
import { describe, expect, it } from 'vitest';
import { crsFamilyOf, evaluateGates, footprintOf, hasGates, type GateMeasurements } from '../../src/collections/quality.gates.js';

const measured: GateMeasurements = {
  crsCode: 'EPSG:32633',
  crsFamily: 'projected',
  dataTypes: ['Byte', 'Byte', 'Byte'],
  bandCount: 3,
  sizeBytes: 1_000_000,
  footprint: [14.9, 54.0, 15.1, 54.2],
  nodataShare: 0.1,
};

describe('quality gates', () => {
  it('passes a source within every gate', () => {
    expect(evaluateGates({ maxNodataShare: 0.2, crs: { epsg: [32633], family: 'projected' }, dataTypes: ['Byte'], bandCounts: [3, 4], maxBytes: 2_000_000, footprintWithin: [10, 50, 20, 60] }, measured)).toEqual([]);
  });

  it('names each rule it fails with the measured value and the limit', () => {
    const violations = evaluateGates({ maxNodataShare: 0.05, crs: { epsg: [4326], family: 'geographic' }, dataTypes: ['Float32'], bandCounts: [1], maxBytes: 10, footprintWithin: [0, 0, 10, 10] }, measured);
    expect(violations.map(({ rule, measured: value, limit }) => ({ rule, value, limit }))).toEqual([
      { rule: 'maxNodataShare', value: '0.1', limit: '≤ 0.05' },
      { rule: 'crs.epsg', value: 'EPSG:32633', limit: 'EPSG:4326' },
      { rule: 'crs.family', value: 'projected', limit: 'geographic' },
      { rule: 'dataTypes', value: 'Byte', limit: 'Float32' },
      { rule: 'bandCounts', value: '3', limit: '1' },
      { rule: 'maxBytes', value: '1000000', limit: '≤ 10' },
      { rule: 'footprintWithin', value: '[14.9, 54, 15.1, 54.2]', limit: '[0, 0, 10, 10]' },
    ]);
    expect(violations[0]!.message).toBe("10% of the pixels are nodata, over the gate's 5%");
  });

  it('fails closed: an unmeasured nodata share, a CRS without a code, no footprint, an antimeridian crossing', () => {
    expect(evaluateGates({ maxNodataShare: 0.5 }, { ...measured, nodataShare: null })).toMatchObject([{ rule: 'maxNodataShare', measured: 'unknown' }]);
    expect(evaluateGates({ crs: { epsg: [32633] } }, { ...measured, crsCode: null })).toMatchObject([{ rule: 'crs.epsg', measured: 'no EPSG code' }]);
    expect(evaluateGates({ footprintWithin: [-180, -90, 180, 90] }, { ...measured, footprint: null })).toMatchObject([{ rule: 'footprintWithin', measured: 'none' }]);
    expect(evaluateGates({ footprintWithin: [-180, -90, 180, 90] }, { ...measured, footprint: [179, 0, -179, 1] })).toHaveLength(1);
  });

  it('reads the CRS family from WKT2', () => {
    expect(crsFamilyOf('GEOGCRS["WGS 84",DATUM[...]]')).toBe('geographic');
    expect(crsFamilyOf('PROJCRS["WGS 84 / UTM zone 33N",BASEGEOGCRS[...]]')).toBe('projected');
    expect(crsFamilyOf('COMPOUNDCRS["x",PROJCRS["y"],VERTCRS["z"]]')).toBe('projected');
    expect(crsFamilyOf('ENGCRS["local"]')).toBeNull();
    expect(crsFamilyOf(null)).toBeNull();
  });

  it('takes the box around tile boxes, keeping an antimeridian crossing', () => {
    expect(footprintOf([[1, 2, 3, 4], [2, 1, 5, 3]])).toEqual([1, 1, 5, 4]);
    expect(footprintOf([[170, 0, 180, 1], [179, 0, -179, 1]])).toEqual([179, 0, -179, 1]);
    expect(footprintOf([])).toBeNull();
  });

  it('knows when a collection has no gates', () => {
    expect(hasGates({})).toBe(false);
    expect(hasGates(undefined)).toBe(false);
    expect(hasGates({ maxBytes: 1 })).toBe(true);
  });
});
