/** Activity: write the STAC item of one tile COG as soon as the COG exists. Idempotent (same input, same blob). */
import type { RegisteredItem, RegisterTileItemInput } from '../pipeline/contracts.js';
import { catalogBlob, collectionBlob, itemBlob } from '../stac/catalog.layout.js';
import { buildTileItem } from '../stac/item.build.js';
import { mediaTypes } from '../stac/stac.types.js';
import type { ActivityDependencies } from './activity.dependencies.js';

export type RegisterTileItem = (input: RegisterTileItemInput) => Promise<RegisteredItem>;

export function createRegisterTileItem(deps: Pick<ActivityDependencies, 'store'>): RegisterTileItem {
  return async ({ collection, source, tile, datetime }) => {
    const ref = itemBlob(collection, tile.itemId);
    const item = buildTileItem({
      collection,
      tile,
      datetime,
      sourceName: `${source.container}/${source.name}`,
      urls: {
        item: deps.store.url(ref),
        collection: deps.store.url(collectionBlob(collection)),
        catalog: deps.store.url(catalogBlob()),
        ...(tile.thumbnail ? { thumbnail: tile.thumbnail.url } : {}),
      },
    });
    const { url } = await deps.store.writeJson(ref, item, {}, mediaTypes.geojson);
    return { itemId: tile.itemId, itemUrl: url, cogUrl: tile.blob.url, cogBytes: tile.size, bbox: tile.bbox, projCode: tile.crs?.code ?? null, window: tile.window };
  };
}
