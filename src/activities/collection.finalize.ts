/**
 * Activity: publish a job's items in its collection (or, for a batch, a chunk of jobs' items at
 * once), replacing what an earlier version of each source published, and make the root catalog
 * link the collection.
 *
 * Order of writes, each under an ETag condition so concurrent jobs never lose each other's items:
 * 1. the source's record (`sources/<source key>.json`): the newer version wins; an older job
 *    finishing late is "superseded" and removes only its own outputs;
 * 2. the collection: this job's item links added, the replaced version's stale ones dropped, the
 *    extent recomputed from every source's record when something was dropped;
 * 3. then the replaced version's blobs (stale items, its COGs, thumbnails and VRT) are deleted.
 */
import { randomUUID } from 'node:crypto';
import pLimit from 'p-limit';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FinalizeCollectionInput, FinalizedCollection, OutputLocation, PublicationOutcome, RegisteredItem, SourceBlob, SourcePublication } from '../pipeline/contracts.js';
import { FailureError, type Failure } from '../pipeline/failure.js';
import type { IngestOptions } from '../pipeline/options.js';
import { describeMosaic } from '../raster/mosaic.describe.js';
import { buildMosaicVrt } from '../raster/mosaic.vrt.js';
import { WriteConflictError, type BlobRef, type BlobStore } from '../storage/blob.store.js';
import { catalogBlob, cogBlob, collectionBlob, itemBlob, mosaicAssetKey, mosaicBlob, sourceRecordBlob, sourceRecordsPrefix, versionFolder } from '../stac/catalog.layout.js';
import { countItemLinks, mergeCatalog, mergeCollection } from '../stac/collection.build.js';
import { buildSourceRecord, compareVersionOrder, sourcePathOf, staleItems, type SourceRecord } from '../stac/source.record.js';
import { withoutInferredLinks } from '../stac/stac.api.client.js';
import { mediaTypes, type StacAsset, type StacCatalog, type StacCollection } from '../stac/stac.types.js';
import type { ActivityDependencies } from './activity.dependencies.js';
import { SourceChangedError, SourceMissingError } from './source.cache.js';

export type FinalizeCollection = (input: FinalizeCollectionInput) => Promise<FinalizedCollection>;

const maxAttempts = 20;

/**
 * Read, change, write-if-unchanged; on a lost race re-read and try again. `change` may read
 * more (it runs again on every attempt) and returns `undefined` to leave the blob as it is.
 */
export async function updateJsonBlob<T>(
  store: BlobStore,
  ref: BlobRef,
  change: (current: T | undefined) => T | undefined | Promise<T | undefined>,
): Promise<{ value: T | undefined; url: string }> {
  for (let attempt = 1; ; attempt++) {
    const current = await store.readJson<T>(ref);
    const value = await change(current?.value);
    if (value === undefined) return { value: current?.value, url: store.url(ref) };
    try {
      const { url } = await store.writeJson(ref, value, current ? { ifMatch: current.etag } : { ifNoneExists: true });
      return { value, url };
    } catch (error) {
      if (!(error instanceof WriteConflictError) || attempt >= maxAttempts) throw error;
      // Jittered back-off so racing writers spread out.
      await sleep(Math.random() * 50 * Math.min(attempt, 8));
    }
  }
}

/**
 * Writes the VRT that mosaics this job's tiles (next to them, relative paths) and returns it as a
 * collection asset; nothing when the items carry no windows or the source is gone.
 */
async function writeSourceMosaic(
  deps: Pick<ActivityDependencies, 'store' | 'sources' | 'scratchDir'>,
  outputs: OutputLocation,
  source: SourceBlob,
  items: readonly RegisteredItem[],
  options: IngestOptions | undefined,
): Promise<Record<string, StacAsset>> {
  const tiles: Array<{ file: string; window: NonNullable<RegisteredItem['window']> }> = [];
  for (const item of items) {
    if (!item.window) return {};
    tiles.push({ file: cogBlob(outputs, item.itemId).name.split('/').pop()!, window: item.window });
  }
  if (tiles.length === 0) return {};
  let xml: string;
  try {
    // Usually still cached from the tile activities on this process; otherwise downloaded again.
    xml = buildMosaicVrt(
      // The source's grid and bands, read in place: no download for a few header bytes.
      await deps.sources.withGdalPath(source, 'in-place', async (sourcePath) => {
        await mkdir(deps.scratchDir, { recursive: true });
        const warpScratch = join(deps.scratchDir, `${randomUUID()}.warp.vrt`);
        try {
          return await describeMosaic(sourcePath, source.name, tiles, options, warpScratch);
        } finally {
          await rm(warpScratch, { force: true });
        }
      }),
    );
  } catch (error) {
    if (error instanceof SourceChangedError || error instanceof SourceMissingError) return {};
    throw error;
  }
  const { url } = await deps.store.uploadBytes(mosaicBlob(outputs), Buffer.from(xml), mediaTypes.vrt);
  return {
    [mosaicAssetKey(outputs.sourceKey)]: {
      href: url,
      type: mediaTypes.vrt,
      title: `GDAL VRT mosaic of all tiles of ${sourcePathOf(source)}`,
      roles: ['data', 'mosaic'],
    },
  };
}

/** Deletes every blob of one version's folder (COGs, thumbnails, VRT). */
async function deleteVersion(store: BlobStore, outputs: OutputLocation): Promise<void> {
  const folder = versionFolder(outputs);
  const names = await store.list(folder.container, folder.name);
  await Promise.all(names.map((name) => store.delete({ container: folder.container, name })));
}

