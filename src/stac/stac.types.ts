/** The slices of the STAC 1.1.0 objects this app writes, typed narrowly. */
import type { Bbox } from '../raster/geo.transform.js';

export const stacVersion = '1.1.0';

export const extensionSchemas = {
  projection: 'https://stac-extensions.github.io/projection/v2.0.0/schema.json',
  file: 'https://stac-extensions.github.io/file/v2.1.0/schema.json',
  eo: 'https://stac-extensions.github.io/eo/v2.0.0/schema.json',
  processing: 'https://stac-extensions.github.io/processing/v1.2.0/schema.json',
  raster: 'https://stac-extensions.github.io/raster/v2.0.0/schema.json',
} as const;

export const mediaTypes = {
  cog: 'image/tiff; application=geotiff; profile=cloud-optimized',
  geojson: 'application/geo+json',
  json: 'application/json',
  png: 'image/png',
  vrt: 'application/xml',
} as const;

export interface StacLink {
  rel: string;
  href: string;
  type?: string;
  title?: string;
}

export interface StacBandStatistics {
  minimum: number;
  maximum: number;
  mean: number;
  stddev: number;
  valid_percent: number;
}

export interface StacBand {
  name: string;
  description?: string;
  data_type: string;
  nodata?: number | 'nan' | 'inf' | '-inf';
  unit?: string;
  statistics?: StacBandStatistics;
  /**
   * This project's field (STAC's Statistics Object has no such flag): `true` when GDAL computed
   * `statistics` from overviews or a sample, `false` when from every pixel.
   */
  'raster-ingest:statistics_approximate'?: boolean;
  'eo:common_name'?: string;
  /** Packed values: physical = value × scale + offset (raster extension v2). */
  'raster:scale'?: number;
  'raster:offset'?: number;
}

export interface StacAsset {
  href: string;
  type: string;
  title?: string;
  roles: string[];
  'file:size'?: number;
  'file:checksum'?: string;
  bands?: StacBand[];
}

export interface StacItem {
  type: 'Feature';
  stac_version: typeof stacVersion;
  stac_extensions: string[];
  id: string;
  collection: string;
  geometry: { type: 'Polygon' | 'MultiPolygon'; coordinates: unknown };
  bbox: Bbox;
  properties: {
    datetime: string;
    start_datetime?: string;
    end_datetime?: string;
    created: string;
    'proj:code': string | null;
    'proj:wkt2'?: string;
    'proj:projjson'?: unknown;
    'proj:bbox': Bbox;
    'proj:shape': [number, number];
    'proj:transform': [number, number, number, number, number, number];
    [key: string]: unknown;
  };
  links: StacLink[];
  assets: Record<string, StacAsset>;
}

export interface StacCollection {
  type: 'Collection';
  stac_version: typeof stacVersion;
  stac_extensions: string[];
  id: string;
  title?: string;
  description: string;
  license: string;
  extent: {
    spatial: { bbox: Bbox[] };
    temporal: { interval: Array<[string | null, string | null]> };
  };
  summaries?: Record<string, unknown>;
  links: StacLink[];
  assets?: Record<string, StacAsset>;
  /** What every item's assets look like (STAC 1.1 core), so clients know before opening an item. */
  item_assets?: Record<string, Omit<StacAsset, 'href'>>;
  [collectionShardsProperty]?: Record<string, ExtentSummary>;
}

/**
 * What a part of the catalog holds, kept in its parent so extents and counts are recomputed from
 * the parent alone: a shard keeps one per source, the collection one per shard.
 */
export interface ExtentSummary {
  items: number;
  /** WGS84; absent when there are no items. */
  bbox?: Bbox;
  interval?: [string, string];
  /** The items' `proj:code`s (`null` for a CRS without one). */
  projCodes: Array<string | null>;
}

/** This project's field on a shard catalog: a summary per source it links, by source key. */
export const shardSourcesProperty = 'raster-ingest:sources';
/** This project's field on a collection: a summary per shard it links, by shard. */
export const collectionShardsProperty = 'raster-ingest:shards';

export interface StacCatalog {
  type: 'Catalog';
  stac_version: typeof stacVersion;
  stac_extensions?: string[];
  id: string;
  title?: string;
  description: string;
  links: StacLink[];
  assets?: Record<string, StacAsset>;
  [shardSourcesProperty]?: Record<string, ExtentSummary>;
}
