/**
 * Where each output lives in Blob Storage. One place, so a retry writes to the same name
 * (overwrite, not duplicate) and links point where things really are.
 */
import { containers } from '../config.js';
import { slugifyBlobName } from '../pipeline/ids.js';
import type { BlobRef } from '../storage/blob.store.js';

/** The root catalog of the static STAC catalog, at the top of the `stac` container. */
export function catalogBlob(): BlobRef {
  return { container: containers.stac, name: 'catalog.json' };
}

export function collectionBlob(collection: string): BlobRef {
  return { container: containers.stac, name: `${collection}/collection.json` };
}

export function itemBlob(collection: string, itemId: string): BlobRef {
  return { container: containers.stac, name: `${collection}/${itemId}/${itemId}.json` };
}

/**
 * The source's folder name under its collection: the whole blob path slugified (as item ids
 * are), so `a/x.tif` and `b/x.tif` in one collection never share a VRT or thumbnails.
 */
export function sourceStem(sourceName: string): string {
  return slugifyBlobName(sourceName);
}

/** `<collection>/<source stem>/<itemId>.tif` in the `cogs` container. */
export function cogBlob(collection: string, sourceName: string, itemId: string): BlobRef {
  return { container: containers.cogs, name: `${collection}/${sourceStem(sourceName)}/${itemId}.tif` };
}

/** A thumbnail next to its COG. */
export function thumbnailBlob(collection: string, sourceName: string, itemId: string): BlobRef {
  return { container: containers.cogs, name: `${collection}/${sourceStem(sourceName)}/${itemId}.png` };
}

/** The VRT mosaic of one source's tiles, next to them (tile paths in it are relative). */
export function mosaicBlob(collection: string, sourceName: string): BlobRef {
  const stem = sourceStem(sourceName);
  return { container: containers.cogs, name: `${collection}/${stem}/${stem}.vrt` };
}
