/**
 * A collection's schedule (issue 24, part 4): one instance per schedule, `schedule:<collection>:<name>`,
 * for ever. Each execution is one step, then it continues as new with what it carries (its last
 * run, missed windows, the window it serves), so its history stays small and the state lives in
 * Durable alone: a durable timer holds the wait, and a host that was down finds the timer due on
 * restart and records what it missed (`planStep`).
 *
 * A step: read the schedule's definition (once; the run records the version it used); plan
 * (src/collections/schedule.plan.ts); when a window is open, check its "after" dependencies and,
 * all met, submit the batch; then wait on a durable timer for the next window (or the next
 * re-check of unmet dependencies), or until a definition change (`definitionChanged`) wakes it.
 * A schedule removed from its definition ends its instance. Deterministic: the clock is
 * `currentUtcDateTime`, every read an activity.
 */
import type { OrchestrationContext, OrchestrationHandler, Task } from 'durable-functions';
import { afterCheck, afterRun, dependencyLabel, initialCarry, planStep, scheduleBounds, type MissedWindow, type ScheduleCarry, type ScheduleSnapshot, type ScheduleState, type ScheduleStatus } from '../collections/schedule.plan.js';
import { boundText } from '../pipeline/bounded.text.js';
import { activities, scheduleChangedEvent, type ScheduleInput } from '../pipeline/contracts.js';
import { failureFrom } from '../pipeline/failure.js';
import { callActivity } from './activity.call.js';

/** How long a schedule whose stored definition cannot be read or planned waits before it tries again (a change wakes it sooner). */
const retryAfterProblemMs = 15 * 60_000;

export interface ScheduleOutput {
  stopped: true;
  lastRun: ScheduleCarry['lastRun'];
}

export const collectionScheduleOrchestrator: OrchestrationHandler = function* (context: OrchestrationContext) {
  const input = context.df.getInput<ScheduleInput>();
  const started = context.df.currentUtcDateTime;
  const carried = input.carry ?? initialCarry(started);
  const log = (message: string): void => {
    if (!context.df.isReplaying) context.warn(`Schedule ${input.collection}/${input.name}: ${message}`);
  };
  const status = (carry: ScheduleCarry, state: ScheduleState, snapshot: ScheduleSnapshot | null, extra: Partial<ScheduleStatus> = {}): ScheduleStatus => ({
    collection: input.collection,
    name: input.name,
    state,
    version: snapshot?.version ?? null,
    cron: snapshot?.cron ?? null,
    timeZone: snapshot?.timeZone ?? null,
    source: snapshot?.source ?? null,
    nextRun: null,
    pendingWindow: null,
    waitingFor: carry.waitingFor,
    lastRun: carry.lastRun,
    missed: carry.missed,
    missedTotal: carry.missedTotal,
    checkedAt: context.df.currentUtcDateTime.toISOString(),
    ...extra,
  });

  let snapshot: ScheduleSnapshot | null;
  try {
    snapshot = yield* callActivity(context, activities.readScheduleDefinition, { collection: input.collection, name: input.name });
  } catch (error) {
    const problem = boundText(`its definition could not be read: ${failureFrom(error).message}`, scheduleBounds.detail);
    log(problem);
    context.df.setCustomStatus(status(carried, 'invalid', null, { problem }));
    return yield* waitThenContinue(context, input, carried, new Date(started.getTime() + retryAfterProblemMs));
  }
  if (!snapshot) {
    context.df.setCustomStatus(status(carried, 'stopped', null));
    log('removed from its definition: stopped');
    const output: ScheduleOutput = { stopped: true, lastRun: carried.lastRun };
    return output;
  }

  let step: ReturnType<typeof planStep>;
  try {
    step = planStep(carried, snapshot, started);
  } catch (error) {
    // A definition stored before its cron was checked as strictly as today: say so, and wait for a fixed one.
    const problem = boundText(`its cron or time zone cannot be read: ${error instanceof Error ? error.message : 'unknown'}`, scheduleBounds.detail);
    context.df.setCustomStatus(status(carried, 'invalid', snapshot, { problem }));
    return yield* waitThenContinue(context, input, carried, new Date(started.getTime() + retryAfterProblemMs));
  }
  reportMissed(log, carried.missed, step.carry.missed, step.carry.missedTotal - carried.missedTotal);

  if (step.kind === 'wait') {
    context.df.setCustomStatus(status(step.carry, 'planned', snapshot, { nextRun: step.until.toISOString() }));
    return yield* waitThenContinue(context, input, step.carry, step.until);
  }

  let unmet: string[] = [];
  if (snapshot.after.length > 0) {
    try {
      unmet = yield* callActivity(context, activities.checkScheduleAfter, { after: snapshot.after, since: step.since });
    } catch (error) {
      // Unknown is not met: the run waits and checks again.
      log(`its dependencies could not be checked: ${failureFrom(error).message}`);
      unmet = snapshot.after.map((after) => boundText(dependencyLabel(after), scheduleBounds.label));
    }
  }
  const decision = afterCheck(step, unmet, context.df.currentUtcDateTime, input.recheckMs);
  if (decision.kind === 'wait') {
    context.df.setCustomStatus(status(decision.carry, 'waiting', snapshot, { pendingWindow: step.window, nextRun: step.nextWindow?.toISOString() ?? null }));
    return yield* waitThenContinue(context, input, decision.carry, decision.until);
  }

  let run;
  try {
    run = yield* callActivity(context, activities.runScheduledBatch, { collection: input.collection, name: input.name, snapshot, window: step.window, since: step.carry.listedUpTo });
  } catch (error) {
    run = { window: step.window, at: context.df.currentUtcDateTime.toISOString(), batchId: null, outcome: 'failed' as const, detail: boundText(failureFrom(error).message, scheduleBounds.detail), version: snapshot.version };
    log(`the run of ${step.window} failed: ${run.detail}`);
  }
  const next = planStep(afterRun(step.carry, run), snapshot, context.df.currentUtcDateTime);
  const carry = next.carry;
  context.df.setCustomStatus(status(carry, 'planned', snapshot, { nextRun: next.kind === 'wait' ? next.until.toISOString() : null }));
  return yield* waitThenContinue(context, input, carry, next.kind === 'wait' ? next.until : context.df.currentUtcDateTime);
};

function reportMissed(log: (message: string) => void, before: readonly MissedWindow[], after: readonly MissedWindow[], added: number): void {
  if (added <= 0) return;
  // New entries are at the front (newest first); `before` only tells them apart when the list was full.
  const listed = after.slice(0, Math.min(added, after.length)).filter((entry) => !before.includes(entry));
  for (const missed of listed.slice(0, 5)) {
    log(`missed the window of ${missed.window}: ${missed.reason === 'after' ? `still waiting for ${missed.waitingFor.join(', ')}` : 'nothing ran then (the host was down)'}`);
  }
  if (added > 5) log(`missed ${added} windows in all`);
}

/** Waits on a durable timer until `until`, or until a definition change, then continues as new with `carry`. */
function* waitThenContinue(context: OrchestrationContext, input: ScheduleInput, carry: ScheduleCarry, until: Date): Generator<Task, undefined, unknown> {
  const timer = context.df.createTimer(until);
  const changed = context.df.waitForExternalEvent(scheduleChangedEvent);
  const winner: unknown = yield context.df.Task.any([timer, changed]);
  if (winner !== timer) timer.cancel();
  context.df.continueAsNew({ ...input, carry } satisfies ScheduleInput);
  return undefined;
}
