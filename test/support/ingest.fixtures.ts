/**
 * The one-source job the orchestrator replay tests share: a 100×100 DEM in `uploads` bound for
 * `dems`, what validation reads from it, and the gate it breaks. Tests spread these to vary one
 * field, so each states only what it is about.
 */
import type { GateViolation } from '../../src/collections/quality.gates.js';
import type { IngestInput, RasterInfo } from '../../src/pipeline/contracts.js';
import { ingestOptionsSchema } from '../../src/pipeline/options.js';

/** An activity's answer on success, as the job's activities wrap it. */
export const ok = <T>(value: T) => ({ ok: true, value });

/** A job for one small source, on its first attempt, without a collection definition. */
export const oneSourceInput: IngestInput = {
  source: { container: 'uploads', name: 'dem/one.tif', etag: '"0x1"', size: 1000, lastModified: '2025-12-31T23:00:00.000Z' },
  collection: 'dems',
  options: ingestOptionsSchema.parse({}),
  tileSize: 4096,
  outputs: { collection: 'dems', sourceKey: 'dem-one', version: 'v0123456789ab' },
  attempt: 1,
  index: { key: '8232999999999-job-1', createdTime: '2026-01-01T00:00:00.000Z' },
  worker: { thresholdBytes: 1024 * 1024 * 1024, tileTimeoutSeconds: 600 },
};

/** The same job in a collection whose gate wants a geographic CRS (the source's is projected). */
export const gatedInput: IngestInput = { ...oneSourceInput, definition: { version: 3, gates: { crs: { family: 'geographic' } } } };

/** What `validateRaster` reads from the source: one Float32 band in UTM 32N, fits one tile. */
export const oneSourceInfo: RasterInfo = {
  driver: 'GTiff',
  width: 100,
  height: 100,
  bands: [{ gdalDataType: 'Float32', nodata: -9999, colorInterpretation: 'Gray', hasColorTable: false, description: '', unit: 'm' }],
  crs: { code: 'EPSG:32632', wkt2: 'PROJCRS[...]', projjson: {} },
  geoTransform: [500000, 10, 0, 5200000, 0, -10],
};

/** How the source breaks `gatedInput`'s gate. */
export const crsViolation: GateViolation = { rule: 'crs.family', measured: 'projected', limit: 'geographic', message: 'the CRS is projected, the gate wants geographic' };
