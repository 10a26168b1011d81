/**
 * The HTTP API's answers as zod schemas: the one contract the CLI and the dashboard parse every
 * answer with, and the OpenAPI description (`src/api/openapi.ts`) is generated from. Their types
 * are inferred here, never written again by hand.
 *
 * No Node imports (the dashboard bundles this module for the browser): only zod and the pure
 * failure codes. The server's own types (`src/jobs/*.ts`) are held to these schemas in both
 * directions by `src/api/contract.check.ts`, so a drift on either side fails compilation rather
 * than a user's command. Objects are loose: fields the service adds later pass through untouched.
 * Each named schema carries its OpenAPI component name in zod's own metadata (`.meta({ id })`).
 */
// A namespace import, so the dashboard's bundler keeps only the parts of zod used here (not its locales).
import * as z from 'zod';
import { collectionDefinitionSchema, derivedProducts, gateRules } from '../collections/definition.schema.js';
import { failureCodes } from '../pipeline/failure.js';

export { failureCodes, type FailureCode } from '../pipeline/failure.js';
export { collectionDefinitionSchema, type CollectionDefinition } from '../collections/definition.schema.js';

/** Runtime statuses after which a job or batch changes no more. */
export const finishedStatuses: ReadonlySet<string> = new Set(['Completed', 'Failed', 'Terminated', 'Canceled', 'Quarantined', 'Rejected']);

export const jobStages = ['pending', 'validating', 'creating-cogs', 'finalizing', 'deriving', 'completed', 'failed', 'quarantined', 'rejected'] as const;
export const tileStates = ['pending', 'creating-cog', 'registering', 'done', 'failed', 'queued', 'running'] as const;
export const batchStages = ['pending', 'listing', 'ingesting', 'finalizing', 'completed', 'failed'] as const;
export const tileRoutes = ['functions', 'worker'] as const;

/**
 * A parsed answer's type as plain declared fields: the schemas' objects are loose (fields a later
 * service adds pass through at run time), but a client names only the fields it knows, and the
 * server's interfaces (which have no index signature) are assignable to it.
 */
export type Shape<T> = T extends readonly (infer Item)[]
  ? T extends readonly [unknown, ...unknown[]]
    ? { [K in keyof T]: Shape<T[K]> }
    : Shape<Item>[]
  : T extends object
    ? { [K in keyof T as string extends K ? never : K]: Shape<T[K]> }
    : T;

export const failureCodeSchema = z.enum(failureCodes);

/** A failure: a code a program can act on, a message for a person, and the tile's item id when it is a tile's. */
export const jobFailureSchema = z.looseObject({ code: failureCodeSchema, message: z.string(), itemId: z.string().optional() }).meta({ id: 'JobFailure' });
export type JobFailure = Shape<z.infer<typeof jobFailureSchema>>;

/** WGS84 `[west, south, east, north]`; west > east when it crosses the antimeridian. */
const bboxSchema = z.tuple([z.number(), z.number(), z.number(), z.number()]);

const outputTileSchema = z.looseObject({ itemId: z.string(), cogUrl: z.string(), itemUrl: z.string(), cogBytes: z.number() });

/** A completed job's output: its collection (`null` when it published none) and every tile it made. */
const completedOutputSchema = z.looseObject({
  collection: z.nullable(
    z.looseObject({
      collectionId: z.string(),
      collectionUrl: z.string(),
      catalogUrl: z.string(),
      itemCount: z.number(),
      replacedItems: z.number(),
      superseded: z.boolean(),
      sources: z.array(
        z.looseObject({
          sourceKey: z.string(),
          outcome: z.enum(['published', 'superseded', 'conflict']),
          replacedItems: z.number(),
          failure: z.looseObject({ code: failureCodeSchema, message: z.string() }).optional(),
        }),
      ),
    }),
  ),
  tiles: z.array(outputTileSchema),
  bytesIn: z.number(),
  bytesOut: z.number(),
});

/** A failed job's output: the tiles it made, and every tile that failed with its code. */
const partialOutputSchema = z.looseObject({
  partial: z.literal(true),
  tiles: z.array(outputTileSchema),
  failedTiles: z.array(jobFailureSchema),
  bytesIn: z.number(),
  bytesOut: z.number(),
});

