import { entitySchedulerId, operationRowKey, releaseRequestId, type EntityManager, type EntityOperation } from './entity.manager.js';
import { ActionType, EventType, actionInputJson, nowIso, takesEventId, type Action, type DurableHttpRequest, type HistoryEvent } from './history.js';
import { httpActivityName, type InstanceState, type RecordedAction, type ScheduledWork } from './instance.state.js';
import { firstAttempt, nextAttemptFollows, retryTimerFollows, scheduleNextAttempt, scheduleRetryTimer } from './retries.js';
import { childInstanceId } from './sub.orchestrations.js';
import type { WorkDispatcher } from './work.dispatcher.js';

/**
 * Action scheduling: turns the SDK's actions into history events and the work that runs once the
 * episode is committed, allocating sequence numbers (EventIds) exactly as the SDK counts them.
 */

/** What one episode produces besides the orchestrator's own state. */
export interface EpisodeDraft {
  /** History events the episode adds after the events it consumed. */
  generated: HistoryEvent[];
  /** Work to start once the episode is committed. */
  effects: Array<() => void>;
  /** Orchestration time of the episode (its OrchestratorStarted timestamp). */
  episodeTime: string;
  /** Entity operations to store before the commit. */
  entityOps: Array<{ schedulerId: string; op: EntityOperation }>;
}

export interface ActionSchedulerParts {
  log: (line: string) => void;
  entities: EntityManager;
  /** Starts scheduled work (activity, timer, sub-orchestration, HTTP call) once the episode is committed. */
  work: Pick<WorkDispatcher, 'startWork'>;
}

export class ActionScheduler {
  constructor(private readonly parts: ActionSchedulerParts) {}

