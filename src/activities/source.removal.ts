/**
 * Activities of the deletion path (issue 24): a deleted source's outputs leave its collections.
 * - `findSourceOutputs` checks the blob is really gone (a delete event for a blob that exists
 *   removes nothing: events can be forged, stale, or followed by a new upload), then finds, in
 *   every collection the root catalog links (and the default one), the version it publishes and
 *   every version folder of the source in `cogs`.
 * - `findRunningJobs` names the jobs of the source that have not ended: the removal waits for
 *   them (their publication is refused once the blob is gone) so that it also finds the tiles they
 *   made before they ended.
 * - `removeSourceOutputs` takes the source out of one collection, in the order that never leaves
 *   a link to something deleted: its record (conditional on the version read, so a newer
 *   publication is never removed), its source catalog and pages, its shard (dropped once empty)
 *   and the collection (links, extent, summaries), the STAC API's copy; then its items, COGs,
 *   thumbnails and VRT; the collection mosaic is marked to drop it. A record of the removal stays
 *   (`removed/<source key>.json`) for the jobs' views. Every step is idempotent.
 */
import pLimit from 'p-limit';
import { containers } from '../config.js';
import { deriveSourceKey } from '../jobs/job.id.js';
import type { RemovedSourceOutputs, RemoveSourceOutputsInput, SourceOutputsFound, SourceOutputsInCollection, SourceRemovalInput } from '../pipeline/contracts.js';
import { defaultCollectionId } from '../pipeline/options.js';
import { collectionIdPattern } from '../collections/definition.schema.js';
import { WriteConflictError, type BlobStore } from '../storage/blob.store.js';
import { catalogBlob, collectionBlob, removedSourceBlob, shardCatalogBlob, shardOf, sourceCatalogBlob, sourceCatalogPagesPrefix, sourceRecordBlob, versionFolder } from '../stac/catalog.layout.js';
import { collectionForApi, mergeCollection, shardHasSources, summarizeShard, withoutShardSource } from '../stac/collection.build.js';
import { recordRemoval, type RemovedSource } from '../stac/removed.source.js';
import { sourceProperty, type SourceRecord } from '../stac/source.record.js';
import { shardSourcesProperty, type StacCatalog, type StacCollection } from '../stac/stac.types.js';
import type { ActivityDependencies } from './activity.dependencies.js';
import { markMosaicChanges } from './collection.mosaic.js';
import { updateJsonBlob } from './json.blob.update.js';

export type FindSourceOutputs = (input: SourceRemovalInput) => Promise<SourceOutputsFound>;
export type FindRunningJobs = (input: { source: { container: string; name: string } }) => Promise<string[]>;
export type RemoveSourceOutputs = (input: RemoveSourceOutputsInput) => Promise<RemovedSourceOutputs>;

const concurrency = 16;

function mapBounded<T, R>(values: readonly T[], map: (value: T) => Promise<R>): Promise<R[]> {
  const limit = pLimit(concurrency);
  return Promise.all(values.map((value) => limit(() => map(value))));
}

/** The collections that may hold outputs: those the root catalog links, and the default one. */
async function candidateCollections(store: BlobStore): Promise<string[]> {
  const root = (await store.readJson<StacCatalog>(catalogBlob()))?.value;
  const linked = (root?.links ?? []).flatMap((link) => {
    const id = link.rel === 'child' ? link.title : undefined;
    // The title is the collection's id (mergeCatalog); it names a folder only when its link says so.
    return id && collectionIdPattern.test(id) && link.href === store.url(collectionBlob(id)) ? [id] : [];
  });
  return [...new Set([defaultCollectionId, ...linked])].sort();
}

/** The version folders of a source in a collection (`<collection>/<source key>/<version>/...` in `cogs`). */
async function versionFolders(store: BlobStore, collection: string, sourceKey: string): Promise<string[]> {
  const prefix = `${collection}/${sourceKey}/`;
  const names = await store.list(containers.cogs, prefix);
  return [...new Set(names.map((name) => name.slice(prefix.length).split('/')[0]!).filter((version) => /^v[0-9a-f]{12}$/.test(version)))].sort();
}

