/**
 * Activity: publish a job's items in its collection (or, for a batch, a chunk of jobs' items at
 * once), replacing what an earlier version of each source published, and make the root catalog
 * link the collection.
 *
 * The static catalog is a tree whose documents stay small however many items there are:
 * root catalog → collection → ≤ 256 shard catalogs → one catalog per source → its items (see
 * docs/raster-output.md, "STAC"). Writes, each under an ETag condition so concurrent jobs never
 * lose each other's items, each document once per publication:
 * 1. each source's record (`sources/<source key>.json`): the newer version wins; an older job
 *    finishing late is "superseded" and removes only its own outputs; a source whose blob was
 *    deleted is not published (checked before and after the write; src/activities/source.removal.ts
 *    removes what was published before);
 * 2. each published source's catalog, written whole from its record (its items, its VRT mosaic);
 * 3. each touched shard: a child link per source and each source's summary (count, extent);
 * 4. the collection: a child link per shard, each shard's summary, extent recomputed from them;
 * 5. the root catalog, only when it does not link the collection yet;
 * 6. then the replaced versions' stale items and item pages are deleted, and their COGs,
 *    thumbnails and VRT retired: readable for the grace period (`INGEST_SUPERSEDED_GRACE_HOURS`),
 *    then deleted by the retention timer (src/jobs/retired.outputs.ts).
 * Each level is recomputed from the current state of the level below, read after the level's own
 * document on every attempt, so whichever writer comes last has seen every earlier write below.
 */
import { randomUUID } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import pLimit from 'p-limit';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { deleteVersionBlobs, retireVersion, type RetiredOutputs } from '../jobs/retired.outputs.js';
import { boundText } from '../pipeline/bounded.text.js';
import type { DerivedCollectionPlan, FinalizeCollectionInput, FinalizedCollection, OutputLocation, PublicationOutcome, RegisteredItem, SourceBlob, SourcePublication } from '../pipeline/contracts.js';
import { FailureError, type Failure } from '../pipeline/failure.js';
import type { IngestOptions } from '../pipeline/options.js';
import { describeMosaic } from '../raster/mosaic.describe.js';
import { buildMosaicVrt } from '../raster/mosaic.vrt.js';
import type { BlobStore, StoredJson } from '../storage/blob.store.js';
import { catalogBlob, cogBlob, collectionBlob, itemBlob, mosaicBlob, shardCatalogBlob, shardOf, sourceCatalogBlob, sourceCatalogPageBlob, sourceCatalogPagesPrefix, sourceRecordBlob, sourceRecordsPrefix } from '../stac/catalog.layout.js';
import { buildSourceCatalog, collectionForApi, collectionItemCount, linksChild, mergeCatalog, mergeCollection, mergeShardCatalog, summarizeItems, summarizeShard } from '../stac/collection.build.js';
import { buildSourceRecord, compareVersionOrder, sourcePathOf, staleItems, type SourceRecord } from '../stac/source.record.js';
import { collectionShardsProperty, mediaTypes, type StacAsset, type StacCatalog, type StacCollection } from '../stac/stac.types.js';
import type { ActivityDependencies } from './activity.dependencies.js';
import { markMosaicChanges } from './collection.mosaic.js';
import type { CrsAssumption } from '../raster/source.open.js';
import { crsAssumption } from './tile.cog.create.js';
import { updateJsonBlob } from './json.blob.update.js';
import { inspectionReadMode, jobKeyOf, SourceChangedError, SourceMissingError, tileReadMode } from './source.cache.js';

export type FinalizeCollection = (input: FinalizeCollectionInput) => Promise<FinalizedCollection>;

/**
 * Finalize with `lookUpDerived`: the derived collections are read before publishing, so a job
 * that has derived products to make does not record itself Completed while they run (the jobs
 * list and the job's own view would disagree), and one that has none records its end here.
 */
