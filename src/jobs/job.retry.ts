/**
 * Re-running only what failed: a failed job is retried as its next attempt, which takes the
 * tiles the failed one registered as they are (their blobs untouched) and makes only the others,
 * then finalizes. One job by id, or many by a filter, a page at a time.
 */
import type { DurableClient } from 'durable-functions';
import { orchestratorNames, type IngestInput } from '../pipeline/contracts.js';
import { findInstance } from './durable.instances.js';
import { attemptInstanceId } from './job.id.js';
import { finalStatuses, jobIndexKey, type JobIndex, type JobQuery } from './job.index.js';
import { startJob } from './job.submit.js';
import { ledgerJobOf, readRegisteredItems } from './tile.ledger.js';

export interface RetryDependencies {
  client: DurableClient;
  jobs: JobIndex;
  now?: () => Date;
}

export type RetryJobResult =
  | { outcome: 'started'; instanceId: string; previousAttempt: string; retriedTiles: number; reusedTiles: number }
  | { outcome: 'not-found' }
  | { outcome: 'running'; status: string }
  | { outcome: 'completed' }
  | { outcome: 'superseded'; latest: string };

/** The first attempt's id, from an attempt's id and number (`<base>-a<n>` for n > 1). */
function baseInstanceIdOf(instanceId: string, attempt: number): string {
  const suffix = `-a${attempt}`;
  return attempt > 1 && instanceId.endsWith(suffix) ? instanceId.slice(0, -suffix.length) : instanceId;
}

export async function retryJob(deps: RetryDependencies, instanceId: string): Promise<RetryJobResult> {
  const status = await findInstance(deps.client, instanceId);
  if (!status || status.name !== orchestratorNames.ingestRaster) return { outcome: 'not-found' };
  const job = ledgerJobOf(status);
  if (!job) return { outcome: 'not-found' };
  if (status.runtimeStatus === 'Completed') return { outcome: 'completed' };
  if (!finalStatuses.has(status.runtimeStatus)) return { outcome: 'running', status: status.runtimeStatus };

  const next = attemptInstanceId(baseInstanceIdOf(instanceId, job.input.attempt), job.input.attempt + 1);
  if (await findInstance(deps.client, next)) return { outcome: 'superseded', latest: next };

  const reuse = await readRegisteredItems(deps.client, job);
  const createdTime = (deps.now ?? (() => new Date()))();
  const input: IngestInput = {
    ...job.input,
    attempt: job.input.attempt + 1,
    previousAttempt: instanceId,
    reuse,
    index: { key: jobIndexKey(createdTime, next), createdTime: createdTime.toISOString() },
  };
  const started = await startJob(deps, input, next);
  if (started.outcome !== 'started') return { outcome: 'superseded', latest: next };
  const total = job.progress?.tilesTotal ?? 0;
  return { outcome: 'started', instanceId: next, previousAttempt: instanceId, retriedTiles: Math.max(total - reuse.length, 0), reusedTiles: reuse.length };
}

export interface BulkRetryResult {
  dryRun: boolean;
  jobs: Array<{ id: string; source: string; errorCodes: string[]; retriedAs: string | null; outcome: RetryJobResult['outcome'] | 'dry-run' }>;
  continuationToken: string | null;
}

/** One page of jobs matching `query` (failed ones by default), each retried unless `dryRun`. */
export async function retryJobs(deps: RetryDependencies, query: JobQuery, dryRun: boolean): Promise<BulkRetryResult> {
  const page = await deps.jobs.page({ ...query, statuses: query.statuses && query.statuses.length > 0 ? query.statuses : ['Failed'] });
  const jobs: BulkRetryResult['jobs'] = [];
  for (const entry of page.entries) {
    if (dryRun) {
      jobs.push({ id: entry.id, source: entry.source, errorCodes: entry.errorCodes, retriedAs: null, outcome: 'dry-run' });
      continue;
    }
    const result = await retryJob(deps, entry.id);
    jobs.push({
      id: entry.id,
      source: entry.source,
      errorCodes: entry.errorCodes,
      retriedAs: result.outcome === 'started' ? result.instanceId : result.outcome === 'superseded' ? result.latest : null,
      outcome: result.outcome,
    });
  }
  return { dryRun, jobs, continuationToken: page.continuationToken };
}
