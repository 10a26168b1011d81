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
  startedAt: string | null;
  endedAt: string | null;
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
}

export interface Problem {
  title?: string;
  status?: number;
  detail?: string;
  /** A retry of an attempt that was retried already names the newest attempt. */
  latest?: string;
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
  jobs: Array<{ id: string; source: string; errorCodes: string[]; retriedAs: string | null; outcome: string }>;
  continuationToken: string | null;
}
