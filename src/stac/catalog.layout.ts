/**
 * Where each output lives in Blob Storage. One place, so a retry writes to the same name
 * (overwrite, not duplicate) and links point where things really are. The scheme is documented
 * in docs/raster-output.md ("Output names").
 */
import { containers } from '../config.js';
import type { OutputLocation } from '../pipeline/contracts.js';
import type { BlobRef } from '../storage/blob.store.js';

/** The root catalog of the static STAC catalog, at the top of the `stac` container. */
export function catalogBlob(): BlobRef {
  return { container: containers.stac, name: 'catalog.json' };
}

export function collectionBlob(collection: string): BlobRef {
  return { container: containers.stac, name: `${collection}/collection.json` };
}

/** Item ids are unique per source within a collection (they start with the source key). */
export function itemBlob(collection: string, itemId: string): BlobRef {
  return { container: containers.stac, name: `${collection}/${itemId}/${itemId}.json` };
}

/** What the collection currently publishes of one source: the version, its order and its items. */
export function sourceRecordBlob(collection: string, sourceKey: string): BlobRef {
  return { container: containers.stac, name: `${collection}/sources/${sourceKey}.json` };
}

/** The prefix under which source records are listed. */
export function sourceRecordsPrefix(collection: string): BlobRef {
  return { container: containers.stac, name: `${collection}/sources/` };
}

/** The folder of one version of one source's tiles: `<collection>/<source key>/<version>/` in `cogs`. */
export function versionFolder(outputs: OutputLocation): BlobRef {
  return { container: containers.cogs, name: `${outputs.collection}/${outputs.sourceKey}/${outputs.version}/` };
}

export function cogBlob(outputs: OutputLocation, itemId: string): BlobRef {
  const folder = versionFolder(outputs);
  return { container: folder.container, name: `${folder.name}${itemId}.tif` };
}

/** A thumbnail next to its COG. */
export function thumbnailBlob(outputs: OutputLocation, itemId: string): BlobRef {
  const folder = versionFolder(outputs);
  return { container: folder.container, name: `${folder.name}${itemId}.png` };
}

/** The VRT mosaic of one source's tiles, next to them (tile paths in it are relative). */
export function mosaicBlob(outputs: OutputLocation): BlobRef {
  const folder = versionFolder(outputs);
  return { container: folder.container, name: `${folder.name}${outputs.sourceKey}.vrt` };
}

/** The collection asset key of a source's VRT mosaic. */
export function mosaicAssetKey(sourceKey: string): string {
  return `mosaic-${sourceKey}`;
}
