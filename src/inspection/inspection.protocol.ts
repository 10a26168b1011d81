/**
 * What the app asks of the process that inspects one upload, and what it answers. Plain data:
 * it crosses a process boundary as JSON.
 */
import type { RasterInfo } from '../pipeline/contracts.js';
import type { Failure } from '../pipeline/failure.js';
import type { IngestOptions } from '../pipeline/options.js';
import type { DeclaredSizeLimits } from '../raster/declared.size.js';

export interface InspectionRequest {
  /** A local copy, or `/vsicurl/<short-lived read-only URL>` of the blob itself. A secret while it lasts. */
  path: string;
  /** How people know the upload (its blob name, already bounded): messages name it so. */
  shownAs: string;
  /** The blob's size in bytes, as storage reports it. */
  size: number;
  options?: IngestOptions;
  /** Edge length of the tiles the job will plan. */
  tileSize: number;
  maxTilesPerJob: number;
  maxDimension: number;
  declaredSize: DeclaredSizeLimits;
  /** Where a warped VRT may be written when the options reproject. */
  scratchDir: string;
  /** Setting INGEST_ASSUME_CF_LONLAT: EPSG:4326 for netCDF grids on CF longitude/latitude without a grid_mapping. */
  assumeCfLonLat: boolean;
}

export type InspectionAnswer = { id: number; ok: true; info: RasterInfo } | { id: number; ok: false; failure: Failure };

export interface InspectionMessage {
  id: number;
  request: InspectionRequest;
}
