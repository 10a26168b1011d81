import { describe, expect, it } from 'vitest';
import type { BandStatistics, CrsInfo } from '../../src/pipeline/contracts.js';
import { failureFrom } from '../../src/pipeline/failure.js';
import {
  boundBandInfo,
  boundCrs,
  boundMeasuredBand,
  boundNotes,
  boundStatistics,
  checkBandCount,
  checkIngestibleBands,
  findCogBandOverride,
  metadataBounds,
  type MeasuredBand,
} from '../../src/raster/metadata.bounds.js';
import { stretchRange } from '../../src/raster/thumbnail.command.js';

const band = (overrides: Partial<MeasuredBand> = {}): MeasuredBand => ({
  gdalDataType: 'Float32',
  nodata: null,
  colorInterpretation: 'Gray',
  hasColorTable: false,
  description: '',
  unit: null,
  statistics: { minimum: 1, maximum: 9, mean: 5, stddev: 2, valid_percent: 100, approximate: false },
  ...overrides,
});

const stats = (overrides: Partial<BandStatistics>): BandStatistics => ({ minimum: 1, maximum: 9, mean: 5, stddev: 2, valid_percent: 100, approximate: false, ...overrides });

/** The failure a call throws, as the orchestrator would read it. */
function failureOf(run: () => void): ReturnType<typeof failureFrom> | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    return failureFrom(error);
  }
}

