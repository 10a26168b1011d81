/**
 * The data that flows between the orchestrator and its activities. Pure types and names:
 * the orchestrator imports this module, so nothing here may do I/O.
 */
import type { IngestOptions } from './options.js';

export const orchestratorNames = {
  ingestRaster: 'ingestRaster',
  ingestTile: 'ingestTile',
} as const;

export const activityNames = {
  validateRaster: 'validateRaster',
  createTileCog: 'createTileCog',
  registerTileItem: 'registerTileItem',
  finalizeCollection: 'finalizeCollection',
} as const;

/** The uploaded blob a job ingests, pinned to the ETag it had when the job was submitted. */
export interface SourceBlob {
  container: string;
  name: string;
  etag: string;
  size: number;
}

export interface IngestInput {
  source: SourceBlob;
  collection: string;
  options: IngestOptions;
  /** Tile edge in pixels, resolved from the options or the host setting at submission. */
  tileSize: number;
}

export interface BandInfo {
  /** GDAL data type name, e.g. `Byte`, `Int16`, `Float32`. */
  gdalDataType: string;
  /** `null` when the band declares none; `"nan"` for a NaN nodata value. */
  nodata: number | 'nan' | 'inf' | '-inf' | null;
  colorInterpretation: string;
  hasColorTable: boolean;
  description: string;
  unit: string | null;
}

export interface CrsInfo {
  /** `"EPSG:32633"`, or `null` when the CRS has no authority code. */
  code: string | null;
  wkt2: string;
  projjson: unknown;
}

/** What validation learned about a source raster. */
export interface RasterInfo {
  driver: string;
  width: number;
  height: number;
  bands: BandInfo[];
  crs: CrsInfo | null;
  /** GDAL order: [originX, pixelWidth, rowRotation, originY, columnRotation, pixelHeight]. */
  geoTransform: [number, number, number, number, number, number];
}

/** A verdict, not an exception: a rejected raster is a result the orchestrator reports. */
export type ValidationResult = { accepted: true; info: RasterInfo } | { accepted: false; reason: string };

export interface ValidateRasterInput {
  source: SourceBlob;
  /** When given, validation also rejects options this raster cannot take (e.g. JPEG on float data). Optional: added later. */
  options?: IngestOptions;
}

/** A pixel window of the source, in source pixel coordinates. */
export interface TileWindow {
  index: number;
  row: number;
  col: number;
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface CreateTileCogInput {
  source: SourceBlob;
  collection: string;
  itemId: string;
  window: TileWindow;
  options: IngestOptions;
}

/** Statistics of one band of a tile COG. */
export interface BandStatistics {
  minimum: number;
  maximum: number;
  mean: number;
  stddev: number;
  valid_percent: number;
  /** `true` when computed from overviews rather than every pixel. */
  approximate: boolean;
}

/** Everything the STAC item of a tile needs, measured from the tile COG itself. */
export interface TileCog {
  itemId: string;
  window: TileWindow;
  blob: { container: string; name: string; url: string };
  size: number;
  /** SHA-256 multihash, lowercase hex (`1220…`). */
  checksum: string;
  width: number;
  height: number;
  geoTransform: [number, number, number, number, number, number];
  crs: CrsInfo | null;
  bands: Array<BandInfo & { statistics: BandStatistics | null }>;
  /** WGS84 footprint, lon/lat, densified; split at the antimeridian when needed. */
  geometry: { type: 'Polygon' | 'MultiPolygon'; coordinates: unknown };
  bbox: [number, number, number, number];
  /** Bounds in the native CRS: [minX, minY, maxX, maxY]. */
  nativeBbox: [number, number, number, number];
  /** PNG preview uploaded next to the COG. Optional: added later. */
  thumbnail?: { container: string; name: string; url: string };
  /**
   * When the source was acquired, from its metadata (ISO 8601 UTC; `start === end` for an
   * instant), and the metadata key it came from; `null` when it has none. Optional: added later.
   */
  acquired?: { start: string; end: string; source: string } | null;
}

export interface RegisterTileItemInput {
  collection: string;
  source: SourceBlob;
  tile: TileCog;
  /** ISO timestamp from the orchestration clock, so replays produce the same item. */
  datetime: string;
}

export interface RegisteredItem {
  itemId: string;
  itemUrl: string;
  cogUrl: string;
  cogBytes: number;
  bbox: [number, number, number, number];
  /** The tile's `proj:code` (`null` without an EPSG code), summarised by the collection. Optional: added later. */
  projCode?: string | null;
  /** The tile's pixel window in the source, for the collection's VRT mosaic. Optional: added later. */
  window?: TileWindow;
  /** The item's time: [datetime, datetime] or [start_datetime, end_datetime], for the collection's temporal extent. Optional: added later. */
  interval?: [string, string];
}

export interface FinalizeCollectionInput {
  collection: string;
  source: SourceBlob;
  items: RegisteredItem[];
  datetime: string;
  /** The job's options; needed for the VRT mosaic when they reproject (`targetCrs`). Optional: added later. */
  options?: IngestOptions;
}

export interface FinalizedCollection {
  collectionId: string;
  collectionUrl: string;
  catalogUrl: string;
  itemCount: number;
}

/** Small rasters (one tile) run their steps inline; larger ones fan out one branch per tile. */
export type IngestRoute = 'single-tile' | 'fan-out';

/** Shown in `customStatus` and by `GET /api/jobs/{id}`. */
export interface IngestProgress {
  /** `<container>/<blob>`: in the status itself, because instance lists omit inputs. */
  source: string;
  collection: string;
  stage: 'validating' | 'creating-cogs' | 'finalizing' | 'completed' | 'failed';
  /** How the tiles are made, once known. */
  route?: IngestRoute;
  tilesDone: number;
  tilesTotal: number;
  itemsRegistered: number;
  errors: string[];
}

export interface IngestOutput {
  collection: FinalizedCollection;
  tiles: Array<{ itemId: string; cogUrl: string; itemUrl: string; cogBytes: number }>;
  bytesIn: number;
  bytesOut: number;
}
