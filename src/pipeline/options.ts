import { z } from 'zod';
import { compileGlob, globLimits } from '../batches/glob.js';
import { variableNamePattern, maxVariableNameLength } from './variable.name.js';

/**
 * Options a caller may set on a job. Defaults are applied here, once, at submission, so the
 * orchestrator and activities always see a complete, explicit set (and the instance id derived
 * from them does not depend on which defaults a later version picks).
 */
export const ingestOptionsSchema = z
  .object({
    /** Lossless by default; JPEG/WEBP are lossy and only for 8-bit imagery. */
    compression: z.enum(['DEFLATE', 'ZSTD', 'LZW', 'JPEG', 'WEBP']).default('DEFLATE'),
    /** Compression level passed to the COG driver (DEFLATE 1-12, ZSTD 1-22); omitted = driver default. */
    level: z.number().int().min(1).max(22).optional(),
    /** Horizontal predictor: `true` picks 2 for integers and 3 for floats. */
    predictor: z.boolean().default(true),
    /** Internal block size of each COG. */
    blockSize: z.number().int().min(128).max(4096).multipleOf(16).default(512),
    /** Edge length in pixels of the tiles the source is split into; omitted = host setting. */
    tileSize: z.number().int().min(256).max(65536).optional(),
    /** Overview resampling; omitted = nearest for paletted/integer-classified data, average otherwise. */
    resampling: z.enum(['NEAREST', 'AVERAGE', 'BILINEAR', 'CUBIC', 'CUBICSPLINE', 'LANCZOS', 'MODE', 'RMS']).optional(),
    /**
     * Where the tiles are made: `functions`, the container `worker`, or `auto` (the default): the
     * worker when the raster is larger uncompressed than the INGEST_WORKER_THRESHOLD_MB setting.
     */
    route: z.enum(['auto', 'functions', 'worker']).optional(),
    /** Reproject to this CRS before tiling (e.g. `EPSG:3857`, `EPSG:4326`); omitted = keep the source CRS. */
    targetCrs: z
      .string()
      .regex(/^EPSG:\d{4,6}$/, 'must be an EPSG code such as "EPSG:3857"')
      .optional(),
    /**
     * The one gridded variable of a netCDF source to ingest (e.g. `tas`, or `/group/tas` in a
     * netCDF-4 group); omitted = every gridded variable, each its own items. A plain name: no
     * quotes, colons, spaces, path steps or URLs.
     */
    variable: z
      .string()
      .max(maxVariableNameLength, `must be at most ${maxVariableNameLength} characters`)
      .regex(variableNamePattern, 'must be a variable name as the file spells it: letters, digits and _ . @ + - (not first), with / between netCDF-4 groups')
      .optional(),
  })
  .strict();

export type IngestOptions = z.output<typeof ingestOptionsSchema>;

/** Collection ids become blob path segments and STAC ids: keep them URL- and path-safe. */
export const collectionIdSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, 'must be 1-63 characters of a-z, 0-9, ".", "_" or "-", starting with a letter or digit');

export const submitJobSchema = z
  .object({
    /** `"<container>/<blob path>"`; which containers and paths are acceptable is checked by `parseSourcePath`. */
    source: z.string().min(1, 'must be "<container>/<blob path>"').max(1100, 'is too long for a blob path'),
    collection: collectionIdSchema.optional(),
    options: ingestOptionsSchema.default(() => ingestOptionsSchema.parse({})),
    /** Start a new attempt although a job for the same upload, collection and options has completed or failed. */
    force: z.boolean().default(false),
    /** Only check the request (fields, container, path) and start nothing; the blob need not exist yet (the CLI asks before it uploads). */
    dryRun: z.boolean().default(false),
  })
  .strict();


/** `POST /api/batches`: a prefix or a manifest, never both. Paths are checked by `parseSourcePath` after this. */
export const submitBatchSchema = z
  .object({
    /** `"<container>/<prefix>"`: every blob under it. */
    source: z.string().min(1).max(1100).optional(),
    /** `"<container>/<blob>"`: a text list, CSV or JSON array of sources. */
    manifest: z.string().min(1).max(1100).optional(),
    collection: collectionIdSchema.optional(),
    options: ingestOptionsSchema.default(() => ingestOptionsSchema.parse({})),
    /** A glob on blob names, e.g. `**\/*.tif`: compiled for RE2 (linear time), within limits on its size and complexity. */
    include: z
      .string()
      .min(1)
      .max(globLimits.maxLength)
      .superRefine((glob, context) => {
        const compiled = compileGlob(glob);
        if (!compiled.ok) context.addIssue({ code: 'custom', message: compiled.problem });
      })
      .optional(),
    /** Only blobs modified at or after this ISO 8601 time. */
    since: z.iso.datetime({ offset: true }).optional(),
    limit: z.number().int().min(1).max(1_000_000).optional(),
  })
  .strict()
  .refine((body) => (body.source === undefined) !== (body.manifest === undefined), { message: 'give either "source" (a prefix) or "manifest", not both', path: ['source'] });

export type SubmitBatchRequest = z.output<typeof submitBatchSchema>;

export const defaultCollectionId = 'rasters';
