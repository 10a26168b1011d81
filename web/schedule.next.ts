/**
 * A schedule's next run computed in the page from its cron and time zone, for as long as the
 * schedules API does not say (web/collection.dag.ts). croner is the library the server validates
 * cron with (`mode: '5-part'` as there), imported on demand so it is a chunk of its own.
 */
import type { CollectionDefinition } from '../src/api/contract.js';

/** Next runs by schedule name, from cron and time zone; `null` where croner finds none. */
export async function computeNextRuns(schedules: CollectionDefinition['schedules'], nowMs: number): Promise<Record<string, string | null>> {
  if (!schedules.length) return {};
  const { Cron } = await import('croner');
  const runs: Record<string, string | null> = {};
  for (const schedule of schedules) {
    try {
      runs[schedule.name] = new Cron(schedule.cron, { timezone: schedule.timeZone, paused: true, mode: '5-part' }).nextRun(new Date(nowMs))?.toISOString() ?? null;
    } catch {
      runs[schedule.name] = null;
    }
  }
  return runs;
}
