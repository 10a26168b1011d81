import { beforeAll, describe, expect, it } from 'vitest';
import type { TileCog } from '../../src/pipeline/contracts.js';
import { buildTileItem, datetimeSourceProperty, notesProperty } from '../../src/stac/item.build.js';
import type { StacItem } from '../../src/stac/stac.types.js';
import { itemUrls, sampleSource, sampleTile } from '../support/stac.sample.js';
import { StacValidator } from '../support/stac.validator.js';

const ingestedAt = '2026-11-25T17:00:00.000Z';

// Unconditional: these tests are about items staying valid, and the schemas are in the repository (test/support/stac-schemas).
let validator: StacValidator;
beforeAll(() => {
  validator = new StacValidator();
});

/** Builds the item, checks it survives JSON unchanged (no NaN or Infinity turned into null) and validates it. */
async function buildValidItem(tile: TileCog): Promise<StacItem> {
  const item = buildTileItem({ collection: 'dems', tile, datetime: ingestedAt, source: sampleSource, urls: itemUrls });
  expect(JSON.parse(JSON.stringify(item))).toEqual(item);
  expect((await validator.validate(item)).errors).toEqual([]);
  return item;
}

const hostileBand = (): TileCog['bands'][number] => ({
  gdalDataType: 'Float32',
  nodata: Infinity as unknown as number,
  colorInterpretation: 'Gray',
  hasColorTable: false,
  description: 'd'.repeat(100_000),
  unit: 'u'.repeat(100_000),
  statistics: { minimum: 1, maximum: Infinity, mean: Number.NaN, stddev: Number.NaN, valid_percent: 100, approximate: false },
});

describe('buildTileItem with out-of-range metadata', () => {
  it('leaves out what JSON or STAC cannot carry, cuts long names, and lists why in raster-ingest:notes', async () => {
    const tile = sampleTile({ bands: [hostileBand()], notes: ['datetime: TIFFTAG_DATETIME "9999:99:99 99:99:99" is not a date; not used'] });
    const item = await buildValidItem(tile);
    const [band] = item.assets['data']!.bands!;
    expect(band!.name).toHaveLength(200);
    expect(band).not.toHaveProperty('unit');
    expect(band).not.toHaveProperty('statistics');
    expect(band!.nodata).toBe('inf');
    expect(item.properties[notesProperty]).toEqual([
      'datetime: TIFFTAG_DATETIME "9999:99:99 99:99:99" is not a date; not used',
      'band 1 description: 100000 characters, cut to 200',
      'band 1 unit: 100000 characters, over 100; left out',
      'band 1 statistics: maximum Infinity, mean NaN, stddev NaN (not finite numbers); left out',
    ]);
  });

  it('dates the item by ingestion when a tile carries an acquisition time outside 0001–9999 (an older worker), with a note', async () => {
    for (const acquired of [
      { start: '+010000-01-01T00:00:00.000Z', end: '+010000-01-01T00:00:00.000Z', source: 'netCDF time (days since 1970-01-01)' },
      { start: '-000001-01-01T00:00:00.000Z', end: '2020-01-01T00:00:00.000Z', source: 'NC_GLOBAL#time_coverage_start' },
      { start: '2021-01-01T00:00:00.000Z', end: '2020-01-01T00:00:00.000Z', source: 'NC_GLOBAL#time_coverage_start' },
      { start: 'garbage', end: 'garbage', source: 'TIFFTAG_DATETIME' },
    ]) {
      const item = await buildValidItem(sampleTile({ acquired }));
      expect(item.properties).toMatchObject({ datetime: ingestedAt, [datetimeSourceProperty]: 'ingestion' });
      expect(item.properties).not.toHaveProperty('start_datetime');
      expect(item.properties[notesProperty]).toEqual([expect.stringMatching(/^datetime: ".+" gave ".+" to ".+", not a time span within the years 0001–9999; not used$/)]);
    }
  });

  it('leaves out the WKT2 and PROJJSON of a CRS without a code when they are over 16 KB', async () => {
    const huge = `PROJCRS["${'n'.repeat(100_000)}"]`;
    const item = await buildValidItem(sampleTile({ crs: { code: null, wkt2: huge, projjson: { name: huge } } }));
    expect(item.properties['proj:code']).toBeNull();
    expect(item.properties).not.toHaveProperty('proj:wkt2');
    expect(item.properties).not.toHaveProperty('proj:projjson');
    expect(item.properties[notesProperty]).toHaveLength(2);
  });

  it('bounds the notes a tile brings: at most 20, each at most 300 characters', async () => {
    const notes = Array.from({ length: 50 }, (_, i) => `note ${i} ${'x'.repeat(1000)}`);
    const item = await buildValidItem(sampleTile({ notes }));
    const kept = item.properties[notesProperty] as string[];
    expect(kept).toHaveLength(20);
    for (const note of kept) expect(note.length).toBeLessThanOrEqual(300);
  });

  it('adds no notes property to an item whose metadata is all in range', async () => {
    const item = await buildValidItem(sampleTile({ acquired: { start: '2021-06-14T10:32:05.000Z', end: '2021-06-14T10:32:05.000Z', source: 'TIFFTAG_DATETIME' } }));
    expect(item.properties).not.toHaveProperty(notesProperty);
    expect(item.properties.datetime).toBe('2021-06-14T10:32:05.000Z');
  });
});
