/**
 * Issue 11, section 7: a collection of at least 10,000 items stays browsable and every catalog
 * document stays small. Synthetic items (no GDAL per item, as the race test in
 * stac.register.test.ts does) go through the real finalize activity on a real Azurite, a batch
 * chunk at a time; then the catalog is walked from the root by its links, as a client would.
 */
import pLimit from 'p-limit';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createFinalizeCollection } from '../../src/activities/collection.finalize.js';
import type { RegisteredItem, SourceBlob, SourcePublication } from '../../src/pipeline/contracts.js';
import { catalogBlob, collectionBlob, itemBlob, shardCatalogBlob, shardCount, shardOf, sourceCatalogBlob, sourceCatalogPagesPrefix, sourceRecordBlob } from '../../src/stac/catalog.layout.js';
import { collectionItemCount, mergeCollection } from '../../src/stac/collection.build.js';
import { buildSourceRecord } from '../../src/stac/source.record.js';
import { walkCatalog, type WalkedDocument } from '../../src/stac/catalog.walk.js';
import type { StacCatalog, StacCollection } from '../../src/stac/stac.types.js';
import { StacValidator } from '../support/stac.validator.js';
import { useActivityHarness } from './activity.harness.js';

const env = useActivityHarness();
const validator = new StacValidator();

const datetime = '2026-11-25T17:00:00.000Z';
const sourceCount = 2_000;
const itemsPerSource = 5;
const chunkSize = 500;
/**
 * "Small", per kind (measured sizes are printed). The collection's bound holds for any item count:
 * it has one child link and one summary per shard, and there are at most 256 shards. A shard grows
 * with sources / 256, a source catalog with that source's tiles, neither with the collection.
 */
const maxBytes = { collection: 128 * 1024, shard: 16 * 1024, source: 16 * 1024 } as const;

afterEach(() => {
  vi.restoreAllMocks();
});

// Finalize publishes only sources whose blob exists (a deleted one's publication is refused): one byte each is enough here.
beforeAll(async () => {
  const limit = pLimit(32);
  await Promise.all(Array.from({ length: sourceCount }, (_, index) => limit(() => env.harness.store.uploadBytes({ container: 'uploads', name: sourceName(index) }, Buffer.from('x'), 'image/tiff'))));
}, 120_000);

function sourceName(index: number): string {
  return `scale/scene-${index}.tif`;
}

/** The blob name in the `stac` container of a document's URL. */
function stacNameOf(url: string): string {
  const stacBase = env.harness.store.url(catalogBlob()).replace(/catalog\.json$/, '');
  if (!url.startsWith(stacBase)) throw new Error(`${url} is outside the stac container`);
  return decodeURIComponent(url.slice(stacBase.length));
}

async function readText(url: string): Promise<string | undefined> {
  return (await env.harness.store.readBytes({ container: 'stac', name: stacNameOf(url) }))?.toString('utf8');
}

/** One source's publication: `count` items in a row of 0.01° cells, somewhere on the globe by its index. */
function publication(collection: string, index: number, count = itemsPerSource, lastModified = datetime): SourcePublication {
  const source: SourceBlob = { container: 'uploads', name: sourceName(index), etag: `"${lastModified}"`, size: 1, lastModified };
  const { outputs, order } = env.harness.job(source, collection, { jobStarted: lastModified });
  const west = -170 + (index % 340);
  const south = -80 + Math.floor(index / 340) * 20;
  const items: RegisteredItem[] = Array.from({ length: count }, (_, c) => {
    const itemId = `${outputs.sourceKey}-r0-c${c}`;
    return {
      itemId,
      itemUrl: env.harness.store.url(itemBlob(collection, itemId)),
      cogUrl: env.harness.store.url({ container: 'cogs', name: `${collection}/${outputs.sourceKey}/${outputs.version}/${itemId}.tif` }),
      cogBytes: 1,
      bbox: [west + c * 0.01, south, west + (c + 1) * 0.01, south + 0.01],
      projCode: index % 2 === 0 ? 'EPSG:32633' : 'EPSG:4326',
      interval: [datetime, datetime],
    };
  });
  return { outputs, source, items, order };
}

