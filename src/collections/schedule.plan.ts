/**
 * When a collection's schedule fires, and what one step of its run does (issue 24, part 4). Pure:
 * the clock is an argument, so the schedule orchestrator passes `currentUtcDateTime` (replay
 * gives the same answer) and tests pass any instant. croner computes fire times in the schedule's
 * IANA time zone, DST included: a local time the spring change skips fires at the first instant
 * after the gap (02:30 in Berlin on the last Sunday of March fires at 03:00 CEST), a local time
 * the autumn change repeats fires once (at its first occurrence).
 *
 * A schedule's **windows** are its fire times. Window W's run may start any time from W until the
 * next window opens; what has not started by then is a **missed** window, with its reason:
 * - `after`: its "after" dependencies were still not met (named);
 * - `not-running`: nothing ran at all (the host was down across it).
 * A run that starts late but before the next window (a short restart across W) is a late run, as
 * a timer trigger's `isPastDue` run is.
 */
import { Cron } from 'croner';
import type { ScheduleAfter } from './definition.schema.js';

/** What a run needs of a schedule's definition (read once per step, at one version). */
export interface ScheduleSnapshot {
  version: number;
  cron: string;
  timeZone: string;
  /** `<container>/<prefix>`. */
  source: string;
  after: ScheduleAfter[];
}

export type RunOutcome = 'started' | 'existing' | 'nothing-new' | 'failed';

export interface ScheduleRun {
  /** The window the run served. */
  window: string;
  /** When it listed its source: the next run takes what arrived from here on. */
  at: string;
  batchId: string | null;
  outcome: RunOutcome;
  /** Why `failed` or `nothing-new`, for a person (bounded). */
  detail?: string;
  /** The definition version the run used. */
  version: number;
}

export type MissedReason = 'after' | 'not-running';

export interface MissedWindow {
  window: string;
  reason: MissedReason;
  /** The dependencies still not met (`after`), as `collection:<id>` / `batch:<id>`. */
  waitingFor: string[];
  /** When the miss was found. */
  recordedAt: string;
}

/** What the schedule instance carries from step to step (its `continueAsNew` input). */
export interface ScheduleCarry {
  /** The window being waited for (not yet open) or served (open, its run not started); `null`: plan one. */
  window: string | null;
  /** Dependencies not met at the last check of the open window. */
  waitingFor: string[];
  lastRun: ScheduleRun | null;
  /** The listing time of the last run that submitted: the next batch takes blobs modified since (`null`: everything there). A failed run leaves it, so the next takes what it would have. */
  listedUpTo: string | null;
  /** Newest first, at most `scheduleBounds.missed`. */
  missed: MissedWindow[];
  /** Windows missed in all (the list keeps the newest). */
  missedTotal: number;
  /** When the instance first started: the "since" of "after" before the first run. */
  startedAt: string;
}

export const scheduleBounds = {
  /** Missed windows kept in the list (the total counts all). */
  missed: 20,
  /** Missed windows recorded one by one after a long outage; beyond this they are only counted. */
  missedPerStep: 50,
  detail: 300,
  /** Dependencies a missed window names (the schedule's own list says the rest). */
  missedWaitingFor: 3,
  /** A dependency's label (`batch:<id>`). */
  label: 120,
} as const;

export type ScheduleState = 'planned' | 'waiting' | 'stopped' | 'invalid';

/** What a schedule instance shows as its custom status: the schedule view's source (`GET /api/collections/{id}/schedules`). */
export interface ScheduleStatus {
  collection: string;
  name: string;
  state: ScheduleState;
  /** The definition version of the last step. */
  version: number | null;
  cron: string | null;
  timeZone: string | null;
  source: string | null;
  /** The next window not yet open (when the run after the pending one, if any, is due). */
  nextRun: string | null;
  /** An open window whose run waits for its dependencies (`waitingFor`). */
  pendingWindow: string | null;
  waitingFor: string[];
  lastRun: ScheduleRun | null;
  missed: MissedWindow[];
  missedTotal: number;
  /** Why the schedule cannot run (`invalid`): its stored cron or time zone cannot be read. */
  problem?: string;
  checkedAt: string;
}

/** The instance of one schedule: deterministic, so a definition change finds the one it must restart. */
export function scheduleInstanceId(collection: string, name: string): string {
  return `schedule:${collection}:${name}`;
}

export function dependencyLabel(after: ScheduleAfter): string {
  return 'collection' in after ? `collection:${after.collection}` : `batch:${after.batch}`;
}

function cronOf(cron: string, timeZone: string): Cron {
  return new Cron(cron, { timezone: timeZone, paused: true, mode: '5-part' });
}

/** The first fire time strictly after `from`, or `null` when there is none (a validated schedule always has one). */
export function nextFireTime(schedule: Pick<ScheduleSnapshot, 'cron' | 'timeZone'>, from: Date): Date | null {
  return cronOf(schedule.cron, schedule.timeZone).nextRun(from) ?? null;
}

/** Fire times in (`after`, `until`], at most `limit` of them, and whether more were left out. */
export function fireTimesBetween(schedule: Pick<ScheduleSnapshot, 'cron' | 'timeZone'>, after: Date, until: Date, limit: number): { times: Date[]; more: boolean } {
  const cron = cronOf(schedule.cron, schedule.timeZone);
  const times: Date[] = [];
  let cursor = after;
  for (;;) {
    const next = cron.nextRun(cursor);
    if (!next || next.getTime() > until.getTime()) return { times, more: false };
    if (times.length === limit) return { times, more: true };
    times.push(next);
    cursor = next;
  }
}