export function withDerivedLookup(finalize: FinalizeCollection, listDerived: (input: { collection: string }) => Promise<DerivedCollectionPlan[]>): FinalizeCollection {
  return async (input) => {
    if (!input.lookUpDerived) return finalize(input);
    const derivedPlans = await listDerived({ collection: input.collection });
    const recordEnd = input.endRecord !== undefined && derivedPlans.length === 0;
    const finalized = await finalize({ collection: input.collection, publications: input.publications, datetime: input.datetime, ...(recordEnd ? { endRecord: input.endRecord } : {}) });
    return { ...finalized, endRecorded: recordEnd, derivedPlans };
  };
}

/**
 * Writes the VRT that mosaics this job's tiles (next to them, relative paths) and returns it as
 * its source catalog's asset (a source of one tile: that tile's COG); nothing when the items carry
 * no windows or the source is gone.
 */
async function writeSourceMosaic(
  deps: Pick<ActivityDependencies, 'store' | 'sources' | 'scratchDir' | 'settings'>,
  outputs: OutputLocation,
  source: SourceBlob,
  items: readonly RegisteredItem[],
  options: IngestOptions | undefined,
  assumption: CrsAssumption,
): Promise<StacAsset | undefined> {
  const tiles: Array<{ file: string; window: NonNullable<RegisteredItem['window']> }> = [];
  for (const item of items) {
    // A source of variables or time steps is many rasters on one grid: no one VRT mosaics them (docs/raster-output.md).
    if (!item.window || item.window.slice) return undefined;
    tiles.push({ file: cogBlob(outputs, item.itemId).name.split('/').pop()!, window: item.window });
  }
  if (tiles.length === 0) return undefined;
  // One tile is the whole source: its COG is the mosaic (no VRT to write, no source to open; in a
  // batch of small rasters these VRTs were a third of the chunk's finalize).
  const [only] = items;
  if (only && items.length === 1) return { href: only.cogUrl, type: mediaTypes.cog, title: `${sourcePathOf(source)} whole, as its one tile's COG`, roles: ['data', 'mosaic'] };
  let xml: string;
  try {
    xml = buildMosaicVrt(
      // The source's grid and bands: read in place, or from the copy a small source's tiles left on this process.
      await deps.sources.withGdalPath(source, inspectionReadMode(source, tileReadMode(source, deps.settings.sourceRead, deps.settings.scratchMaxBytes)), async (sourcePath) => {
        await mkdir(deps.scratchDir, { recursive: true });
        const warpScratch = join(deps.scratchDir, `${randomUUID()}.warp.vrt`);
        try {
          return await describeMosaic(sourcePath, source.name, tiles, options, warpScratch, assumption);
        } finally {
          await rm(warpScratch, { force: true });
        }
      }),
    );
  } catch (error) {
    if (error instanceof SourceChangedError || error instanceof SourceMissingError) return undefined;
    throw error;
  }
  const { url } = await deps.store.uploadBytes(mosaicBlob(outputs), Buffer.from(xml), mediaTypes.vrt);
  return { href: url, type: mediaTypes.vrt, title: `GDAL VRT mosaic of all tiles of ${sourcePathOf(source)}`, roles: ['data', 'mosaic'] };
}

/** What the source's record decided for one publication. */
type Decision =
  | { publication: SourcePublication; outcome: 'publish'; previous?: SourceRecord; written: SourceRecord }
  | { publication: SourcePublication; outcome: 'superseded'; newer: SourceRecord }
  | { publication: SourcePublication; outcome: 'conflict'; failure: Failure };

/** Why a job whose source blob was deleted publishes nothing (the deletion's removal takes out what was published before). */
function sourceRemovedFailure(owner: string): Failure {
  return {
    code: 'SOURCE_MISSING',
    message: `source removed: ${boundText(owner, shownSourceBound)} was deleted before this job published it, so nothing of it is published and its outputs are deleted; upload it again to ingest it`,
  };
}

