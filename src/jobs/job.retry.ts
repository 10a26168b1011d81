/**
 * Re-running what failed, where that can help: a failed job is retried as its next attempt, which
 * takes the tiles the failed one registered as they are (their blobs untouched), makes only the
 * others, then finalizes. One job by id, or many by a filter, a page at a time.
 *
 * A retry is refused, saying why and what to do instead, when it cannot help: a permanent failure
 * (the input must change: `retry.advice.ts`), a source replaced or deleted since (superseded), an
 * attempt already retried (idempotent: asking twice starts one attempt), a job still running or
 * completed. `force` re-runs a permanent failure anyway.
 */
import type { DurableClient } from 'durable-functions';
import { orchestratorNames, type IngestInput, type RegisteredItem } from '../pipeline/contracts.js';
import { isFailureCode, type FailureCode } from '../pipeline/failure.js';
import type { BlobStore } from '../storage/blob.store.js';
import { findInstance } from './durable.instances.js';
import { attemptInstanceId } from './job.id.js';
import { finalStatuses, jobIndexKey, type JobIndex, type JobQuery } from './job.index.js';
import { startJob } from './job.submit.js';
import { findSupersession } from './job.supersession.js';
import { describePermanentFailure, permanentCodes } from './retry.advice.js';
import type { RetiredOutputs } from './retired.outputs.js';
import { ledgerJobOf, readRegisteredItems, type LedgerJob } from './tile.ledger.js';

export interface RetryDependencies {
  client: DurableClient;
  jobs: JobIndex;
  /** To tell whether the job's source was replaced since (a superseded job is not retried). */
  store: Pick<BlobStore, 'stat' | 'readJson'>;
  retired?: Pick<RetiredOutputs, 'find'>;
  now?: () => Date;
}

/** Why a job is not retried. */
export type RetryRefusal =
  | { outcome: 'not-found' }
  | { outcome: 'running'; status: string }
  | { outcome: 'completed' }
  | { outcome: 'already-retried'; latest: string }
  | { outcome: 'permanent'; codes: FailureCode[]; reason: string }
  | { outcome: 'superseded'; by: string | null; reason: string };

/** What a retry runs again: the failed tiles, only the finalize step (every tile was made), or the whole job (it failed before its tiles). */
export type RetryScope = 'tiles' | 'finalize' | 'job';

export type RetryJobResult =
  | RetryRefusal
  | { outcome: 'started'; instanceId: string; previousAttempt: string; retriedTiles: number; reusedTiles: number; reruns: RetryScope };

interface RetryPlan {
  outcome: 'ready';
  job: LedgerJob;
  next: string;
  reuse: RegisteredItem[];
  retriedTiles: number;
  reruns: RetryScope;
}

export interface RetryOptions {
  /** Retry a permanent failure anyway (the same input, run again unchanged). */
  force?: boolean;
}

/** The first attempt's id, from an attempt's id and number (`<base>-a<n>` for n > 1). */
function baseInstanceIdOf(instanceId: string, attempt: number): string {
  const suffix = `-a${attempt}`;
  return attempt > 1 && instanceId.endsWith(suffix) ? instanceId.slice(0, -suffix.length) : instanceId;
}

/** Every distinct failure code the job recorded (all of them, or for older jobs the ones its status shows). */
function failureCodesOf(job: LedgerJob): FailureCode[] {
  const progress = job.progress;
  const recorded = (progress?.errorCodes ?? []).filter(isFailureCode);
  const shown = (progress?.errors ?? []).map((failure) => failure.code).filter(isFailureCode);
  return [...new Set([...recorded, ...shown])];
}

function scopeOf(retriedTiles: number, reusedTiles: number): RetryScope {
  if (retriedTiles > 0) return 'tiles';
  return reusedTiles > 0 ? 'finalize' : 'job';
}

/** Decides whether the job can be retried, and what the retry would run; starts nothing. */
async function planRetry(deps: RetryDependencies, instanceId: string, options: RetryOptions): Promise<RetryRefusal | RetryPlan> {
  const status = await findInstance(deps.client, instanceId);
  if (!status || status.name !== orchestratorNames.ingestRaster) return { outcome: 'not-found' };
  const job = ledgerJobOf(status);
  if (!job) return { outcome: 'not-found' };
  if (status.runtimeStatus === 'Completed') return { outcome: 'completed' };
  if (!finalStatuses.has(status.runtimeStatus)) return { outcome: 'running', status: status.runtimeStatus };

  const next = attemptInstanceId(baseInstanceIdOf(instanceId, job.input.attempt), job.input.attempt + 1);
  if (await findInstance(deps.client, next)) return { outcome: 'already-retried', latest: next };
  const source = `${job.input.source.container}/${job.input.source.name}`;
  const permanent = permanentCodes(failureCodesOf(job));
  if (permanent.length > 0 && !options.force) return { outcome: 'permanent', codes: permanent, reason: describePermanentFailure(permanent, source) };
  // The version the job read is pinned: once replaced or deleted, no retry of it can read it.
  const superseded = await findSupersession(deps, status, job);
  if (superseded) return { outcome: 'superseded', by: superseded.by, reason: superseded.message };

  const reuse = await readRegisteredItems(deps.client, job);
  const retriedTiles = Math.max((job.progress?.tilesTotal ?? 0) - reuse.length, 0);
  return { outcome: 'ready', job, next, reuse, retriedTiles, reruns: scopeOf(retriedTiles, reuse.length) };
}

