import { beforeAll, describe, expect, it } from 'vitest';
import type { RegisteredItem } from '../../src/pipeline/contracts.js';
import { cogBlob, collectionBlob, itemBlob, mosaicBlob, sourceRecordBlob, thumbnailBlob } from '../../src/stac/catalog.layout.js';
import { countItemLinks, mergeCatalog, mergeCollection } from '../../src/stac/collection.build.js';
import { buildTileItem, datetimeSourceProperty, itemInterval, statisticsApproximateProperty } from '../../src/stac/item.build.js';
import { extensionSchemas, mediaTypes } from '../../src/stac/stac.types.js';
import { base, itemUrls, sampleSource, sampleTile } from '../support/stac.sample.js';
import { StacValidator, stacSchemasAvailable, stacSchemasMissingNote } from '../support/stac.validator.js';

const schemasPresent = stacSchemasAvailable();
if (!schemasPresent) console.warn(stacSchemasMissingNote);

let validator: StacValidator | undefined;
beforeAll(() => {
  if (schemasPresent) validator = new StacValidator();
});

async function expectValidStac(document: unknown): Promise<void> {
  if (!validator) return; // stacSchemasMissingNote says what this skips
  const result = await validator.validate(document);
  expect(result.errors).toEqual([]);
}

describe('buildTileItem', () => {
  it('builds a STAC 1.1.0 item with projection v2 and file fields from the tile', async () => {
    const item = buildTileItem({ collection: 'dems', tile: sampleTile(), datetime: '2026-11-25T17:00:00.000Z', source: sampleSource, urls: itemUrls });
    expect(item.stac_extensions).toEqual([extensionSchemas.projection, extensionSchemas.file]);
    expect(item.properties['proj:code']).toBe('EPSG:32633');
    expect(item.properties['proj:shape']).toEqual([300, 512]);
    expect(item.properties['proj:transform']).toEqual([10, 0, 505120, 0, -10, 6000000]);
    expect(item.properties['proj:wkt2']).toBeUndefined();
    expect(item.properties).not.toHaveProperty('proj:epsg');
    const data = item.assets['data']!;
    expect(data.type).toBe(mediaTypes.cog);
    expect(data.roles).toEqual(['data']);
    expect(data['file:size']).toBe(123456);
    expect(data.bands).toEqual([
      {
        name: 'b1',
        data_type: 'float32',
        nodata: 'nan',
        unit: 'metre',
        statistics: { minimum: 1, maximum: 9, mean: 5, stddev: 2, valid_percent: 97.5 },
        'raster-ingest:statistics_approximate': false,
      },
    ]);
    expect(item.links.map((l) => [l.rel, l.href])).toEqual([
      ['self', itemUrls.item],
      ['root', itemUrls.catalog],
      ['parent', itemUrls.collection],
      ['collection', itemUrls.collection],
    ]);
    await expectValidStac(item);
  });

  it('carries WKT2 and PROJJSON when the CRS has no EPSG code, and eo names for RGB', async () => {
    const rgbBand = (c: string) => ({ gdalDataType: 'Byte', nodata: null, colorInterpretation: c, hasColorTable: false, description: '', unit: null, statistics: null });
    const tile = sampleTile({
      crs: { code: null, wkt2: 'PROJCRS["Custom LCC"]', projjson: null }, // real PROJJSON is checked in the integration tests
      bands: [rgbBand('Red'), rgbBand('Green'), rgbBand('Blue')],
    });
    const item = buildTileItem({ collection: 'dems', tile, datetime: '2026-11-25T17:00:00.000Z', source: { ...sampleSource, name: 'x.tif' }, urls: itemUrls });
    expect(item.properties['proj:code']).toBeNull();
    expect(item.properties['proj:wkt2']).toBe('PROJCRS["Custom LCC"]');
    expect(item.stac_extensions).toContain(extensionSchemas.eo);
    expect(item.assets['data']!.bands!.map((b) => b['eo:common_name'])).toEqual(['red', 'green', 'blue']);
    await expectValidStac(item);
  });

  it('is checked by a validator that does reject bad items', async () => {
    if (!validator) return; // stacSchemasMissingNote says what this skips
    const item = buildTileItem({ collection: 'dems', tile: sampleTile(), datetime: '2026-11-25T17:00:00.000Z', source: sampleSource, urls: itemUrls });
    const withEpsg = { ...item, properties: { ...item.properties, 'proj:epsg': 32633 } };
    const withoutChecksumHex = { ...item, assets: { data: { ...item.assets['data']!, 'file:checksum': 'not-hex' } } };
    expect((await validator.validate(withEpsg)).valid).toBe(false);
    expect((await validator.validate(withoutChecksumHex)).valid).toBe(false);
  });

  it('dates the item by its acquisition time when the raster has one, keeping created = ingestion time', async () => {
    const ingestedAt = '2026-11-25T17:00:00.000Z';
    const plain = buildTileItem({ collection: 'dems', tile: sampleTile(), datetime: ingestedAt, source: sampleSource, urls: itemUrls });
    expect(plain.properties).toMatchObject({ datetime: ingestedAt, created: ingestedAt, [datetimeSourceProperty]: 'ingestion' });
    expect(itemInterval(plain)).toEqual([ingestedAt, ingestedAt]);

    const instant = { start: '2021-06-14T10:32:05.000Z', end: '2021-06-14T10:32:05.000Z', source: 'TIFFTAG_DATETIME' };
    const dated = buildTileItem({ collection: 'dems', tile: sampleTile({ acquired: instant }), datetime: ingestedAt, source: sampleSource, urls: itemUrls });
    expect(dated.properties).toMatchObject({ datetime: instant.start, created: ingestedAt, [datetimeSourceProperty]: 'TIFFTAG_DATETIME' });
    expect(dated.properties).not.toHaveProperty('start_datetime');
    await expectValidStac(dated);

    const span = { start: '2024-01-01T12:00:00.000Z', end: '2024-01-02T12:00:00.000Z', source: 'netCDF time (days since 2000-01-01)' };
    const ranged = buildTileItem({ collection: 'dems', tile: sampleTile({ acquired: span }), datetime: ingestedAt, source: sampleSource, urls: itemUrls });
    expect(ranged.properties).toMatchObject({ datetime: span.start, start_datetime: span.start, end_datetime: span.end, created: ingestedAt });
    expect(itemInterval(ranged)).toEqual([span.start, span.end]);
    await expectValidStac(ranged);
  });

  it('marks approximated statistics beside the Statistics Object, which keeps only STAC fields', async () => {
    const tile = sampleTile();
    tile.bands[0]!.statistics!.approximate = true;
    const item = buildTileItem({ collection: 'dems', tile, datetime: '2026-11-25T17:00:00.000Z', source: sampleSource, urls: itemUrls });
    const band = item.assets['data']!.bands![0]!;
    expect(band[statisticsApproximateProperty]).toBe(true);
    expect(Object.keys(band.statistics!).sort()).toEqual(['maximum', 'mean', 'minimum', 'stddev', 'valid_percent']);
    await expectValidStac(item);
  });
});

