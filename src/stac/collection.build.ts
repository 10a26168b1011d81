/**
 * Builds and merges the static catalog's documents: root catalog → collection → shard catalogs →
 * source catalogs → items (see docs/raster-output.md, "STAC"). Pure: the activity reads the current
 * documents, calls these, and writes the result under an ETag condition.
 */
import type { RegisteredItem } from '../pipeline/contracts.js';
import { unionLonLatBboxes } from '../raster/footprint.js';
import type { Bbox } from '../raster/geo.transform.js';
import { inferredLinkRels } from './stac.api.client.js';
import {
  collectionShardsProperty,
  extensionSchemas,
  mediaTypes,
  shardSourcesProperty,
  stacVersion,
  type ExtentSummary,
  type StacAsset,
  type StacCatalog,
  type StacCollection,
  type StacLink,
} from './stac.types.js';

export const rootCatalogId = 'raster-ingest';

export interface CollectionUrls {
  collection: string;
  catalog: string;
}

export interface CatalogUrls {
  /** The document's own URL. */
  self: string;
  parent: string;
  root: string;
}

const worldBbox: Bbox = [-180, -90, 180, 90];

function sortedCodes(codes: Iterable<string | null>): Array<string | null> {
  return [...new Set(codes)].sort((a, b) => String(a).localeCompare(String(b)));
}

function timeSpan(times: readonly string[]): [string, string] | undefined {
  if (times.length === 0) return undefined;
  const sorted = [...times].sort((a, b) => Date.parse(a) - Date.parse(b));
  return [sorted[0]!, sorted[sorted.length - 1]!];
}

/** Degrees to 1e-7 (about a centimetre), rounded outwards so the box still covers what it summarizes. */
function outwardBbox([west, south, east, north]: Bbox): Bbox {
  const scale = 1e7;
  return [Math.floor(west * scale) / scale, Math.floor(south * scale) / scale, Math.ceil(east * scale) / scale, Math.ceil(north * scale) / scale];
}

/**
 * What `items` cover: their count, bbox (a union across the antimeridian when that is smaller),
 * time span (acquisition times where known, else `datetime`, the ingestion time) and CRS codes.
 */
export function summarizeItems(items: readonly RegisteredItem[], datetime: string): ExtentSummary {
  const union = unionLonLatBboxes(items.map((item) => item.bbox));
  const bbox = union ? outwardBbox(union) : undefined;
  const interval = timeSpan(items.flatMap((item) => item.interval ?? [datetime]));
  return { items: items.length, ...(bbox ? { bbox } : {}), ...(items.length > 0 && interval ? { interval } : {}), projCodes: sortedCodes(items.map((item) => item.projCode ?? null)) };
}