/** Which kind of catalog document a `stac` blob name is. */
function kindOf(name: string, collection: string): 'record' | 'source catalog' | 'shard' | 'collection' | 'root' | 'mosaic mark' | 'other' {
  if (name === catalogBlob().name) return 'root';
  if (name.startsWith(`${collection}/${collection}.mosaic-state/changes/`)) return 'mosaic mark';
  if (name === collectionBlob(collection).name) return 'collection';
  if (name.startsWith(`${collection}/sources/`)) return 'record';
  if (/^[^/]+\/catalogs\/[0-9a-f]{2}\/catalog\.json$/.test(name)) return 'shard';
  if (/^[^/]+\/catalogs\/[0-9a-f]{2}\/[^/]+\/catalog\.json$/.test(name)) return 'source catalog';
  return 'other';
}

function largest(documents: readonly WalkedDocument[], type: string): number {
  return Math.max(0, ...documents.filter((d) => d.type === type).map((d) => d.bytes));
}

describe(`a collection of ${sourceCount * itemsPerSource} items (real finalize, real Azurite)`, () => {
  it('stays browsable: every item reachable from the root once, every document small, each written once per chunk', async () => {
    const collection = `scale-${env.harness.runId}`;
    const finalize = createFinalizeCollection(env.harness.deps);
    // Every document write goes through uploadBytes (writeJson included); the synthetic items have no VRT to upload.
    const writes = vi.spyOn(env.harness.store, 'uploadBytes');
    const publications = Array.from({ length: sourceCount }, (_, i) => publication(collection, i));

    for (let start = 0; start < sourceCount; start += chunkSize) {
      const chunk = publications.slice(start, start + chunkSize);
      writes.mockClear();
      const finalized = await finalize({ collection, publications: chunk, datetime });
      expect(finalized.sources.every((s) => s.outcome === 'published')).toBe(true);
      expect(finalized.itemCount).toBe((start + chunk.length) * itemsPerSource);

      // Writes per chunk: each source's record and catalog once, each touched shard once, the collection once, the root at most
      // once, and one mark for the collection mosaic's next run listing the chunk's sources.
      const counts = new Map<string, number>();
      const written = new Map<string, number>();
      for (const [ref] of writes.mock.calls) {
        const kind = kindOf(ref.name, collection);
        counts.set(kind, (counts.get(kind) ?? 0) + 1);
        written.set(ref.name, (written.get(ref.name) ?? 0) + 1);
      }
      const touchedShards = new Set(chunk.map((p) => shardOf(p.outputs.sourceKey))).size;
      expect(Object.fromEntries(counts)).toEqual({
        record: chunk.length,
        'source catalog': chunk.length,
        shard: touchedShards,
        collection: 1,
        'mosaic mark': 1,
        ...(start === 0 ? { root: 1 } : {}),
      });
      expect([...written.values()].every((n) => n === 1)).toBe(true);
    }

    // Walk from the root as a client does (only into this collection: the root also links other tests' collections).
    const collectionUrl = env.harness.store.url(collectionBlob(collection));
    const rootUrl = env.harness.store.url(catalogBlob());
    const walk = await walkCatalog(rootUrl, readText, { follow: (link, from) => from !== rootUrl || link.href === collectionUrl });
    expect(walk.missing).toEqual([]);
    const expected = publications.flatMap((p) => p.items.map((i) => i.itemUrl));
    expect(walk.itemUrls).toHaveLength(expected.length);
    expect(new Set(walk.itemUrls)).toEqual(new Set(expected));

    const documents = walk.documents.filter((d) => d.url !== rootUrl);
    const shards = documents.filter((d) => d.type === 'Catalog' && d.itemCount === 0);
    const sources = documents.filter((d) => d.type === 'Catalog' && d.itemCount > 0);
    expect(shards.length).toBeLessThanOrEqual(shardCount);
    expect(sources).toHaveLength(sourceCount);
    const sizes = {
      collection: largest(documents, 'Collection'),
      shard: largest(shards, 'Catalog'),
      source: largest(sources, 'Catalog'),
    };
    for (const kind of ['collection', 'shard', 'source'] as const) expect(sizes[kind], `largest ${kind} document`).toBeLessThan(maxBytes[kind]);
    console.log(
      `${expected.length} items in ${sourceCount} sources: collection ${sizes.collection} B (${documents.find((d) => d.type === 'Collection')!.childCount} shards), ` +
        `largest shard catalog ${sizes.shard} B, largest source catalog ${sizes.source} B, ${documents.length} documents`,
    );

    const stored = (await env.harness.store.readJson<StacCollection>(collectionBlob(collection)))!.value;
    expect(collectionItemCount(stored)).toBe(expected.length);
    expect(stored.summaries?.['proj:code']).toEqual(['EPSG:32633', 'EPSG:4326']);
    const [w, s, e, n] = stored.extent.spatial.bbox[0]!;
    for (const item of publications.flatMap((p) => p.items)) {
      expect(item.bbox[0]).toBeGreaterThanOrEqual(w);
      expect(item.bbox[1]).toBeGreaterThanOrEqual(s);
      expect(item.bbox[2]).toBeLessThanOrEqual(e);
      expect(item.bbox[3]).toBeLessThanOrEqual(n);
    }
    for (const url of [collectionUrl, shards[0]!.url, sources[0]!.url]) expect((await validator.validate(JSON.parse((await readText(url))!))).errors).toEqual([]);

    // A replacement (a new version of one source with one item instead of five): the collection's
    // count and extent are recomputed from the shard summaries, without reading other sources' records.
    const reads = vi.spyOn(env.harness.store, 'readJson');
    const lastSource = publications.length - 1;
    const widest = publication(collection, lastSource, 1, '2026-11-26T09:00:00.000Z');
    const replaced = await finalize({ collection, publications: [widest], datetime });
    expect(replaced).toMatchObject({ replacedItems: itemsPerSource - 1, itemCount: expected.length - (itemsPerSource - 1) });
    const recordReads = reads.mock.calls.filter(([ref]) => kindOf(ref.name, collection) === 'record');
    expect(recordReads.every(([ref]) => ref.name === sourceRecordBlob(collection, widest.outputs.sourceKey).name)).toBe(true);
    expect(recordReads.length).toBeLessThanOrEqual(3);
    const sourceCatalog = (await env.harness.store.readJson<StacCatalog>(sourceCatalogBlob(collection, widest.outputs.sourceKey)))!.value;
    expect(sourceCatalog.links.filter((l) => l.rel === 'item').map((l) => l.href)).toEqual(widest.items.map((i) => i.itemUrl));
    const shard = (await env.harness.store.readJson<StacCatalog>(shardCatalogBlob(collection, shardOf(widest.outputs.sourceKey))))!.value;
    expect(shard['raster-ingest:sources']?.[widest.outputs.sourceKey]?.items).toBe(1);
  }, 600_000);

  it('loses no item when chunks of sources that share shards are finalized at the same time', async () => {
    const collection = `scale-race-${env.harness.runId}`;
    const finalize = createFinalizeCollection(env.harness.deps);
    // 600 sources over 256 shards: the four concurrent chunks collide on most shards.
    const publications = Array.from({ length: 600 }, (_, i) => publication(collection, i, 2));
    const chunks = [0, 1, 2, 3].map((k) => publications.filter((_, i) => i % 4 === k));
    await Promise.all(chunks.map((chunk) => finalize({ collection, publications: chunk, datetime })));

    const walk = await walkCatalog(env.harness.store.url(collectionBlob(collection)), readText);
    expect(walk.missing).toEqual([]);
    expect(walk.itemUrls.sort()).toEqual(publications.flatMap((p) => p.items.map((i) => i.itemUrl)).sort());
    const stored = (await env.harness.store.readJson<StacCollection>(collectionBlob(collection)))!.value;
    expect(collectionItemCount(stored)).toBe(1200);
  }, 300_000);

  it('pages a source with more tiles than a page holds, and drops the pages of a version it replaced', async () => {
    const collection = `scale-big-${env.harness.runId}`;
    const finalize = createFinalizeCollection(env.harness.deps);
    const big = publication(collection, 7, 2_500);
    await finalize({ collection, publications: [big], datetime });
    let walk = await walkCatalog(env.harness.store.url(collectionBlob(collection)), readText);
    expect(walk.missing).toEqual([]);
    expect(walk.itemUrls.sort()).toEqual(big.items.map((i) => i.itemUrl).sort());
    const pages = walk.documents.filter((d) => d.itemCount > 0);
    expect(pages.map((d) => d.itemCount)).toEqual(Array.from({ length: 10 }, () => 250));
    // A page holds 250 item links (about 240 B each here): bounded whatever the source's size.
    for (const document of walk.documents) expect(document.bytes, document.url).toBeLessThan(64 * 1024);
    console.log(`a source of 2,500 tiles: source catalog ${walk.documents.find((d) => d.childCount === 10)!.bytes} B, largest page ${Math.max(...pages.map((d) => d.bytes))} B`);
    const pagesOf = async (version: string): Promise<string[]> => env.harness.store.list('stac', sourceCatalogPagesPrefix(collection, big.outputs.sourceKey, version).name);
    expect(await pagesOf(big.outputs.version)).toHaveLength(10);

    const smaller = publication(collection, 7, 1_200, '2026-11-26T09:00:00.000Z');
    await finalize({ collection, publications: [smaller], datetime });
    walk = await walkCatalog(env.harness.store.url(collectionBlob(collection)), readText);
    expect(walk.itemUrls).toHaveLength(1_200);
    expect(await pagesOf(big.outputs.version)).toEqual([]);
    expect(await pagesOf(smaller.outputs.version)).toHaveLength(5);
    for (const document of walk.documents) expect((await validator.validate(JSON.parse((await readText(document.url))!))).errors).toEqual([]);
  }, 300_000);

  it('moves a collection of the earlier layout (item links on the collection) into shards at its first finalize, losing no source', async () => {
    const collection = `scale-legacy-${env.harness.runId}`;
    const { store } = env.harness;
    const legacy = [0, 1, 2].map((i) => publication(collection, 100 + i, 3));
    // What the earlier layout left: a record per source, and a collection linking every item, with a mosaic asset per source.
    for (const p of legacy) await store.writeJson(sourceRecordBlob(collection, p.outputs.sourceKey), buildSourceRecord(p.source, p.outputs, p.order, p.items));
    const urls = { collection: store.url(collectionBlob(collection)), catalog: store.url(catalogBlob()) };
    const old = mergeCollection(undefined, { collectionId: collection, datetime, urls, shards: [] });
    delete old['raster-ingest:shards'];
    old.links.push(...legacy.flatMap((p) => p.items.map((item) => ({ rel: 'item', href: item.itemUrl }))));
    old.assets = Object.fromEntries(legacy.map((p) => [`mosaic-${p.outputs.sourceKey}`, { href: `${p.outputs.sourceKey}.vrt`, type: 'application/xml', roles: ['data', 'mosaic'] }]));
    await store.writeJson(collectionBlob(collection), old);

    const added = publication(collection, 200, 2);
    const finalized = await createFinalizeCollection(env.harness.deps)({ collection, publications: [added], datetime });
    expect(finalized.itemCount).toBe(3 * 3 + 2);
    const walk = await walkCatalog(urls.collection, readText);
    expect(walk.itemUrls.sort()).toEqual([...legacy, added].flatMap((p) => p.items.map((i) => i.itemUrl)).sort());
    const stored = (await store.readJson<StacCollection>(collectionBlob(collection)))!.value;
    expect(stored.links.some((l) => l.rel === 'item')).toBe(false);
    expect(stored.assets ?? {}).toEqual({});
    const moved = (await store.readJson<StacCatalog>(sourceCatalogBlob(collection, legacy[0]!.outputs.sourceKey)))!.value;
    expect(moved.links.find((l) => l.rel === 'related')?.href).toBe(`${legacy[0]!.outputs.sourceKey}.vrt`);
  });
});