/** For a person: why a job is not retried, and what to do instead. */
export function describeRefusal(id: string, refusal: RetryRefusal): string {
  switch (refusal.outcome) {
    case 'not-found':
      return `No job has id "${id}"`;
    case 'running':
      return `Job "${id}" is ${refusal.status}; a retry is possible once it has failed`;
    case 'completed':
      return `Job "${id}" completed; submit it again with "force": true to re-run it`;
    case 'already-retried':
      return `Job "${id}" was retried already as "${refusal.latest}"; retry that one if it failed`;
    case 'permanent':
    case 'superseded':
      return refusal.reason;
  }
}

/** For a person: what a retry runs again. */
export function describeRerun(plan: Pick<RetryPlan, 'reruns' | 'retriedTiles' | 'reuse'>): string {
  switch (plan.reruns) {
    case 'tiles':
      return `re-runs ${plan.retriedTiles} failed tile${plan.retriedTiles === 1 ? '' : 's'}${plan.reuse.length ? ` and keeps ${plan.reuse.length} done` : ''}`;
    case 'finalize':
      return `every tile was made: re-runs only the finalize step, keeping all ${plan.reuse.length}`;
    case 'job':
      return 'it failed before making any tile: re-runs the whole job';
  }
}

type StartedRetry = Extract<RetryJobResult, { outcome: 'started' }>;

async function startRetry(deps: RetryDependencies, instanceId: string, plan: RetryPlan): Promise<StartedRetry | Extract<RetryRefusal, { outcome: 'already-retried' }>> {
  const createdTime = (deps.now ?? (() => new Date()))();
  const { job, next, reuse } = plan;
  const input: IngestInput = {
    ...job.input,
    // A retried job of a batch finalizes itself: its batch has finalized its chunk already.
    deferFinalize: undefined,
    attempt: job.input.attempt + 1,
    previousAttempt: instanceId,
    reuse,
    index: { key: jobIndexKey(createdTime, next), createdTime: createdTime.toISOString() },
  };
  const started = await startJob(deps, input, next);
  if (started.outcome !== 'started') return { outcome: 'already-retried', latest: next };
  return { outcome: 'started', instanceId: next, previousAttempt: instanceId, retriedTiles: plan.retriedTiles, reusedTiles: reuse.length, reruns: plan.reruns };
}

export async function retryJob(deps: RetryDependencies, instanceId: string, options: RetryOptions = {}): Promise<RetryJobResult> {
  const plan = await planRetry(deps, instanceId, options);
  return plan.outcome === 'ready' ? startRetry(deps, instanceId, plan) : plan;
}

export interface BulkRetryJob {
  id: string;
  source: string;
  errorCodes: string[];
  /** The attempt it started, or the one that already exists. */
  retriedAs: string | null;
  /** `started` (`dry-run`: would start), or why not. */
  outcome: RetryJobResult['outcome'] | 'dry-run';
  /** Why not, and what to do instead; in a dry run, what the retry would run again. */
  reason: string | null;
}

export interface BulkRetryResult {
  dryRun: boolean;
  jobs: BulkRetryJob[];
  continuationToken: string | null;
}

/**
 * One page (at most `query.top` jobs) matching `query`, failed ones by default: each is retried
 * unless `dryRun`, or skipped with the reason. Idempotent: a job already retried is reported with
 * its newer attempt and not retried again.
 */
export async function retryJobs(deps: RetryDependencies, query: JobQuery, dryRun: boolean): Promise<BulkRetryResult> {
  const page = await deps.jobs.page({ ...query, statuses: query.statuses && query.statuses.length > 0 ? query.statuses : ['Failed'] });
  const jobs: BulkRetryJob[] = [];
  for (const entry of page.entries) {
    const listed = { id: entry.id, source: entry.source, errorCodes: entry.errorCodes };
    const plan = await planRetry(deps, entry.id, {});
    if (plan.outcome !== 'ready') {
      const retriedAs = plan.outcome === 'already-retried' ? plan.latest : plan.outcome === 'superseded' ? plan.by : null;
      jobs.push({ ...listed, retriedAs, outcome: plan.outcome, reason: describeRefusal(entry.id, plan) });
      continue;
    }
    if (dryRun) {
      jobs.push({ ...listed, retriedAs: null, outcome: 'dry-run', reason: `would retry: ${describeRerun(plan)}` });
      continue;
    }
    const result = await startRetry(deps, entry.id, plan);
    if (result.outcome === 'started') jobs.push({ ...listed, retriedAs: result.instanceId, outcome: 'started', reason: describeRerun(plan) });
    else jobs.push({ ...listed, retriedAs: result.latest, outcome: result.outcome, reason: describeRefusal(entry.id, result) });
  }
  return { dryRun, jobs, continuationToken: page.continuationToken };
}