  /** Turns a new action into history events and the work that starts after the commit; a string is a failure. */
  schedule(instance: InstanceState, action: Action, index: number, draft: EpisodeDraft): string | undefined {
    const { generated, effects, episodeTime, entityOps } = draft;
    if (!takesEventId(action)) return undefined;
    if (action.actionType === ActionType.ReleaseEntities) return this.release(instance, draft, true);
    // The SDK's own number when the host could tag it; counting gives the same for other apps.
    const id = typeof action.taskId === 'number' ? action.taskId : instance.nextEventId;
    if (id !== instance.nextEventId) this.parts.log(`Instance ${instance.id}: action #${index} has SDK sequence number ${id}, the host counted ${instance.nextEventId}; using the SDK's`);
    instance.useEventId(id);
    const timestamp = nowIso();
    switch (action.actionType) {
      case ActionType.CallActivity:
      case ActionType.CallActivityWithRetry: {
        const input = actionInputJson(action.input);
        const retry = action.actionType === ActionType.CallActivityWithRetry && action.retryOptions ? index : undefined;
        if (retry !== undefined) instance.retries.set(index, firstAttempt(action.retryOptions!, episodeTime));
        const event: HistoryEvent = { EventType: EventType.TaskScheduled, EventId: id, Timestamp: timestamp, Name: action.functionName, Input: input, ActionIndex: index };
        if (retry !== undefined) event['RetryIndex'] = retry;
        generated.push(event);
        const work: ScheduledWork = { kind: 'activity', name: action.functionName ?? '', input, actionIndex: index, retryIndex: retry };
        instance.scheduled.set(id, work);
        instance.actionRecords.set(index, { eventId: id, name: work.name, recorded: 'TaskScheduled' });
        effects.push(() => this.parts.work.startWork(instance, id, work));
        return undefined;
      }
      case ActionType.CallSubOrchestrator:
      case ActionType.CallSubOrchestratorWithRetry: {
        const input = action.input === undefined ? undefined : JSON.stringify(action.input);
        const retry = action.actionType === ActionType.CallSubOrchestratorWithRetry && action.retryOptions ? index : undefined;
        if (retry !== undefined) instance.retries.set(index, firstAttempt(action.retryOptions!, episodeTime));
        const childId = childInstanceId(instance.id, id, action.instanceId);
        const event: HistoryEvent = {
          EventType: EventType.SubOrchestrationInstanceCreated,
          EventId: id,
          Timestamp: timestamp,
          Name: action.functionName,
          Version: action.version ?? '',
          Input: input,
          InstanceId: childId,
          ActionIndex: index,
        };
        if (retry !== undefined) event['RetryIndex'] = retry;
        generated.push(event);
        const work: ScheduledWork = { kind: 'subOrchestration', name: action.functionName ?? '', input, actionIndex: index, retryIndex: retry, childInstanceId: childId, version: action.version };
        instance.scheduled.set(id, work);
        instance.actionRecords.set(index, { eventId: id, name: work.name, recorded: 'SubOrchestrationInstanceCreated' });
        effects.push(() => this.parts.work.startWork(instance, id, work));
        return undefined;
      }
      case ActionType.CreateTimer: {
        const fireAt = new Date(action.fireAt ?? episodeTime).toISOString();
        generated.push({ EventType: EventType.TimerCreated, EventId: id, Timestamp: timestamp, FireAt: fireAt, ActionIndex: index });
        const work: ScheduledWork = { kind: 'timer', name: '', actionIndex: index, fireAt };
        instance.scheduled.set(id, work);
        instance.actionRecords.set(index, { eventId: id, name: '', recorded: 'TimerCreated' });
        if (action.isCanceled) instance.canceledTimers.add(id);
        else effects.push(() => this.parts.work.startWork(instance, id, work));
        return undefined;
      }
      case ActionType.CallHttp: {
        const request = action.httpRequest;
        if (!request) return 'callHttp action without an httpRequest';
        const input = JSON.stringify(request);
        generated.push({ EventType: EventType.TaskScheduled, EventId: id, Timestamp: timestamp, Name: httpActivityName, Input: input, ActionIndex: index, AsyncPattern: request.asynchronousPatternEnabled === true });
        const work: ScheduledWork = { kind: 'http', name: httpActivityName, input, actionIndex: index, asyncPattern: request.asynchronousPatternEnabled === true };
        instance.scheduled.set(id, work);
        instance.actionRecords.set(index, { eventId: id, name: httpActivityName, recorded: 'TaskScheduled' });
        effects.push(() => this.parts.work.startWork(instance, id, work));
        return undefined;
      }
      case ActionType.CallEntity:
      case ActionType.SignalEntity: {
        const schedulerId = action.instanceId ?? '';
        const entityName = schedulerId.slice(1, schedulerId.indexOf('@', 1));
        if (!this.parts.entities.findEntity(entityName)) return `The entity function '${entityName}' (for ${schedulerId}) is not registered in this app.`;
        const signal = action.actionType === ActionType.SignalEntity;
        const requestId = `${instance.record.executionId}:${id}`;
        const input = action.input === undefined ? undefined : JSON.stringify(action.input);
        generated.push({
          EventType: EventType.EventSent,
          EventId: id,
          Timestamp: timestamp,
          InstanceId: schedulerId,
          Name: signal ? 'signal' : 'op',
          Input: JSON.stringify({ id: requestId, op: action.operation, signal, input, parent: signal ? undefined : instance.id }),
        });
        entityOps.push({ schedulerId, op: { rk: operationRowKey(), operation: action.operation ?? '', input, requestId, signal, parentInstanceId: signal ? undefined : instance.id } });
        effects.push(() => this.parts.entities.wake(schedulerId));
        return undefined;
      }
      case ActionType.LockEntities: {
        const entities = (action.lockSet ?? []).map((entity) => entitySchedulerId(entity.name, entity.key));
        const missing = (action.lockSet ?? []).find((entity) => !this.parts.entities.findEntity(entity.name));
        if (missing) return `The entity function '${missing.name}' (in the lock set of context.df.lock) is not registered in this app.`;
        if (entities.length === 0 || !action.lockRequestId) return 'context.df.lock action without a lock set or request id';
        // The SDK sorts and de-duplicates the set: entities are taken one after the other in that order.
        const requestId = action.lockRequestId;
        generated.push({
          EventType: EventType.EventSent,
          EventId: id,
          Timestamp: timestamp,
          InstanceId: entities[0],
          Name: 'op',
          Input: JSON.stringify({ id: requestId, op: null, signal: false, lockset: entities, pos: 0, parent: instance.id }),
        });
        instance.currentLock = { requestId, entities };
        entityOps.push({ schedulerId: entities[0]!, op: { rk: operationRowKey(), operation: '', input: undefined, requestId, signal: false, parentInstanceId: instance.id, kind: 'lock', lockSet: entities, position: 0 } });
        effects.push(() => this.parts.entities.wake(entities[0]!));
        return undefined;
      }
      default:
        return `Unknown action type ${action.actionType} from the SDK.`;
    }
  }