/** The summary of several parts: counts added, bboxes and time spans joined, codes united. */
export function combineSummaries(parts: readonly ExtentSummary[]): ExtentSummary {
  const bbox = unionLonLatBboxes(parts.flatMap((part) => (part.bbox ? [part.bbox] : [])));
  const interval = timeSpan(parts.flatMap((part) => part.interval ?? []));
  return {
    items: parts.reduce((sum, part) => sum + part.items, 0),
    ...(bbox ? { bbox } : {}),
    ...(interval ? { interval } : {}),
    projCodes: sortedCodes(parts.flatMap((part) => part.projCodes)),
  };
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

function ownLinks(urls: CatalogUrls): StacLink[] {
  return [
    { rel: 'self', href: urls.self, type: mediaTypes.json },
    { rel: 'root', href: urls.root, type: mediaTypes.json },
    { rel: 'parent', href: urls.parent, type: mediaTypes.json },
  ];
}

function withoutOwnLinks(links: readonly StacLink[] | undefined): StacLink[] {
  return (links ?? []).filter((link) => !['self', 'root', 'parent'].includes(link.rel));
}

/** Most item links in one catalog document: a source with more tiles gets pages of this many. */
export const sourceCatalogPageSize = 250;

export interface SourceCatalogInput {
  sourceKey: string;
  /** `<container>/<blob path>`: the catalog's title. */
  source: string;
  items: readonly RegisteredItem[];
  urls: CatalogUrls;
  /** The source's mosaic: its VRT, or for a source of one tile that tile's COG. */
  mosaic?: StacAsset;
  /** URLs of the item pages, by page number: used when the source has more than `sourceCatalogPageSize` items. */
  pageUrl: (page: number) => string;
}

/** A source's catalog and, for a source with many tiles, its pages of item links. */
export interface SourceCatalogDocuments {
  catalog: StacCatalog;
  pages: Array<{ page: number; document: StacCatalog }>;
}

/**
 * The catalog of one source: one `item` link per item of the version the collection publishes
 * (written whole from the source's record, so a replaced version's items are gone) and the
 * source's mosaic (a `related` link: its VRT, or a one-tile source's COG). A source with more
 * than `sourceCatalogPageSize` items links pages of that many instead (`child` links), so no
 * document grows with a source's tile count either.
 */
export function buildSourceCatalog(input: SourceCatalogInput): SourceCatalogDocuments {
  const itemLinks: StacLink[] = input.items.map((item) => ({ rel: 'item', href: item.itemUrl, type: mediaTypes.geojson, title: item.itemId }));
  const paged = itemLinks.length > sourceCatalogPageSize;
  const pages = paged
    ? Array.from({ length: Math.ceil(itemLinks.length / sourceCatalogPageSize) }, (_, page) => {
        const links = itemLinks.slice(page * sourceCatalogPageSize, (page + 1) * sourceCatalogPageSize);
        const document: StacCatalog = {
          type: 'Catalog',
          stac_version: stacVersion,
          id: `${input.sourceKey}-items-${page}`,
          title: `${input.source}, tiles ${page * sourceCatalogPageSize + 1}–${page * sourceCatalogPageSize + links.length}`,
          description: `Tiles ${page * sourceCatalogPageSize + 1} to ${page * sourceCatalogPageSize + links.length} of ${input.source}.`,
          links: [...ownLinks({ self: input.pageUrl(page), parent: input.urls.self, root: input.urls.root }), ...links],
        };
        return { page, document };
      })
    : [];
  const catalog: StacCatalog = {
    type: 'Catalog',
    stac_version: stacVersion,
    id: input.sourceKey,
    title: input.source,
    description: `Tiles of ${input.source}, as Cloud Optimized GeoTIFFs.`,
    links: [
      ...ownLinks(input.urls),
      // A link, not an asset: STAC Browser 4.0.1 fails to render a catalog that has assets.
      ...(input.mosaic ? [{ rel: 'related', href: input.mosaic.href, type: input.mosaic.type, ...(input.mosaic.title ? { title: input.mosaic.title } : {}) }] : []),
      ...(paged ? pages.map(({ page, document }) => ({ rel: 'child', href: input.pageUrl(page), type: mediaTypes.json, title: document.title! })) : itemLinks),
    ],
  };
  return { catalog, pages };
}

export interface ShardSource {
  sourceKey: string;
  title: string;
  url: string;
  summary: ExtentSummary;
}

/**
 * A shard catalog after (re)publishing some of its sources: a `child` link per source catalog
 * (added once) and, in this project's field, a summary per source, so the shard's own summary is
 * recomputed from this document alone when a source shrinks.
 */
export function mergeShardCatalog(existing: StacCatalog | undefined, input: { shard: string; collectionId: string; urls: CatalogUrls; sources: readonly ShardSource[] }): StacCatalog {
  const childLinks: StacLink[] = input.sources.map((source) => ({ rel: 'child', href: source.url, type: mediaTypes.json, title: source.title }));
  const summaries = { ...(existing?.[shardSourcesProperty] ?? {}) };
  for (const source of input.sources) summaries[source.sourceKey] = source.summary;
  return {
    type: 'Catalog',
    stac_version: stacVersion,
    id: `${input.collectionId}-${input.shard}`,
    title: existing?.title ?? `Sources ${input.shard}`,
    description: existing?.description ?? `The sources of "${input.collectionId}" whose source key hashes to ${input.shard}.`,
    links: unionLinks(ownLinks(input.urls), unionLinks(withoutOwnLinks(existing?.links), childLinks)),
    [shardSourcesProperty]: summaries,
  };
}

/**
 * A shard catalog without one source (deleted): its child link and summary go; `undefined` when
 * the shard did not link it. The shard's own summary follows from the sources left.
 */
export function withoutShardSource(existing: StacCatalog, sourceKey: string, sourceCatalogUrl: string): StacCatalog | undefined {
  const summaries = { ...(existing[shardSourcesProperty] ?? {}) };
  const linked = existing.links.some((link) => link.rel === 'child' && link.href === sourceCatalogUrl);
  if (!linked && !(sourceKey in summaries)) return undefined;
  delete summaries[sourceKey];
  return { ...existing, links: existing.links.filter((link) => !(link.rel === 'child' && link.href === sourceCatalogUrl)), [shardSourcesProperty]: summaries };
}

/** Whether a shard catalog still links any source. */
export function shardHasSources(shard: StacCatalog): boolean {
  return Object.keys(shard[shardSourcesProperty] ?? {}).length > 0 || shard.links.some((link) => link.rel === 'child');
}

/** The summary of a whole shard, from its per-source summaries. */
export function summarizeShard(shard: StacCatalog): ExtentSummary {
  return combineSummaries(Object.values(shard[shardSourcesProperty] ?? {}));
}

export interface MergeCollectionInput {
  collectionId: string;
  /** The ingestion time: the temporal extent of a collection with no items yet. */
  datetime: string;
  urls: CollectionUrls;
  /** The shards this publication touched, each with its current summary. */
  shards: ReadonlyArray<{ shard: string; url: string; summary: ExtentSummary }>;
  /** Collection-level assets to add or replace (the collection mosaic and overview), by key. */
  assets?: Record<string, StacAsset>;
  /** Shards left empty (their last source was removed): their links and summaries go. */
  removedShards?: ReadonlyArray<{ shard: string; url: string }>;
}

/**
 * The collection after some shards changed: a `child` link per shard (at most 256), a summary per
 * shard in this project's field, and extent, `proj:code` summary and item count recomputed from
 * those summaries. Exact after a replacement shrank a source, yet it reads no other document.
 */
export function mergeCollection(existing: StacCollection | undefined, input: MergeCollectionInput): StacCollection {
  const shardSummaries = { ...(existing?.[collectionShardsProperty] ?? {}) };
  for (const shard of input.shards) shardSummaries[shard.shard] = shard.summary;
  for (const { shard } of input.removedShards ?? []) delete shardSummaries[shard];
  const removedLinks = new Set((input.removedShards ?? []).map((shard) => shard.url));
  const total = combineSummaries(Object.values(shardSummaries));
  const childLinks: StacLink[] = input.shards.map((shard) => ({ rel: 'child', href: shard.url, type: mediaTypes.json, title: `Sources ${shard.shard}` }));
  // Per-source mosaic assets of the earlier layout moved to the source catalogs.
  const keptAssets = Object.fromEntries(Object.entries(existing?.assets ?? {}).filter(([key]) => !key.startsWith('mosaic-')));
  const assets = { ...keptAssets, ...(input.assets ?? {}) };
  const summaries: Record<string, unknown> = { ...(existing?.summaries ?? {}) };
  if (total.projCodes.length > 0) summaries['proj:code'] = total.projCodes;
  return {
    type: 'Collection',
    stac_version: stacVersion,
    stac_extensions: [...new Set([...(existing?.stac_extensions ?? []), ...(total.projCodes.length > 0 ? [extensionSchemas.projection] : [])])],
    id: input.collectionId,
    title: existing?.title ?? input.collectionId,
    description: existing?.description ?? `Cloud Optimized GeoTIFF tiles of rasters ingested into "${input.collectionId}".`,
    license: existing?.license ?? 'other',
    extent: { spatial: { bbox: [total.bbox ?? worldBbox] }, temporal: { interval: [total.interval ?? [input.datetime, input.datetime]] } },
    summaries,
    links: unionLinks(
      ownLinks({ self: input.urls.collection, parent: input.urls.catalog, root: input.urls.catalog }),
      // Item links of the earlier layout are dropped: items are reached through the shards now.
      unionLinks(withoutOwnLinks(existing?.links).filter((link) => link.rel !== 'item' && !(link.rel === 'child' && removedLinks.has(link.href))), childLinks),
    ),
    ...(Object.keys(assets).length > 0 ? { assets } : {}),
    item_assets: {
      data: { type: mediaTypes.cog, roles: ['data'], title: 'Cloud Optimized GeoTIFF tile' },
      thumbnail: { type: mediaTypes.png, roles: ['thumbnail'], title: 'Thumbnail' },
    },
    [collectionShardsProperty]: shardSummaries,
  };
}

/** How many items the collection publishes, from its shard summaries. */
export function collectionItemCount(collection: StacCollection): number {
  return combineSummaries(Object.values(collection[collectionShardsProperty] ?? {})).items;
}

/**
 * The collection as a STAC API gets it: without the links the API makes itself, the static
 * catalog's shard links and this project's bookkeeping of them.
 */
export function collectionForApi(collection: StacCollection): StacCollection {
  const forApi: StacCollection = { ...collection, links: collection.links.filter((link) => link.rel !== 'child' && !inferredLinkRels.has(link.rel)) };
  delete forApi[collectionShardsProperty];
  return forApi;
}

/** A collection for a STAC API that has none yet, from the first items registered in it. */
export function collectionOfItems(collectionId: string, items: readonly RegisteredItem[], datetime: string, urls: CollectionUrls): StacCollection {
  return collectionForApi(mergeCollection(undefined, { collectionId, datetime, urls, shards: [{ shard: 'new', url: urls.collection, summary: summarizeItems(items, datetime) }] }));
}

/** Whether the root catalog already links this collection (then it is not written again). */
export function linksChild(catalog: StacCatalog | undefined, url: string): boolean {
  return catalog?.links.some((link) => link.rel === 'child' && link.href === url) ?? false;
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
