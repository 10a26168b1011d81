/**
 * What a person sees of a job, built from the orchestration status and the progress the
 * orchestrator keeps in its custom status. Pure, so it is unit-tested without a host.
 *
 * Only structured data is shown: the failures the orchestrator recorded (a code and a message
 * each), never the orchestration's raw output or error text, which could hold a stack trace.
 */
import type { DerivedOutcome, IngestInput, IngestOutput, IngestProgress, JobFailure, JobQuarantine, TileLayout, TileRoute } from '../pipeline/contracts.js';
import { failureFrom, isFailure, isFailureCode, type FailureCode } from '../pipeline/failure.js';
import type { JobIndexEntry } from './job.index.js';
import { adviseRetry, type RetryAdvice } from './retry.advice.js';

/** What a failed job made before it failed: its registered tiles, and every failed tile with its code. */
export interface PartialOutput {
  partial: true;
  tiles: IngestOutput['tiles'];
  failedTiles: JobFailure[];
  bytesIn: number;
  bytesOut: number;
}

/** A newer version of the job's source took its place: what replaced it, and what that means. */
export interface Supersession {
  /** The job whose output (or upload) replaced this one's, when known. */
  by: string | null;
  /** For a person: what replaced it, and how long this job's COGs stay readable. */
  message: string;
  /** Set when the source blob was deleted and its outputs removed: when, and by which `removeSource` run. */
  removed?: { deletedAt: string; removal: string };
}

/** The fields of a Durable orchestration status this view reads. */
export interface OrchestrationStatusLike {
  instanceId: string;
  name: string;
  runtimeStatus: string;
  createdTime: Date | string;
  lastUpdatedTime: Date | string;
  input?: unknown;
  output?: unknown;
  customStatus?: unknown;
}

export interface JobView {
  id: string;
  status: string;
  stage: IngestProgress['stage'] | 'pending' | 'rejected';
  /** Where the tiles are made (`functions` or the container `worker`), once validation has sized the raster. */
  route: TileRoute | null;
  /** Why: the raster's size against the threshold, or the job's `route` option. */
  routeReason: string | null;
  /** `single-tile` (inline) or `fan-out` (one branch per tile), once validation has planned the tiles. */
  layout: TileLayout | null;
  source: string | null;
  collection: string | null;
  /** The batch the job belongs to, if any. */
  batch: string | null;
  /** The version of its collection's definition the job ran, or `null` (a collection without one). */
  definitionVersion: number | null;
  tiles: { done: number; failed: number; total: number };
  itemsRegistered: number;
  /** The first failures, each with a code and a message; `errorCount` says how many there were. */
  errors: JobFailure[];
  errorCount: number;
  /** 1 for the first job of an upload; each resubmission after a failure adds one. */
  attempt: number;
  /** The id of the attempt before this one, or `null`. */
  previousAttempt: string | null;
  /** Whether a retry can help (a failed job whose every failure may pass), and if not, why and what to do instead. */
  retry: RetryAdvice;
  /** Set when a quality gate stopped the job before publishing; `decision` is filled in by `GET /api/jobs/{id}` (`withQuarantineDecision`). */
  quarantine: QuarantineView | null;
  /** Collections deriving from the job's and how each one's products of its items ended (1.6 on); empty when none derive from it. */
  derived: DerivedOutcome[];
  /** Set (by `GET /api/jobs/{id}`) when a newer version of the source replaced this job's output or upload; `null` otherwise. */
  superseded: Supersession | null;
  output: IngestOutput | PartialOutput | null;
  createdTime: string;
  lastUpdatedTime: string;
}

export interface QuarantineView extends JobQuarantine {
  /** The operator's decision and its run (`resolveQuarantine`), once made. */
  decision: { decision: 'approve' | 'reject'; id: string; status: string } | null;
}

function isProgress(value: unknown): value is IngestProgress {
  return typeof value === 'object' && value !== null && 'stage' in value && 'tilesTotal' in value;
}

function isIngestInput(value: unknown): value is IngestInput {
  return typeof value === 'object' && value !== null && 'source' in value && 'collection' in value;
}

function isIngestOutput(value: unknown): value is IngestOutput {
  return typeof value === 'object' && value !== null && 'collection' in value && 'tiles' in value && Array.isArray(value.tiles);
}

function toIso(value: Date | string): string {
  return value instanceof Date ? value.toISOString() : new Date(value).toISOString();
}

/** Failures recorded in the progress; anything not of the structured shape is shown as a generic internal failure. */
function readFailures(progress: IngestProgress | undefined): JobFailure[] {
  const recorded: unknown[] = Array.isArray(progress?.errors) ? progress.errors : [];
  return recorded.map((entry) => {
    if (!isFailure(entry)) return failureFrom(undefined);
    return { code: entry.code, message: entry.message, ...('itemId' in entry && typeof entry.itemId === 'string' ? { itemId: entry.itemId } : {}) };
  });
}

/** Every distinct code: those recorded for all failures, and those of the failures shown. */
function codesOf(recorded: readonly FailureCode[], shown: readonly JobFailure[]): FailureCode[] {
  return [...new Set([...recorded, ...shown.map((failure) => failure.code)])];
}

/**
 * The view of a quarantined job with the operator's decision: once an approval has published the
 * kept outputs the job is `Completed`; once a rejection has deleted them, `Rejected`.
 */
