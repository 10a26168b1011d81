/**
 * The shapes of the hostile corpus's cases (issues 8 and 18): what each case uploads or sends, on
 * which host it runs, and what the service must answer. The generators are `hostile.corpus.ts`
 * (issue 8 and the entry point) and one module per class of issue 18 (`hostile.crs.ts`,
 * `hostile.sizes.ts`, `hostile.metadata.ts`, `hostile.requests.ts`).
 */
import type { FailureCode } from '../../src/pipeline/failure.js';

/** Containers the host under test is configured to read (`INGEST_SOURCE_CONTAINERS`). */
export const allowedContainers = ['uploads', 'incoming'] as const;
export type SourceContainer = (typeof allowedContainers)[number];

/**
 * Which local host a case runs on. Most cases share one; a case gets another when it needs other
 * settings or could, before its fix, stop the host it runs on:
 * - `shared`: the host every other case runs on (PROJ's network switched on in its environment);
 * - `blocking`: the shared host, but alone and after every other case there (a file that blocks whoever opens it);
 * - `memory-capped`: a host under a memory limit (declared sizes, decompression bombs, tile caps);
 * - `inspect-timeout`: a host with `INGEST_INSPECT_TIMEOUT_SECONDS=1`;
 * - `inspect-memory`: a host with `INGEST_INSPECT_MEMORY_MB=256`;
 * - `globs`: a host whose storage holds names that make a backtracking glob engine run for minutes.
 */
export type HostRole = 'shared' | 'blocking' | 'memory-capped' | 'inspect-timeout' | 'inspect-memory' | 'globs';

export type Expectation =
  /** The submission is refused: 400 problem+json naming `fields` (when given); a status in `statuses` when more than one is right. */
  | { outcome: 'http-400'; fields?: string[]; detailMentions?: string[]; statuses?: number[] }
  | { outcome: 'http-404' }
  /**
   * Accepted (202), then the job ends Failed with a reason matching `reason`; with `codes`, the
   * failure's code is one of them; with `names`, the reason also names the offending parameter;
   * with `tilesTotal`, the job planned that many tiles (0: refused before any plan); with
   * `oneAttempt`, nothing retried it (attempt 1, no `-a2` job).
   */
  | { outcome: 'job-failed'; reason: RegExp; codes?: FailureCode[]; names?: RegExp; tilesTotal?: number; oneAttempt?: boolean }
  /**
   * Accepted and completed; nothing from the sidecars shows in its COGs or items. `noMask`: the COG
   * has no mask band. `notes`: every item carries a `raster-ingest:notes` entry matching it, and
   * its `datetime` is a real date of our time (the metadata value it replaced was left out).
   */
  | { outcome: 'job-completed-clean'; noMask?: boolean; notes?: RegExp }
  /**
   * Either is right: completed cleanly, or refused with one of `codes` and a reason matching
   * `reason` (a file whose hostile part its writer dropped, leaving only a name).
   */
  | { outcome: 'job-completed-or-refused'; reason: RegExp; codes: FailureCode[] };

export interface CaseBase {
  id: string;
  category: string;
  /** What the case tries to make the service do. */
  attack: string;
  expect: Expectation;
}

export interface UploadedFile {
  /** Blob name relative to the case's folder in its container. */
  blobName: string;
  localPath: string;
}

export interface FileCase extends CaseBase {
  kind: 'file';
  container: SourceContainer;
  /** The blob the job is submitted for (`<container>/<source>`). */
  source: string;
  /** The source file first, then its sidecars; all uploaded next to each other. */
  files: UploadedFile[];
  options?: Record<string, unknown>;
  /** Default `shared`. */
  host?: HostRole;
  /** Named pipes the case points at: released (opened for writing) after it, so that no reader stays blocked. */
  fifos?: string[];
}

export interface RequestCase extends CaseBase {
  kind: 'request';
  /** Where the body is posted: the job API (default) or the batch API. */
  endpoint: '/api/jobs' | '/api/batches';
  /** The raw request body. */
  body: string;
}

/** A GET with a hostile query or path (continuation tokens, source maps). */
export interface QueryCase extends CaseBase {
  kind: 'query';
  /** Path and query, already encoded as sent. */
  path: string;
}

export interface BatchExpectation {
  /**
   * `batch-ends`: accepted, and the batch ends Completed with these counts (at least, where
   * marked) while the jobs list keeps answering. `refused-or-batch-ends`: a 400 naming `fields`,
   * a 404, or an accepted batch that ends; either way the host kept answering.
   */
  outcome: 'batch-ends' | 'refused-or-batch-ends';
  fields?: string[];
  counts?: { total?: number; done?: number; failed?: number; missing?: number };
  /** At least this many sources done, or failed plus missing. */
  doneAtLeast?: number;
  junkAtLeast?: number;
}

/** A batch over blobs the case uploads first (a prefix or a manifest). */
export interface BatchCase extends Omit<CaseBase, 'expect'> {
  kind: 'batch';
  /** Blobs to upload before the batch is submitted, by full name in their container. */
  blobs: Array<{ container: SourceContainer; name: string; localPath: string }>;
  /** The `POST /api/batches` body. */
  body: Record<string, unknown>;
  expect: BatchExpectation;
  /** Default `shared`. */
  host?: HostRole;
}

export type HostileCase = FileCase | RequestCase | QueryCase | BatchCase;
