import { describe, expect, it } from 'vitest';
import { createFinalizeCollection } from '../../src/activities/collection.finalize.js';
import { updateJsonBlob } from '../../src/activities/json.blob.update.js';
import { createCreateTileCog } from '../../src/activities/tile.cog.create.js';
import { createRegisterTileItem } from '../../src/activities/tile.item.register.js';
import { createValidateRaster } from '../../src/activities/validate.raster.js';
import type { FinalizedCollection, OutputLocation, RegisteredItem, SourceBlob, VersionOrder } from '../../src/pipeline/contracts.js';
import { sweepRetiredOutputs } from '../../src/jobs/retired.outputs.js';
import { deriveItemId } from '../../src/pipeline/ids.js';
import { ingestOptionsSchema } from '../../src/pipeline/options.js';
import { planTiles } from '../../src/raster/tile.plan.js';
import { catalogBlob, cogBlob, collectionBlob, itemBlob, mosaicBlob, sourceCatalogBlob } from '../../src/stac/catalog.layout.js';
import { walkStoredCatalog, type CatalogWalk } from '../../src/stac/catalog.walk.js';
import { mediaTypes, type StacCatalog, type StacCollection, type StacItem } from '../../src/stac/stac.types.js';
import { writeFloat32NanDem, writeNetcdfWithTime, writeNoEpsgProjected, writePaletted, writeRgbUint8, writeTiffDated } from '../support/fixtures.js';
import { StacValidator } from '../support/stac.validator.js';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import gdal from 'gdal-async';
import { samePixels, useActivityHarness } from './activity.harness.js';

const env = useActivityHarness();
const validator = new StacValidator();

async function expectValidStac(document: unknown): Promise<void> {
  const result = await validator.validate(document);
  expect(result.errors).toEqual([]);
}

const datetime = '2026-11-25T17:00:00.000Z';
const options = ingestOptionsSchema.parse({ blockSize: 128 });

interface IngestedJob {
  source: SourceBlob;
  items: RegisteredItem[];
  outputs: OutputLocation;
  order: VersionOrder;
}

/** validate → tiles → items, as the orchestrator sequences them (item ids as the orchestrator derives them). */
async function ingestItems(localPath: string, collection: string, tileSize: number, jobTime = datetime, blobName?: string): Promise<IngestedJob> {
  const source = await env.harness.upload(localPath, blobName);
  const info = await createValidateRaster(env.harness.deps)({ source });
  const { outputs, order } = env.harness.job(source, collection, { options, tileSize });
  const createTileCog = createCreateTileCog(env.harness.deps);
  const registerTileItem = createRegisterTileItem(env.harness.deps);
  const items = await Promise.all(
    planTiles(info.width, info.height, tileSize).map(async (window) => {
      const tile = await createTileCog({ source, outputs, itemId: deriveItemId(outputs.sourceKey, window), window, options });
      return registerTileItem({ outputs, source, tile, datetime: jobTime, order });
    }),
  );
  return { source, items, outputs, order };
}

/** The fan-in step of a job ingested with `ingestItems` (as job `jobId`, when given). */
function finalizeJob(job: IngestedJob, jobTime = datetime, jobId?: string): Promise<FinalizedCollection> {
  return createFinalizeCollection(env.harness.deps)({ collection: job.outputs.collection, publications: [{ outputs: job.outputs, source: job.source, items: job.items, order: job.order, ...(jobId ? { jobId } : {}) }], datetime: jobTime });
}

async function readJson<T>(container: string, name: string): Promise<T> {
  const stored = await env.harness.store.readJson<T>({ container, name });
  if (!stored) throw new Error(`${container}/${name} is missing`);
  return stored.value;
}

/** The blob name in the `stac` container of a document's URL. */
function stacNameOf(url: string): string {
  const stacBase = env.harness.store.url(catalogBlob()).replace(/catalog\.json$/, '');
  if (!url.startsWith(stacBase)) throw new Error(`${url} is outside the stac container`);
  return decodeURIComponent(url.slice(stacBase.length));
}

/** Walks the collection's documents down from it, reading them from the `stac` container by URL. */
async function walkCollection(collection: string): Promise<CatalogWalk> {
  return walkStoredCatalog(env.harness.store, env.harness.store.url(collectionBlob(collection)));
}