  /**
   * Ends the critical section: one release operation per entity, stored before the commit. From a
   * ReleaseEntities action each takes a sequence number (the SDK counts one per entity) and is
   * recorded as an EventSent; when the orchestration ends holding locks, they are released silently.
   */
  release(instance: InstanceState, draft: EpisodeDraft, recorded: boolean): undefined {
    const lock = instance.currentLock;
    instance.currentLock = undefined;
    if (!lock) return undefined;
    const requestId = releaseRequestId(lock.requestId);
    for (const schedulerId of lock.entities) {
      if (recorded) {
        const id = instance.takeEventId();
        const Input = JSON.stringify({ id: requestId, op: null, signal: true, release: true, parent: instance.id });
        draft.generated.push({ EventType: EventType.EventSent, EventId: id, Timestamp: nowIso(), InstanceId: schedulerId, Name: 'release', Input });
      }
      draft.entityOps.push({ schedulerId, op: { rk: operationRowKey(), operation: '', input: undefined, requestId, signal: false, parentInstanceId: instance.id, kind: 'release' } });
      draft.effects.push(() => this.parts.entities.wake(schedulerId));
    }
    return undefined;
  }

  /** Host-allocated sequence numbers the SDK expects after retry failures, retry timers and HTTP 202s. */
  allocateFollowUp(instance: InstanceState, event: HistoryEvent, draft: EpisodeDraft): void {
    const { generated, effects, episodeTime } = draft;
    const timestamp = nowIso();
    if (retryTimerFollows(instance, event)) return scheduleRetryTimer(instance, event, draft, this.parts.work);
    if (nextAttemptFollows(instance, event)) return scheduleNextAttempt(instance, event, draft, this.parts.work);
    if (event.EventType === EventType.TaskCompleted) {
      // CallHttpWithPollingTask: a timer (Retry-After or 30 s) and a GET of Location, both tracked by the SDK.
      const poll = pollLocation(event.Result)!;
      const timerId = instance.takeEventId();
      const httpId = instance.takeEventId();
      const fireAt = new Date(Date.parse(episodeTime) + poll.delaySeconds * 1000).toISOString();
      const original = JSON.parse(instance.scheduled.get(event.TaskScheduledId!)!.input ?? '{}') as DurableHttpRequest;
      const input = JSON.stringify({ method: 'GET', uri: poll.location, headers: original.headers ?? {}, asynchronousPatternEnabled: true });
      generated.push({ EventType: EventType.TimerCreated, EventId: timerId, Timestamp: timestamp, FireAt: fireAt });
      generated.push({ EventType: EventType.TaskScheduled, EventId: httpId, Timestamp: timestamp, Name: httpActivityName, Input: input, AsyncPattern: true, NotBefore: fireAt });
      const timer: ScheduledWork = { kind: 'timer', name: '', fireAt };
      const http: ScheduledWork = { kind: 'http', name: httpActivityName, input, asyncPattern: true, notBefore: fireAt };
      instance.scheduled.set(timerId, timer);
      instance.scheduled.set(httpId, http);
      effects.push(() => {
        this.parts.work.startWork(instance, timerId, timer);
        this.parts.work.startWork(instance, httpId, http);
      });
    }
  }
}

/**
 * Events after which the SDK takes sequence numbers without an action: a failed attempt of a
 * retried call (a back-off timer), its timer firing (the next attempt), an HTTP 202 to poll.
 */
