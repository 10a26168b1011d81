import { describe, expect, it } from 'vitest';
import { createFinalizeCollection, updateJsonBlob } from '../../src/activities/collection.finalize.js';
import { createCreateTileCog } from '../../src/activities/tile.cog.create.js';
import { createRegisterTileItem } from '../../src/activities/tile.item.register.js';
import { createValidateRaster } from '../../src/activities/validate.raster.js';
import type { RegisteredItem, SourceBlob } from '../../src/pipeline/contracts.js';
import { ingestOptionsSchema } from '../../src/pipeline/options.js';
import { planTiles } from '../../src/raster/tile.plan.js';
import { catalogBlob, cogBlob, collectionBlob, itemBlob, mosaicBlob } from '../../src/stac/catalog.layout.js';
import type { StacCatalog, StacCollection, StacItem } from '../../src/stac/stac.types.js';
import { writeFloat32NanDem, writeNetcdfWithTime, writeNoEpsgProjected, writePaletted, writeRgbUint8, writeTiffDated } from '../support/fixtures.js';
import { StacValidator, stacSchemasAvailable, stacSchemasMissingNote } from '../support/stac.validator.js';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import gdal from 'gdal-async';
import { samePixels, useActivityHarness } from './activity.harness.js';

const env = useActivityHarness();
const schemasPresent = stacSchemasAvailable();
if (!schemasPresent) console.warn(stacSchemasMissingNote);
const validator = schemasPresent ? new StacValidator() : undefined;

async function expectValidStac(document: unknown): Promise<void> {
  if (!validator) return; // stacSchemasMissingNote says what this skips
  const result = await validator.validate(document);
  expect(result.errors).toEqual([]);
}

const datetime = '2026-11-25T17:00:00.000Z';
const options = ingestOptionsSchema.parse({ blockSize: 128 });

/** validate → tiles → items, as the orchestrator sequences them. */
async function ingestItems(localPath: string, collection: string, tileSize: number, jobTime = datetime): Promise<{ source: SourceBlob; items: RegisteredItem[] }> {
  const source = await env.harness.upload(localPath);
  const verdict = await createValidateRaster(env.harness.deps)({ source });
  if (!verdict.accepted) throw new Error(verdict.reason);
  const createTileCog = createCreateTileCog(env.harness.deps);
  const registerTileItem = createRegisterTileItem(env.harness.deps);
  const stem = source.name.split('/').pop()!.replace(/\.(tif|nc)$/, '');
  const items = await Promise.all(
    planTiles(verdict.info.width, verdict.info.height, tileSize).map(async (window) => {
      const tile = await createTileCog({ source, collection, itemId: `${stem}-r${window.row}-c${window.col}`, window, options });
      return registerTileItem({ collection, source, tile, datetime: jobTime });
    }),
  );
  return { source, items };
}

async function readJson<T>(container: string, name: string): Promise<T> {
  const stored = await env.harness.store.readJson<T>({ container, name });
  if (!stored) throw new Error(`${container}/${name} is missing`);
  return stored.value;
}

