/**
 * Activities of derived products (issue 24, part 3):
 * - `listDerivedCollections`: the collections whose current definitions derive from a collection;
 * - `createDerivedItem`: one source item's COG, copied from the app's own `cogs` container by the
 *   name the layout gives it (never by a URL an item holds), through the product's GDAL step
 *   (`derived.create.ts`) to a COG in the derived collection's version folder, and its STAC item
 *   with `derived_from` links to the source item and collection;
 * - `removeDerivedProducts`: when a source is removed, its derived items, COGs and records in every
 *   derived collection, with the shard and collection documents brought up to date.
 * Publishing the derived items (records, catalogs, collection, retiring a replaced version) is
 * the job's own `finalizeCollection`, run by `deriveProducts` for the derived collection.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { CollectionStore } from '../collections/collection.store.js';
import { containers } from '../config.js';
import { deleteVersionBlobs } from '../jobs/retired.outputs.js';
import type { CreateDerivedItemInput, DerivedCollectionPlan, RegisteredItem, RemovedDerivedProducts, RemoveDerivedProductsInput, TileCog } from '../pipeline/contracts.js';
import { FailureError } from '../pipeline/failure.js';
import { ingestOptionsSchema } from '../pipeline/options.js';
import { writeDerivedCog } from '../raster/derived.create.js';
import { describeDerivation, findItemIdProblem, keepsSourceGrid } from '../raster/derived.plan.js';
import { catalogBlob, cogBlob, collectionBlob, itemBlob, shardCatalogBlob, shardOf, sourceCatalogBlob, sourceRecordBlob, thumbnailBlob } from '../stac/catalog.layout.js';
import { collectionForApi, collectionOfItems, mergeCollection, summarizeItems, summarizeShard } from '../stac/collection.build.js';
import { buildTileItem, datetimeSourceProperty, ingestionTimeSource, itemInterval } from '../stac/item.build.js';
import { boundText } from '../pipeline/bounded.text.js';
import { softwareVersions } from '../stac/software.js';
import { withoutInferredLinks } from '../stac/stac.api.client.js';
import { compareVersionOrder, sourceModifiedProperty, sourcePathOf, sourceProperty, type SourceRecord } from '../stac/source.record.js';
import { mediaTypes, shardSourcesProperty, type StacCatalog, type StacCollection, type StacItem } from '../stac/stac.types.js';
import type { ActivityDependencies } from './activity.dependencies.js';
import { deleteSourceCatalogPages, writeShardCatalog, writeSourceCatalog } from './collection.finalize.js';
import { updateJsonBlob } from './json.blob.update.js';
import { publishTileCog } from './tile.cog.create.js';

/** Item properties of a derived item: the product, and the collection and item it was made from. */
export const derivedProductProperty = 'raster-ingest:derived_product';
export const derivedFromProperty = 'raster-ingest:derived_from';

export type DerivedDependencies = Pick<ActivityDependencies, 'store' | 'scratchDir' | 'stacApi' | 'retired'> & { collections: Pick<CollectionStore, 'list'> };

/** The collections deriving from `collection`, by their current definitions, in id order. */
export function createListDerivedCollections(deps: Pick<DerivedDependencies, 'collections'>): (input: { collection: string }) => Promise<DerivedCollectionPlan[]> {
  return async ({ collection }) =>
    (await deps.collections.list()).flatMap((stored) => {
      const derivation = stored.definition.derivedFrom;
      return derivation?.collection === collection ? [{ collection: stored.id, definitionVersion: stored.version, derivation }] : [];
    });
}

/** The derived COG's options: the project's defaults (DEFLATE, 512 blocks, overviews). */
const derivedCogOptions = ingestOptionsSchema.parse({});

