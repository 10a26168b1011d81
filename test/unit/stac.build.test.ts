import { beforeAll, describe, expect, it } from 'vitest';
import type { RegisteredItem } from '../../src/pipeline/contracts.js';
import { cogBlob, collectionBlob, collectionMosaicBlob, collectionOverviewBlob, itemBlob, mosaicBlob, shardCatalogBlob, shardOf, sourceCatalogBlob, sourceRecordBlob, thumbnailBlob } from '../../src/stac/catalog.layout.js';
import {
  buildSourceCatalog,
  collectionForApi,
  collectionItemCount,
  combineSummaries,
  linksChild,
  mergeCatalog,
  mergeCollection,
  mergeShardCatalog,
  sourceCatalogPageSize,
  summarizeItems,
  summarizeShard,
} from '../../src/stac/collection.build.js';
import { buildTileItem, datetimeSourceProperty, itemInterval, statisticsApproximateProperty } from '../../src/stac/item.build.js';
import { extensionSchemas, mediaTypes } from '../../src/stac/stac.types.js';
import { base, itemUrls, sampleSource, sampleTile } from '../support/stac.sample.js';
import { StacValidator } from '../support/stac.validator.js';

let validator: StacValidator;
beforeAll(() => {
  validator = new StacValidator();
});

async function expectValidStac(document: unknown): Promise<void> {
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

  it('says where it came from: parent is its source catalog, derived_from the source blob, processing:software the app and GDAL', async () => {
    const urls = { ...itemUrls, parent: `${base}/stac/dems/catalogs/3f/dem-0123456789ab/catalog.json`, source: `${base}/uploads/dem.tif` };
    const software = { 'raster-ingest': '0.1.0', GDAL: '3.6.2' };
    const item = buildTileItem({ collection: 'dems', tile: sampleTile(), datetime: '2026-11-25T17:00:00.000Z', source: sampleSource, urls, software });
    expect(item.links.find((l) => l.rel === 'parent')!.href).toBe(urls.parent);
    expect(item.links.find((l) => l.rel === 'collection')!.href).toBe(itemUrls.collection);
    expect(item.links.find((l) => l.rel === 'derived_from')).toMatchObject({ href: urls.source });
    expect(item.properties['processing:software']).toEqual(software);
    expect(item.stac_extensions).toContain(extensionSchemas.processing);
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

describe('source, shard and collection documents', () => {
  const urls = { collection: itemUrls.collection, catalog: itemUrls.catalog };
  const shardUrl = (shard: string): string => `${base}/stac/dems/catalogs/${shard}/catalog.json`;
  const registered = (id: string, bbox: RegisteredItem['bbox'], projCode: string | null = 'EPSG:32633'): RegisteredItem => ({
    itemId: id,
    itemUrl: `${base}/stac/dems/${id}/${id}.json`,
    cogUrl: `${base}/cogs/dems/dem/${id}.tif`,
    cogBytes: 10,
    bbox,
    projCode,
  });
  const t0 = '2026-11-25T17:00:00.000Z';
  const t1 = '2026-11-26T08:00:00.000Z';

  it('summarizes items: count, bbox, time span (ingestion time for undated items) and CRS codes', () => {
    const dated = { ...registered('a', [10, 40, 11, 41]), interval: ['2024-01-01T12:00:00.000Z', '2024-01-02T12:00:00.000Z'] as [string, string] };
    expect(summarizeItems([dated, registered('b', [11, 40, 12, 41.5], null)], t0)).toEqual({
      items: 2,
      bbox: [10, 40, 12, 41.5],
      interval: ['2024-01-01T12:00:00.000Z', t0],
      projCodes: ['EPSG:32633', null],
    });
    expect(summarizeItems([], t0)).toEqual({ items: 0, projCodes: [] });
    // Across the antimeridian the smaller union wins.
    expect(combineSummaries([summarizeItems([registered('w', [179, 0, 180, 1])], t0), summarizeItems([registered('e', [-180, 0, -179, 1])], t1)]).bbox).toEqual([179, 0, -179, 1]);
  });

  const sourceUrl = `${base}/stac/dems/catalogs/3f/dem-0123456789ab/catalog.json`;
  const pageUrl = (page: number): string => `${base}/stac/dems/catalogs/3f/dem-0123456789ab/v1/items-${page}.json`;

  it('builds a source catalog linking its items, under its shard, with its VRT mosaic', async () => {
    const { catalog, pages } = buildSourceCatalog({
      sourceKey: 'dem-0123456789ab',
      source: 'uploads/dem.tif',
      items: [registered('a', [10, 40, 11, 41]), registered('b', [11, 40, 12, 41])],
      urls: { self: sourceUrl, parent: shardUrl('3f'), root: itemUrls.catalog },
      mosaic: { href: `${base}/cogs/dems/dem/v1/dem.vrt`, type: mediaTypes.vrt, roles: ['data', 'mosaic'] },
      pageUrl,
    });
    expect(pages).toEqual([]);
    expect(catalog.links.filter((l) => l.rel === 'item').map((l) => l.title)).toEqual(['a', 'b']);
    expect(catalog.links.find((l) => l.rel === 'parent')!.href).toBe(shardUrl('3f'));
    expect(catalog.links.find((l) => l.rel === 'related')).toMatchObject({ href: `${base}/cogs/dems/dem/v1/dem.vrt`, type: mediaTypes.vrt });
    expect(catalog).not.toHaveProperty('assets');
    await expectValidStac(catalog);
  });

  it('pages the item links of a source with more tiles than a page holds', async () => {
    const items = Array.from({ length: sourceCatalogPageSize * 2 + 1 }, (_, i) => registered(`t${i}`, [0, 0, 1, 1]));
    const { catalog, pages } = buildSourceCatalog({ sourceKey: 'big-0123456789ab', source: 'uploads/big.tif', items, urls: { self: sourceUrl, parent: shardUrl('3f'), root: itemUrls.catalog }, pageUrl });
    expect(catalog.links.some((l) => l.rel === 'item')).toBe(false);
    expect(catalog.links.filter((l) => l.rel === 'child').map((l) => l.href)).toEqual([pageUrl(0), pageUrl(1), pageUrl(2)]);
    expect(pages.map(({ document }) => document.links.filter((l) => l.rel === 'item').length)).toEqual([sourceCatalogPageSize, sourceCatalogPageSize, 1]);
    expect(pages.flatMap(({ document }) => document.links.filter((l) => l.rel === 'item').map((l) => l.href))).toEqual(items.map((i) => i.itemUrl));
    expect(pages[1]!.document.links.find((l) => l.rel === 'parent')!.href).toBe(sourceUrl);
    await expectValidStac(catalog);
    await expectValidStac(pages[2]!.document);
  });

  it('keeps one child link and one summary per source in a shard, replaced when a source is republished', async () => {
    const shardUrls = { self: shardUrl('3f'), parent: itemUrls.collection, root: itemUrls.catalog };
    const source = (key: string, items: RegisteredItem[]) => ({ sourceKey: key, title: `uploads/${key}.tif`, url: `${base}/stac/dems/catalogs/3f/${key}/catalog.json`, summary: summarizeItems(items, t0) });
    const first = mergeShardCatalog(undefined, { shard: '3f', collectionId: 'dems', urls: shardUrls, sources: [source('a', [registered('a1', [0, 0, 1, 1]), registered('a2', [1, 0, 2, 1])]), source('b', [registered('b1', [5, 5, 6, 6])])] });
    expect(summarizeShard(first)).toMatchObject({ items: 3, bbox: [0, 0, 6, 6] });
    // Source b shrinks to a smaller version: the shard's summary shrinks with it, from the shard alone.
    const shrunk = mergeShardCatalog(first, { shard: '3f', collectionId: 'dems', urls: shardUrls, sources: [source('b', [registered('b1', [5, 5, 5.5, 5.5])])] });
    expect(shrunk.links.filter((l) => l.rel === 'child')).toHaveLength(2);
    expect(summarizeShard(shrunk)).toMatchObject({ items: 3, bbox: [0, 0, 5.5, 5.5] });
    await expectValidStac(shrunk);
  });

  it('builds a valid collection from shard summaries: child links, extent, proj:code and count, idempotently', async () => {
    const a = { shard: '00', url: shardUrl('00'), summary: summarizeItems([registered('a', [10, 40, 11, 41]), registered('b', [11, 40, 12, 41.5])], t0) };
    const collection = mergeCollection(undefined, { collectionId: 'dems', datetime: t0, urls, shards: [a] });
    expect(collection.extent.spatial.bbox).toEqual([[10, 40, 12, 41.5]]);
    expect(collection.extent.temporal.interval).toEqual([[t0, t0]]);
    expect(collection.summaries).toEqual({ 'proj:code': ['EPSG:32633'] });
    expect(collection.links.filter((l) => l.rel === 'child').map((l) => l.href)).toEqual([shardUrl('00')]);
    expect(collection.links.some((l) => l.rel === 'item')).toBe(false);
    expect(collectionItemCount(collection)).toBe(2);
    await expectValidStac(collection);
    expect(mergeCollection(collection, { collectionId: 'dems', datetime: t0, urls, shards: [a] })).toEqual(collection);

    const b = { shard: 'ff', url: shardUrl('ff'), summary: summarizeItems([registered('c', [-5, 30, -4, 31], null)], t1) };
    const grown = mergeCollection(collection, { collectionId: 'dems', datetime: t1, urls, shards: [b] });
    expect(grown.extent.spatial.bbox).toEqual([[-5, 30, 12, 41.5]]);
    expect(grown.extent.temporal.interval).toEqual([[t0, t1]]);
    expect(grown.summaries).toEqual({ 'proj:code': ['EPSG:32633', null] });
    expect(collectionItemCount(grown)).toBe(3);
    // Shard 00 loses its wide item: the extent shrinks, with no other document read.
    const shrunk = mergeCollection(grown, { collectionId: 'dems', datetime: t1, urls, shards: [{ ...a, summary: summarizeItems([registered('a', [10, 40, 11, 41])], t0) }] });
    expect(shrunk.extent.spatial.bbox).toEqual([[-5, 30, 11, 41]]);
    expect(collectionItemCount(shrunk)).toBe(2);
    await expectValidStac(shrunk);

    const forApi = collectionForApi(shrunk);
    expect(forApi.links.some((l) => ['child', 'self', 'root', 'parent'].includes(l.rel))).toBe(false);
    expect(forApi).not.toHaveProperty('raster-ingest:shards');
    await expectValidStac(forApi);
  });

  it('drops the item links and per-source mosaic assets of the earlier layout, keeps collection assets', () => {
    const old = mergeCollection(undefined, { collectionId: 'dems', datetime: t0, urls, shards: [], assets: { 'mosaic-x': { href: 'h', type: mediaTypes.vrt, roles: ['data'] }, overview: { href: 'o', type: mediaTypes.cog, roles: ['overview'] } } });
    old.links.push({ rel: 'item', href: `${base}/stac/dems/a/a.json` });
    const merged = mergeCollection(old, { collectionId: 'dems', datetime: t0, urls, shards: [] });
    expect(merged.links.some((l) => l.rel === 'item')).toBe(false);
    expect(Object.keys(merged.assets ?? {})).toEqual(['overview']);
  });

  it('links each collection from the root catalog once', async () => {
    const catalog = mergeCatalog(undefined, itemUrls.catalog, { id: 'dems', url: itemUrls.collection });
    expect(linksChild(catalog, itemUrls.collection)).toBe(true);
    expect(linksChild(undefined, itemUrls.collection)).toBe(false);
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

  it('hangs each source catalog under one of at most 256 shards, by the hash of its source key', () => {
    const keys = Array.from({ length: 5000 }, (_, i) => `scene-${i}-0123456789ab`);
    const shards = new Set(keys.map(shardOf));
    expect([...shards].every((shard) => /^[0-9a-f]{2}$/.test(shard))).toBe(true);
    expect(shards.size).toBe(256);
    expect(shardOf('big-dem-0123456789ab')).toBe(shardOf('big-dem-0123456789ab'));
    const shard = shardOf('big-dem-0123456789ab');
    expect(shardCatalogBlob('dems', shard)).toEqual({ container: 'stac', name: `dems/catalogs/${shard}/catalog.json` });
    expect(sourceCatalogBlob('dems', 'big-dem-0123456789ab')).toEqual({ container: 'stac', name: `dems/catalogs/${shard}/big-dem-0123456789ab/catalog.json` });
    expect(collectionMosaicBlob('dems', 'epsg-32633')).toEqual({ container: 'cogs', name: 'dems/dems.mosaic.epsg-32633.vrt' });
    expect(collectionOverviewBlob('dems')).toEqual({ container: 'cogs', name: 'dems/dems.overview.tif' });
  });
});
