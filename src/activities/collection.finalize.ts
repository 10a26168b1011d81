/**
 * Activity: fold a job's items into its collection and make the root catalog link it. Both
 * documents are read-modify-written under ETag conditions, so concurrent jobs into the same
 * collection never lose each other's items.
 */
import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { IngestOptions } from '../pipeline/options.js';
import type { FinalizeCollectionInput, FinalizedCollection, RegisteredItem, SourceBlob, TileWindow } from '../pipeline/contracts.js';
import { describeMosaic } from '../raster/mosaic.describe.js';
import { buildMosaicVrt } from '../raster/mosaic.vrt.js';
import { WriteConflictError, type BlobRef, type BlobStore } from '../storage/blob.store.js';
import { catalogBlob, cogBlob, collectionBlob, mosaicBlob, sourceStem } from '../stac/catalog.layout.js';
import { countItemLinks, mergeCatalog, mergeCollection } from '../stac/collection.build.js';
import { withoutInferredLinks } from '../stac/stac.api.client.js';
import { mediaTypes, type StacAsset, type StacCatalog, type StacCollection } from '../stac/stac.types.js';
import type { ActivityDependencies } from './activity.dependencies.js';
import { SourceChangedError, SourceMissingError } from './source.cache.js';

export type FinalizeCollection = (input: FinalizeCollectionInput) => Promise<FinalizedCollection>;

const maxAttempts = 20;

/** Read, change, write-if-unchanged; on a lost race re-read and try again. */
export async function updateJsonBlob<T>(store: BlobStore, ref: BlobRef, change: (current: T | undefined) => T): Promise<{ value: T; url: string }> {
  for (let attempt = 1; ; attempt++) {
    const current = await store.readJson<T>(ref);
    const value = change(current?.value);
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
  deps: Pick<ActivityDependencies, 'store' | 'sources'>,
  collection: string,
  source: SourceBlob,
  items: readonly RegisteredItem[],
  options: IngestOptions | undefined,
): Promise<Record<string, StacAsset>> {
  if (items.length === 0 || items.some((item) => !item.window)) return {};
  const tiles = items.map((item) => ({
    file: cogBlob(collection, source.name, item.itemId).name.split('/').pop()!,
    window: item.window as TileWindow,
  }));
  let xml: string;
  try {
    // Usually still cached from the tile activities on this process; otherwise downloaded again.
    xml = buildMosaicVrt(
      await deps.sources.withLocalCopy(source, async (sourcePath) => {
        const warpScratch = `${sourcePath}.${randomUUID()}.warp.vrt`;
        try {
          return await describeMosaic(sourcePath, tiles, options, warpScratch);
        } finally {
          await rm(warpScratch, { force: true });
        }
      }),
    );
  } catch (error) {
    if (error instanceof SourceChangedError || error instanceof SourceMissingError) return {};
    throw error;
  }
  const ref = mosaicBlob(collection, source.name);
  const { url } = await deps.store.uploadBytes(ref, Buffer.from(xml), mediaTypes.vrt);
  return {
    [`mosaic-${sourceStem(source.name)}`]: {
      href: url,
      type: mediaTypes.vrt,
      title: `GDAL VRT mosaic of all tiles of ${source.container}/${source.name}`,
      roles: ['data', 'mosaic'],
    },
  };
}

export function createFinalizeCollection(deps: Pick<ActivityDependencies, 'store' | 'sources' | 'stacApi'>): FinalizeCollection {
  return async ({ collection, source, items, datetime, options }) => {
    const collectionUrl = deps.store.url(collectionBlob(collection));
    const catalogUrl = deps.store.url(catalogBlob());
    const assets = await writeSourceMosaic(deps, collection, source, items, options);
    const { value } = await updateJsonBlob<StacCollection>(deps.store, collectionBlob(collection), (existing) =>
      mergeCollection(existing, {
        collectionId: collection,
        items,
        datetime,
        urls: { collection: collectionUrl, catalog: catalogUrl },
        projCodes: items.map((item) => item.projCode ?? null),
        assets,
      }),
    );
    await updateJsonBlob<StacCatalog>(deps.store, catalogBlob(), (existing) => mergeCatalog(existing, catalogUrl, { id: collection, url: collectionUrl }));
    // The static collection is the merged truth (all jobs' extents and items); the API gets it without the links it makes itself.
    await deps.stacApi?.updateCollection<StacCollection>(collection, () => withoutInferredLinks(value));
    // The job is done with its source here; free the local copy.
    await deps.sources.evict(source);
    return { collectionId: collection, collectionUrl, catalogUrl, itemCount: countItemLinks(value) };
  };
}
