/**
 * Where each output lives in Blob Storage. One place, so a retry writes to the same name
 * (overwrite, not duplicate) and links point where things really are. The scheme is documented
 * in docs/raster-output.md ("Output names").
 */
import { createHash } from 'node:crypto';
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

/**
 * The shard a source's catalog hangs under: the first two hex digits of the SHA-256 of its source
 * key, so a collection has at most 256 shards however many sources it holds, and sources spread
 * evenly over them.
 */
export function shardOf(sourceKey: string): string {
  return createHash('sha256').update(sourceKey).digest('hex').slice(0, 2);
}

/** How many shards a collection can have (two hex digits). */
export const shardCount = 256;

/** A shard catalog: links the catalogs of the sources in the shard (bounded by sources / 256). */
export function shardCatalogBlob(collection: string, shard: string): BlobRef {
  return { container: containers.stac, name: `${collection}/catalogs/${shard}/catalog.json` };
}

/** A source's catalog: links that source's items and holds its VRT mosaic; the items' `parent`. */
export function sourceCatalogBlob(collection: string, sourceKey: string): BlobRef {
  return { container: containers.stac, name: `${collection}/catalogs/${shardOf(sourceKey)}/${sourceKey}/catalog.json` };
}

/**
 * One page of a large source's item links (see `sourceCatalogPageSize`), in a folder per version so
 * a version's pages are written before its source catalog links them and go when it is replaced.
 */
export function sourceCatalogPageBlob(collection: string, sourceKey: string, version: string, page: number): BlobRef {
  return { container: containers.stac, name: `${sourceCatalogPagesPrefix(collection, sourceKey, version).name}items-${page}.json` };
}

export function sourceCatalogPagesPrefix(collection: string, sourceKey: string, version: string): BlobRef {
  return { container: containers.stac, name: `${collection}/catalogs/${shardOf(sourceKey)}/${sourceKey}/${version}/` };
}

/** Item ids are unique per source within a collection (they start with the source key). */
export function itemBlob(collection: string, itemId: string): BlobRef {
  return { container: containers.stac, name: `${collection}/${itemId}/${itemId}.json` };
}

/** What the collection currently publishes of one source: the version, its order and its items. */
export function sourceRecordBlob(collection: string, sourceKey: string): BlobRef {
  return { container: containers.stac, name: `${collection}/sources/${sourceKey}.json` };
}

/**
 * What was removed of a source whose blob was deleted (versions, when, by which removal), kept
 * after its record is gone so the views of its jobs say "source removed". Never linked from STAC.
 */
export function removedSourceBlob(collection: string, sourceKey: string): BlobRef {
  return { container: containers.stac, name: `${collection}/removed/${sourceKey}.json` };
}

/** Where source records are, to find the sources of a collection written by the earlier layout (once). */
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

/** The asset key of a source's VRT mosaic, in its source catalog. */
export const sourceMosaicAssetKey = 'mosaic';

/**
 * The collection's VRT mosaic of one CRS group (`epsg-32633`, or `wkt-<hash>` for a CRS without a
 * code), at the top of the collection's folder in `cogs`, so its tile paths are relative and
 * point down (`<source key>/<version>/<item>.tif`).
 */
export function collectionMosaicBlob(collection: string, group: string): BlobRef {
  return { container: containers.cogs, name: `${collection}/${collection}.mosaic.${group}.vrt` };
}

/** The prefix every collection mosaic VRT of the collection starts with (to find stale ones). */
export function collectionMosaicPrefix(collection: string): BlobRef {
  return { container: containers.cogs, name: `${collection}/${collection}.mosaic.` };
}

/** The low-resolution overview COG of the whole collection. */
export function collectionOverviewBlob(collection: string): BlobRef {
  return { container: containers.cogs, name: `${collection}/${collection}.overview.tif` };
}