export function createFindSourceOutputs(deps: Pick<ActivityDependencies, 'store'>): FindSourceOutputs {
  return async ({ source }) => {
    const stat = await deps.store.stat(source);
    if (stat) return { outcome: 'source-present', etag: stat.etag };
    const path = `${source.container}/${source.name}`;
    const sourceKey = deriveSourceKey(source.container, source.name);
    const found = await mapBounded(await candidateCollections(deps.store), async (collection): Promise<SourceOutputsInCollection | undefined> => {
      const record = (await deps.store.readJson<SourceRecord>(sourceRecordBlob(collection, sourceKey)))?.value;
      // Another source owns these names (a source key collision is refused at publication): nothing here is this source's.
      if (record && record.source !== path) return undefined;
      const versions = await versionFolders(deps.store, collection, sourceKey);
      if (!record && versions.length === 0) return undefined;
      return { collection, sourceKey, published: record ? { version: record.version, etag: record.etag, jobId: record.jobId ?? null } : null, versions };
    });
    return { outcome: 'gone', collections: found.filter((entry): entry is SourceOutputsInCollection => entry !== undefined) };
  };
}

/** Running jobs named at most (a removal only needs to know whether any are left). */
const runningJobsListed = 20;

/** Jobs of exactly this source that have not ended, by the jobs index (a job rewrites its row when it ends). */
export function createFindRunningJobs(deps: Pick<ActivityDependencies, 'jobs'>): FindRunningJobs {
  return async ({ source }) => {
    const path = `${source.container}/${source.name}`;
    const running: string[] = [];
    let continuationToken: string | undefined;
    do {
      const page = await deps.jobs.page({ statuses: ['Running'], sourcePrefixes: [path], top: 100, ...(continuationToken ? { continuationToken } : {}) });
      running.push(...page.entries.filter((entry) => entry.source === path).map((entry) => entry.id));
      continuationToken = page.continuationToken ?? undefined;
    } while (continuationToken && running.length < runningJobsListed);
    return running.slice(0, runningJobsListed);
  };
}

/** Deletes the source's record while it holds one of `versions`; whether it did. A newer publication (a new upload's) stays. */
async function deleteRecord(store: BlobStore, collection: string, sourceKey: string, path: string, versions: ReadonlySet<string>): Promise<SourceRecord | undefined> {
  const ref = sourceRecordBlob(collection, sourceKey);
  for (let attempt = 1; attempt <= 20; attempt++) {
    const current = await store.readJson<SourceRecord>(ref);
    if (!current || current.value.source !== path || !versions.has(current.value.version)) return undefined;
    try {
      await store.delete(ref, { ifMatch: current.etag });
      return current.value;
    } catch (error) {
      if (!(error instanceof WriteConflictError)) throw error;
    }
  }
  throw new Error(`the record of ${sourceKey} in ${collection} kept changing while it was being removed`);
}

/** The shard without the source (deleted once it links none), then the collection from the shard as it is now. */
async function unlinkSource(deps: Pick<ActivityDependencies, 'store' | 'stacApi'>, collection: string, sourceKey: string, datetime: string): Promise<void> {
  const { store } = deps;
  const shard = shardOf(sourceKey);
  const shardRef = shardCatalogBlob(collection, shard);
  await updateJsonBlob<StacCatalog>(store, shardRef, (existing) => (existing ? withoutShardSource(existing, sourceKey, store.url(sourceCatalogBlob(collection, sourceKey))) : undefined), { compact: true });
  const collectionUrl = store.url(collectionBlob(collection));
  const catalogUrl = store.url(catalogBlob());
  const { value: updated } = await updateJsonBlob<StacCollection>(store, collectionBlob(collection), async (existing) => {
    if (!existing) return undefined;
    // Read after the collection (each attempt), as finalize does: whichever writer comes last has seen the shard.
    let current = await store.readJson<StacCatalog>(shardRef);
    if (current && !shardHasSources(current.value)) {
      try {
        // An empty shard goes, unless a publication linked a source meanwhile (then it is no longer empty).
        await store.delete(shardRef, { ifMatch: current.etag });
        current = undefined;
      } catch (error) {
        if (!(error instanceof WriteConflictError)) throw error;
        current = await store.readJson<StacCatalog>(shardRef);
      }
    }
    const left = current && shardHasSources(current.value) ? current.value : undefined;
    return mergeCollection(existing, {
      collectionId: collection,
      datetime,
      urls: { collection: collectionUrl, catalog: catalogUrl },
      shards: left ? [{ shard, url: store.url(shardRef), summary: summarizeShard(left) }] : [],
      ...(left ? {} : { removedShards: [{ shard, url: store.url(shardRef) }] }),
    });
  }, { compact: true });
  if (updated) {
    const document = updated;
    await deps.stacApi?.updateCollection<StacCollection>(collection, () => collectionForApi(document));
  }
}

