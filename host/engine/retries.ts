import { retryTimeoutsEnforceable } from '../sdk.adapter.js';
import type { EpisodeDraft } from './action.scheduler.js';
import { EventType, nowIso, retryExpiredField, type HistoryEvent, type RetryOptions } from './history.js';
import type { InstanceState, RetryState, ScheduledWork } from './instance.state.js';
import { retriedChildInstanceId } from './sub.orchestrations.js';
import type { WorkDispatcher } from './work.dispatcher.js';

/**
 * Retries (callActivityWithRetry, callSubOrchestratorWithRetry), in one place. The SDK counts the
 * sequence numbers: after a failed attempt it waits for a retry timer (TimerCreated with
 * RetryTimer), and when that fires it expects the next attempt. The host allocates both, waits the
 * back-off the RetryOptions give, and, as Azure does, makes no further attempt once
 * retryTimeoutInMilliseconds has passed (the SDK side of that is the patch in sdk.adapter.ts).
 * The attempt count per action lives in InstanceState.retries and in each episode's snapshot.
 */

/** Delay before retry `attempt` + 1, per the SDK's RetryOptions. */
export function retryDelayMs(options: RetryOptions, attempt: number): number {
  const coefficient = options.backoffCoefficient && options.backoffCoefficient > 0 ? options.backoffCoefficient : 1;
  const delay = options.firstRetryIntervalInMilliseconds * Math.pow(coefficient, attempt - 1);
  const max = options.maxRetryIntervalInMilliseconds && options.maxRetryIntervalInMilliseconds > 0 ? options.maxRetryIntervalInMilliseconds : Number.MAX_SAFE_INTEGER;
  return Math.max(0, Math.min(delay, max));
}

/**
 * Whether retryTimeoutInMilliseconds has passed, as Azure decides it (DurableTask's RetryInterceptor):
 * when an attempt's failure is processed, at orchestration time `now`, measured from the first attempt.
 * Unset or 0 means no limit.
 */
export function retryTimedOut(options: RetryOptions, firstAttemptAt: number | undefined, now: number): boolean {
  const timeout = options.retryTimeoutInMilliseconds;
  if (typeof timeout !== 'number' || !(timeout > 0) || firstAttemptAt === undefined) return false;
  return now >= firstAttemptAt + timeout;
}

/** The retry state of an action's first attempt, scheduled in the episode at `episodeTime`. */
export function firstAttempt(options: RetryOptions, episodeTime: string): RetryState {
  return { attempt: 1, options, firstAttemptAt: Date.parse(episodeTime) };
}

/** A failed attempt of a retried call: a retry timer follows (also after the last attempt). */
export function retryTimerFollows(instance: InstanceState, event: HistoryEvent): boolean {
  if (event.EventType !== EventType.TaskFailed && event.EventType !== EventType.SubOrchestrationInstanceFailed) return false;
  return instance.scheduled.get(event.TaskScheduledId ?? -1)?.retryIndex !== undefined;
}

/** A retry timer fired with attempts left (and the timeout not passed): the next attempt follows. */
export function nextAttemptFollows(instance: InstanceState, event: HistoryEvent): boolean {
  if (event.EventType !== EventType.TimerFired) return false;
  const work = instance.scheduled.get(event.TimerId ?? -1);
  if (work?.kind !== 'retryTimer' || work.retryExpired) return false;
  const retry = instance.retries.get(work.actionIndex ?? -1);
  return retry !== undefined && retry.attempt < retry.options.maxNumberOfAttempts;
}

/** After a failed attempt: the retry timer the SDK waits for (the back-off, or 0 when no attempt follows). */
export function scheduleRetryTimer(instance: InstanceState, failed: HistoryEvent, draft: EpisodeDraft, dispatcher: Pick<WorkDispatcher, 'startWork'>): void {
  const { generated, effects, episodeTime } = draft;
  const work = instance.scheduled.get(failed.TaskScheduledId!)!;
  const retry = instance.retries.get(work.retryIndex!)!;
  const id = instance.takeEventId();
  const attemptsLeft = retry.attempt < retry.options.maxNumberOfAttempts;
  // Azure makes no further attempt once the retry timeout has passed (see patchRetryTimeouts).
  const expired = attemptsLeft && retryTimeoutsEnforceable() && retryTimedOut(retry.options, retry.firstAttemptAt, Date.parse(episodeTime));
  // After the last attempt the SDK still waits for a timer before it surfaces the failure.
  const delay = attemptsLeft && !expired ? retryDelayMs(retry.options, retry.attempt) : 0;
  const fireAt = new Date(Date.parse(episodeTime) + delay).toISOString();
  const timerEvent: HistoryEvent = { EventType: EventType.TimerCreated, EventId: id, Timestamp: nowIso(), FireAt: fireAt, ActionIndex: work.retryIndex, RetryTimer: true };
  if (expired) timerEvent[retryExpiredField] = true;
  generated.push(timerEvent);
  const timer: ScheduledWork = { kind: 'retryTimer', name: '', actionIndex: work.retryIndex, fireAt, retryExpired: expired || undefined };
  instance.scheduled.set(id, timer);
  effects.push(() => dispatcher.startWork(instance, id, timer));
}

/** After the retry timer fired: the next attempt, as the first one was scheduled (a child gets its attempt's id). */
export function scheduleNextAttempt(instance: InstanceState, fired: HistoryEvent, draft: EpisodeDraft, dispatcher: Pick<WorkDispatcher, 'startWork'>): void {
  const { generated, effects } = draft;
  const timestamp = nowIso();
  const timer = instance.scheduled.get(fired.TimerId!)!;
  const index = timer.actionIndex!;
  const retry = instance.retries.get(index)!;
  const first = instance.scheduled.get(instance.actionRecords.get(index)!.eventId)!;
  retry.attempt++;
  const id = instance.takeEventId();
  const work: ScheduledWork = { ...first, retryIndex: index };
  if (first.kind === 'subOrchestration') {
    const childId = retriedChildInstanceId(instance.id, id, first.childInstanceId);
    work.childInstanceId = childId;
    generated.push({ EventType: EventType.SubOrchestrationInstanceCreated, EventId: id, Timestamp: timestamp, Name: first.name, Version: first.version ?? '', Input: first.input, InstanceId: childId, ActionIndex: index, RetryIndex: index });
  } else {
    generated.push({ EventType: EventType.TaskScheduled, EventId: id, Timestamp: timestamp, Name: first.name, Input: first.input, ActionIndex: index, RetryIndex: index });
  }
  instance.scheduled.set(id, work);
  effects.push(() => dispatcher.startWork(instance, id, work));
}