export function createCreateDerivedItem(deps: Pick<DerivedDependencies, 'store' | 'scratchDir' | 'stacApi'>): (input: CreateDerivedItemInput) => Promise<RegisteredItem> {
  return async ({ source, sourceOutputs, sourceItem, outputs, derivation, datetime, order }) => {
    const idProblem = findItemIdProblem(sourceItem.itemId);
    if (idProblem) throw new FailureError({ code: 'INVALID_INPUT', message: `its source item id ${idProblem}` });
    const itemId = sourceItem.itemId;
    await mkdir(deps.scratchDir, { recursive: true });
    const workDir = await mkdtemp(join(deps.scratchDir, 'derived-'));
    try {
      // The source COG by the name the layout gives it, in the app's own container.
      const sourceCog = cogBlob(sourceOutputs, itemId);
      if (!(await deps.store.stat(sourceCog))) throw new FailureError({ code: 'SOURCE_MISSING', message: `the COG of source item ${itemId} is gone (its source was replaced or removed); the newer version derives its own` });
      const sourcePath = join(workDir, 'source.tif');
      await deps.store.downloadToFile(sourceCog, sourcePath).catch(async (error: unknown) => {
        // Replaced or removed between the check and the copy: the same answer as before it.
        if (!(await deps.store.stat(sourceCog))) throw new FailureError({ code: 'SOURCE_MISSING', message: `the COG of source item ${itemId} is gone (its source was replaced or removed); the newer version derives its own` });
        throw error;
      });
      const cogPath = join(workDir, `${itemId}.tif`);
      await writeDerivedCog(sourcePath, derivation, join(workDir, 'derived.tif'), cogPath, derivedCogOptions);
      const tile = await publishTileCog(deps.store, {
        cogPath,
        workDir,
        outputs,
        itemId,
        window: keepsSourceGrid(derivation.product) && sourceItem.window ? sourceItem.window : undefined,
        notes: [],
        acquired: () => readSourceAcquisition(deps.store, sourceOutputs.collection, itemId),
      });
      const item = buildDerivedItem({ tile, outputs, source, sourceOutputs, sourceItemId: itemId, derivation, datetime, urls: deps.store });
      const written = await writeDerivedItem(deps.store, outputs.collection, item, sourcePathOf(source), order);
      const registered: RegisteredItem = {
        itemId,
        itemUrl: deps.store.url(itemBlob(outputs.collection, itemId)),
        cogUrl: tile.blob.url,
        cogBytes: tile.size,
        bbox: tile.bbox,
        projCode: tile.crs?.code ?? null,
        ...(keepsSourceGrid(derivation.product) && sourceItem.window ? { window: sourceItem.window } : {}),
        interval: itemInterval(item),
        ...(tile.thumbnail ? { thumbnailUrl: tile.thumbnail.url } : {}),
      };
      if (deps.stacApi && written) {
        const stacApi = deps.stacApi;
        if (!(await stacApi.getCollection(outputs.collection))) {
          const urls = { item: registered.itemUrl, collection: deps.store.url(collectionBlob(outputs.collection)), catalog: deps.store.url(catalogBlob()) };
          await stacApi.updateCollection<StacCollection>(outputs.collection, (existing) => existing ?? collectionOfItems(outputs.collection, [registered], datetime, urls));
        }
        await stacApi.upsertItem(outputs.collection, withoutInferredLinks(item));
      }
      return registered;
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  };
}

/**
 * The source item's acquisition time, so a product of a 2021 DEM is dated 2021: read from the
 * source item's own document in the app's `stac` container (its time fields only; nothing it links
 * is followed). Checked like any time from metadata when the item is built (`buildTileItem`: a
 * value that is not a time is left out with a note). `null` when the source item was dated by its
 * ingestion, or is gone.
 */
async function readSourceAcquisition(store: DerivedDependencies['store'], collection: string, itemId: string): Promise<TileCog['acquired']> {
  const properties = (await store.readJson<Partial<StacItem>>(itemBlob(collection, itemId)))?.value?.properties;
  if (!properties || typeof properties !== 'object') return null;
  const from = properties[datetimeSourceProperty];
  const start = properties.start_datetime ?? properties.datetime;
  const end = properties.end_datetime ?? properties.datetime;
  if (from === ingestionTimeSource || typeof from !== 'string' || typeof start !== 'string' || typeof end !== 'string') return null;
  return { start: boundText(start, 64), end: boundText(end, 64), source: boundText(`source item ${itemId}: ${from}`, 200) };
}

/** The derived item: a tile item of the derived COG, whose lineage names the source item and collection. */
export function buildDerivedItem(input: {
  tile: TileCog;
  outputs: CreateDerivedItemInput['outputs'];
  source: CreateDerivedItemInput['source'];
  sourceOutputs: CreateDerivedItemInput['sourceOutputs'];
  sourceItemId: string;
  derivation: CreateDerivedItemInput['derivation'];
  datetime: string;
  urls: { url: (ref: { container: string; name: string }) => string };
}): StacItem {
  const { tile, outputs, derivation } = input;
  const sourceCollection = input.sourceOutputs.collection;
  const item = buildTileItem({
    collection: outputs.collection,
    tile,
    datetime: input.datetime,
    source: input.source,
    urls: {
      item: input.urls.url(itemBlob(outputs.collection, tile.itemId)),
      collection: input.urls.url(collectionBlob(outputs.collection)),
      catalog: input.urls.url(catalogBlob()),
      parent: input.urls.url(sourceCatalogBlob(outputs.collection, outputs.sourceKey)),
      ...(tile.thumbnail ? { thumbnail: tile.thumbnail.url } : {}),
    },
    software: softwareVersions(),
  });
  const lineage = describeDerivation(derivation, sourceCollection, input.sourceItemId);
  item.properties['processing:lineage'] = lineage;
  item.properties[derivedProductProperty] = derivation.product;
  item.properties[derivedFromProperty] = { collection: sourceCollection, item: input.sourceItemId };
  item.assets['data']!.title = lineage;
  item.links.push(
    { rel: 'derived_from', href: input.urls.url(itemBlob(sourceCollection, input.sourceItemId)), type: mediaTypes.geojson, title: `Source item ${input.sourceItemId}` },
    { rel: 'derived_from', href: input.urls.url(collectionBlob(sourceCollection)), type: mediaTypes.json, title: `Source collection ${sourceCollection}` },
  );
  return item;
}

/** Writes the item unless another source owns its id (OUTPUT_CONFLICT) or a newer version of this source wrote it; `true` when written. */
async function writeDerivedItem(store: DerivedDependencies['store'], collection: string, item: StacItem, owner: string, order: CreateDerivedItemInput['order']): Promise<boolean> {
  let written = false;
  await updateJsonBlob<StacItem>(
    store,
    itemBlob(collection, item.id),
    (existing) => {
      written = false;
      const existingOwner = existing?.properties?.[sourceProperty];
      if (existing && typeof existingOwner === 'string' && existingOwner !== owner) {
        throw new FailureError({ code: 'OUTPUT_CONFLICT', message: `its item id ${item.id} is already taken in collection ${collection} by another source` });
      }
      const existingModified = existing?.properties?.[sourceModifiedProperty];
      if (existing && typeof existingModified === 'string' && compareVersionOrder({ sourceModified: existingModified, jobStarted: String(existing.properties.created) }, order) > 0) return undefined;
      written = true;
      return item;
    },
    { createFirst: true, contentType: mediaTypes.geojson },
  );
  return written;
}

/** A shard without one source: its child link and its summary. */
export function withoutShardSource(shard: StacCatalog, sourceKey: string, sourceCatalogUrl: string): StacCatalog {
  const summaries = { ...(shard[shardSourcesProperty] ?? {}) };
  delete summaries[sourceKey];
  return { ...shard, links: shard.links.filter((link) => !(link.rel === 'child' && link.href === sourceCatalogUrl)), [shardSourcesProperty]: summaries };
}

/**
 * Removes the derived products of a source's items from every collection deriving from its
 * collection: their items (static catalog and STAC API), their COGs and thumbnails, and the
 * derived source's record; a source left with no items leaves its shard and the collection's
 * extent too. Idempotent: what is gone already is skipped.
 */
export function createRemoveDerivedProducts(deps: DerivedDependencies): (input: RemoveDerivedProductsInput) => Promise<RemovedDerivedProducts> {
  const listDerived = createListDerivedCollections(deps);
  return async ({ sourceCollection, sourceKey, sourceItemIds }) => {
    if (findItemIdProblem(sourceKey) || (sourceItemIds ?? []).some((itemId) => findItemIdProblem(itemId))) {
      throw new FailureError({ code: 'INVALID_INPUT', message: 'a source key or item id is not one this app makes' });
    }
    const removes = (itemId: string): boolean => sourceItemIds === undefined || sourceItemIds.includes(itemId);
    const collections: RemovedDerivedProducts['collections'] = [];
    // Down the chain: a collection deriving from a derived one keeps the same source key and item
    // ids. Definitions refuse cycles; the visited set and the bound hold even if one slipped in.
    const visited = new Set<string>([sourceCollection]);
    const pending = [sourceCollection];
    while (pending.length > 0 && visited.size <= maxDerivationChain) {
      const from = pending.shift()!;
      for (const { collection } of await listDerived({ collection: from })) {
        if (visited.has(collection)) continue;
        visited.add(collection);
        pending.push(collection);
        collections.push(await removeFromDerived(deps, collection, sourceKey, removes));
      }
    }
    return { collections };
  };
}

/** One derived collection's items of a source (those `removes` picks), their blobs, and the derived source's record when none is left. */
async function removeFromDerived(deps: DerivedDependencies, collection: string, sourceKey: string, removes: (itemId: string) => boolean): Promise<RemovedDerivedProducts['collections'][number]> {
  const recordRef = sourceRecordBlob(collection, sourceKey);
  const record = (await deps.store.readJson<SourceRecord>(recordRef))?.value;
  if (!record) return { collection, items: 0, blobs: 0 };
  const removing = new Set(record.items.map((item) => item.itemId).filter(removes));
  const gone = record.items.filter((item) => removing.has(item.itemId));
  const kept = record.items.filter((item) => !removing.has(item.itemId));
  const outputs = { collection, sourceKey, version: record.version };
  await Promise.all(gone.map((item) => deps.store.delete(itemBlob(collection, item.itemId))));
  await Promise.all(gone.map((item) => deps.stacApi?.deleteItem(collection, item.itemId)));
  let blobs = 0;
  const collectionUrl = deps.store.url(collectionBlob(collection));
  const catalogUrl = deps.store.url(catalogBlob());
  const shard = shardOf(sourceKey);
  const datetime = new Date().toISOString();
  if (kept.length === 0) {
    // Every version folder of the source here: the published one, and replaced ones still in their grace period.
    const folder = `${collection}/${sourceKey}/`;
    const names = await deps.store.list(containers.cogs, folder);
    const versions = new Set([record.version, ...names.map((name) => name.slice(folder.length).split('/')[0]!).filter((version) => version.length > 0)]);
    for (const version of versions) {
      blobs += await deleteVersionBlobs(deps.store, { collection, sourceKey, version });
      await deps.retired.forget({ collection, sourceKey, version });
    }
    await deleteSourceCatalogPages(deps.store, collection, sourceKey, record.version);
    await deps.store.delete(sourceCatalogBlob(collection, sourceKey));
    await deps.store.delete(recordRef);
    const sourceCatalogUrl = deps.store.url(sourceCatalogBlob(collection, sourceKey));
    await updateJsonBlob<StacCatalog>(deps.store, shardCatalogBlob(collection, shard), (existing) => (existing ? withoutShardSource(existing, sourceKey, sourceCatalogUrl) : undefined), { compact: true });
  } else {
    await Promise.all(gone.flatMap((item) => [deps.store.delete(cogBlob(outputs, item.itemId)), deps.store.delete(thumbnailBlob(outputs, item.itemId))]));
    blobs = gone.length;
    await updateJsonBlob<SourceRecord>(deps.store, recordRef, (current) => (current ? { ...current, items: current.items.filter((item) => !removing.has(item.itemId)) } : undefined));
    await writeSourceCatalog(deps.store, collection, sourceKey, record.version, undefined, catalogUrl);
    await writeShardCatalog(deps.store, collection, shard, [sourceKey], datetime, { collectionUrl, catalogUrl });
  }
  const { value: updated } = await updateJsonBlob<StacCollection>(deps.store, collectionBlob(collection), async (existing) => {
    if (!existing) return undefined;
    const shardRef = shardCatalogBlob(collection, shard);
    const current = (await deps.store.readJson<StacCatalog>(shardRef))?.value;
    return mergeCollection(existing, { collectionId: collection, datetime, urls: { collection: collectionUrl, catalog: catalogUrl }, shards: [{ shard, url: deps.store.url(shardRef), summary: current ? summarizeShard(current) : summarizeItems([], datetime) }] });
  }, { compact: true });
  if (updated) await deps.stacApi?.updateCollection<StacCollection>(collection, () => collectionForApi(updated));
  return { collection, items: gone.length, blobs };
}

/** How many collections a removal walks down a derivation chain at most. */
const maxDerivationChain = 64;