export function initialCarry(now: Date): ScheduleCarry {
  return { window: null, waitingFor: [], lastRun: null, listedUpTo: null, missed: [], missedTotal: 0, startedAt: now.toISOString() };
}

/** What the orchestrator does in this step. */
export type ScheduleStep =
  /** Sleep until `until` (or a definition change), then take the next step with `carry`. */
  | { kind: 'wait'; until: Date; carry: ScheduleCarry }
  /** The window `window` is open: check its dependencies (since `since`), then call `afterCheck`. */
  | { kind: 'check'; window: string; nextWindow: Date | null; since: string; carry: ScheduleCarry };

function recordMissed(carry: ScheduleCarry, missed: MissedWindow[]): ScheduleCarry {
  if (missed.length === 0) return carry;
  // Newest first; each entry names at most a few dependencies, so the list fits the instance's 16 KB status.
  const kept = [...missed].reverse().map((entry) => ({ ...entry, waitingFor: entry.waitingFor.slice(0, scheduleBounds.missedWaitingFor) }));
  return { ...carry, missed: [...kept, ...carry.missed].slice(0, scheduleBounds.missed), missedTotal: carry.missedTotal + missed.length };
}

/**
 * The step at `now`: with no window yet (or one not yet open), plan and wait for it; with an
 * open window, record as missed every window that has been overtaken by a later one that opened
 * too (see the module comment for the reason each gets), and check the latest open one.
 */
export function planStep(carry: ScheduleCarry, schedule: Pick<ScheduleSnapshot, 'cron' | 'timeZone'>, now: Date): ScheduleStep {
  const window = carry.window === null ? null : new Date(carry.window);
  if (window === null || window.getTime() > now.getTime()) {
    // Not open yet: (re)plan from now, so a changed cron or time zone applies at once.
    const next = nextFireTime(schedule, now);
    if (!next) return { kind: 'wait', until: new Date(now.getTime() + 86_400_000), carry: { ...carry, window: null, waitingFor: [] } };
    return { kind: 'wait', until: next, carry: { ...carry, window: next.toISOString(), waitingFor: [] } };
  }
  // Open: which windows opened since, up to now?
  const later = fireTimesBetween(schedule, window, now, scheduleBounds.missedPerStep);
  let updated = carry;
  let current = window;
  if (later.times.length > 0) {
    current = later.times[later.times.length - 1]!;
    let overtaken = [window, ...later.times.slice(0, -1)];
    let unlisted = 0;
    if (later.more) {
      // A long outage: the windows beyond the listed ones are counted, not listed, up to the latest open one.
      const rest = scanUpTo(schedule, current, now);
      if (rest.last) {
        overtaken = [window, ...later.times];
        unlisted = rest.count - 1;
        current = rest.last;
      }
    }
    const recordedAt = now.toISOString();
    const missed = overtaken.map((time, index): MissedWindow => {
      // The first overtaken window is the one this instance was serving: if it had checked its dependencies, they were the reason.
      const waited = index === 0 && carry.waitingFor.length > 0;
      return { window: time.toISOString(), reason: waited ? 'after' : 'not-running', waitingFor: waited ? carry.waitingFor : [], recordedAt };
    });
    updated = recordMissed({ ...carry, waitingFor: [] }, missed);
    updated = { ...updated, missedTotal: updated.missedTotal + unlisted, window: current.toISOString() };
  }
  const since = carry.lastRun?.at ?? carry.startedAt;
  return { kind: 'check', window: current.toISOString(), nextWindow: nextFireTime(schedule, current), since, carry: updated };
}

/** Fire times in (`from`, `now`], counted in pages so no list of them is built: how many, and the last. */
function scanUpTo(schedule: Pick<ScheduleSnapshot, 'cron' | 'timeZone'>, from: Date, now: Date): { count: number; last: Date | null } {
  let count = 0;
  let last: Date | null = null;
  let cursor = from;
  // At most 200,000 windows (694 days of a schedule every 5 minutes); a longer outage is counted in later steps.
  for (let round = 0; round < 200; round++) {
    const page = fireTimesBetween(schedule, cursor, now, 1000);
    count += page.times.length;
    if (page.times.length > 0) last = page.times[page.times.length - 1]!;
    if (!page.more || !last) break;
    cursor = last;
  }
  return { count, last };
}

/**
 * After the check of an open window: with every dependency met, the run goes ahead (`run`); with
 * some still unmet, wait and check again after `recheckMs`, but never past the next window (then
 * `planStep` records the miss).
 */
export function afterCheck(step: Extract<ScheduleStep, { kind: 'check' }>, unmet: readonly string[], now: Date, recheckMs: number): { kind: 'run' } | { kind: 'wait'; until: Date; carry: ScheduleCarry } {
  if (unmet.length === 0) return { kind: 'run' };
  const recheck = now.getTime() + recheckMs;
  const until = step.nextWindow && step.nextWindow.getTime() < recheck ? step.nextWindow : new Date(recheck);
  return { kind: 'wait', until, carry: { ...step.carry, window: step.window, waitingFor: [...unmet] } };
}

/** After a run: record it and plan from the later of now and its window (a window runs once). */
export function afterRun(carry: ScheduleCarry, run: ScheduleRun): ScheduleCarry {
  return { ...carry, window: null, waitingFor: [], lastRun: run, listedUpTo: run.outcome === 'failed' ? carry.listedUpTo : run.at };
}
