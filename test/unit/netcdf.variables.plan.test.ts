/**
 * The plan of a source of variables (issue 20): one tile per variable × step × window, item ids
 * that never collide, the compact plan a job's status carries planned again by the tile ledger,
 * and the variable option's bounds.
 */
import { describe, expect, it } from 'vitest';
import { planJobTiles, summarizeGridSlices, uncompressedBytes } from '../../src/orchestrations/ingest.orchestrator.js';
import type { BandInfo, RasterInfo, RasterVariable } from '../../src/pipeline/contracts.js';
import { buildTileEntry, type LedgerJob } from '../../src/jobs/tile.ledger.js';
import { deriveItemId } from '../../src/pipeline/ids.js';
import { ingestOptionsSchema } from '../../src/pipeline/options.js';
import { assignVariableKeys, isSafeVariableName, slugifyVariableName } from '../../src/pipeline/variable.name.js';
import { maxVariablesPerJob } from '../../src/inspection/source.inspection.js';
import { countVariableTiles, planRecordedGrid, planVariableTiles, type PlanVariable } from '../../src/raster/tile.plan.js';

const int16: BandInfo = { gdalDataType: 'Int16', nodata: -32767, colorInterpretation: 'Undefined', hasColorTable: false, description: '', unit: 'K', scale: 0.01, offset: 273.15 };

function variable(name: string, key: string, steps: number, stepLabel: 't' | 'b' | null, width = 1000, height = 600): RasterVariable {
  return { name, key, subdataset: true, width, height, band: int16, steps, stepLabel, crs: null, geoTransform: [0, 1, 0, 0, 0, -1] };
}

const info: RasterInfo = {
  driver: 'netCDF',
  width: 1000,
  height: 600,
  bands: [int16, int16, int16],
  crs: null,
  geoTransform: [0, 1, 0, 0, 0, -1],
  variables: [variable('tas', 'tas', 3, 't'), variable('pr', 'pr', 3, 't'), variable('orog', 'orog', 1, null, 300, 200)],
};

describe('planVariableTiles', () => {
  it('plans variable by variable, step by step, window by window, with indexes over the whole plan', () => {
    const windows = planVariableTiles(info.variables!, 512);
    // tas and pr: 3 steps × 2×2 windows each; orog: one window, no step.
    expect(windows).toHaveLength(3 * 4 + 3 * 4 + 1);
    expect(windows.map((window) => window.index)).toEqual(windows.map((_, index) => index));
    expect(windows[0]).toMatchObject({ row: 0, col: 0, slice: { variable: 'tas', variableKey: 'tas', band: 1, stepLabel: 't', subdataset: true } });
    expect(windows[4]).toMatchObject({ row: 0, col: 0, slice: { variable: 'tas', band: 2 } });
    expect(windows[12]).toMatchObject({ slice: { variable: 'pr', band: 1 } });
    expect(windows[24]!.slice).toEqual({ variable: 'orog', variableKey: 'orog', subdataset: true });
    expect(countVariableTiles(info.variables!, 512)).toBe(windows.length);
  });

  it('gives every variable, step and window its own item id (and so its own COG)', () => {
    const ids = planJobTiles(info, 512).map(({ window }) => deriveItemId('scene-0123456789ab', window));
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toContain('scene-0123456789ab-tas-t0-r0-c0');
    expect(ids).toContain('scene-0123456789ab-pr-t2-r1-c1');
    expect(ids).toContain('scene-0123456789ab-orog-r0-c0');
  });

  it('names steps of several extra dimensions by band, and keeps ids apart from a variable whose name looks like a step', () => {
    const tricky: PlanVariable[] = [
      { name: 'a', key: 'a', subdataset: true, width: 10, height: 10, steps: 2, stepLabel: 't' },
      // "a-t1" would slug to a_t1: keys never hold "-", so "a" step 1 and "a_t1" cannot meet.
      { name: 'a-t1', key: slugifyVariableName('a-t1'), subdataset: true, width: 10, height: 10, steps: 1, stepLabel: null },
      { name: 'levels', key: 'levels', subdataset: true, width: 10, height: 10, steps: 4, stepLabel: 'b' },
    ];
    const ids = planVariableTiles(tricky, 512).map((window) => deriveItemId('k', window));
    expect(ids).toEqual(['k-a-t0-r0-c0', 'k-a-t1-r0-c0', 'k-a_t1-r0-c0', 'k-levels-b1-r0-c0', 'k-levels-b2-r0-c0', 'k-levels-b3-r0-c0', 'k-levels-b4-r0-c0']);
  });

  it('refuses a variable without steps', () => {
    expect(() => planVariableTiles([{ name: 'x', key: 'x', subdataset: true, width: 10, height: 10, steps: 0, stepLabel: 't' }], 512)).toThrow(/steps/);
  });
});

describe('planJobTiles', () => {
  it('keeps a one-raster source as it was: plain windows, ids without a variable', () => {
    const plain: RasterInfo = { ...info, variables: undefined, crsAssumed: 'EPSG:4326' };
    const planned = planJobTiles(plain, 512);
    expect(planned).toHaveLength(4);
    expect(planned[0]).toEqual({ window: { index: 0, row: 0, col: 0, x: 0, y: 0, width: 512, height: 512 }, assumedCrs: 'EPSG:4326' });
    expect(deriveItemId('k', planned[3]!.window)).toBe('k-r1-c1');
  });

  it("passes each variable's assumed CRS to its tiles (the tiles do not decide again)", () => {
    const assumed: RasterInfo = { ...info, variables: [{ ...variable('z', 'z', 1, null, 10, 10), crsAssumed: 'EPSG:4326' }, variable('w', 'w', 1, null, 10, 10)] };
    expect(planJobTiles(assumed, 512).map(({ assumedCrs }) => assumedCrs)).toEqual(['EPSG:4326', null]);
  });

  it('sizes the route by every variable and step', () => {
    expect(uncompressedBytes(info)).toBe(2 * 1000 * 600 * 3 * 2 + 300 * 200 * 2);
  });
});