/**
 * Step 1 for one source: its record decides whether this output is the one to publish. A source
 * whose blob is gone is never published: checked before the record is written and again after
 * (a removal that read the record just before this write would otherwise miss it), when this
 * publication withdraws itself.
 */
async function decide(deps: { store: BlobStore }, collection: string, publication: SourcePublication): Promise<Decision> {
  const { store } = deps;
  const { outputs, source, items, order } = publication;
  const owner = sourcePathOf(source);
  let decision: Decision | undefined;
  await updateJsonBlob<SourceRecord>(store, sourceRecordBlob(collection, outputs.sourceKey), async (existing) => {
    if (existing && existing.source !== owner) {
      decision = {
        publication,
        outcome: 'conflict',
        failure: { code: 'OUTPUT_CONFLICT', message: `its output names in collection ${collection} are already taken by another source; rename the blob and upload it again` },
      };
      return undefined;
    }
    if (existing && compareVersionOrder(existing.order, order) > 0) {
      decision = { publication, outcome: 'superseded', newer: existing };
      return undefined;
    }
    if (!(await store.stat(source))) {
      decision = { publication, outcome: 'conflict', failure: sourceRemovedFailure(owner) };
      return undefined;
    }
    const written = buildSourceRecord(source, outputs, order, items, publication.jobId);
    decision = existing ? { publication, outcome: 'publish', previous: existing, written } : { publication, outcome: 'publish', written };
    return written;
  }, { createFirst: true });
  if (!decision) throw new Error('the source record update decided nothing');
  if (decision.outcome === 'publish' && !(await store.stat(source))) {
    const stored = await store.readJson<SourceRecord>(sourceRecordBlob(collection, outputs.sourceKey));
    if (stored?.value.version === outputs.version) await store.delete(sourceRecordBlob(collection, outputs.sourceKey), { ifMatch: stored.etag }).catch(() => undefined);
    decision = { publication, outcome: 'conflict', failure: sourceRemovedFailure(owner) };
  }
  if (decision.outcome === 'conflict' && decision.failure.code === 'SOURCE_MISSING') await deleteOwnOutputs(store, collection, publication);
  return decision;
}

/** A refused publication's own outputs: its version folder, and the item blobs that still name its COGs. */
async function deleteOwnOutputs(store: BlobStore, collection: string, publication: SourcePublication): Promise<void> {
  await Promise.all(
    publication.items.map(async (item) => {
      const stored = await store.readJson<{ assets?: { data?: { href?: unknown } } }>(itemBlob(collection, item.itemId));
      if (stored?.value.assets?.data?.href === item.cogUrl) await store.delete(itemBlob(collection, item.itemId));
    }),
  );
  await deleteVersionBlobs(store, publication.outputs);
}

/**
 * A newer version is published: drop the items this job wrote that it does not use, and retire its
 * COGs (readable for the grace period, as a replaced version's are).
 */
async function dropSuperseded(deps: { store: BlobStore; retired: RetiredOutputs }, collection: string, publication: SourcePublication, newer: SourceRecord): Promise<void> {
  const published = new Set(newer.items.map((item) => item.itemId));
  await Promise.all(publication.items.filter((item) => !published.has(item.itemId)).map((item) => deps.store.delete(itemBlob(collection, item.itemId))));
  if (newer.version !== publication.outputs.version) await retireVersion(deps, publication.outputs, { jobId: publication.jobId ?? null, replacedBy: newer.jobId ?? null });
}

/** A source path shown in a failure: bounded, it comes from an upload. */
const shownSourceBound = 300;

/** How many sources' records and mosaics are worked on at once in one chunk. */
const sourceConcurrency = 8;

function mapBounded<T, R>(values: readonly T[], limit: number, map: (value: T, index: number) => Promise<R>): Promise<R[]> {
  const bounded = pLimit(limit);
  return Promise.all(values.map((value, index) => bounded(() => map(value, index))));
}