export function withQuarantineDecision(view: JobView, state: { decision: 'approve' | 'reject'; id: string; status: string; derived?: DerivedOutcome[] } | null): JobView {
  if (!view.quarantine || !state) return view;
  const { derived, ...decision } = state;
  const done = decision.status === 'Completed';
  const status = !done ? view.status : decision.decision === 'approve' ? 'Completed' : 'Rejected';
  return { ...view, status, stage: !done ? view.stage : decision.decision === 'approve' ? 'completed' : 'rejected', quarantine: { ...view.quarantine, decision }, ...(derived ? { derived } : {}) };
}

/** The view of a job a newer version replaced: it says so, and a retry is not offered (the version it read is gone). */
export function withSupersession(view: JobView, superseded: Supersession | null): JobView {
  if (!superseded) return view;
  // A removed source's COGs are deleted: the view lists none of them.
  const output = superseded.removed && view.output ? { ...view.output, tiles: [] } : view.output;
  return { ...view, superseded, output, retry: view.retry.offered ? { offered: false, reason: superseded.message } : view.retry };
}

export function buildJobView(status: OrchestrationStatusLike): JobView {
  const progress = isProgress(status.customStatus) ? status.customStatus : undefined;
  const input = isIngestInput(status.input) ? status.input : undefined;
  const failed = status.runtimeStatus === 'Failed' || status.runtimeStatus === 'Terminated';
  let errors = readFailures(progress);
  if (failed && errors.length === 0) {
    errors = [
      status.runtimeStatus === 'Terminated'
        ? { code: 'INTERNAL', message: 'the job was terminated by an administrator' }
        : { code: 'INTERNAL', message: `the job failed unexpectedly; the service logs have the details (job ${status.instanceId})` },
    ];
  }
  const attempt = progress?.attempt ?? input?.attempt ?? 1;
  const previousAttempt = progress?.previousAttempt ?? input?.previousAttempt ?? null;
  const source = progress?.source ?? (input ? `${input.source.container}/${input.source.name}` : null);
  const codes = (progress?.errorCodes ?? []).filter(isFailureCode);
  const output = status.runtimeStatus === 'Completed' && isIngestOutput(status.output) ? status.output : null;
  const quarantine = output?.quarantine ? { ...output.quarantine, decision: null } : null;
  return {
    id: status.instanceId,
    // A quarantined job's orchestration has completed, but nothing of it is published.
    status: quarantine ? 'Quarantined' : status.runtimeStatus,
    stage: failed ? 'failed' : quarantine ? 'quarantined' : (progress?.stage ?? 'pending'),
    route: progress?.route ?? null,
    routeReason: progress?.routeReason ?? null,
    layout: progress?.layout ?? null,
    source,
    collection: progress?.collection ?? input?.collection ?? null,
    batch: input?.batchId ?? null,
    definitionVersion: input?.definition?.version ?? null,
    tiles: { done: progress?.tilesDone ?? 0, failed: progress?.tilesFailed ?? 0, total: progress?.tilesTotal ?? 0 },
    itemsRegistered: progress?.itemsRegistered ?? 0,
    errors,
    errorCount: Math.max(progress?.errorCount ?? 0, errors.length),
    attempt,
    previousAttempt,
    retry: adviseRetry({ status: quarantine ? 'Quarantined' : status.runtimeStatus, errorCodes: codesOf(codes, errors), source }),
    quarantine,
    // The output has every outcome; while the job runs, its status has the first few.
    derived: output?.derived ?? progress?.derived ?? [],
    superseded: null,
    output,
    createdTime: toIso(status.createdTime),
    lastUpdatedTime: toIso(status.lastUpdatedTime),
  };
}

const stageOfIndexedStatus: Readonly<Record<JobIndexEntry['status'], JobView['stage']>> = {
  Pending: 'pending',
  Running: 'creating-cogs',
  Completed: 'completed',
  Failed: 'failed',
  Terminated: 'failed',
  Quarantined: 'quarantined',
  Rejected: 'rejected',
};

/** A job as the jobs index has it: enough for a list (no route, no output; the job itself has those). */
export function buildJobViewFromIndex(entry: JobIndexEntry): JobView {
  return {
    id: entry.id,
    status: entry.status,
    stage: stageOfIndexedStatus[entry.status],
    route: null,
    routeReason: null,
    layout: null,
    source: entry.source,
    collection: entry.collection,
    batch: entry.batch ?? null,
    definitionVersion: entry.definitionVersion ?? null,
    tiles: { done: entry.tilesDone, failed: entry.tilesFailed, total: entry.tilesTotal },
    itemsRegistered: entry.tilesDone,
    errors: entry.errors,
    errorCount: Math.max(entry.errors.length, entry.tilesFailed),
    attempt: entry.attempt,
    previousAttempt: entry.previousAttempt,
    retry: adviseRetry({ status: entry.status, errorCodes: codesOf(entry.errorCodes, entry.errors), source: entry.source }),
    quarantine: null,
    derived: [],
    superseded: null,
    output: null,
    createdTime: entry.createdTime,
    lastUpdatedTime: entry.lastUpdatedTime,
  };
}

/** `since` as a time: an ISO 8601 date-time, or an age such as `30m`, `12h`, `1d`, `2w`. */
export function parseSince(value: string, now: Date): Date | undefined {
  const age = /^(\d+)\s*([mhdw])$/.exec(value.trim());
  if (age) {
    const unitMs: Readonly<Record<string, number>> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
    return new Date(now.getTime() - Number(age[1]) * (unitMs[age[2] ?? ''] ?? 0));
  }
  const time = Date.parse(value);
  return Number.isNaN(time) ? undefined : new Date(time);
}
