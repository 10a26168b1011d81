/**
 * The job API's answers (issue 10's contract), as zod schemas the client parses every answer
 * with: a service that answers another shape is reported as such instead of being read blindly.
 *
 * The job view is the server's own type (`src/jobs/job.view.ts`): its schema is annotated with
 * it, so a change on either side fails compilation rather than a user's command. Objects are
 * loose: fields the service adds later pass through untouched.
 */
import { z } from 'zod';
import type { BatchView } from '../src/jobs/batch.view.js';
import type { JobView } from '../src/jobs/job.view.js';
import type { TileEntry, TileLedgerPage } from '../src/jobs/tile.ledger.js';
import { failureCodes, type FailureCode } from '../src/pipeline/failure.js';

export type { BatchView } from '../src/jobs/batch.view.js';
export type { JobView } from '../src/jobs/job.view.js';
export type { TileEntry, TileState } from '../src/jobs/tile.ledger.js';
export type { FailureCode } from '../src/pipeline/failure.js';
export { failureCodes } from '../src/pipeline/failure.js';

/** Runtime statuses after which a job changes no more. */
export const finishedStatuses: ReadonlySet<string> = new Set(['Completed', 'Failed', 'Terminated', 'Canceled']);

export const jobStages = ['pending', 'validating', 'creating-cogs', 'finalizing', 'completed', 'failed'] as const;
export const tileStates = ['pending', 'creating-cog', 'registering', 'done', 'failed', 'queued', 'running'] as const;

const failureCodeSchema = z.enum(failureCodes);
const jobFailureSchema = z.looseObject({ code: failureCodeSchema, message: z.string(), itemId: z.string().optional() });
const bboxSchema = z.tuple([z.number(), z.number(), z.number(), z.number()]);

const outputTileSchema = z.looseObject({ itemId: z.string(), cogUrl: z.string(), itemUrl: z.string(), cogBytes: z.number() });

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

export const jobViewSchema: z.ZodType<JobView> = z.looseObject({
  id: z.string(),
  status: z.string(),
  stage: z.enum(jobStages),
  /** Where the tiles are made, and why; how (inline or one branch per tile). */
  route: z.enum(['functions', 'worker']).nullable(),
  routeReason: z.string().nullable(),
  layout: z.enum(['single-tile', 'fan-out']).nullable(),
  source: z.string().nullable(),
  collection: z.string().nullable(),
  /** Older services do not say. */
  batch: z.string().nullable().default(null),
  tiles: z.looseObject({ done: z.number(), failed: z.number(), total: z.number() }),
  itemsRegistered: z.number(),
  errors: z.array(jobFailureSchema),
  errorCount: z.number(),
  attempt: z.number(),
  previousAttempt: z.string().nullable(),
  /** Whether a retry can help; a service from before retry advice sends none (then none is offered: `job` says so). */
  retry: z.looseObject({ offered: z.boolean(), reason: z.string().nullable() }).default({ offered: false, reason: null }),
  /** A newer version of the source replaced this job's output (or upload). */
  superseded: z.looseObject({ by: z.string().nullable(), message: z.string() }).nullable().default(null),
  output: z.union([partialOutputSchema, completedOutputSchema]).nullable(),
  createdTime: z.string(),
  lastUpdatedTime: z.string(),
});

export const tileEntrySchema: z.ZodType<TileEntry> = z.looseObject({
  index: z.number(),
  itemId: z.string(),
  row: z.number(),
  col: z.number(),
  /** Source pixels. */
  window: z.looseObject({ x: z.number(), y: z.number(), width: z.number(), height: z.number() }),
  /** WGS84 lon/lat, once known. */
  bbox: bboxSchema.nullable(),
  state: z.enum(tileStates),
  route: z.enum(['functions', 'worker']),
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
  cogHref: z.string().nullable(),
  thumbnailHref: z.string().nullable(),
});

export const jobPageSchema = z.looseObject({ jobs: z.array(jobViewSchema), continuationToken: z.string().nullable() });
export type JobPage = z.infer<typeof jobPageSchema>;

export const tilePageSchema: z.ZodType<TileLedgerPage> = z.looseObject({ jobId: z.string(), total: z.number(), tiles: z.array(tileEntrySchema), continuationToken: z.string().nullable() });
export type TilePage = TileLedgerPage;