/** `GET /api/jobs/{id}`. */
export const jobViewSchema = z.looseObject({
  id: z.string(),
  /** Durable's runtime status: `Pending`, `Running`, `Completed`, `Failed`, `Terminated`. */
  status: z.string(),
  stage: z.enum(jobStages),
  /** Where the tiles are made, and why; how (inline or one branch per tile). */
  route: z.enum(tileRoutes).nullable(),
  routeReason: z.string().nullable(),
  layout: z.enum(['single-tile', 'fan-out']).nullable(),
  source: z.string().nullable(),
  collection: z.string().nullable(),
  /** The batch that started it; older services do not say. */
  batch: z.string().nullable().default(null),
  /** The version of its collection's definition the job ran (`GET /api/collections/{id}`); `null` for a collection without one, and from older services. */
  definitionVersion: z.number().nullable().default(null),
  tiles: z.looseObject({ done: z.number(), failed: z.number(), total: z.number() }),
  itemsRegistered: z.number(),
  /** The first failures; `errorCount` says how many there were. */
  errors: z.array(jobFailureSchema),
  errorCount: z.number(),
  attempt: z.number(),
  previousAttempt: z.string().nullable(),
  /** Whether a retry can help; a service from before retry advice sends none (then none is offered). */
  retry: z.looseObject({ offered: z.boolean(), reason: z.string().nullable() }).default({ offered: false, reason: null }),
  /**
   * Set when a quality gate of its collection stopped the job before publishing (`status`
   * `Quarantined`): each gate it failed with the measured value, and the operator's decision once
   * made (`approve` publishes the kept outputs, `reject` deletes them). Older services send none.
   */
  quarantine: z
    .looseObject({
      violations: z.array(z.looseObject({ rule: z.enum(gateRules), measured: z.string(), limit: z.string(), message: z.string() })),
      definitionVersion: z.number(),
      decision: z.looseObject({ decision: z.enum(['approve', 'reject']), id: z.string(), status: z.string() }).nullable(),
    })
    .nullable()
    .default(null),
  /**
   * The collections deriving from the job's (issue 24, orchestration 1.6 on) and how each one's
   * products of its items ended: `failed` is data, never the job's failure; each failure says
   * whether a retry helps. Its `instanceId` is the derived run's own status. Older services send none.
   */
  derived: z
    .array(
      z.looseObject({
        collection: z.string(),
        product: z.enum(derivedProducts),
        instanceId: z.string(),
        status: z.enum(['completed', 'failed']),
        items: z.number(),
        failures: z.array(jobFailureSchema.extend({ retryable: z.boolean() })),
        failureCount: z.number(),
      }),
    )
    .default([]),
  /**
   * A newer version of the source replaced this job's output (or upload); or its source blob was
   * deleted and its outputs removed (`removed`: when, and by which `removeSource` run; `by` is then null).
   */
  superseded: z
    .looseObject({ by: z.string().nullable(), message: z.string(), removed: z.object({ deletedAt: z.string(), removal: z.string() }).optional() })
    .nullable()
    .default(null),
  output: z.union([partialOutputSchema, completedOutputSchema]).nullable(),
  createdTime: z.string(),
  lastUpdatedTime: z.string(),
}).meta({ id: 'JobView' });
export type JobView = Shape<z.infer<typeof jobViewSchema>>;

/** One tile of a job's ledger (`GET /api/jobs/{id}/tiles`). */
export const tileEntrySchema = z.looseObject({
  index: z.number(),
  itemId: z.string(),
  row: z.number(),
  col: z.number(),
  /** Source pixels. */
  window: z.looseObject({ x: z.number(), y: z.number(), width: z.number(), height: z.number() }),
  /** WGS84 lon/lat, once known. */
  bbox: bboxSchema.nullable(),
  state: z.enum(tileStates),
  route: z.enum(tileRoutes),
  /** COG attempts so far (0 while pending). */
  attempts: z.number(),
  error: z.looseObject({ code: failureCodeSchema, message: z.string() }).nullable(),
  /** When it began to wait for a slot or the worker (`null` from services that do not tell waiting from working). */
  queuedAt: z.string().nullable().default(null),
  /** When its work started (`null` while queued). */
  startedAt: z.string().nullable(),
  endedAt: z.string().nullable(),
  /** Waited and worked, in milliseconds (`null` until known, or from services that do not tell them apart). */
  waitMs: z.number().nullable().default(null),
  workMs: z.number().nullable().default(null),
  /** Taken from the previous attempt rather than made again. */
  reused: z.boolean(),
  cogUrl: z.string().nullable(),
  itemUrl: z.string().nullable(),
  thumbnailUrl: z.string().nullable(),
  /** App-relative `/api/cogs/...`, readable by a browser with range requests. */
  cogHref: z.string().nullable(),
  thumbnailHref: z.string().nullable(),
}).meta({ id: 'TileEntry' });
export type TileEntry = Shape<z.infer<typeof tileEntrySchema>>;
export type TileState = TileEntry['state'];

