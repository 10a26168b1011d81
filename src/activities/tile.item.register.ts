/** Activity: write the STAC item of one tile COG as soon as the COG exists. Idempotent (same input, same blob). */
import type { RegisteredItem, RegisterTileItemInput } from '../pipeline/contracts.js';
import { catalogBlob, collectionBlob, itemBlob } from '../stac/catalog.layout.js';
import { mergeCollection } from '../stac/collection.build.js';
import { buildTileItem, itemInterval } from '../stac/item.build.js';
import { withoutInferredLinks } from '../stac/stac.api.client.js';
import { mediaTypes, type StacCollection } from '../stac/stac.types.js';
import type { ActivityDependencies } from './activity.dependencies.js';

export type RegisterTileItem = (input: RegisterTileItemInput) => Promise<RegisteredItem>;

export function createRegisterTileItem(deps: Pick<ActivityDependencies, 'store' | 'stacApi'>): RegisterTileItem {
  return async ({ collection, source, tile, datetime }) => {
    const ref = itemBlob(collection, tile.itemId);
    const urls = {
      item: deps.store.url(ref),
      collection: deps.store.url(collectionBlob(collection)),
      catalog: deps.store.url(catalogBlob()),
      ...(tile.thumbnail ? { thumbnail: tile.thumbnail.url } : {}),
    };
    const item = buildTileItem({ collection, tile, datetime, sourceName: `${source.container}/${source.name}`, urls });
    const { url } = await deps.store.writeJson(ref, item, {}, mediaTypes.geojson);
    const registered: RegisteredItem = { itemId: tile.itemId, itemUrl: url, cogUrl: tile.blob.url, cogBytes: tile.size, bbox: tile.bbox, projCode: tile.crs?.code ?? null, window: tile.window, interval: itemInterval(item) };
    if (deps.stacApi) {
      // Items go out as soon as their COG exists, before finalize: the API needs the collection first.
      if (!(await deps.stacApi.getCollection(collection))) {
        await deps.stacApi.updateCollection<StacCollection>(collection, (existing) =>
          existing ?? withoutInferredLinks(mergeCollection(undefined, { collectionId: collection, items: [registered], datetime, urls })),
        );
      }
      await deps.stacApi.upsertItem(collection, withoutInferredLinks(item));
    }
    return registered;
  };
}
