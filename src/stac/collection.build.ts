/**
 * Builds and merges the collection and the root catalog. Pure: the activity reads the current
 * documents, calls these, and writes the result under an ETag condition.
 */
import type { RegisteredItem } from '../pipeline/contracts.js';
import { unionLonLatBboxes } from '../raster/footprint.js';
import type { Bbox } from '../raster/geo.transform.js';
import { extensionSchemas, mediaTypes, stacVersion, type StacAsset, type StacCatalog, type StacCollection, type StacLink } from './stac.types.js';

export const rootCatalogId = 'raster-ingest';

export interface CollectionUrls {
  collection: string;
  catalog: string;
}

export interface MergeCollectionInput {
  collectionId: string;
  items: readonly RegisteredItem[];
  /** The ingestion time, from the orchestration clock: the time of items that carry no `interval`. */
  datetime: string;
  urls: CollectionUrls;
  /** EPSG codes (or `null`) of the items being added, summarised as `proj:code`. */
  projCodes?: ReadonlyArray<string | null>;
  /** Collection-level assets to add or replace (e.g. a source's VRT mosaic), by key. */
  assets?: Record<string, StacAsset>;
  /** Item links to drop: items an earlier version of a source published that the new one does not. */
  removedItemUrls?: readonly string[];
  /**
   * When items were removed the extent may shrink, so it is computed afresh from every item the
   * collection still publishes (all sources' records) instead of grown from the existing one.
   */
  extentFrom?: readonly RegisteredItem[];
}

const worldBbox: Bbox = [-180, -90, 180, 90];

function isBbox(value: unknown): value is Bbox {
  return Array.isArray(value) && value.length === 4 && value.every((n) => typeof n === 'number' && Number.isFinite(n));
}

/** The interval covering `existing` and the items' times (acquisition times where known, else the ingestion time). */
function mergeInterval(existing: [string | null, string | null] | undefined, items: readonly RegisteredItem[], datetime: string): [string, string] {
  const itemTimes = items.length > 0 ? items.flatMap((item) => item.interval ?? [datetime]) : [datetime];
  const times = [...itemTimes, existing?.[0], existing?.[1]].filter((t): t is string => typeof t === 'string');
  const sorted = times.sort((a, b) => Date.parse(a) - Date.parse(b));
  return [sorted[0]!, sorted[sorted.length - 1]!];
}

/** Links of `existing` plus `added`, keeping the first of each (rel, href) pair. */
export function unionLinks(existing: readonly StacLink[], added: readonly StacLink[]): StacLink[] {
  const seen = new Set<string>();
  const out: StacLink[] = [];
  for (const link of [...existing, ...added]) {
    const key = `${link.rel} ${link.href}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(link);
  }
  return out;
}

/**
 * The collection after adding `items`: extent grown to cover them (bbox union across the
 * antimeridian when that is smaller), temporal interval widened, one item link per item (no
 * duplicates, so re-ingesting is idempotent and a second source adds its items).
 */
export function mergeCollection(existing: StacCollection | undefined, input: MergeCollectionInput): StacCollection {
  const previousBbox = existing?.extent.spatial.bbox[0];
  const recomputed = input.extentFrom !== undefined;
  const extentItems = input.extentFrom ?? input.items;
  const keepPrevious = !recomputed && isBbox(previousBbox) && existing !== undefined && countItemLinks(existing) > 0;
  const bboxes: Bbox[] = [...(keepPrevious ? [previousBbox] : []), ...extentItems.map((item) => item.bbox)];
  const bbox = unionLonLatBboxes(bboxes) ?? worldBbox;
  const interval = mergeInterval(recomputed ? undefined : existing?.extent.temporal.interval[0], extentItems, input.datetime);
  const selfLinks: StacLink[] = [
    { rel: 'self', href: input.urls.collection, type: mediaTypes.json },
    { rel: 'root', href: input.urls.catalog, type: mediaTypes.json },
    { rel: 'parent', href: input.urls.catalog, type: mediaTypes.json },
  ];
  const itemLinks: StacLink[] = input.items.map((item) => ({ rel: 'item', href: item.itemUrl, type: mediaTypes.geojson, title: item.itemId }));
  const removed = new Set(input.removedItemUrls ?? []);
  const keptLinks = (existing?.links ?? []).filter((link) => !['self', 'root', 'parent'].includes(link.rel) && !(link.rel === 'item' && removed.has(link.href)));
  const links = unionLinks(selfLinks, unionLinks(keptLinks, itemLinks));
  const previousCodes = recomputed ? [] : ((existing?.summaries?.['proj:code'] as Array<string | null> | undefined) ?? []);
  const addedCodes = recomputed ? extentItems.map((item) => item.projCode ?? null) : (input.projCodes ?? []);
  const codes = new Set<string | null>([...previousCodes, ...addedCodes]);
  const summaries: Record<string, unknown> = { ...(existing?.summaries ?? {}) };
  if (codes.size > 0) summaries['proj:code'] = [...codes].sort((a, b) => String(a).localeCompare(String(b)));
  return {
    type: 'Collection',
    stac_version: stacVersion,
    stac_extensions: [...new Set([...(existing?.stac_extensions ?? []), ...(codes.size > 0 ? [extensionSchemas.projection] : [])])],
    id: input.collectionId,
    title: existing?.title ?? input.collectionId,
    description: existing?.description ?? `Cloud Optimized GeoTIFF tiles of rasters ingested into "${input.collectionId}".`,
    license: existing?.license ?? 'other',
    extent: { spatial: { bbox: [bbox] }, temporal: { interval: [interval] } },
    summaries,
    links,
    ...(existing?.assets || input.assets ? { assets: { ...(existing?.assets ?? {}), ...(input.assets ?? {}) } } : {}),
    item_assets: {
      data: { type: mediaTypes.cog, roles: ['data'], title: 'Cloud Optimized GeoTIFF tile' },
      thumbnail: { type: mediaTypes.png, roles: ['thumbnail'], title: 'Thumbnail' },
    },
  };
}

export function countItemLinks(collection: StacCollection): number {
  return collection.links.filter((link) => link.rel === 'item').length;
}

/** The root catalog with a child link to `collectionUrl` (added once). */
export function mergeCatalog(existing: StacCatalog | undefined, catalogUrl: string, child: { id: string; url: string }): StacCatalog {
  const own: StacLink[] = [
    { rel: 'self', href: catalogUrl, type: mediaTypes.json },
    { rel: 'root', href: catalogUrl, type: mediaTypes.json },
  ];
  const kept = (existing?.links ?? []).filter((link) => link.rel !== 'self' && link.rel !== 'root');
  return {
    type: 'Catalog',
    stac_version: stacVersion,
    id: existing?.id ?? rootCatalogId,
    title: existing?.title ?? 'Ingested rasters',
    description: existing?.description ?? 'Cloud Optimized GeoTIFFs made from uploaded rasters, one collection per ingestion target.',
    links: unionLinks(own, unionLinks(kept, [{ rel: 'child', href: child.url, type: mediaTypes.json, title: child.id }])),
  };
}
