/**
 * A collection's workflow definition as the API takes it (`PUT /api/collections/{id}`): the
 * sources that feed it, its default options and route rules, quality gates, derived products,
 * schedules and notifications. Structural checks only, in zod with no other import, so the API
 * contract (`src/api/contract.ts`) re-exports it for the CLI and the dashboard. What needs the
 * service's settings or the other collections (allowed containers, webhook allowlist, cycles,
 * unknown names, cron expressions that never or too often fire) is checked by
 * `definition.validate.ts` on the server.
 *
 * A definition is untrusted input: every string is bounded, every list is short, objects are
 * strict (an unknown field is an error naming it), prefixes are plain text (never a pattern), and
 * nothing in it is a path the app would read or a URL it would fetch without the allowlist.
 */
import * as z from 'zod';

/** Collection ids become blob path segments and STAC ids (the same rule as a job's `collection`). */
export const collectionIdPattern = /^[a-z0-9][a-z0-9._-]{0,62}$/;
const collectionId = z.string().regex(collectionIdPattern, 'must be 1-63 characters of a-z, 0-9, ".", "_" or "-", starting with a letter or digit');

/** Limits on a definition: far above an honest one, and they keep a stored definition well under a Table property's 64 KB. */
export const definitionLimits = {
  sources: 20,
  prefixLength: 512,
  schedules: 10,
  after: 10,
  webhooks: 5,
  titleLength: 200,
  descriptionLength: 2000,
} as const;

// C0 and C1 control characters, DEL, and Unicode line/paragraph separators.
const controlCharacters = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
/** Characters of glob and regular-expression syntax: a prefix is matched as plain text, so they are refused rather than silently taken literally. */
const patternCharacters = /[*?[\]{}()|+^$\\]/;

/**
 * A plain blob-name prefix: empty (the whole container) or a folder-like start of a name; no
 * pattern syntax, no `.`/`..` or empty segments, no leading `/`, no control characters.
 */
export const sourcePrefixSchema = z
  .string()
  .max(definitionLimits.prefixLength)
  .superRefine((prefix, context) => {
    const problem = findPrefixProblem(prefix);
    if (problem) context.addIssue({ code: 'custom', message: problem });
  });

export function findPrefixProblem(prefix: string): string | null {
  if (controlCharacters.test(prefix)) return 'contains control characters';
  if (patternCharacters.test(prefix)) return 'is matched as plain text: it may not hold pattern characters (* ? [ ] { } ( ) | + ^ $ \\)';
  if (prefix.startsWith('/')) return 'starts with "/"';
  const segments = prefix.split('/');
  // The last segment may be empty ("folder/") or a partial name ("2026-").
  if (segments.slice(0, -1).some((segment) => segment === '')) return 'has an empty segment ("//")';
  if (segments.some((segment) => segment === '.' || segment === '..')) return 'has a "." or ".." segment';
  return null;
}

export const sourceRuleSchema = z
  .object({
    /** A container jobs may read (`INGEST_SOURCE_CONTAINERS`). */
    container: z.string().min(3).max(63),
    /** Blobs whose names start with this feed the collection; empty = the whole container. */
    prefix: sourcePrefixSchema.default(''),
  })
  .strict();

/** Ingest options as `POST /api/jobs` takes them (checked against that schema on the server); a job's own options win. */
const defaultOptionsSchema = z.record(z.string().max(40), z.union([z.string().max(100), z.number(), z.boolean()]));

export const routeRulesSchema = z
  .object({
    /** Rasters larger than this many MB uncompressed go to the container worker (instead of `INGEST_WORKER_THRESHOLD_MB`). */
    workerThresholdMb: z.number().int().min(1).max(1_048_576).optional(),
  })
  .strict();

export const gdalDataTypes = ['Byte', 'Int8', 'UInt16', 'Int16', 'UInt32', 'Int32', 'UInt64', 'Int64', 'Float32', 'Float64', 'CInt16', 'CInt32', 'CFloat32', 'CFloat64'] as const;

const longitude = z.number().min(-180).max(180);
const latitude = z.number().min(-90).max(90);

/** Rules a validated source must pass before it is published; a failing source is quarantined. */
export const qualityGatesSchema = z
  .object({
    /** Largest share (0-1) of nodata pixels, measured on the source's statistics. */
    maxNodataShare: z.number().min(0).max(1).optional(),
    /** The source's CRS must be one of these EPSG codes, and/or of this family. */
    crs: z
      .object({
        epsg: z.array(z.number().int().min(1024).max(999_999)).min(1).max(100).optional(),
        family: z.enum(['geographic', 'projected']).optional(),
      })
      .strict()
      .optional(),
    dataTypes: z.array(z.enum(gdalDataTypes)).min(1).max(gdalDataTypes.length).optional(),
    bandCounts: z.array(z.number().int().min(1).max(65_535)).min(1).max(50).optional(),
    /** Largest upload, in bytes. */
    maxBytes: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional(),
    /** WGS84 `[west, south, east, north]` the source's footprint must lie inside (west < east, south < north). */
    footprintWithin: z
      .tuple([longitude, latitude, longitude, latitude])
      .refine(([west, south, east, north]) => west < east && south < north, 'must be [west, south, east, north] with west < east and south < north')
      .optional(),
  })
  .strict();

