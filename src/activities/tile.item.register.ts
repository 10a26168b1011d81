/**
 * Activity: write the STAC item of one tile COG as soon as the COG exists. Idempotent (same input,
 * same blob). Item ids belong to one source: an item written from another source is never
 * overwritten (OUTPUT_CONFLICT), and an item written by a newer version of the same source is left
 * as it is (this job's outcome is then decided at finalize).
 */
import type { RegisteredItem, RegisterTileItemInput } from '../pipeline/contracts.js';
import { FailureError } from '../pipeline/failure.js';
import { catalogBlob, collectionBlob, itemBlob, sourceCatalogBlob } from '../stac/catalog.layout.js';
import { collectionOfItems } from '../stac/collection.build.js';
import { buildTileItem, itemInterval } from '../stac/item.build.js';
import { softwareVersions } from '../stac/software.js';
import { withoutInferredLinks } from '../stac/stac.api.client.js';
import { compareVersionOrder, sourceModifiedProperty, sourcePathOf, sourceProperty } from '../stac/source.record.js';
import { mediaTypes, type StacCollection, type StacItem } from '../stac/stac.types.js';
import type { ActivityDependencies } from './activity.dependencies.js';
import { updateJsonBlob } from './json.blob.update.js';

export type RegisterTileItem = (input: RegisterTileItemInput) => Promise<RegisteredItem>;

export function createRegisterTileItem(deps: Pick<ActivityDependencies, 'store' | 'stacApi'>): RegisterTileItem {
  return async ({ outputs, source, tile, datetime, order }) => {
    const { collection } = outputs;
    const ref = itemBlob(collection, tile.itemId);
    const urls = {
      item: deps.store.url(ref),
      collection: deps.store.url(collectionBlob(collection)),
      catalog: deps.store.url(catalogBlob()),
      parent: deps.store.url(sourceCatalogBlob(collection, outputs.sourceKey)),
      source: deps.store.url({ container: source.container, name: source.name }),
      ...(tile.thumbnail ? { thumbnail: tile.thumbnail.url } : {}),
    };
    const item = buildTileItem({ collection, tile, datetime, source, urls, software: softwareVersions() });
    const owner = sourcePathOf(source);
    // Most items are new, so the first attempt creates without reading; only a blob already there
    // (a re-run, a newer version, another source) makes the next attempts read it first.
    let written = false;
    await updateJsonBlob<StacItem>(
      deps.store,
      ref,
      (existing) => {
        written = false;
        // Whatever is stored there is read defensively: it may not be one of our items at all.
        const existingOwner = existing?.properties?.[sourceProperty];
        if (existing && typeof existingOwner === 'string' && existingOwner !== owner) {
          throw new FailureError({
            code: 'OUTPUT_CONFLICT',
            message: `its item id ${tile.itemId} is already taken in collection ${collection} by another source; rename the blob and upload it again`,
          });
        }
        const existingModified = existing?.properties?.[sourceModifiedProperty];
        if (existing && typeof existingModified === 'string' && compareVersionOrder({ sourceModified: existingModified, jobStarted: String(existing.properties.created) }, order) > 0) return undefined;
        written = true;
        return item;
      },
      { createFirst: true, contentType: mediaTypes.geojson },
    );
    const registered: RegisteredItem = {
      itemId: tile.itemId,
      itemUrl: urls.item,
      cogUrl: tile.blob.url,
      cogBytes: tile.size,
      bbox: tile.bbox,
      projCode: tile.crs?.code ?? null,
      window: tile.window,
      interval: itemInterval(item),
      ...(tile.thumbnail ? { thumbnailUrl: tile.thumbnail.url } : {}),
    };
    if (deps.stacApi && written) {
      // Items go out as soon as their COG exists, before finalize: the API needs the collection first.
      if (!(await deps.stacApi.getCollection(collection))) {
        await deps.stacApi.updateCollection<StacCollection>(collection, (existing) =>
          existing ?? collectionOfItems(collection, [registered], datetime, urls),
        );
      }
      await deps.stacApi.upsertItem(collection, withoutInferredLinks(item));
    }
    return registered;
  };
}