/**
 * Writes a source's catalog from its record, read after the catalog on every attempt: when another
 * version took the record meanwhile (`version` given and different), that version's job writes the
 * catalog, not this one. `created`: the record this job just created (the source had none, so it
 * has no catalog either, usually): the first attempt creates the catalog from it without reading
 * either. Safe: another version's job writes its record before the catalog, so a catalog it wrote
 * first fails this creation (the next attempt reads both), and one it writes later is its own.
 */
export async function writeSourceCatalog(store: BlobStore, collection: string, sourceKey: string, version: string | undefined, mosaic: StacAsset | undefined, catalogUrl: string, created?: SourceRecord): Promise<void> {
  const ref = sourceCatalogBlob(collection, sourceKey);
  let first = true;
  await updateJsonBlob<StacCatalog>(store, ref, async () => {
    const record = first && created ? created : (await store.readJson<SourceRecord>(sourceRecordBlob(collection, sourceKey)))?.value;
    first = false;
    if (!record || (version !== undefined && record.version !== version)) return undefined;
    const { catalog, pages } = buildSourceCatalog({
      sourceKey,
      source: record.source,
      items: record.items,
      urls: { self: store.url(ref), parent: store.url(shardCatalogBlob(collection, shardOf(sourceKey))), root: catalogUrl },
      ...(mosaic ? { mosaic } : {}),
      pageUrl: (page) => store.url(sourceCatalogPageBlob(collection, sourceKey, record.version, page)),
    });
    // Pages before the catalog that links them; they belong to this version (same content whoever writes them).
    await Promise.all(pages.map(({ page, document }) => store.uploadBytes(sourceCatalogPageBlob(collection, sourceKey, record.version, page), Buffer.from(JSON.stringify(document)), mediaTypes.json)));
    return catalog;
  }, { compact: true, createFirst: created !== undefined });
}

/**
 * A collection written by the earlier layout (item links on the collection, no shards): the
 * sources it published, found by listing their records once, with their mosaic assets, so the
 * first finalize in the new layout hangs them all in shards before it drops the item links.
 */
async function legacySources(store: BlobStore, collection: string): Promise<{ sources: Array<{ sourceKey: string; mosaic?: StacAsset }>; read: StoredJson<StacCollection> | null }> {
  const read = (await store.readJson<StacCollection>(collectionBlob(collection))) ?? null;
  const existing = read?.value;
  if (!existing || existing[collectionShardsProperty] || !existing.links.some((link) => link.rel === 'item')) return { sources: [], read };
  const prefix = sourceRecordsPrefix(collection);
  const names = await store.list(prefix.container, prefix.name);
  const sources = names
    .filter((name) => name.endsWith('.json') && !name.slice(prefix.name.length).includes('/'))
    .map((name) => {
      const sourceKey = name.slice(prefix.name.length, -'.json'.length);
      const mosaic = existing.assets?.[`mosaic-${sourceKey}`];
      return mosaic ? { sourceKey, mosaic } : { sourceKey };
    });
  return { sources, read };
}

/** The pages of item links a replaced version of a source had (only sources with many tiles have any). */
export async function deleteSourceCatalogPages(store: BlobStore, collection: string, sourceKey: string, version: string): Promise<void> {
  const prefix = sourceCatalogPagesPrefix(collection, sourceKey, version);
  await Promise.all((await store.list(prefix.container, prefix.name)).map((name) => store.delete({ container: prefix.container, name })));
}

