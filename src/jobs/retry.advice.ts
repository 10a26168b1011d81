/**
 * Whether a retry can help a job, from its status and its failures' codes alone. Pure, and free of
 * Node and Azure imports: the job view, the retry API and the CLI read the same answer.
 *
 * A failure is permanent when the input itself must change (`isPermanentFailure`: an invalid or
 * unsupported upload, a limit the upload hits, a source changed or gone, an output name taken):
 * the same upload with the same options fails the same way however often it runs. Everything else
 * (storage, time-outs, memory, disk, internal faults) may pass, and is worth a retry.
 */
import { isPermanentFailure, type FailureCode } from '../pipeline/failure.js';

/** Jobs one bulk retry request looks at (and may start): its `top` is at most this. */
export const maxBulkRetryTop = 100;

export interface RetryAdvice {
  /** `POST /api/jobs/{id}/retry` can help: the job failed, and only for reasons that may pass. */
  offered: boolean;
  /** Why not, and what to do instead; `null` when a retry is offered. */
  reason: string | null;
}

/** The codes among `codes` that no retry can fix, each once. */
export function permanentCodes(codes: readonly FailureCode[]): FailureCode[] {
  return [...new Set(codes.filter((code) => isPermanentFailure({ code, message: '' })))];
}

/** What to tell a person whose job failed permanently: the codes, and the two ways on. */
export function describePermanentFailure(codes: readonly FailureCode[], source: string | null): string {
  const list = codes.join(', ');
  return (
    `${list} ${codes.length === 1 ? 'is a permanent failure' : 'are permanent failures'}: the same upload with the same options fails the same way, so a retry cannot help. ` +
    `Upload a new version of ${source ?? 'the source'} (a new version is a new job), or submit it again with "force": true to re-run it unchanged`
  );
}

const finishedStatuses: ReadonlySet<string> = new Set(['Completed', 'Failed', 'Terminated', 'Canceled']);

/** Whether to offer a retry of a job in `status` whose failures have `codes`. */
export function adviseRetry(job: { status: string; errorCodes: readonly FailureCode[]; source: string | null }): RetryAdvice {
  if (!finishedStatuses.has(job.status)) return { offered: false, reason: `the job is ${job.status.toLowerCase()}; a retry is possible once it has failed` };
  if (job.status === 'Completed') return { offered: false, reason: 'the job completed; submit it again with "force": true to re-run it' };
  const permanent = permanentCodes(job.errorCodes);
  if (permanent.length > 0) return { offered: false, reason: describePermanentFailure(permanent, job.source) };
  return { offered: true, reason: null };
}