export const tilePageSchema = z.looseObject({ jobId: z.string(), total: z.number(), tiles: z.array(tileEntrySchema), continuationToken: z.string().nullable() }).meta({ id: 'TilePage' });
export type TilePage = Shape<z.infer<typeof tilePageSchema>>;

/** `GET /api/jobs`: newest first. */
export const jobPageSchema = z.looseObject({ jobs: z.array(jobViewSchema), continuationToken: z.string().nullable() }).meta({ id: 'JobPage' });
export type JobPage = Shape<z.infer<typeof jobPageSchema>>;

/** `202`: a new job (or attempt) started; `200`: the same upload with the same options already has a job. */
export const submitAnswerSchema = z.union([
  z.looseObject({ id: z.string(), statusQueryGetUri: z.string(), existing: z.literal(true), job: jobViewSchema.nullable() }),
  z.looseObject({ id: z.string(), statusQueryGetUri: z.string(), attempt: z.number(), previousAttempt: z.string().nullable() }),
]).meta({ id: 'SubmitAnswer' });
export type SubmitAnswer = Shape<z.infer<typeof submitAnswerSchema>>;

/** `202` of `POST /api/jobs/{id}/retry`. */
export const retryAnswerSchema = z.looseObject({
  id: z.string(),
  previousAttempt: z.string(),
  statusQueryGetUri: z.string(),
  retriedTiles: z.number(),
  /** Tiles the earlier attempt made, taken as they are. */
  reusedTiles: z.number().optional(),
  /** What runs again: the failed `tiles`, only the `finalize` step (every tile was made), or the whole `job` (it failed before any tile). */
  reruns: z.enum(['tiles', 'finalize', 'job']).optional(),
}).meta({ id: 'RetryAnswer' });
export type RetryAnswer = Shape<z.infer<typeof retryAnswerSchema>>;

/** `POST /api/jobs/retry`: one page of the jobs the filter matched, each with what its retry did. */
export const bulkRetryPageSchema = z.looseObject({
  dryRun: z.boolean(),
  jobs: z.array(
    z.looseObject({
      id: z.string(),
      source: z.string().nullable(),
      errorCodes: z.array(z.string()),
      retriedAs: z.string().nullable(),
      /** `started` (`dry-run`: would start), or why not: `permanent`, `superseded`, `already-retried`, `running`, `completed`, `not-found`. */
      outcome: z.string().optional(),
      /** Why a job was not (or would not be) retried, and what to do instead; what would run again in a dry run. */
      reason: z.string().nullable().optional(),
    }),
  ),
  continuationToken: z.string().nullable(),
}).meta({ id: 'BulkRetryPage' });
export type BulkRetryPage = Shape<z.infer<typeof bulkRetryPageSchema>>;
export type BulkRetryJob = BulkRetryPage['jobs'][number];

/** Counts of a batch's sources. */
export const batchCountsSchema = z.looseObject({ total: z.number(), done: z.number(), failed: z.number(), skipped: z.number(), missing: z.number() });

/** `GET /api/batches/{id}`. */
export const batchViewSchema = z.looseObject({
  id: z.string(),
  status: z.string(),
  stage: z.enum(batchStages),
  selection: z.string().nullable(),
  collection: z.string().nullable(),
  chunk: z.number(),
  counts: batchCountsSchema.extend({ running: z.number() }),
  /** Sources finished per minute since the batch started. */
  throughputPerMinute: z.number().nullable(),
  estimatedSecondsLeft: z.number().nullable(),
  reason: z.string().nullable(),
  failures: z.array(
    z.looseObject({ code: failureCodeSchema, message: z.string(), itemId: z.string().optional(), source: z.string(), jobId: z.string().optional() }),
  ),
  /** Manifest entries that name no blob. */
  missing: z.array(z.string()),
  attempt: z.number(),
  previousAttempt: z.string().nullable(),
  /** Its jobs: `GET /api/jobs?batch=<id>`. */
  jobs: z.string(),
  output: z
    .looseObject({
      collection: z.string(),
      counts: batchCountsSchema,
      chunks: z.number(),
      mosaic: z
        .union([z.looseObject({ requested: z.string() }), z.looseObject({ mosaics: z.array(z.string()), overview: z.string().optional(), skipped: z.number() }), z.looseObject({ error: z.string() })])
        .optional(),
    })
    .nullable(),
  createdTime: z.string(),
  lastUpdatedTime: z.string(),
}).meta({ id: 'BatchView' });
export type BatchView = Shape<z.infer<typeof batchViewSchema>>;
export type BatchCounts = BatchView['counts'];