/** Links a shard's sources and sets their summaries, from their records as they are now (read after the shard). */
export async function writeShardCatalog(store: BlobStore, collection: string, shard: string, sourceKeys: readonly string[], datetime: string, urls: { collectionUrl: string; catalogUrl: string }): Promise<void> {
  const ref = shardCatalogBlob(collection, shard);
  await updateJsonBlob<StacCatalog>(store, ref, async (existing) => {
    const records = await Promise.all(sourceKeys.map(async (sourceKey) => (await store.readJson<SourceRecord>(sourceRecordBlob(collection, sourceKey)))?.value));
    const sources = records.flatMap((record) =>
      record ? [{ sourceKey: record.sourceKey, title: record.source, url: store.url(sourceCatalogBlob(collection, record.sourceKey)), summary: summarizeItems(record.items, datetime) }] : [],
    );
    return mergeShardCatalog(existing, { shard, collectionId: collection, urls: { self: store.url(ref), parent: urls.collectionUrl, root: urls.catalogUrl }, sources });
  }, { compact: true });
}

/**
 * Publishes one job's output, or a batch chunk's: each source's record first, then the collection
 * merged once for them all, then the replaced versions' blobs deleted. One job's conflict is its
 * failure; in a chunk it is reported per source and the others are published.
 */
