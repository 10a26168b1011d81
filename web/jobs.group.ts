/**
 * A list of jobs with the attempts of one job folded together, pure: one row per upload, collection
 * and options (one job id), showing its newest attempt, the earlier ones under it.
 */
import type { JobView } from '../src/api/contract.js';

/** The first attempt's id: attempts are `<id>-a2`, `<id>-a3`, … (src/jobs/job.id.ts `attemptInstanceId`). */
export function firstAttemptId(id: string): string {
  return id.replace(/-a\d+$/, '');
}

export function attemptId(firstId: string, attempt: number): string {
  return attempt <= 1 ? firstId : `${firstId}-a${attempt}`;
}

export interface JobGroup {
  /** The newest attempt listed. */
  latest: JobView;
  /** Every attempt before it, oldest first, with its view when the same page lists it. */
  earlier: Array<{ id: string; attempt: number; job: JobView | null }>;
}

/** Jobs grouped by their first attempt's id, in the order their newest attempts come (the list's, newest first). */
export function groupAttempts(jobs: readonly JobView[]): JobGroup[] {
  const byFirst = new Map<string, JobView[]>();
  for (const job of jobs) {
    const first = firstAttemptId(job.id);
    const attempts = byFirst.get(first);
    if (attempts) attempts.push(job);
    else byFirst.set(first, [job]);
  }
  const groups = [...byFirst].map(([first, attempts]) => {
    const latest = attempts.reduce((newest, job) => (job.attempt > newest.attempt ? job : newest));
    const listed = new Map(attempts.map((job) => [job.attempt, job]));
    const earlier = Array.from({ length: Math.max(0, latest.attempt - 1) }, (_, i) => ({ id: attemptId(first, i + 1), attempt: i + 1, job: listed.get(i + 1) ?? null }));
    return { latest, earlier };
  });
  // Newest first, by the newest attempt of each.
  const position = new Map(jobs.map((job, i) => [job.id, i]));
  return groups.sort((a, b) => position.get(a.latest.id)! - position.get(b.latest.id)!);
}