interface StoredItem {
  properties?: Record<string, unknown>;
  assets?: { data?: { href?: unknown } };
}

/**
 * The item blobs of the removed versions: their ids start with the source key, each names its
 * source, and its COG lies in one of the versions' folders (an item id is the same in every
 * version: a newer upload's item, written over it, stays).
 */
async function sourceItemIds(store: BlobStore, collection: string, sourceKey: string, path: string, versions: ReadonlySet<string>): Promise<string[]> {
  const folders = [...versions].map((version) => store.url(versionFolder({ collection, sourceKey, version })));
  const prefix = `${collection}/${sourceKey}-`;
  const names = (await store.list(containers.stac, prefix)).filter((name) => {
    const [itemId, file, ...rest] = name.slice(collection.length + 1).split('/');
    return rest.length === 0 && file === `${itemId}.json`;
  });
  const owned = await mapBounded(names, async (name) => {
    const item = await store.readJson<StoredItem>({ container: containers.stac, name });
    const href = item?.value.assets?.data?.href;
    const ours = item?.value.properties?.[sourceProperty] === path && typeof href === 'string' && folders.some((folder) => href.startsWith(folder));
    return ours ? name.slice(collection.length + 1).split('/')[0]! : undefined;
  });
  return owned.filter((itemId): itemId is string => itemId !== undefined);
}

export function createRemoveSourceOutputs(deps: Pick<ActivityDependencies, 'store' | 'stacApi' | 'retired'>): RemoveSourceOutputs {
  return async ({ source, outputs, removal }) => {
    const { store } = deps;
    const { collection, sourceKey } = outputs;
    const path = `${source.container}/${source.name}`;
    const versions = new Set([...outputs.versions, ...(outputs.published ? [outputs.published.version] : [])]);

    // First what the jobs' views read, so a job whose outputs are about to go already says why.
    await updateJsonBlob<RemovedSource>(store, removedSourceBlob(collection, sourceKey), (existing) =>
      recordRemoval(existing, path, sourceKey, { versions: [...versions].sort(), deletedAt: removal.eventTime, removedBy: removal.instanceId }),
    );

    // The record decides: once it is gone, nothing publishes the source. A newer publication (a new upload's) keeps it and its catalogs.
    const record = await deleteRecord(store, collection, sourceKey, path, versions);
    const newer = record ? undefined : (await store.readJson<SourceRecord>(sourceRecordBlob(collection, sourceKey)))?.value;
    // The mosaic drops the source on its next run (a retried removal marks again: the run finds nothing to move).
    await markMosaicChanges(store, collection, [...versions].sort().map((version) => ({ sourceKey, version })));
    const linked = (await store.readJson<StacCatalog>(shardCatalogBlob(collection, shardOf(sourceKey))))?.value[shardSourcesProperty]?.[sourceKey] !== undefined;
    if (!newer) {
      if (linked) await unlinkSource(deps, collection, sourceKey, removal.eventTime);
      await store.delete(sourceCatalogBlob(collection, sourceKey));
    }

    // Then what nothing links any more: items (static and API), item pages, COGs, thumbnails, VRT.
    const itemIds = await sourceItemIds(store, collection, sourceKey, path, versions);
    await mapBounded(itemIds, async (itemId) => {
      await store.delete({ container: containers.stac, name: `${collection}/${itemId}/${itemId}.json` });
      await deps.stacApi?.deleteItem(collection, itemId);
    });
    let blobs = itemIds.length;
    for (const version of versions) {
      const pages = sourceCatalogPagesPrefix(collection, sourceKey, version);
      const folder = versionFolder({ collection, sourceKey, version });
      const names = [...(await store.list(pages.container, pages.name)).map((name) => ({ container: pages.container, name })), ...(await store.list(folder.container, folder.name)).map((name) => ({ container: folder.container, name }))];
      await mapBounded(names, (ref) => store.delete(ref));
      blobs += names.length;
      // Replaced versions waiting for their grace period are gone now: the retention timer has nothing left to do for them.
      await deps.retired.forget({ collection, sourceKey, version });
    }
    return { collection, sourceKey, unpublished: record !== undefined || (linked && !newer), items: itemIds.length, blobs };
  };
}
