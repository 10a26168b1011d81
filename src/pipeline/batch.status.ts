/**
 * What a batch shows of its sources in its custom status (and carries from chunk to chunk): the
 * first failures and missing manifest entries, each upload-derived string cut with `boundText`
 * (a cut name keeps a hash of the whole, so distinct sources stay distinct), the counts saying how
 * many there were. Azure refuses a custom status over 16 KB of UTF-16 JSON (8,192 characters) and
 * fails the orchestration, so the lists are also trimmed, last first, until the whole status fits
 * a budget below that, whatever characters the names hold. Pure and deterministic: the batch
 * orchestrator uses it.
 */
import { boundText } from './bounded.text.js';
import type { BatchProgress } from './contracts.js';
import type { Failure } from './failure.js';

export const batchStatusBounds = {
  /** Failures, and missing entries, listed at most (each list). */
  listed: 10,
  /** A source path or manifest entry, in characters. */
  source: 120,
  /** A failure's message. */
  message: 160,
  /** Why a manifest entry names no blob. */
  missingReason: 100,
  /** The prefix or manifest the batch takes. */
  selection: 200,
  /** Why the batch failed. */
  reason: 400,
  /** The whole status, as Azure measures it (UTF-16 bytes of its JSON): 15 KB, under the 16 KB limit. */
  statusBytes: 15 * 1024,
} as const;

export type ListedFailure = BatchProgress['failures'][number];

export function listedFailure(failure: Failure, source: string, jobId: string): ListedFailure {
  return { code: failure.code, message: boundText(failure.message, batchStatusBounds.message), source: boundText(source, batchStatusBounds.source), jobId };
}

export function listedMissing(entry: string, reason: string): string {
  return `${boundText(entry, batchStatusBounds.source)}: ${boundText(reason, batchStatusBounds.missingReason)}`;
}

/** A status (or any JSON value) as Azure sizes it: UTF-16 bytes of its JSON text. */
export function statusBytes(value: unknown): number {
  return (JSON.stringify(value) ?? '').length * 2;
}

/**
 * Bounds what `progress` lists (in place): strings cut, lists capped, then the last entries of
 * the longer list dropped until the status fits `batchStatusBounds.statusBytes`.
 */
export function fitBatchProgress(progress: BatchProgress): BatchProgress {
  progress.selection = boundText(progress.selection, batchStatusBounds.selection);
  if (progress.reason !== undefined) progress.reason = boundText(progress.reason, batchStatusBounds.reason);
  progress.failures = progress.failures.slice(0, batchStatusBounds.listed).map((listed) => ({ ...listed, message: boundText(listed.message, batchStatusBounds.message), source: boundText(listed.source, batchStatusBounds.source) }));
  progress.missing = progress.missing.slice(0, batchStatusBounds.listed).map((missing) => boundText(missing, batchStatusBounds.source + 2 + batchStatusBounds.missingReason));
  while (statusBytes(progress) > batchStatusBounds.statusBytes && (progress.failures.length > 0 || progress.missing.length > 0)) {
    if (progress.missing.length >= progress.failures.length) progress.missing.pop();
    else progress.failures.pop();
  }
  return progress;
}
