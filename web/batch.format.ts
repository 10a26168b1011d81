/** Words for a batch's progress: rates, time left, and how far it is. Pure. */
import type { BatchCounts } from '../src/api/contract.js';
import { formatDuration } from './tile.format.js';

/** Sources that have ended one way or another. */
export function finishedSources(counts: BatchCounts): number {
  return counts.done + counts.failed + counts.skipped;
}

/** `12.5 / min`, or `–` before the first source ends. */
export function formatThroughput(perMinute: number | null): string {
  return perMinute === null ? '–' : `${perMinute} / min`;
}

/** `about 3 min 05 s`, or `–` when it cannot be told (not started, or ended). */
export function formatTimeLeft(seconds: number | null): string {
  return seconds === null ? '–' : `about ${formatDuration(seconds * 1000)}`;
}

/** `7 of 12 sources (58 %)`. */
export function formatProgress(counts: BatchCounts): string {
  const finished = finishedSources(counts);
  if (counts.total === 0) return 'no sources found yet';
  return `${finished} of ${counts.total} sources (${Math.floor((finished / counts.total) * 100)} %)`;
}