export function createFinalizeCollection(deps: Pick<ActivityDependencies, 'store' | 'sources' | 'stacApi' | 'scratchDir' | 'settings' | 'retired' | 'jobs'>): FinalizeCollection {
  const linkedInRoot = new LRUCache<string, true>({ max: 10_000 });
  return async ({ collection, publications, datetime, endRecord }) => {
    const collectionUrl = deps.store.url(collectionBlob(collection));
    const catalogUrl = deps.store.url(catalogBlob());

    // 1. Each source's record decides.
    const decisions = await mapBounded(publications, sourceConcurrency, (publication) => decide(deps, collection, publication));
    const only = decisions.length === 1 ? decisions[0] : undefined;
    if (only?.outcome === 'conflict') throw new FailureError(only.failure);
    for (const decision of decisions) if (decision.outcome === 'superseded') await dropSuperseded(deps, collection, decision.publication, decision.newer);

    // 2. Each published source's catalog, from its record as it is now.
    const publishing = decisions.filter((decision): decision is Extract<Decision, { outcome: 'publish' }> => decision.outcome === 'publish');
    // The collection mosaic moves just these sources on its next run (collection.mosaic.ts): one mark for them all.
    await markMosaicChanges(deps.store, collection, publishing.map(({ publication }) => ({ sourceKey: publication.outputs.sourceKey, version: publication.outputs.version })));
    const allStale = publishing.flatMap((decision) => staleItems(decision.previous, decision.publication.items));
    // A derived publication's COGs are not the upload's pixels: no VRT of the upload describes them.
    const mosaics = await mapBounded(publishing, sourceConcurrency, ({ publication }) =>
      publication.derivedFrom ? Promise.resolve(undefined) : writeSourceMosaic(deps, publication.outputs, publication.source, publication.items, publication.options, crsAssumption(publication, deps.settings.assumeCfLonLat)),
    );
    await mapBounded(publishing, sourceConcurrency, ({ publication, previous, written }, index) =>
      writeSourceCatalog(deps.store, collection, publication.outputs.sourceKey, publication.outputs.version, mosaics[index], catalogUrl, previous === undefined ? written : undefined),
    );
    // Once per collection of the earlier layout: its other sources get their catalogs too. The
    // collection read here is the first attempt's of its own update below (no second read).
    const publishedKeys = new Set(publishing.map(({ publication }) => publication.outputs.sourceKey));
    const found = publishing.length > 0 ? await legacySources(deps.store, collection) : { sources: [], read: null };
    const legacy = found.sources.filter(({ sourceKey }) => !publishedKeys.has(sourceKey));
    await mapBounded(legacy, sourceConcurrency, ({ sourceKey, mosaic }) => writeSourceCatalog(deps.store, collection, sourceKey, undefined, mosaic, catalogUrl));

    // 3. Each touched shard once, 4. the collection once, 5. the root catalog if it lacks the collection.
    let published: StacCollection | undefined;
    if (publishing.length > 0) {
      const byShard = new Map<string, string[]>();
      for (const sourceKey of [...publishedKeys, ...legacy.map((source) => source.sourceKey)]) {
        byShard.set(shardOf(sourceKey), [...(byShard.get(shardOf(sourceKey)) ?? []), sourceKey]);
      }
      await mapBounded([...byShard], sourceConcurrency, ([shard, sourceKeys]) => writeShardCatalog(deps.store, collection, shard, sourceKeys, datetime, { collectionUrl, catalogUrl }));
      ({ value: published } = await updateJsonBlob<StacCollection>(deps.store, collectionBlob(collection), async (existing) => {
        // Read after the collection (each attempt): a shard written before another writer's collection is seen here.
        const shards = await Promise.all(
          [...byShard.keys()].map(async (shard) => {
            const ref = shardCatalogBlob(collection, shard);
            const current = await deps.store.readJson<StacCatalog>(ref);
            return { shard, url: deps.store.url(ref), summary: current ? summarizeShard(current.value) : summarizeItems([], datetime) };
          }),
        );
        return mergeCollection(existing, { collectionId: collection, datetime, urls: { collection: collectionUrl, catalog: catalogUrl }, shards });
      }, { compact: true, known: found.read }));
      // Nothing unlinks a collection from the root catalog: once seen linked, this process does not read it again for it.
      if (!linkedInRoot.has(collection)) {
        await updateJsonBlob<StacCatalog>(deps.store, catalogBlob(), (existing) =>
          linksChild(existing, collectionUrl) ? undefined : mergeCatalog(existing, catalogUrl, { id: collection, url: collectionUrl }),
        );
        linkedInRoot.set(collection, true);
      }
    }

    // 6. The replaced versions' items and item pages, now that nothing links them; their COGs stay
    // readable for the grace period (the replaced job's view and its users' links still name them).
    await Promise.all(allStale.map((item) => deps.store.delete(itemBlob(collection, item.itemId))));
    for (const { publication, previous } of publishing) {
      if (previous && previous.version !== publication.outputs.version) {
        await retireVersion(deps, { ...publication.outputs, version: previous.version }, { jobId: previous.jobId ?? null, replacedBy: publication.jobId ?? null });
        await deleteSourceCatalogPages(deps.store, collection, publication.outputs.sourceKey, previous.version);
      }
    }
    if (published) {
      const document = published;
      // The static collection is the merged truth (all jobs' extents and items); the API gets it without the links it makes itself.
      await deps.stacApi?.updateCollection<StacCollection>(collection, () => collectionForApi(document));
      await Promise.all(allStale.map((item) => deps.stacApi?.deleteItem(collection, item.itemId)));
    }
    // The jobs are done with their sources here; free the local copies.
    // Other jobs on the same source (another collection or tile size) keep the copy until they evict it too.
    for (const { publication } of decisions) await deps.sources.evict(publication.source, jobKeyOf(publication.outputs));

    // Last, once everything above is done: a retry after a failure above writes it then.
    if (endRecord) await deps.jobs.record(endRecord);
    const current = published ?? (await deps.store.readJson<StacCollection>(collectionBlob(collection)))?.value;
    const outcomes: PublicationOutcome[] = decisions.map((decision) => {
      const sourceKey = decision.publication.outputs.sourceKey;
      if (decision.outcome === 'conflict') return { sourceKey, outcome: 'conflict', replacedItems: 0, failure: decision.failure };
      if (decision.outcome === 'superseded') return { sourceKey, outcome: 'superseded', replacedItems: 0 };
      return { sourceKey, outcome: 'published', replacedItems: staleItems(decision.previous, decision.publication.items).length };
    });
    return {
      collectionId: collection,
      collectionUrl,
      catalogUrl,
      itemCount: current ? collectionItemCount(current) : 0,
      replacedItems: allStale.length,
      superseded: outcomes.length > 0 && outcomes.every((outcome) => outcome.outcome === 'superseded'),
      sources: outcomes,
    };
  };
}
