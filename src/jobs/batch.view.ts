/** What a person sees of a batch: counts, throughput, time left, failures, and where its jobs are. Pure. */
import { batchStatusBounds } from '../pipeline/batch.status.js';
import { boundText } from '../pipeline/bounded.text.js';
import type { BatchCounts, BatchOutput, BatchProgress } from '../pipeline/contracts.js';
import type { InstanceStatus } from './durable.instances.js';

export interface BatchView {
  id: string;
  status: string;
  stage: BatchProgress['stage'] | 'pending';
  selection: string | null;
  collection: string | null;
  chunk: number;
  counts: BatchCounts & { running: number };
  /** Sources finished (done, failed or skipped) per minute since the batch started. */
  throughputPerMinute: number | null;
  /** Seconds left at that rate for the sources found so far; `null` until it can be told. */
  estimatedSecondsLeft: number | null;
  /** Why the batch failed, when it did. */
  reason: string | null;
  /** The first failures (each with its source and job), strings bounded; `counts.failed` says how many. */
  failures: BatchProgress['failures'];
  /** The first manifest entries that name no blob, with why; `counts.missing` says how many. */
  missing: string[];
  attempt: number;
  previousAttempt: string | null;
  /** The batch's jobs, newest first, through the jobs API. */
  jobs: string;
  output: BatchOutput | null;
  createdTime: string;
  lastUpdatedTime: string;
}

function isBatchProgress(value: unknown): value is BatchProgress {
  return typeof value === 'object' && value !== null && 'counts' in value && 'stage' in value && 'selection' in value;
}

function isBatchOutput(value: unknown): value is BatchOutput {
  return typeof value === 'object' && value !== null && 'counts' in value && 'chunks' in value;
}

export function buildBatchView(status: InstanceStatus, now: Date): BatchView {
  const progress = isBatchProgress(status.customStatus) ? status.customStatus : undefined;
  const output = status.runtimeStatus === 'Completed' && isBatchOutput(status.output) ? status.output : null;
  const counts = output?.counts ?? progress?.counts ?? { total: 0, done: 0, failed: 0, skipped: 0, missing: 0 };
  const finished = counts.done + counts.failed + counts.skipped;
  const startedAt = Date.parse(progress?.startedAt ?? status.createdTime);
  const endedAt = ['Completed', 'Failed', 'Terminated'].includes(status.runtimeStatus) ? Date.parse(status.lastUpdatedTime) : now.getTime();
  const minutes = Math.max((endedAt - startedAt) / 60_000, 1 / 60);
  const throughput = finished > 0 ? finished / minutes : null;
  const left = counts.total - finished;
  const failed = status.runtimeStatus === 'Failed' || status.runtimeStatus === 'Terminated';
  return {
    id: status.instanceId,
    status: status.runtimeStatus,
    stage: failed ? 'failed' : output ? 'completed' : (progress?.stage ?? 'pending'),
    selection: progress ? boundText(progress.selection, batchStatusBounds.selection) : null,
    collection: progress?.collection ?? output?.collection ?? null,
    chunk: progress?.chunk ?? 0,
    counts: { ...counts, running: output ? 0 : (progress?.running ?? 0) },
    throughputPerMinute: throughput === null ? null : Math.round(throughput * 10) / 10,
    estimatedSecondsLeft: throughput === null || output || failed ? null : Math.round((left / throughput) * 60),
    reason: failed ? boundText(progress?.reason ?? 'the batch failed unexpectedly; the service logs have the details', batchStatusBounds.reason) : null,
    // Bounded by the orchestrator already; again here for statuses written before it did.
    failures: (progress?.failures ?? []).slice(0, batchStatusBounds.listed).map((failure) => ({ ...failure, source: boundText(failure.source, batchStatusBounds.source), message: boundText(failure.message, batchStatusBounds.message) })),
    missing: (progress?.missing ?? []).slice(0, batchStatusBounds.listed).map((missing) => boundText(missing, batchStatusBounds.source + 2 + batchStatusBounds.missingReason)),
    attempt: progress?.attempt ?? 1,
    previousAttempt: progress?.previousAttempt ?? null,
    jobs: `/api/jobs?batch=${encodeURIComponent(status.instanceId)}`,
    output,
    createdTime: new Date(status.createdTime).toISOString(),
    lastUpdatedTime: new Date(status.lastUpdatedTime).toISOString(),
  };
}