export const batchPageSchema = z.looseObject({ batches: z.array(batchViewSchema), continuationToken: z.string().nullable() }).meta({ id: 'BatchPage' });
export type BatchPage = Shape<z.infer<typeof batchPageSchema>>;

/** `202`: a new batch (or attempt) started; `200`: the same batch is still running. */
export const submitBatchAnswerSchema = z.union([
  z.looseObject({ id: z.string(), statusQueryGetUri: z.string(), existing: z.literal(true), batch: batchViewSchema.nullable() }),
  z.looseObject({ id: z.string(), statusQueryGetUri: z.string(), attempt: z.number(), previousAttempt: z.string().nullable() }),
]).meta({ id: 'SubmitBatchAnswer' });
export type SubmitBatchAnswer = Shape<z.infer<typeof submitBatchAnswerSchema>>;

/**
 * `GET /api/jobs/{id}/status`, `GET /api/batches/{id}/status` (every submission's
 * `statusQueryGetUri`): the fields of Durable's instance-status API, filled from the sanitized view.
 */
export const durableStatusSchema = z.looseObject({
  name: z.string(),
  instanceId: z.string(),
  runtimeStatus: z.string(),
  input: z.unknown(),
  customStatus: z.unknown(),
  output: z.unknown(),
  createdTime: z.string(),
  lastUpdatedTime: z.string(),
}).meta({ id: 'DurableStatus' });
export type DurableStatus = Shape<z.infer<typeof durableStatusSchema>>;

/** `application/problem+json` (RFC 9457) as the app answers errors. */
export const problemSchema = z.looseObject({
  title: z.string().optional(),
  status: z.number().optional(),
  detail: z.string().optional(),
  /** The request's fields at fault (a 400). */
  fields: z.array(z.string()).optional(),
  /** Why a retry was refused (a 409): `permanent`, `superseded`, `already-retried`, `running`, `completed`. */
  outcome: z.string().optional(),
  /** A retry of an attempt that was retried already names the newest attempt. */
  latest: z.string().optional(),
  /** The permanent failure codes a retry cannot help with. */
  codes: z.array(z.string()).optional(),
  /** The job whose source replaced this one's, when known. */
  supersededBy: z.string().nullable().optional(),
  retryable: z.boolean().optional(),
}).meta({ id: 'Problem' });
export type Problem = Shape<z.infer<typeof problemSchema>>;

/** `202` of `POST /api/jobs/{id}/approve` and `/reject`: the decision's run (its status: `GET /api/jobs/{id}`'s `quarantine.decision`). */
export const quarantineDecisionAnswerSchema = z.looseObject({ id: z.string(), jobId: z.string(), decision: z.enum(['approve', 'reject']) }).meta({ id: 'QuarantineDecisionAnswer' });
export type QuarantineDecisionAnswer = Shape<z.infer<typeof quarantineDecisionAnswerSchema>>;

/** `GET /api/collections/{id}` (its `ETag` is `"<version>"`), and the answer to a `PUT`. */
export const collectionViewSchema = z.looseObject({
  id: z.string(),
  /** 1 for the first definition; each accepted `PUT` adds one. Jobs name the version they ran (`definitionVersion`). */
  version: z.number(),
  updatedTime: z.string(),
  definition: collectionDefinitionSchema,
  /** The collection's jobs: `GET /api/jobs?collection=<id>`. */
  jobs: z.string(),
}).meta({ id: 'CollectionView' });
export type CollectionView = Shape<z.infer<typeof collectionViewSchema>>;

/** `GET /api/collections`: every collection with a definition, by id. */
export const collectionListSchema = z.looseObject({
  collections: z.array(collectionViewSchema),
  /** Where an upload no source rule matches goes. */
  defaultCollection: z.string(),
}).meta({ id: 'CollectionList' });
export type CollectionList = Shape<z.infer<typeof collectionListSchema>>;

/** A schedule's last run: the window it served, when it listed its source, its batch and how the submission went. */
export const scheduleRunSchema = z.looseObject({
  window: z.string(),
  /** When it listed its source; the next run takes what arrived from here on. */
  at: z.string(),
  batchId: z.string().nullable(),
  /** `started`/`existing`: a batch runs (`GET /api/batches/{batchId}`); `nothing-new`: no blob under the source; `failed`: see `detail`. */
  outcome: z.enum(['started', 'existing', 'nothing-new', 'failed']),
  detail: z.string().optional(),
  /** The definition version the run used. */
  version: z.number(),
}).meta({ id: 'ScheduleRun' });

