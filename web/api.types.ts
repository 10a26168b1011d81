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