/** Every item the collection publishes, from all sources' records (to recompute its extent). */
async function readPublishedItems(store: BlobStore, collection: string): Promise<RegisteredItem[]> {
  const prefix = sourceRecordsPrefix(collection);
  const names = await store.list(prefix.container, prefix.name);
  const records = await Promise.all(names.map((name) => store.readJson<SourceRecord>({ container: prefix.container, name })));
  return records.flatMap((record) => record?.value.items ?? []);
}

/** What the source's record decided for one publication. */
type Decision =
  | { publication: SourcePublication; outcome: 'publish'; previous?: SourceRecord }
  | { publication: SourcePublication; outcome: 'superseded'; newer: SourceRecord }
  | { publication: SourcePublication; outcome: 'conflict'; failure: Failure };

/** Step 1 for one source: its record decides whether this output is the one to publish. */
async function decide(store: BlobStore, collection: string, publication: SourcePublication): Promise<Decision> {
  const { outputs, source, items, order } = publication;
  const owner = sourcePathOf(source);
  let decision: Decision = { publication, outcome: 'publish' };
  await updateJsonBlob<SourceRecord>(store, sourceRecordBlob(collection, outputs.sourceKey), (existing) => {
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
    decision = existing ? { publication, outcome: 'publish', previous: existing } : { publication, outcome: 'publish' };
    return buildSourceRecord(source, outputs, order, items);
  });
  return decision;
}

/** A newer version is published: drop what this job wrote that it does not use. */
async function dropSuperseded(store: BlobStore, collection: string, publication: SourcePublication, newer: SourceRecord): Promise<void> {
  const published = new Set(newer.items.map((item) => item.itemId));
  await Promise.all(publication.items.filter((item) => !published.has(item.itemId)).map((item) => store.delete(itemBlob(collection, item.itemId))));
  if (newer.version !== publication.outputs.version) await deleteVersion(store, publication.outputs);
}

/** How many sources' records and mosaics are worked on at once in one chunk. */
const sourceConcurrency = 8;

function mapBounded<T, R>(values: readonly T[], limit: number, map: (value: T) => Promise<R>): Promise<R[]> {
  const bounded = pLimit(limit);
  return Promise.all(values.map((value) => bounded(() => map(value))));
}

/**
 * Publishes one job's output, or a batch chunk's: each source's record first, then the collection
 * merged once for them all, then the replaced versions' blobs deleted. One job's conflict is its
 * failure; in a chunk it is reported per source and the others are published.
 */
export function createFinalizeCollection(deps: Pick<ActivityDependencies, 'store' | 'sources' | 'stacApi' | 'scratchDir'>): FinalizeCollection {
  return async ({ collection, publications, datetime }) => {
    const collectionUrl = deps.store.url(collectionBlob(collection));
    const catalogUrl = deps.store.url(catalogBlob());

    // 1. Each source's record decides.
    const decisions = await mapBounded(publications, sourceConcurrency, (publication) => decide(deps.store, collection, publication));
    const only = decisions.length === 1 ? decisions[0] : undefined;
    if (only?.outcome === 'conflict') throw new FailureError(only.failure);
    for (const decision of decisions) if (decision.outcome === 'superseded') await dropSuperseded(deps.store, collection, decision.publication, decision.newer);

    // 2. The collection, once: every published source's items added, replaced versions' stale ones dropped.
    const publishing = decisions.filter((decision): decision is Extract<Decision, { outcome: 'publish' }> => decision.outcome === 'publish');
    const stale = publishing.map((decision) => staleItems(decision.previous, decision.publication.items));
    const allStale = stale.flat();
    const assetsBySource = await mapBounded(publishing, sourceConcurrency, ({ publication }) =>
      writeSourceMosaic(deps, publication.outputs, publication.source, publication.items, publication.options),
    );
    const items = publishing.flatMap(({ publication }) => publication.items);
    let published: StacCollection | undefined;
    if (publishing.length > 0) {
      ({ value: published } = await updateJsonBlob<StacCollection>(deps.store, collectionBlob(collection), async (existing) =>
        mergeCollection(existing, {
          collectionId: collection,
          items,
          datetime,
          urls: { collection: collectionUrl, catalog: catalogUrl },
          projCodes: items.map((item) => item.projCode ?? null),
          assets: Object.assign({}, ...assetsBySource),
          removedItemUrls: allStale.map((item) => item.itemUrl),
          // Read after the collection (each attempt), so a source merged before it is in a record read here.
          ...(allStale.length > 0 ? { extentFrom: await readPublishedItems(deps.store, collection) } : {}),
        }),
      ));
      await updateJsonBlob<StacCatalog>(deps.store, catalogBlob(), (existing) => mergeCatalog(existing, catalogUrl, { id: collection, url: collectionUrl }));
    }

    // 3. The replaced versions' blobs, now that nothing links them.
    await Promise.all(allStale.map((item) => deps.store.delete(itemBlob(collection, item.itemId))));
    for (const { publication, previous } of publishing) {
      if (previous && previous.version !== publication.outputs.version) await deleteVersion(deps.store, { ...publication.outputs, version: previous.version });
    }
    if (published) {
      const document = published;
      // The static collection is the merged truth (all jobs' extents and items); the API gets it without the links it makes itself.
      await deps.stacApi?.updateCollection<StacCollection>(collection, () => withoutInferredLinks(document));
      await Promise.all(allStale.map((item) => deps.stacApi?.deleteItem(collection, item.itemId)));
    }
    // The jobs are done with their sources here; free the local copies.
    for (const { publication } of decisions) await deps.sources.evict(publication.source);

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
      itemCount: current ? countItemLinks(current) : 0,
      replacedItems: allStale.length,
      superseded: outcomes.length > 0 && outcomes.every((outcome) => outcome.outcome === 'superseded'),
      sources: outcomes,
    };
  };
}
