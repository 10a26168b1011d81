/**
 * Activity: publish a job's items in its collection, replacing what an earlier version of the
 * same source published, and make the root catalog link the collection.
 *
 * Order of writes, each under an ETag condition so concurrent jobs never lose each other's items:
 * 1. the source's record (`sources/<source key>.json`): the newer version wins; an older job
 *    finishing late is "superseded" and removes only its own outputs;
 * 2. the collection: this job's item links added, the replaced version's stale ones dropped, the
 *    extent recomputed from every source's record when something was dropped;
 * 3. then the replaced version's blobs (stale items, its COGs, thumbnails and VRT) are deleted.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FinalizeCollectionInput, FinalizedCollection, OutputLocation, RegisteredItem, SourceBlob } from '../pipeline/contracts.js';
import { FailureError } from '../pipeline/failure.js';
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

export function createFinalizeCollection(deps: Pick<ActivityDependencies, 'store' | 'sources' | 'stacApi' | 'scratchDir'>): FinalizeCollection {
  return async ({ outputs, source, items, datetime, options, order }) => {
    const { collection } = outputs;
    const collectionUrl = deps.store.url(collectionBlob(collection));
    const catalogUrl = deps.store.url(catalogBlob());
    const owner = sourcePathOf(source);

    // 1. The source's record decides whether this job's output is the one to publish.
    const decision: { previous?: SourceRecord; newer?: SourceRecord } = {};
    await updateJsonBlob<SourceRecord>(deps.store, sourceRecordBlob(collection, outputs.sourceKey), (existing) => {
      if (existing && existing.source !== owner) {
        throw new FailureError({
          code: 'OUTPUT_CONFLICT',
          message: `its output names in collection ${collection} are already taken by another source; rename the blob and upload it again`,
        });
      }
      delete decision.previous;
      delete decision.newer;
      if (existing && compareVersionOrder(existing.order, order) > 0) {
        decision.newer = existing;
        return undefined;
      }
      if (existing) decision.previous = existing;
      return buildSourceRecord(source, outputs, order, items);
    });

    const { previous, newer } = decision;
    if (newer) {
      // A newer version is published: drop what this job wrote that it does not use.
      const published = new Set(newer.items.map((item) => item.itemId));
      await Promise.all(items.filter((item) => !published.has(item.itemId)).map((item) => deps.store.delete(itemBlob(collection, item.itemId))));
      if (newer.version !== outputs.version) await deleteVersion(deps.store, outputs);
      await deps.sources.evict(source);
      const existing = await deps.store.readJson<StacCollection>(collectionBlob(collection));
      return { collectionId: collection, collectionUrl, catalogUrl, itemCount: existing ? countItemLinks(existing.value) : 0, replacedItems: 0, superseded: true };
    }

    // 2. The collection: add this job's items, drop the replaced version's stale ones.
    const assets = await writeSourceMosaic(deps, outputs, source, items, options);
    const stale = staleItems(previous, items);
    const { value } = await updateJsonBlob<StacCollection>(deps.store, collectionBlob(collection), async (existing) =>
      mergeCollection(existing, {
        collectionId: collection,
        items,
        datetime,
        urls: { collection: collectionUrl, catalog: catalogUrl },
        projCodes: items.map((item) => item.projCode ?? null),
        assets,
        removedItemUrls: stale.map((item) => item.itemUrl),
        // Read after the collection (each attempt), so a source merged before it is in a record read here.
        ...(stale.length > 0 ? { extentFrom: await readPublishedItems(deps.store, collection) } : {}),
      }),
    );
    await updateJsonBlob<StacCatalog>(deps.store, catalogBlob(), (existing) => mergeCatalog(existing, catalogUrl, { id: collection, url: collectionUrl }));

    // 3. The replaced version's blobs, now that nothing links them.
    await Promise.all(stale.map((item) => deps.store.delete(itemBlob(collection, item.itemId))));
    if (previous && previous.version !== outputs.version) await deleteVersion(deps.store, { ...outputs, version: previous.version });

    const published = value!;
    // The static collection is the merged truth (all jobs' extents and items); the API gets it without the links it makes itself.
    await deps.stacApi?.updateCollection<StacCollection>(collection, () => withoutInferredLinks(published));
    await Promise.all(stale.map((item) => deps.stacApi?.deleteItem(collection, item.itemId)));
    // The job is done with its source here; free the local copy.
    await deps.sources.evict(source);
    return { collectionId: collection, collectionUrl, catalogUrl, itemCount: countItemLinks(published), replacedItems: stale.length, superseded: false };
  };
}