/** The item URLs reachable from the collection by links, sorted. */
async function publishedItemUrls(collection: string): Promise<string[]> {
  const walk = await walkCollection(collection);
  expect(walk.missing).toEqual([]);
  return walk.itemUrls.sort();
}

/** The source catalog of a job (its items and its VRT mosaic). */
function readSourceCatalog(job: IngestedJob): Promise<StacCatalog> {
  return readJson<StacCatalog>('stac', sourceCatalogBlob(job.outputs.collection, job.outputs.sourceKey).name);
}

describe('registerTileItem and finalizeCollection (real GDAL, real Azurite)', () => {
  it('writes schema-valid items, collection and root catalog with absolute links', async () => {
    const collection = `stac-${env.harness.runId}`;
    const job = await ingestItems(writeRgbUint8(env.fixtures.path, 700, 500), collection, 512);
    const { items } = job;
    expect(items).toHaveLength(2);
    for (const registered of items) {
      const item = await readJson<StacItem>('stac', itemBlob(collection, registered.itemId).name);
      expect(registered.itemUrl).toBe(env.harness.store.url(itemBlob(collection, registered.itemId)));
      expect(item.links.find((l) => l.rel === 'self')!.href).toBe(registered.itemUrl);
      expect(item.links.find((l) => l.rel === 'collection')!.href).toBe(env.harness.store.url(collectionBlob(collection)));
      // Lineage: the parent is the source's catalog, derived_from the source blob, and the software says who made it.
      expect(item.links.find((l) => l.rel === 'parent')!.href).toBe(env.harness.store.url(sourceCatalogBlob(collection, job.outputs.sourceKey)));
      expect(item.links.find((l) => l.rel === 'derived_from')!.href).toBe(env.harness.store.url({ container: job.source.container, name: job.source.name }));
      expect(item.properties['processing:software']).toEqual({ 'raster-ingest': expect.stringMatching(/^\d+\.\d+\.\d+/), GDAL: gdal.version });
      expect(item.assets['data']!.href).toBe(registered.cogUrl);
      expect(item.assets['thumbnail']).toMatchObject({ type: 'image/png', roles: ['thumbnail'], href: registered.cogUrl.replace(/\.tif$/, '.png') });
      expect(item.properties['proj:shape'][0]).toBe(500);
      expect([512, 188]).toContain(item.properties['proj:shape'][1]);
      expect(item.bbox).toEqual(registered.bbox);
      await expectValidStac(item);
    }
    const finalized = await finalizeJob(job);
    expect(finalized).toEqual({
      collectionId: collection,
      collectionUrl: env.harness.store.url(collectionBlob(collection)),
      catalogUrl: env.harness.store.url(catalogBlob()),
      itemCount: 2,
      replacedItems: 0,
      superseded: false,
      sources: [{ sourceKey: job.outputs.sourceKey, outcome: 'published', replacedItems: 0 }],
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
    // collection → shard → source catalog → items, every document schema-valid.
    const walk = await walkCollection(collection);
    expect(walk.documents.map((d) => d.type)).toEqual(['Collection', 'Catalog', 'Catalog']);
    expect(walk.itemUrls.sort()).toEqual(items.map((i) => i.itemUrl).sort());
    for (const document of walk.documents) await expectValidStac(await readJson<unknown>('stac', stacNameOf(document.url)));
  });

  it('writes a VRT mosaic per source that reassembles the source pixel for pixel', async () => {
    const collection = `vrt-${env.harness.runId}`;
    for (const [path, tileSize] of [
      [writeFloat32NanDem(env.fixtures.path, 700, 500, 'mosaic-dem.tif'), 256],
      [writePaletted(env.fixtures.path, 640, 480, 'mosaic-pal.tif'), 300],
    ] as const) {
      const job = await ingestItems(path, collection, tileSize);
      const { items, outputs } = job;
      await finalizeJob(job);
      // Mirror the blob layout locally: the VRT refers to its tiles by relative path.
      const folder = join(env.fixtures.path, `${collection}-${items.length}`);
      mkdirSync(folder, { recursive: true });
      const vrtRef = mosaicBlob(outputs);
      const vrtPath = join(folder, vrtRef.name.split('/').pop()!);
      await env.harness.store.downloadToFile(vrtRef, vrtPath);
      for (const item of items) {
        const ref = cogBlob(outputs, item.itemId);
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
      const sourceCatalog = await readSourceCatalog(job);
      expect(sourceCatalog.links.find((l) => l.rel === 'related')).toMatchObject({ href: env.harness.store.url(vrtRef), type: 'application/xml' });
      await expectValidStac(sourceCatalog);
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
    const first = await ingestItems(writeRgbUint8(env.fixtures.path, 600, 300, 'first.tif'), collection, 512);
    await finalizeJob(first);
    const again = await ingestItems(writeRgbUint8(env.fixtures.path, 600, 300, 'first.tif'), collection, 512);
    expect(again.items.map((i) => i.itemUrl)).toEqual(first.items.map((i) => i.itemUrl));
    const repeated = await finalizeJob(again);
    expect(repeated.itemCount).toBe(2);
    const second = await ingestItems(writeFloat32NanDem(env.fixtures.path, 300, 300, 'second.tif'), collection, 512, '2026-11-26T08:00:00.000Z');
    const grown = await finalizeJob(second, '2026-11-26T08:00:00.000Z');
    expect(grown.itemCount).toBe(3);
    const stored = await readJson<StacCollection>('stac', collectionBlob(collection).name);
    expect(stored.extent.temporal.interval[0]).toEqual([datetime, '2026-11-26T08:00:00.000Z']);
    const itemLinks = await publishedItemUrls(collection);
    expect(itemLinks).toHaveLength(3);
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

    for (const ingested of [tiff, netcdf, plain]) await finalizeJob(ingested);
    const stored = await readJson<StacCollection>('stac', collectionBlob(collection).name);
    expect(stored.extent.temporal.interval).toEqual([['2021-06-14T10:32:05.000Z', datetime]]);
    await expectValidStac(stored);
  });

  it('loses no update when finalizations of different sources race on one collection', async () => {
    const collection = `race-${env.harness.runId}`;
    const finalize = createFinalizeCollection(env.harness.deps);
    const fake = (i: number): RegisteredItem => ({
      itemId: `race-${i}`,
      itemUrl: env.harness.store.url(itemBlob(collection, `race-${i}`)),
      cogUrl: `${env.harness.store.url({ container: 'cogs', name: `${collection}/x/race-${i}.tif` })}`,
      cogBytes: 1,
      bbox: [i, 0, i + 1, 1],
    });
    await Promise.all(
      Array.from({ length: 6 }, async (_, i) => {
        const source: SourceBlob = { container: 'uploads', name: `${env.harness.runId}/race-${i}.tif`, etag: '"x"', size: 1, lastModified: datetime };
        // Only a source whose blob exists is published (a deleted one's publication is refused).
        await env.harness.store.uploadBytes(source, Buffer.from('x'), 'image/tiff');
        const { outputs, order } = env.harness.job(source, collection);
        return finalize({ collection, publications: [{ outputs, source, items: [fake(i)], order }], datetime });
      }),
    );
    const stored = await readJson<StacCollection>('stac', collectionBlob(collection).name);
    expect(await publishedItemUrls(collection)).toEqual(Array.from({ length: 6 }, (_, i) => env.harness.store.url(itemBlob(collection, `race-${i}`))).sort());
    expect(stored.extent.spatial.bbox[0]).toEqual([0, 0, 6, 1]);
  });

  it('updateJsonBlob retries a conditional write that lost a race', async () => {
    const ref = { container: 'stac', name: `${env.harness.runId}/counter.json` };
    await Promise.all(Array.from({ length: 5 }, () => updateJsonBlob<{ n: number }>(env.harness.store, ref, (current) => ({ n: (current?.n ?? 0) + 1 }))));
    expect((await env.harness.store.readJson<{ n: number }>(ref))!.value.n).toBe(5);
  });

  it('updateJsonBlob with createFirst creates without a read, and still merges with a blob already there', async () => {
    const ref = { container: 'stac', name: `${env.harness.runId}/created-first.json` };
    const increment = (current: { n: number } | undefined): { n: number } => ({ n: (current?.n ?? 0) + 1 });
    const seen: Array<number | undefined> = [];
    const counting = (current: { n: number } | undefined): { n: number } => (seen.push(current?.n), increment(current));
    await updateJsonBlob<{ n: number }>(env.harness.store, ref, counting, { createFirst: true });
    await updateJsonBlob<{ n: number }>(env.harness.store, ref, counting, { createFirst: true });
    await Promise.all(Array.from({ length: 4 }, () => updateJsonBlob<{ n: number }>(env.harness.store, ref, increment, { createFirst: true })));
    // The second call's create lost to the first's blob, so its next attempt read it: nothing is overwritten.
    expect(seen).toEqual([undefined, undefined, 1]);
    expect((await env.harness.store.readJson<{ n: number }>(ref))!.value.n).toBe(6);
  });
});

describe('output identity and versions (untrusted sources never overwrite each other)', () => {
  /** Every blob under a prefix of the cogs container. */
  const cogBlobs = async (collection: string): Promise<string[]> => env.harness.store.list('cogs', `${collection}/`);

  it('keeps distinct sources apart: container, case, extension and path separators all count', async () => {
    const collection = `distinct-${env.harness.runId}`;
    const tif = writeRgbUint8(env.fixtures.path, 300, 200, 'distinct.tif');
    const jobs = [
      await ingestItems(tif, collection, 4096, datetime, 'x.tif'),
      await ingestItems(tif, collection, 4096, datetime, 'X.tif'),
      await ingestItems(tif, collection, 4096, datetime, 'x.img'),
      await ingestItems(tif, collection, 4096, datetime, 'a-b.tif'),
      await ingestItems(tif, collection, 4096, datetime, 'a/b.tif'),
    ];
    const other = await env.harness.upload(tif, 'x.tif', 'incoming');
    const { outputs, order } = env.harness.job(other, collection, { options, tileSize: 4096 });
    const tile = await createCreateTileCog(env.harness.deps)({ source: other, outputs, itemId: deriveItemId(outputs.sourceKey, { row: 0, col: 0 }), window: { index: 0, row: 0, col: 0, x: 0, y: 0, width: 300, height: 200 }, options });
    jobs.push({ source: other, outputs, order, items: [await createRegisterTileItem(env.harness.deps)({ outputs, source: other, tile, datetime, order })] });
    for (const job of jobs) await finalizeJob(job);

    const itemIds = jobs.flatMap((job) => job.items.map((item) => item.itemId));
    const cogUrls = jobs.flatMap((job) => job.items.map((item) => item.cogUrl));
    expect(new Set(itemIds).size).toBe(6);
    expect(new Set(cogUrls).size).toBe(6);
    expect(await publishedItemUrls(collection)).toEqual(jobs.flatMap((job) => job.items.map((i) => i.itemUrl)).sort());
    // Each item names its own source.
    for (const job of jobs) {
      const item = await readJson<StacItem>('stac', itemBlob(collection, job.items[0]!.itemId).name);
      expect(item.properties['raster-ingest:source']).toBe(`${job.source.container}/${job.source.name}`);
    }
    for (const job of jobs) expect((await readSourceCatalog(job)).links.some((l) => l.rel === 'related')).toBe(true);
  });

  it('replaces an earlier version: stale items go at once, its COGs, thumbnails and VRT after the grace period; the extent shrinks', async () => {
    const collection = `versions-${env.harness.runId}`;
    const neighbour = await ingestItems(writeRgbUint8(env.fixtures.path, 200, 100, 'neighbour.tif'), collection, 4096);
    await finalizeJob(neighbour);
    const v1 = await ingestItems(writeRgbUint8(env.fixtures.path, 700, 500, 'scene-v1.tif'), collection, 256, datetime, 'scene.tif');
    expect(v1.items).toHaveLength(6);
    await finalizeJob(v1, datetime, 'ingest-v1');
    const wideExtent = (await readJson<StacCollection>('stac', collectionBlob(collection).name)).extent.spatial.bbox[0]!;

    // A new version of the same blob, smaller, ingested with another tile size: 1 tile instead of 6.
    const v2 = await ingestItems(writeRgbUint8(env.fixtures.path, 250, 150, 'scene-v2.tif'), collection, 512, '2026-11-26T09:00:00.000Z', 'scene.tif');
    expect(v2.outputs.sourceKey).toBe(v1.outputs.sourceKey);
    expect(v2.outputs.version).not.toBe(v1.outputs.version);
    expect(v2.items.map((item) => item.itemId)).toEqual([v1.items[0]!.itemId]);
    const replacedAt = new Date();
    const result = await finalizeJob(v2, '2026-11-26T09:00:00.000Z', 'ingest-v2');
    expect(result).toMatchObject({ replacedItems: 5, superseded: false, itemCount: 2 });

    const stored = await readJson<StacCollection>('stac', collectionBlob(collection).name);
    expect(await publishedItemUrls(collection)).toEqual([...neighbour.items, ...v2.items].map((i) => i.itemUrl).sort());
    for (const stale of v1.items.slice(1)) expect(await env.harness.store.readJson(itemBlob(collection, stale.itemId))).toBeUndefined();
    // v1's COGs are no longer linked, but stay readable for the grace period: v1's job view and its users still name them.
    const v1Cogs = (await cogBlobs(collection)).filter((name) => name.includes(`/${v1.outputs.version}/`));
    expect(v1Cogs.filter((name) => name.endsWith('.tif'))).toHaveLength(6);
    const retired = await env.harness.deps.retired.find(v1.outputs);
    expect(retired).toMatchObject({ version: v1.outputs.version, jobId: 'ingest-v1', replacedBy: 'ingest-v2' });
    const graceMs = env.harness.deps.retired.graceHours * 3_600_000;
    expect(Date.parse(retired!.deleteAfter) - Date.parse(retired!.retiredAt)).toBe(graceMs);
    expect(Date.parse(retired!.retiredAt)).toBeGreaterThanOrEqual(replacedAt.getTime());
    // The retention timer's sweep: nothing goes before the period ends, v1's folder after it.
    await sweepRetiredOutputs(env.harness.deps, new Date(Date.parse(retired!.deleteAfter) - 1000));
    expect((await cogBlobs(collection)).filter((name) => name.includes(`/${v1.outputs.version}/`))).toEqual(v1Cogs);
    expect(await env.harness.deps.retired.find(v1.outputs)).toBeDefined();
    expect((await sweepRetiredOutputs(env.harness.deps, new Date(Date.parse(retired!.deleteAfter) + 1000))).deleted).toBeGreaterThanOrEqual(1);
    expect(await env.harness.deps.retired.find(v1.outputs)).toBeUndefined();
    const remaining = await cogBlobs(collection);
    expect(remaining.some((name) => name.includes(`/${v1.outputs.version}/`))).toBe(false);
    // One tile: the source catalog's mosaic is that tile's COG, so the version has no VRT (v1's went with v1).
    expect(remaining.filter((name) => name.includes(`/${v2.outputs.version}/`)).map((name) => name.split('.').pop()).sort()).toEqual(['png', 'tif']);
    expect((await readSourceCatalog(v2)).links.filter((link) => link.rel === 'related')).toEqual([expect.objectContaining({ href: v2.items[0]!.cogUrl, type: mediaTypes.cog })]);
    // The extent is recomputed from what is published now: smaller than with the 700×500 version.
    const [w, s, e, n] = stored.extent.spatial.bbox[0]!;
    expect(e - w).toBeLessThan(wideExtent[2]! - wideExtent[0]!);
    expect(n - s).toBeLessThan(wideExtent[3]! - wideExtent[1]!);
    const item = await readJson<StacItem>('stac', itemBlob(collection, v2.items[0]!.itemId).name);
    expect(item.assets['data']!.href).toBe(v2.items[0]!.cogUrl);
    await expectValidStac(stored);
  });

  it('drops the output of an older version that finishes after a newer one', async () => {
    const collection = `late-${env.harness.runId}`;
    const older = await ingestItems(writeRgbUint8(env.fixtures.path, 600, 300, 'late-v1.tif'), collection, 256, datetime, 'late.tif');
    const newer = await ingestItems(writeRgbUint8(env.fixtures.path, 300, 200, 'late-v2.tif'), collection, 4096, '2026-11-26T09:00:00.000Z', 'late.tif');
    await finalizeJob(newer, '2026-11-26T09:00:00.000Z', 'ingest-newer');
    const late = await finalizeJob(older, datetime, 'ingest-older');
    expect(late).toMatchObject({ superseded: true, itemCount: 1 });
    expect(await publishedItemUrls(collection)).toEqual(newer.items.map((i) => i.itemUrl));
    const item = await readJson<StacItem>('stac', itemBlob(collection, newer.items[0]!.itemId).name);
    expect(item.assets['data']!.href).toBe(newer.items[0]!.cogUrl);
    // Its COGs were never published; they go after the grace period like a replaced version's.
    expect((await cogBlobs(collection)).some((name) => name.includes(`/${older.outputs.version}/`))).toBe(true);
    expect(await env.harness.deps.retired.find(older.outputs)).toMatchObject({ jobId: 'ingest-older', replacedBy: 'ingest-newer' });
    await sweepRetiredOutputs(env.harness.deps, new Date(Date.now() + env.harness.deps.retired.graceHours * 3_600_000 + 60_000));
    expect((await cogBlobs(collection)).some((name) => name.includes(`/${older.outputs.version}/`))).toBe(false);
    for (const dropped of older.items.slice(1)) expect(await env.harness.store.readJson(itemBlob(collection, dropped.itemId))).toBeUndefined();
  });

  it('refuses to overwrite an item or a source record that belongs to another source (OUTPUT_CONFLICT)', async () => {
    const collection = `conflict-${env.harness.runId}`;
    const owner = await ingestItems(writeRgbUint8(env.fixtures.path, 300, 200, 'owner.tif'), collection, 4096);
    await finalizeJob(owner);
    // Another source forced onto the same names, as a hash collision would.
    const intruder = await env.harness.upload(writeRgbUint8(env.fixtures.path, 300, 200, 'intruder.tif'));
    const outputs = { ...owner.outputs, version: 'v000000000000' };
    const order = { sourceModified: intruder.lastModified, jobStarted: '2026-11-27T00:00:00.000Z' };
    const tile = await createCreateTileCog(env.harness.deps)({ source: intruder, outputs, itemId: owner.items[0]!.itemId, window: owner.items[0]!.window!, options });
    await expect(createRegisterTileItem(env.harness.deps)({ outputs, source: intruder, tile, datetime, order })).rejects.toMatchObject({ failure: { code: 'OUTPUT_CONFLICT' } });
    await expect(createFinalizeCollection(env.harness.deps)({ collection, publications: [{ outputs, source: intruder, items: owner.items, order }], datetime })).rejects.toMatchObject({ failure: { code: 'OUTPUT_CONFLICT' } });
    const item = await readJson<StacItem>('stac', itemBlob(collection, owner.items[0]!.itemId).name);
    expect(item.properties['raster-ingest:source']).toBe(`${owner.source.container}/${owner.source.name}`);
  });

  it('publishes a chunk of sources at once: one collection merge, each source decided on its own', async () => {
    const collection = `chunk-${env.harness.runId}`;
    const jobs = [
      await ingestItems(writeRgbUint8(env.fixtures.path, 300, 200, 'chunk-a.tif'), collection, 4096),
      await ingestItems(writeRgbUint8(env.fixtures.path, 300, 200, 'chunk-b.tif'), collection, 4096),
      await ingestItems(writeFloat32NanDem(env.fixtures.path, 200, 200, 'chunk-c.tif'), collection, 4096),
    ];
    // A fourth publication names an owner's source key from another source: a conflict, reported for it alone.
    const intruder = await env.harness.upload(writeRgbUint8(env.fixtures.path, 300, 200, 'chunk-x.tif'));
    const conflicting = { outputs: jobs[0]!.outputs, source: intruder, items: jobs[0]!.items, order: jobs[0]!.order };
    const first = await createFinalizeCollection(env.harness.deps)({ collection, publications: jobs.map((job) => ({ outputs: job.outputs, source: job.source, items: job.items, order: job.order })), datetime });
    expect(first).toMatchObject({ itemCount: 3, superseded: false });
    expect(first.sources.map((source) => source.outcome)).toEqual(['published', 'published', 'published']);
    const second = await createFinalizeCollection(env.harness.deps)({ collection, publications: [conflicting], datetime }).catch((error: unknown) => error);
    expect(second).toMatchObject({ failure: { code: 'OUTPUT_CONFLICT' } });
    const mixed = await createFinalizeCollection(env.harness.deps)({
      collection,
      publications: [conflicting, { outputs: jobs[1]!.outputs, source: jobs[1]!.source, items: jobs[1]!.items, order: jobs[1]!.order }],
      datetime,
    });
    expect(mixed.sources.map((source) => source.outcome)).toEqual(['conflict', 'published']);
    expect(mixed.sources[0]!.failure?.code).toBe('OUTPUT_CONFLICT');
    const stored = await readJson<StacCollection>('stac', collectionBlob(collection).name);
    expect(await publishedItemUrls(collection)).toEqual(jobs.flatMap((job) => job.items.map((i) => i.itemUrl)).sort());
    for (const job of jobs) expect((await readSourceCatalog(job)).links.some((l) => l.rel === 'related')).toBe(true);
    await expectValidStac(stored);
  });
});