/** A window that passed without its run starting. */
export const missedWindowSchema = z.looseObject({
  window: z.string(),
  /** `after`: its dependencies were still not met when the next window opened (`waitingFor` names them); `not-running`: nothing ran then (the host was down). */
  reason: z.enum(['after', 'not-running']),
  waitingFor: z.array(z.string()),
  recordedAt: z.string(),
}).meta({ id: 'MissedWindow' });

/** One schedule of a collection, as it stands (its instance `schedule:<collection>:<name>` owns the state). */
export const scheduleViewSchema = z.looseObject({
  name: z.string(),
  instanceId: z.string(),
  cron: z.string(),
  timeZone: z.string(),
  /** `<container>/<prefix>` the scheduled batch reads. */
  source: z.string().nullable(),
  after: z.array(z.union([z.looseObject({ collection: z.string() }), z.looseObject({ batch: z.string() })])),
  /** `planned`: waiting for `nextRun`; `waiting`: `pendingWindow` is open and waits for `waitingFor`; `stopped`/`not-started`: no instance runs it; `invalid`: see `problem`. */
  state: z.enum(['planned', 'waiting', 'stopped', 'not-started', 'invalid']),
  runtimeStatus: z.string().nullable(),
  definitionVersion: z.number(),
  /** The definition version the instance read last (behind `definitionVersion` for a moment after a change). */
  instanceVersion: z.number().nullable(),
  /** The next window not yet open (ISO, UTC). */
  nextRun: z.string().nullable(),
  pendingWindow: z.string().nullable(),
  /** Dependencies not yet met for `pendingWindow`: `collection:<id>` / `batch:<id>`. */
  waitingFor: z.array(z.string()),
  lastRun: scheduleRunSchema.nullable(),
  /** Newest first, at most 20; `missedTotal` counts all. */
  missed: z.array(missedWindowSchema),
  missedTotal: z.number(),
  problem: z.string().optional(),
  checkedAt: z.string().nullable(),
}).meta({ id: 'ScheduleView' });
export type ScheduleView = Shape<z.infer<typeof scheduleViewSchema>>;

/** `GET /api/collections/{id}/schedules`. */
export const collectionSchedulesSchema = z.looseObject({
  collection: z.string(),
  version: z.number(),
  schedules: z.array(scheduleViewSchema),
  /** The schedule from the settings (`INGEST_BATCH_SCHEDULE`), shown on the default collection only. */
  settingsSchedule: z.looseObject({ cron: z.string(), timeZone: z.string(), source: z.string(), lastRun: z.string().nullable() }).nullable(),
}).meta({ id: 'CollectionSchedules' });
export type CollectionSchedules = Shape<z.infer<typeof collectionSchedulesSchema>>;

/** What `POST /api/jobs` takes (the server parses it with `submitJobSchema`, src/pipeline/options.ts). */
export interface SubmitRequest {
  /** `<container>/<blob>` */
  source: string;
  collection?: string;
  options?: Record<string, string | number | boolean>;
  force?: boolean;
}

/** `POST /api/jobs` with `"dryRun": true`: the request checked, nothing started. */
export type DryRunRequest = SubmitRequest & { dryRun: true };

/** `200` to a request with `"dryRun": true`: it would be accepted (fields, container, path); nothing started, the blob not looked at. */
export const dryRunAnswerSchema = z.looseObject({ dryRun: z.literal(true), source: z.string() }).meta({ id: 'DryRunAnswer' });
export type DryRunAnswer = Shape<z.infer<typeof dryRunAnswerSchema>>;

/** What `POST /api/batches` takes: a prefix (`source`) or a manifest, not both. */
export interface SubmitBatchRequest {
  /** `<container>/<prefix>` */
  source?: string;
  /** `<container>/<blob>` */
  manifest?: string;
  collection?: string;
  /** A glob on blob names, e.g. `**\/*.tif`. */
  include?: string;
  /** An ISO 8601 time with an offset. */
  since?: string;
  limit?: number;
}

/** Filters of the job list and of bulk retry. `since`: an ISO time or a span back from now (`1d`, `12h`, `30m`). */
export interface JobFilter {
  status?: string[];
  collection?: string;
  since?: string;
  errorCode?: (typeof failureCodes)[number];
  /** Only the jobs of this batch. */
  batch?: string;
  /** Only jobs whose source starts with this: `<container>/<path>`, or a blob path in any container. */
  source?: string;
}

export interface PageRequest {
  top?: number;
  continuationToken?: string;
}