describe('boundBandInfo', () => {
  it('cuts a 100 kB band description to 200 characters, keeping a hash of the whole, with a note', () => {
    const notes: string[] = [];
    const description = 'd'.repeat(100_000);
    const bounded = boundBandInfo(band({ description }), 2, notes);
    expect(bounded.description).toHaveLength(metadataBounds.bandName);
    expect(bounded.description).toMatch(/^d+…#[0-9a-f]{8}$/);
    expect(boundBandInfo(band({ description: `${'d'.repeat(99_999)}e` }), 2, []).description).not.toBe(bounded.description);
    expect(notes).toEqual(['band 3 description: 100000 characters, cut to 200']);
  });

  it('leaves out a unit over 100 characters (a cut unit would mislead), with a note', () => {
    const notes: string[] = [];
    expect(boundBandInfo(band({ unit: 'm'.repeat(100_000) }), 0, notes).unit).toBeNull();
    expect(notes).toEqual(['band 1 unit: 100000 characters, over 100; left out']);
  });

  it('keeps ordinary values as they are, without notes', () => {
    const notes: string[] = [];
    const ordinary = band({ description: 'Band 1 — réflectance', unit: 'W m-2 sr-1 um-1', nodata: -9999 });
    expect(boundBandInfo(ordinary, 0, notes)).toEqual(ordinary);
    expect(notes).toEqual([]);
  });

  it('writes non-finite nodata as STAC names it ("nan", "inf", "-inf"), never as a JSON null', () => {
    const notes: string[] = [];
    expect(boundBandInfo(band({ nodata: Infinity as unknown as number }), 0, notes).nodata).toBe('inf');
    expect(boundBandInfo(band({ nodata: -Infinity as unknown as number }), 0, notes).nodata).toBe('-inf');
    expect(boundBandInfo(band({ nodata: Number.NaN }), 0, notes).nodata).toBe('nan');
    expect(boundBandInfo(band({ nodata: 'inf' }), 0, notes).nodata).toBe('inf');
    expect(JSON.parse(JSON.stringify(boundBandInfo(band({ nodata: Infinity }), 0, notes)))).toMatchObject({ nodata: 'inf' });
    expect(notes).toEqual([]);
  });
});

describe('boundStatistics', () => {
  it.each([
    ['a band holding +Infinity (GDAL: max inf, mean and stddev NaN)', stats({ maximum: Infinity, mean: Number.NaN, stddev: Number.NaN }), /^band 1 statistics: maximum Infinity, mean NaN, stddev NaN \(not finite numbers\); left out$/],
    ['a band holding -Infinity', stats({ minimum: -Infinity, mean: Number.NaN, stddev: Number.NaN }), /minimum -Infinity/],
    ['float64 values near the maximum (the mean overflows)', stats({ minimum: -1.7e308, maximum: 1.7e308, mean: -Infinity, stddev: Number.NaN }), /mean -Infinity, stddev NaN/],
    ['a NaN valid_percent', stats({ valid_percent: Number.NaN }), /valid_percent NaN/],
  ])('leaves out the statistics of %s, with a note', (_variant, statistics, note) => {
    const notes: string[] = [];
    expect(boundStatistics(statistics, 0, notes)).toBeNull();
    expect(notes).toEqual([expect.stringMatching(note)]);
  });

  it('keeps finite statistics, however large', () => {
    const notes: string[] = [];
    const large = stats({ minimum: -1e308, maximum: 1e308, mean: 0, stddev: 1e307 });
    expect(boundStatistics(large, 0, notes)).toBe(large);
    expect(boundMeasuredBand(band({ statistics: large }), 0, notes).statistics).toBe(large);
    expect(notes).toEqual([]);
  });
});

describe('findCogBandOverride', () => {
  it.each([
    ['NaN scale', { unit: '', scale: Number.NaN, offset: 0 }, { scale: 1 }, ['band 1 scale: NaN is not a finite number; left out of the COG']],
    ['Infinity scale', { unit: '', scale: Infinity, offset: null }, { scale: 1 }, ['band 1 scale: Infinity is not a finite number; left out of the COG']],
    ['NaN offset', { unit: '', scale: 1, offset: Number.NaN }, { offset: 0 }, ['band 1 offset: NaN is not a finite number; left out of the COG']],
    ['-Infinity offset and NaN scale', { unit: '', scale: Number.NaN, offset: -Infinity }, { scale: 1, offset: 0 }, [expect.stringMatching(/scale: NaN/), expect.stringMatching(/offset: -Infinity/)]],
    ['a 100 kB unit', { unit: 'u'.repeat(100_000), scale: null, offset: null }, { unit: '' }, ['band 1 unit: 100000 characters, over 100; left out']],
  ])('replaces a %s in the COG, with a note', (_variant, values, override, expectedNotes) => {
    const notes: string[] = [];
    expect(findCogBandOverride(values, 0, notes)).toEqual(override);
    expect(notes).toEqual(expectedNotes);
  });

  it('needs none for finite scale and offset and a short unit', () => {
    const notes: string[] = [];
    expect(findCogBandOverride({ unit: 'K', scale: 0.01, offset: 273.15 }, 0, notes)).toBeNull();
    expect(findCogBandOverride({ unit: '', scale: null, offset: null }, 0, notes)).toBeNull();
    expect(notes).toEqual([]);
  });
});

describe('boundCrs', () => {
  const crs = (overrides: Partial<CrsInfo>): CrsInfo => ({ code: null, wkt2: 'PROJCRS["custom"]', projjson: { type: 'ProjectedCRS' }, ...overrides });

  it('keeps only EPSG:<digits> codes', () => {
    const notes: string[] = [];
    expect(boundCrs(crs({ code: 'EPSG:32633' }), notes)?.code).toBe('EPSG:32633');
    expect(boundCrs(crs({ code: `EPSG:${'x'.repeat(100_000)}` }), notes)?.code).toBeNull();
    expect(notes).toEqual([expect.stringMatching(/^crs: code "EPSG:x+…#[0-9a-f]{8}" is not an EPSG code; left out$/)]);
  });

  it('leaves out a WKT2 or PROJJSON over 16 KB (a CRS name of 100 kB), with a note when no code stands in', () => {
    const notes: string[] = [];
    const huge = `PROJCRS["${'n'.repeat(100_000)}"]`;
    expect(boundCrs(crs({ wkt2: huge, projjson: { name: huge } }), notes)).toEqual({ code: null, wkt2: '', projjson: null });
    expect(notes).toEqual(['crs: WKT2 of 100011 characters, over 16384; proj:wkt2 left out', 'crs: PROJJSON of 100024 characters, over 16384; proj:projjson left out']);
    const coded: string[] = [];
    expect(boundCrs(crs({ code: 'EPSG:4326', wkt2: huge }), coded)).toMatchObject({ code: 'EPSG:4326', wkt2: '' });
    expect(coded).toEqual([]);
    expect(boundCrs(null, coded)).toBeNull();
  });
});

describe('checkIngestibleBands', () => {
  it('fails a raster with more bands than a TIFF holds as INVALID_INPUT, saying what to do', () => {
    expect(failureOf(() => checkBandCount(65_536))).toEqual({ code: 'INVALID_INPUT', message: expect.stringMatching(/^it has 65536 bands, and a COG \(a TIFF\) holds at most 65535; split it/) });
    expect(failureOf(() => checkBandCount(1_000_000))?.code).toBe('INVALID_INPUT');
    expect(failureOf(() => checkBandCount(65_535))).toBeUndefined();
  });

  it('fails a GDAL data type STAC cannot name as INVALID_INPUT, never as a defect', () => {
    for (const gdalDataType of ['Unknown', 'Float16', 'constructor', '__proto__', 'x'.repeat(100_000)]) {
      const failure = failureOf(() => checkIngestibleBands([{ gdalDataType: 'Byte' }, { gdalDataType }]));
      expect(failure?.code, gdalDataType.slice(0, 20)).toBe('INVALID_INPUT');
      expect(failure?.message).toMatch(/^its band 2 has the GDAL data type ".{1,60}", which STAC cannot name; convert it/);
    }
    expect(failureOf(() => checkIngestibleBands(['Byte', 'Int8', 'UInt64', 'CFloat64'].map((gdalDataType) => ({ gdalDataType }))))).toBeUndefined();
  });
});

describe('boundNotes', () => {
  it('drops duplicates, cuts each note to 300 characters and keeps at most 20, counting the rest', () => {
    expect(boundNotes(['a', 'a', 'b'])).toEqual(['a', 'b']);
    expect(boundNotes(['n'.repeat(10_000)])[0]).toHaveLength(300);
    const many = boundNotes(Array.from({ length: 70_000 }, (_, i) => `band ${i + 1} unit: 200 characters, over 100; left out`));
    expect(many).toHaveLength(20);
    expect(many.at(-1)).toBe('69981 more notes left out');
  });
});

describe('stretchRange', () => {
  it('always gives two finite numbers for the thumbnail, whatever infinities the statistics hold', () => {
    for (const statistics of [
      stats({ minimum: -Infinity, mean: Number.NaN, stddev: Number.NaN }),
      stats({ maximum: Infinity, mean: Number.NaN, stddev: Number.NaN }),
      stats({ minimum: -Infinity, maximum: Infinity, mean: Number.NaN, stddev: Number.NaN }),
      stats({ minimum: 1.7e308, maximum: 1.7e308, mean: 1.7e308, stddev: 0 }),
    ]) {
      const [low, high] = stretchRange(statistics);
      expect(Number.isFinite(low) && Number.isFinite(high) && high > low, JSON.stringify(statistics)).toBe(true);
    }
  });
});