describe('mergeCollection and mergeCatalog', () => {
  const urls = { collection: itemUrls.collection, catalog: itemUrls.catalog };
  const registered = (id: string, bbox: RegisteredItem['bbox']): RegisteredItem => ({
    itemId: id,
    itemUrl: `${base}/stac/dems/${id}/${id}.json`,
    cogUrl: `${base}/cogs/dems/dem/${id}.tif`,
    cogBytes: 10,
    bbox,
    projCode: 'EPSG:32633',
  });

  it('creates a valid collection whose extent covers its items', async () => {
    const collection = mergeCollection(undefined, {
      collectionId: 'dems',
      items: [registered('a', [10, 40, 11, 41]), registered('b', [11, 40, 12, 41.5])],
      datetime: '2026-11-25T17:00:00.000Z',
      urls,
      projCodes: ['EPSG:32633', 'EPSG:32633'],
    });
    expect(collection.extent.spatial.bbox).toEqual([[10, 40, 12, 41.5]]);
    expect(collection.extent.temporal.interval).toEqual([['2026-11-25T17:00:00.000Z', '2026-11-25T17:00:00.000Z']]);
    expect(countItemLinks(collection)).toBe(2);
    expect(collection.summaries).toEqual({ 'proj:code': ['EPSG:32633'] });
    await expectValidStac(collection);
  });

  it('is idempotent for the same items and grows for new ones', async () => {
    const first = mergeCollection(undefined, { collectionId: 'dems', items: [registered('a', [10, 40, 11, 41])], datetime: '2026-11-25T17:00:00.000Z', urls });
    const again = mergeCollection(first, { collectionId: 'dems', items: [registered('a', [10, 40, 11, 41])], datetime: '2026-11-25T17:00:00.000Z', urls });
    expect(again).toEqual(first);
    const grown = mergeCollection(first, { collectionId: 'dems', items: [registered('c', [-5, 30, -4, 31])], datetime: '2026-11-26T08:00:00.000Z', urls });
    expect(countItemLinks(grown)).toBe(2);
    expect(grown.extent.spatial.bbox).toEqual([[-5, 30, 11, 41]]);
    expect(grown.extent.temporal.interval).toEqual([['2026-11-25T17:00:00.000Z', '2026-11-26T08:00:00.000Z']]);
    await expectValidStac(grown);
  });

  it('spans the items\' acquisition times, and the ingestion time only for items without one', async () => {
    const dated = { ...registered('a', [10, 40, 11, 41]), interval: ['2024-01-01T12:00:00.000Z', '2024-01-02T12:00:00.000Z'] as [string, string] };
    const collection = mergeCollection(undefined, { collectionId: 'dems', items: [dated], datetime: '2026-11-25T17:00:00.000Z', urls });
    expect(collection.extent.temporal.interval).toEqual([['2024-01-01T12:00:00.000Z', '2024-01-02T12:00:00.000Z']]);
    const grown = mergeCollection(collection, { collectionId: 'dems', items: [registered('b', [10, 40, 11, 41])], datetime: '2026-11-26T08:00:00.000Z', urls });
    expect(grown.extent.temporal.interval).toEqual([['2024-01-01T12:00:00.000Z', '2026-11-26T08:00:00.000Z']]);
    await expectValidStac(grown);
  });

  it('links each collection from the root catalog once', async () => {
    const catalog = mergeCatalog(undefined, itemUrls.catalog, { id: 'dems', url: itemUrls.collection });
    const again = mergeCatalog(catalog, itemUrls.catalog, { id: 'dems', url: itemUrls.collection });
    expect(again.links.filter((l) => l.rel === 'child')).toHaveLength(1);
    const two = mergeCatalog(again, itemUrls.catalog, { id: 'rgb', url: `${base}/stac/rgb/collection.json` });
    expect(two.links.filter((l) => l.rel === 'child')).toHaveLength(2);
    await expectValidStac(two);
  });
});

describe('catalog layout', () => {
  it('names blobs deterministically: source key, then version folder', () => {
    const outputs = { collection: 'dems', sourceKey: 'big-dem-0123456789ab', version: 'vfedcba987654' };
    expect(cogBlob(outputs, 'big-dem-0123456789ab-r0-c0')).toEqual({ container: 'cogs', name: 'dems/big-dem-0123456789ab/vfedcba987654/big-dem-0123456789ab-r0-c0.tif' });
    expect(thumbnailBlob(outputs, 'x')).toEqual({ container: 'cogs', name: 'dems/big-dem-0123456789ab/vfedcba987654/x.png' });
    expect(mosaicBlob(outputs)).toEqual({ container: 'cogs', name: 'dems/big-dem-0123456789ab/vfedcba987654/big-dem-0123456789ab.vrt' });
    expect(sourceRecordBlob('dems', outputs.sourceKey)).toEqual({ container: 'stac', name: 'dems/sources/big-dem-0123456789ab.json' });
    expect(itemBlob('dems', 'x')).toEqual({ container: 'stac', name: 'dems/x/x.json' });
    expect(collectionBlob('dems')).toEqual({ container: 'stac', name: 'dems/collection.json' });
  });
});