/** `202`: a new job (or attempt) started; `200`: the same upload with the same options already has a job. */
export const submitAnswerSchema = z.union([
  z.looseObject({ id: z.string(), statusQueryGetUri: z.string(), existing: z.literal(true), job: jobViewSchema.nullable() }),
  z.looseObject({ id: z.string(), statusQueryGetUri: z.string(), attempt: z.number(), previousAttempt: z.string().nullable() }),
]);
export type SubmitAnswer = z.infer<typeof submitAnswerSchema>;

/** `200` to a request with `"dryRun": true`: it would be accepted (fields, container, path); nothing started, the blob not looked at. */
export const dryRunAnswerSchema = z.looseObject({ dryRun: z.literal(true), source: z.string() });
export type DryRunAnswer = z.infer<typeof dryRunAnswerSchema>;

export const retryAnswerSchema = z.looseObject({
  id: z.string(),
  previousAttempt: z.string(),
  statusQueryGetUri: z.string(),
  retriedTiles: z.number(),
  /** Tiles the earlier attempt made, taken as they are. */
  reusedTiles: z.number().optional(),
  /** What runs again: the failed `tiles`, only the `finalize` step (every tile was made), or the whole `job` (it failed before any tile). */
  reruns: z.enum(['tiles', 'finalize', 'job']).optional(),
});
export type RetryAnswer = z.infer<typeof retryAnswerSchema>;

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
});
export type BulkRetryPage = z.infer<typeof bulkRetryPageSchema>;
export type BulkRetryJob = BulkRetryPage['jobs'][number];

export const batchStages = ['pending', 'listing', 'ingesting', 'finalizing', 'completed', 'failed'] as const;

const batchCountsSchema = z.looseObject({ total: z.number(), done: z.number(), failed: z.number(), skipped: z.number(), missing: z.number() });

/** The batch view is the server's own type (`src/jobs/batch.view.ts`), like the job view. */
export const batchViewSchema: z.ZodType<BatchView> = z.looseObject({
  id: z.string(),
  status: z.string(),
  stage: z.enum(batchStages),
  selection: z.string().nullable(),
  collection: z.string().nullable(),
  chunk: z.number(),
  counts: batchCountsSchema.extend({ running: z.number() }),
  throughputPerMinute: z.number().nullable(),
  estimatedSecondsLeft: z.number().nullable(),
  reason: z.string().nullable(),
  failures: z.array(
    z.looseObject({ code: failureCodeSchema, message: z.string(), itemId: z.string().optional(), source: z.string(), jobId: z.string().optional() }),
  ),
  missing: z.array(z.string()),
  attempt: z.number(),
  previousAttempt: z.string().nullable(),
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
});

export const batchPageSchema = z.looseObject({ batches: z.array(batchViewSchema), continuationToken: z.string().nullable() });
export type BatchPage = z.infer<typeof batchPageSchema>;

/** `202`: a new batch (or attempt) started; `200`: the same batch is still running. */
export const submitBatchAnswerSchema = z.union([
  z.looseObject({ id: z.string(), statusQueryGetUri: z.string(), existing: z.literal(true), batch: batchViewSchema.nullable() }),
  z.looseObject({ id: z.string(), statusQueryGetUri: z.string(), attempt: z.number(), previousAttempt: z.string().nullable() }),
]);
export type SubmitBatchAnswer = z.infer<typeof submitBatchAnswerSchema>;

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

/** `application/problem+json` (RFC 9457) as the app answers errors. */
export const problemSchema = z.looseObject({
  title: z.string().optional(),
  status: z.number().optional(),
  detail: z.string().optional(),
  fields: z.array(z.string()).optional(),
});
export type Problem = z.infer<typeof problemSchema>;

/** What `POST /api/jobs` takes. */
export interface SubmitRequest {
  /** `<container>/<blob>` */
  source: string;
  collection?: string;
  options?: Record<string, string | number | boolean>;
  force?: boolean;
}

/** `POST /api/jobs` with `"dryRun": true`: the request checked, nothing started. */
export type DryRunRequest = SubmitRequest & { dryRun: true };

/** Filters of the job list and of bulk retry. `since`: an ISO time or a span back from now (`1d`, `12h`, `30m`). */
export interface JobFilter {
  status?: string[];
  collection?: string;
  since?: string;
  errorCode?: FailureCode;
  /** Only the jobs of this batch. */
  batch?: string;
  /** Only jobs whose source starts with this: `<container>/<path>`, or a blob path in any container. */
  source?: string;
}

export interface PageRequest {
  top?: number;
  continuationToken?: string;
}
