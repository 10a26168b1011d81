/**
 * The job API as the dashboard reads it (the contract of src/functions/jobs.http.ts, issue 10).
 * Only the fields the page uses; the server may send more.
 */
export type FailureCode = string;

export interface JobFailure {
  code: FailureCode;
  message: string;
  itemId?: string;
}

export type JobStatus = 'Pending' | 'Running' | 'Completed' | 'Failed' | 'Terminated' | 'Suspended' | (string & {});

export interface JobView {
  id: string;
  status: JobStatus;
  stage: string;
  route: string | null;
  source: string | null;
  collection: string | null;
  /** The batch the job belongs to (older services do not say). */
  batch?: string | null;
  tiles: { done: number; failed: number; total: number };
  itemsRegistered: number;
  errors: JobFailure[];
  errorCount: number;
  attempt: number;
  previousAttempt: string | null;
  /** Whether a retry can help (only failed jobs whose every failure may pass), and if not, why and what to do. */
  retry: { offered: boolean; reason: string | null };
  /** A newer version of the source replaced this job's output (or its upload). */
  superseded: { by: string | null; message: string } | null;
  createdTime: string;
  lastUpdatedTime: string;
}

export interface JobPage {
  jobs: JobView[];
  continuationToken: string | null;
}

export type TileState = 'pending' | 'creating-cog' | 'registering' | 'done' | 'failed' | 'queued' | 'running';

export interface TileEntry {
  index: number;
  itemId: string;
  row: number;
  col: number;
  window: { x: number; y: number; width: number; height: number };
  /** WGS84 lon/lat, once known. */
  bbox: [number, number, number, number] | null;
  state: TileState | (string & {});
  route: string;
  attempts: number;
  error: { code: FailureCode; message: string } | null;
  /** When it began to wait for an activity slot or the worker (absent or `null` where the service does not tell waiting from working). */
  queuedAt?: string | null;
  /** When its work started (`null` while it waits). */
  startedAt: string | null;
  endedAt: string | null;
  /** Waited for a slot or the worker, and worked, in milliseconds (`null` until known). */
  waitMs?: number | null;
  workMs?: number | null;
  /** Taken over from the previous attempt (a retry), not made again. */
  reused?: boolean;
  cogUrl: string | null;
  itemUrl: string | null;
  thumbnailUrl: string | null;
  /** App-relative `/api/cogs/...`, readable by the browser with range requests. */
  cogHref: string | null;
  thumbnailHref: string | null;
}

export interface TilePage {
  jobId: string;
  tiles: TileEntry[];
  continuationToken: string | null;
}

export interface RetryAccepted {
  id: string;
  previousAttempt: string;
  retriedTiles: number;
  reusedTiles?: number;
  /** What runs again: the failed tiles, only the finalize step, or the whole job. */
  reruns?: 'tiles' | 'finalize' | 'job';
}

export interface Problem {
  title?: string;
  status?: number;
  detail?: string;
  /** A retry of an attempt that was retried already names the newest attempt. */
  latest?: string;
  /** Why a retry was refused: `permanent`, `superseded`, `already-retried`, `running`, `completed`. */
  outcome?: string;
}

/** Counts of a batch's sources (src/pipeline/contracts.ts `BatchCounts`, plus `running`). */
export interface BatchCounts {
  total: number;
  done: number;
  failed: number;
  skipped: number;
  missing: number;
  running: number;
}

export interface BatchFailure {
  code: FailureCode;
  message: string;
  source: string;
  jobId?: string;
  itemId?: string;
}

/** `GET /api/batches/{id}` (src/jobs/batch.view.ts `BatchView`); only the fields the page uses. */
export interface BatchView {
  id: string;
  status: JobStatus;
  stage: string;
  selection: string | null;
  collection: string | null;
  chunk: number;
  counts: BatchCounts;
  /** Sources finished per minute since the batch started. */
  throughputPerMinute: number | null;
  estimatedSecondsLeft: number | null;
  reason: string | null;
  failures: BatchFailure[];
  /** Manifest entries that name no blob. */
  missing: string[];
  attempt: number;
  previousAttempt: string | null;
  createdTime: string;
  lastUpdatedTime: string;
}

export interface BatchPage {
  batches: BatchView[];
  continuationToken: string | null;
}

/** `POST /api/jobs/retry`: one page of the jobs the filter matched, each with what its retry did. */
export interface BulkRetryResult {
  dryRun: boolean;
  /** Per job: `started` (`dry-run`: would start) or why not (`permanent`, `superseded`, `already-retried`, ...), with the reason. */
  jobs: Array<{ id: string; source: string; errorCodes: string[]; retriedAs: string | null; outcome: string; reason: string | null }>;
  continuationToken: string | null;
}