describe('the plan in the job status, planned again by the tile ledger', () => {
  it('merges neighbours of one shape and plans the same ids and windows', () => {
    const slices = summarizeGridSlices(info.variables!);
    expect(slices).toEqual([
      { keys: ['tas', 'pr'], width: 1000, height: 600, steps: 3, stepLabel: 't' },
      { keys: ['orog'], width: 300, height: 200, steps: 1, stepLabel: null },
    ]);
    const again = planRecordedGrid({ width: 1000, height: 600, tileSize: 512, slices });
    const planned = planJobTiles(info, 512).map(({ window }) => window);
    expect(again.map((window) => deriveItemId('k', window))).toEqual(planned.map((window) => deriveItemId('k', window)));
    expect(again.map(({ x, y, width, height, index }) => [x, y, width, height, index])).toEqual(planned.map(({ x, y, width, height, index }) => [x, y, width, height, index]));
  });

  it('stays small enough for the custom status at the most variables a job may hold', () => {
    // Every variable a grid of its own, keys as long as keys get: the status's other parts stay near 4,000 of its 8,192 characters.
    const many = Array.from({ length: maxVariablesPerJob }, (_, index) => variable(`v${index}`, slugifyVariableName(`variable_with_a_very_long_name_${index}`), 1 + (index % 5), 't', 100 + index, 100));
    expect(JSON.stringify(summarizeGridSlices(many)).length).toBeLessThan(3200);
  });

  it('gives each planned tile of a variable its own ledger entry: item id, window and place in the plan', () => {
    const input = { source: { container: 'uploads', name: 'era5.nc', etag: '"1"', size: 1, lastModified: '2026-01-01T00:00:00Z' }, collection: 'c', options: ingestOptionsSchema.parse({}), tileSize: 512, outputs: { collection: 'c', sourceKey: 'era5-0123456789ab', version: 'v1' }, attempt: 1, index: { key: 'k', createdTime: '2026-01-01T00:00:00Z' }, worker: { thresholdBytes: 1, tileTimeoutSeconds: 1 } };
    const job: LedgerJob = { id: 'ingest-1', input, progress: undefined };
    const windows = planRecordedGrid({ width: 1000, height: 600, tileSize: 512, slices: summarizeGridSlices(info.variables!) });
    const entries = windows.map((window) => buildTileEntry(job, window, { jobEnded: false }, (ref) => `http://blob/${ref.name}`));
    expect(entries).toHaveLength(25);
    expect(entries[13]).toMatchObject({ index: 13, itemId: 'era5-0123456789ab-pr-t0-r0-c1', row: 0, col: 1, window: { x: 512, y: 0, width: 488, height: 512 }, state: 'pending' });
    expect(new Set(entries.map((entry) => entry.itemId)).size).toBe(25);
  });

  it('plans an older status (no slices) as before', () => {
    expect(planRecordedGrid({ width: 1000, height: 600, tileSize: 512 })).toHaveLength(4);
  });
});

describe('variable names and keys', () => {
  it('accepts names as files spell them, netCDF-4 groups included', () => {
    for (const name of ['tas', 'sea_surface_temperature', 'T2M', '2t', 'u10.mean', 'CO2@surface', 'a+b', 'x-y', '/group/tas', 'forecast/t2m', 'température']) {
      expect(isSafeVariableName(name), name).toBe(true);
      expect(ingestOptionsSchema.safeParse({ variable: name }).success, name).toBe(true);
    }
  });

  it('refuses paths, URLs, dataset names, format strings, quotes and huge text in the variable option', () => {
    const hostile = [
      '../../etc/passwd',
      '/etc/passwd/..',
      '/vsicurl/http://169.254.169.254/latest',
      'http://canary.invalid/x',
      'NETCDF:"/etc/passwd":x',
      'tas":evil',
      'tas:0',
      '%s%s%s%n',
      '${env.SECRET}',
      'tas\\..\\x',
      'tas\u0000',
      'tas\nnext',
      ' tas',
      '',
      'a'.repeat(129),
      'x'.repeat(100_000),
    ];
    for (const name of hostile) {
      expect(isSafeVariableName(name), JSON.stringify(name.slice(0, 40))).toBe(false);
      const parsed = ingestOptionsSchema.safeParse({ variable: name });
      expect(parsed.success, JSON.stringify(name.slice(0, 40))).toBe(false);
      // The refusal never echoes the value back.
      if (!parsed.success) expect(JSON.stringify(parsed.error.issues.map((issue) => issue.message))).not.toContain(name.length > 3 ? name : '\u0001');
    }
  });

  it('slugs to lower case, digits and _ (never "-"), and tells apart names that slug alike', () => {
    expect(slugifyVariableName('Sea Surface-Temp.K')).toBe('sea_surface_temp_k');
    expect(slugifyVariableName('---')).toBe('var');
    const keys = assignVariableKeys(['T', 't', 'u'], (name) => (name === 'T' ? 'aaaaaaaaaaaa' : 'bbbbbbbbbbbb'));
    expect(keys).toEqual(['t_aaaaaaaa', 't_bbbbbbbb', 'u']);
    for (const key of keys) expect(key).toMatch(/^[a-z0-9_]+$/);
  });
});