/** The rules a gate violation names (`crs.epsg` and `crs.family` apart). */
export const gateRules = ['maxNodataShare', 'crs.epsg', 'crs.family', 'dataTypes', 'bandCounts', 'maxBytes', 'footprintWithin'] as const;
export type GateRule = (typeof gateRules)[number];

export const derivedProducts = ['hillshade', 'slope', 'normalized-difference', 'reproject'] as const;
export type DerivedProduct = (typeof derivedProducts)[number];

/** This collection's items are made from another collection's: each newly published source item starts the step. */
export const derivationSchema = z
  .object({
    collection: collectionId,
    product: z.enum(derivedProducts),
    /** `normalized-difference`: (a - b) / (a + b) of these two 1-based bands. */
    bands: z.tuple([z.number().int().min(1).max(65_535), z.number().int().min(1).max(65_535)]).optional(),
    /** `reproject`: the target grid's CRS. */
    targetCrs: z.string().regex(/^EPSG:\d{4,6}$/, 'must be an EPSG code such as "EPSG:3857"').optional(),
    /** `reproject`: the target grid's pixel size, in the target CRS's units. */
    resolution: z.number().positive().max(1e7).optional(),
  })
  .strict()
  .superRefine((derivation, context) => {
    if (derivation.product === 'normalized-difference' && !derivation.bands) context.addIssue({ code: 'custom', path: ['bands'], message: 'a normalized difference needs its two bands' });
    if (derivation.product === 'reproject' && !derivation.targetCrs) context.addIssue({ code: 'custom', path: ['targetCrs'], message: 'a reprojection needs its target CRS' });
  });

/** What a schedule waits for: a collection's jobs, or a batch, completed since the schedule last ran. */
export const scheduleAfterSchema = z.union([z.object({ collection: collectionId }).strict(), z.object({ batch: z.string().min(1).max(200).regex(/^[A-Za-z0-9:._-]+$/, 'must be a batch id') }).strict()]);

export const scheduleSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/, 'must be 1-40 characters of a-z, 0-9 and "-"'),
    /** Five fields (minute hour day-of-month month day-of-week), read in `timeZone`; standard syntax only (no `L`, `W`, `#`, `?`, `@daily`). */
    cron: z.string().min(9).max(100),
    /** An IANA time zone, e.g. `Europe/Berlin` (names only: no offsets, no path-like segments). */
    timeZone: z.string().min(1).max(64).regex(/^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9][A-Za-z0-9_+-]*){0,2}$/, 'must be an IANA time zone name such as "Europe/Berlin" or "UTC"').default('UTC'),
    /** `<container>/<prefix>`: the scheduled batch takes what arrived under it since the last run; default: the collection's first source. */
    source: z.string().min(1).max(600).optional(),
    after: z.array(scheduleAfterSchema).max(definitionLimits.after).default([]),
  })
  .strict();

export const notificationEvents = ['job.completed', 'job.failed', 'job.quarantined', 'job.approved', 'job.rejected', 'batch.completed', 'batch.failed'] as const;
export type NotificationEvent = (typeof notificationEvents)[number];

export const webhookSchema = z
  .object({
    /** An `https://` (or, with loopback allowed, `http://127.0.0.1`) URL whose origin is on `INGEST_WEBHOOK_ALLOWLIST`. */
    url: z.string().min(1).max(2048),
    /** Default: every event. */
    events: z.array(z.enum(notificationEvents)).min(1).max(notificationEvents.length).optional(),
  })
  .strict();

export const collectionDefinitionSchema = z
  .object({
    title: z.string().max(definitionLimits.titleLength).optional(),
    description: z.string().max(definitionLimits.descriptionLength).optional(),
    sources: z.array(sourceRuleSchema).max(definitionLimits.sources).default([]),
    options: defaultOptionsSchema.default({}),
    route: routeRulesSchema.default({}),
    gates: qualityGatesSchema.default({}),
    derivedFrom: derivationSchema.optional(),
    schedules: z.array(scheduleSchema).max(definitionLimits.schedules).default([]),
    notifications: z.object({ webhooks: z.array(webhookSchema).max(definitionLimits.webhooks).default([]) }).strict().default({ webhooks: [] }),
  })
  .strict()
  .meta({ id: 'CollectionDefinition' });

export type CollectionDefinition = z.output<typeof collectionDefinitionSchema>;
export type Schedule = z.output<typeof scheduleSchema>;
export type ScheduleAfter = z.output<typeof scheduleAfterSchema>;
export type QualityGates = z.output<typeof qualityGatesSchema>;