export function needsAllocation(instance: InstanceState, event: HistoryEvent): boolean {
  if (retryTimerFollows(instance, event) || nextAttemptFollows(instance, event)) return true;
  if (event.EventType === EventType.TaskCompleted) {
    const work = instance.scheduled.get(event.TaskScheduledId ?? -1);
    return work?.kind === 'http' && work.asyncPattern === true && pollLocation(event.Result) !== undefined;
  }
  return false;
}

/** Replayed actions must match what history recorded, or the orchestrator is not deterministic. */
export function checkDeterminism(instance: InstanceState, leaves: Action[]): string | undefined {
  const limit = Math.min(instance.handledActions, leaves.length);
  for (let index = 0; index < limit; index++) {
    const action = leaves[index]!;
    const recorded = instance.actionRecords.get(index);
    if (action.actionType === ActionType.CreateTimer && action.isCanceled && recorded && !instance.canceledTimers.has(recorded.eventId)) {
      instance.canceledTimers.add(recorded.eventId);
      instance.cancelTimer(recorded.eventId);
    }
    if (!recorded) continue;
    const now = describeAction(action);
    if (recorded.recorded !== recordedAs(action.actionType) || (recorded.name && recorded.name !== (action.functionName ?? httpName(action)))) {
      const was = recorded.recorded === 'TimerCreated' ? 'TimerCreated' : `${recorded.recorded} '${recorded.name}'`;
      return (
        `Non-deterministic workflow detected: at action #${index} the history recorded ${was} (event id ${recorded.eventId}) ` +
        `but the orchestrator code now schedules ${now}. Orchestrator code must make the same calls in the same order on every replay.`
      );
    }
  }
  return undefined;
}

/** EventIds the orchestrator waits on when its latest yield is a Task.all of plain calls. */
export function wakeIdsFor(instance: InstanceState, leaves: Action[], topLevel: Array<{ action: Action; first: number; count: number }>): number[] | undefined {
  const last = topLevel[topLevel.length - 1];
  if (!last || last.action.actionType !== ActionType.WhenAll) return undefined;
  const ids: number[] = [];
  for (let index = last.first; index < last.first + last.count; index++) {
    const action = leaves[index]!;
    if (action.actionType !== ActionType.CallActivity && action.actionType !== ActionType.CallSubOrchestrator) return undefined;
    const record = instance.actionRecords.get(index);
    if (!record) return undefined;
    ids.push(record.eventId);
  }
  return ids;
}

/** A 202 with a Location header from callHttp with polling enabled: where to poll and when. */
function pollLocation(result: string | undefined): { location: string; delaySeconds: number } | undefined {
  if (!result) return undefined;
  try {
    const response = JSON.parse(result) as { statusCode?: number; headers?: Record<string, string> };
    if (response.statusCode !== 202) return undefined;
    const headers = Object.fromEntries(Object.entries(response.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
    if (!headers['location']) return undefined;
    const retryAfter = Number(headers['retry-after']);
    return { location: headers['location'], delaySeconds: Number.isFinite(retryAfter) && retryAfter >= 0 ? retryAfter : 30 };
  } catch {
    return undefined;
  }
}

/** The history event an action of this type is recorded as (undefined: one the determinism check does not compare). */
function recordedAs(actionType: number): RecordedAction | undefined {
  switch (actionType) {
    case ActionType.CallActivity:
    case ActionType.CallActivityWithRetry:
    case ActionType.CallHttp:
      return 'TaskScheduled';
    case ActionType.CallSubOrchestrator:
    case ActionType.CallSubOrchestratorWithRetry:
      return 'SubOrchestrationInstanceCreated';
    case ActionType.CreateTimer:
      return 'TimerCreated';
    default:
      return undefined;
  }
}

function httpName(action: Action): string | undefined {
  return action.actionType === ActionType.CallHttp ? httpActivityName : undefined;
}

function describeAction(action: Action): string {
  switch (recordedAs(action.actionType)) {
    case 'TaskScheduled':
      return action.actionType === ActionType.CallHttp ? `an HTTP call to ${action.httpRequest?.uri}` : `activity '${action.functionName}'`;
    case 'SubOrchestrationInstanceCreated':
      return `sub-orchestration '${action.functionName}'`;
    case 'TimerCreated':
      return 'a timer';
    default:
      return `action type ${action.actionType}`;
  }
}