describe('registerTileItem and finalizeCollection (real GDAL, real Azurite)', () => {
  it('writes schema-valid items, collection and root catalog with absolute links', async () => {
    const collection = `stac-${env.harness.runId}`;
    const { source, items } = await ingestItems(writeRgbUint8(env.fixtures.path, 700, 500), collection, 512);
    expect(items).toHaveLength(2);
    for (const registered of items) {
      const item = await readJson<StacItem>('stac', itemBlob(collection, registered.itemId).name);
      expect(registered.itemUrl).toBe(env.harness.store.url(itemBlob(collection, registered.itemId)));
      expect(item.links.find((l) => l.rel === 'self')!.href).toBe(registered.itemUrl);
      expect(item.links.find((l) => l.rel === 'collection')!.href).toBe(env.harness.store.url(collectionBlob(collection)));
      expect(item.assets['data']!.href).toBe(registered.cogUrl);
      expect(item.assets['thumbnail']).toMatchObject({ type: 'image/png', roles: ['thumbnail'], href: registered.cogUrl.replace(/\.tif$/, '.png') });
      expect(item.properties['proj:shape'][0]).toBe(500);
      expect([512, 188]).toContain(item.properties['proj:shape'][1]);
      expect(item.bbox).toEqual(registered.bbox);
      await expectValidStac(item);
    }
    const finalized = await createFinalizeCollection(env.harness.deps)({ collection, source, items, datetime });
    expect(finalized).toEqual({
      collectionId: collection,
      collectionUrl: env.harness.store.url(collectionBlob(collection)),
      catalogUrl: env.harness.store.url(catalogBlob()),
      itemCount: 2,
    });
    const stored = await readJson<StacCollection>('stac', collectionBlob(collection).name);
    await expectValidStac(stored);
    const [w, s, e, n] = stored.extent.spatial.bbox[0]!;
    for (const item of items) {
      expect(item.bbox[0]).toBeGreaterThanOrEqual(w);
      expect(item.bbox[1]).toBeGreaterThanOrEqual(s);
      expect(item.bbox[2]).toBeLessThanOrEqual(e);
      expect(item.bbox[3]).toBeLessThanOrEqual(n);
    }
    const catalog = await readJson<StacCatalog>('stac', catalogBlob().name);
    await expectValidStac(catalog);
    expect(catalog.links).toContainEqual(expect.objectContaining({ rel: 'child', href: finalized.collectionUrl }));
  });

  it('writes a VRT mosaic per source that reassembles the source pixel for pixel', async () => {
    const collection = `vrt-${env.harness.runId}`;
    for (const [path, tileSize] of [
      [writeFloat32NanDem(env.fixtures.path, 700, 500, 'mosaic-dem.tif'), 256],
      [writePaletted(env.fixtures.path, 640, 480, 'mosaic-pal.tif'), 300],
    ] as const) {
      const { source, items } = await ingestItems(path, collection, tileSize);
      await createFinalizeCollection(env.harness.deps)({ collection, source, items, datetime });
      // Mirror the blob layout locally: the VRT refers to its tiles by relative path.
      const folder = join(env.fixtures.path, `${collection}-${items.length}`);
      mkdirSync(folder, { recursive: true });
      const vrtRef = mosaicBlob(collection, source.name);
      const vrtPath = join(folder, vrtRef.name.split('/').pop()!);
      await env.harness.store.downloadToFile(vrtRef, vrtPath);
      for (const item of items) {
        const ref = cogBlob(collection, source.name, item.itemId);
        await env.harness.store.downloadToFile(ref, join(folder, ref.name.split('/').pop()!));
      }
      const mosaic = gdal.open(vrtPath);
      const original = gdal.open(path);
      expect([mosaic.rasterSize.x, mosaic.rasterSize.y]).toEqual([original.rasterSize.x, original.rasterSize.y]);
      expect(mosaic.geoTransform).toEqual(original.geoTransform);
      expect(mosaic.srs!.isSame(original.srs!)).toBe(true);
      const { x, y } = original.rasterSize;
      expect(samePixels(mosaic.bands.get(1).pixels.read(0, 0, x, y), original.bands.get(1).pixels.read(0, 0, x, y))).toBe(true);
      expect(mosaic.bands.get(1).colorTable?.count() ?? 0).toBe(original.bands.get(1).colorTable?.count() ?? 0);
      const stored = await readJson<StacCollection>('stac', collectionBlob(collection).name);
      const asset = Object.values(stored.assets ?? {}).find((a) => a.href === env.harness.store.url(vrtRef));
      expect(asset).toMatchObject({ roles: ['data', 'mosaic'] });
      await expectValidStac(stored);
    }
  });

  it('validates float32 NaN-nodata and no-EPSG items with real PROJJSON', async () => {
    const collection = `kinds-${env.harness.runId}`;
    const dem = await ingestItems(writeFloat32NanDem(env.fixtures.path, 500, 400), collection, 4096);
    const lcc = await ingestItems(writeNoEpsgProjected(env.fixtures.path), collection, 4096);
    const demItem = await readJson<StacItem>('stac', itemBlob(collection, dem.items[0]!.itemId).name);
    const lccItem = await readJson<StacItem>('stac', itemBlob(collection, lcc.items[0]!.itemId).name);
    expect(demItem.assets['data']!.bands![0]).toMatchObject({ data_type: 'float32', nodata: 'nan' });
    expect(lccItem.properties['proj:code']).toBeNull();
    expect(lccItem.properties['proj:projjson']).toMatchObject({ type: 'ProjectedCRS' });
    await expectValidStac(demItem);
    await expectValidStac(lccItem);
  });

  it('is idempotent on re-ingest and grows when a second source joins the collection', async () => {
    const collection = `grow-${env.harness.runId}`;
    const finalize = createFinalizeCollection(env.harness.deps);
    const first = await ingestItems(writeRgbUint8(env.fixtures.path, 600, 300, 'first.tif'), collection, 512);
    await finalize({ collection, source: first.source, items: first.items, datetime });
    const again = await ingestItems(writeRgbUint8(env.fixtures.path, 600, 300, 'first.tif'), collection, 512);
    expect(again.items.map((i) => i.itemUrl)).toEqual(first.items.map((i) => i.itemUrl));
    const repeated = await finalize({ collection, source: again.source, items: again.items, datetime });
    expect(repeated.itemCount).toBe(2);
    const second = await ingestItems(writeFloat32NanDem(env.fixtures.path, 300, 300, 'second.tif'), collection, 512, '2026-11-26T08:00:00.000Z');
    const grown = await finalize({ collection, source: second.source, items: second.items, datetime: '2026-11-26T08:00:00.000Z' });
    expect(grown.itemCount).toBe(3);
    const stored = await readJson<StacCollection>('stac', collectionBlob(collection).name);
    expect(stored.extent.temporal.interval[0]).toEqual([datetime, '2026-11-26T08:00:00.000Z']);
    const itemLinks = stored.links.filter((l) => l.rel === 'item').map((l) => l.href);
    expect(new Set(itemLinks).size).toBe(itemLinks.length);
    await expectValidStac(stored);
    const catalog = await readJson<StacCatalog>('stac', catalogBlob().name);
    expect(catalog.links.filter((l) => l.rel === 'child' && l.href === grown.collectionUrl)).toHaveLength(1);
  });

  it('dates items by the raster\'s acquisition time (TIFF tag, netCDF time) and the collection\'s extent by them', async () => {
    const collection = `dated-${env.harness.runId}`;
    const tiff = await ingestItems(writeTiffDated(env.fixtures.path), collection, 4096);
    const netcdf = await ingestItems(writeNetcdfWithTime(env.fixtures.path), collection, 4096);
    const plain = await ingestItems(writeRgbUint8(env.fixtures.path, 300, 200, 'undated.tif'), collection, 4096);
    const read = async (registered: RegisteredItem): Promise<StacItem> => readJson<StacItem>('stac', itemBlob(collection, registered.itemId).name);

    const tiffItem = await read(tiff.items[0]!);
    expect(tiffItem.properties).toMatchObject({ datetime: '2021-06-14T10:32:05.000Z', created: datetime, 'raster-ingest:datetime_source': 'TIFFTAG_DATETIME' });
    const netcdfItem = await read(netcdf.items[0]!);
    expect(netcdfItem.properties).toMatchObject({
      datetime: '2024-01-01T12:00:00.000Z',
      start_datetime: '2024-01-01T12:00:00.000Z',
      end_datetime: '2024-01-02T12:00:00.000Z',
      created: datetime,
      'raster-ingest:datetime_source': 'netCDF time (days since 2000-01-01 00:00:00)',
    });
    const plainItem = await read(plain.items[0]!);
    expect(plainItem.properties).toMatchObject({ datetime, created: datetime, 'raster-ingest:datetime_source': 'ingestion' });
    for (const item of [tiffItem, netcdfItem, plainItem]) await expectValidStac(item);

    const finalize = createFinalizeCollection(env.harness.deps);
    for (const ingested of [tiff, netcdf, plain]) await finalize({ collection, source: ingested.source, items: ingested.items, datetime });
    const stored = await readJson<StacCollection>('stac', collectionBlob(collection).name);
    expect(stored.extent.temporal.interval).toEqual([['2021-06-14T10:32:05.000Z', datetime]]);
    await expectValidStac(stored);
  });

  it('loses no update when finalizations race on one collection', async () => {
    const collection = `race-${env.harness.runId}`;
    const finalize = createFinalizeCollection(env.harness.deps);
    const fake = (i: number): RegisteredItem => ({
      itemId: `race-${i}`,
      itemUrl: env.harness.store.url(itemBlob(collection, `race-${i}`)),
      cogUrl: `${env.harness.store.url({ container: 'cogs', name: `${collection}/x/race-${i}.tif` })}`,
      cogBytes: 1,
      bbox: [i, 0, i + 1, 1],
    });
    const source: SourceBlob = { container: 'uploads', name: 'race.tif', etag: '"x"', size: 1 };
    await Promise.all(Array.from({ length: 6 }, (_, i) => finalize({ collection, source, items: [fake(i)], datetime })));
    const stored = await readJson<StacCollection>('stac', collectionBlob(collection).name);
    expect(stored.links.filter((l) => l.rel === 'item')).toHaveLength(6);
    expect(stored.extent.spatial.bbox[0]).toEqual([0, 0, 6, 1]);
  });

  it('updateJsonBlob retries a conditional write that lost a race', async () => {
    const ref = { container: 'stac', name: `${env.harness.runId}/counter.json` };
    await Promise.all(Array.from({ length: 5 }, () => updateJsonBlob<{ n: number }>(env.harness.store, ref, (current) => ({ n: (current?.n ?? 0) + 1 }))));
    expect((await env.harness.store.readJson<{ n: number }>(ref))!.value.n).toBe(5);
  });
});
