/**
 * Which blobs of the `cogs` container are tile COGs: the collection's overview COG and its
 * mosaic's cell overviews (GeoTIFFs too) sit in the same folder.
 */
import { mosaicStatePrefix } from '../../src/activities/collection.mosaic.js';
import { collectionOverviewBlob } from '../../src/stac/catalog.layout.js';

export function isTileCog(collection: string, name: string): boolean {
  return name.endsWith('.tif') && name !== collectionOverviewBlob(collection).name && !name.startsWith(mosaicStatePrefix(collection));
}
