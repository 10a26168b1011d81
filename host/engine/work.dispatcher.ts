import { performance } from 'node:perf_hooks';
import pLimit, { type LimitFunction } from 'p-limit';
import { invokeRegistration, typedDataToJson, type Registration, type TypedData } from '../worker.shim.js';
import { EventType, nowIso, type DurableHttpRequest, type HistoryEvent } from './history.js';
import type { InstanceRegistry } from './instance.registry.js';
import type { InstanceState, ScheduledWork } from './instance.state.js';
import type { SubOrchestrations } from './sub.orchestrations.js';

/**
 * Work dispatch: runs what committed history scheduled, in-process — activities (under the
 * concurrency limit and host.json functionTimeout), durable timers and HTTP calls; children go to
 * SubOrchestrations — and hands each result to the instance as an incoming history event.
 */

const maxTimerDelayMs = 2 ** 31 - 1;

/** Input data an activity gets besides its trigger (its durable client bindings). */
export type ActivityInputs = (registration: Registration) => Array<{ name: string; data: TypedData }>;

export interface WorkDispatcherParts {
  registrations: Map<string, Registration>;
  log: (line: string) => void;
  maxConcurrentActivities: number;
  /** Print one line per activity invocation. */
  logActivities: boolean;
  /** host.json functionTimeout for activities. */
  activityTimeoutMs: number | undefined;
  activityInputs: ActivityInputs;
  /** Aborted when the engine stops. */
  stopped: AbortSignal;
  /** Where results go: the instance's inbox (InstanceRegistry). */
  inbox: Pick<InstanceRegistry, 'deliver'>;
  /** Starts children (sub.orchestrations.ts). */
  subOrchestrations: SubOrchestrations;
}

export class WorkDispatcher {
  private readonly limit: LimitFunction;
  private running = 0;

  constructor(private readonly parts: WorkDispatcherParts) {
    this.limit = pLimit(Math.max(1, parts.maxConcurrentActivities));
  }

  get concurrency(): number {
    return this.limit.concurrency;
  }

  /** Activities running now. */
  get runningActivities(): number {
    return this.running;
  }

  /** Drops activities waiting for a slot (on stop). */
  clearQueue(): void {
    this.limit.clearQueue();
  }

  startWork(instance: InstanceState, id: number, work: ScheduledWork): void {
    if (this.parts.stopped.aborted || instance.retired) return;
    switch (work.kind) {
      case 'activity':
        this.dispatchActivity(instance, id, work);
        return;
      case 'timer':
      case 'retryTimer':
        if (!instance.canceledTimers.has(id)) this.armTimer(instance, id, work.fireAt!);
        return;
      case 'subOrchestration':
        this.parts.subOrchestrations.start(instance, id, work);
        return;
      case 'http': {
        const wait = work.notBefore ? Date.parse(work.notBefore) - Date.now() : 0;
        const run = (): void => void this.runHttp(instance, id, work);
        if (wait > 0) instance.setTimer(-id - 1, Math.min(wait, maxTimerDelayMs), run);
        else run();
        return;
      }
    }
  }

  private dispatchActivity(instance: InstanceState, id: number, work: ScheduledWork): void {
    const registration = this.parts.registrations.get(work.name);
    void this.limit(async () => {
      if (this.parts.stopped.aborted || instance.retired) return;
      this.running++;
      const started = performance.now();
      let event: HistoryEvent;
      try {
        if (!registration || registration.trigger.type !== 'activityTrigger') {
          throw new Error(`The activity function '${work.name}' is not registered in this app.`);
        }
        const invocation = invokeRegistration(registration, {
          inputData: [{ name: registration.triggerName, data: work.input === undefined ? undefined : { string: work.input } }, ...this.parts.activityInputs(registration)],
        });
        const response = await this.withTimeout(invocation, work.name);
        event = { EventType: EventType.TaskCompleted, EventId: -1, Timestamp: nowIso(), TaskScheduledId: id, Result: typedDataToJson(response.returnValue) };
      } catch (error) {
        const { message, details } = errorText(error);
        event = { EventType: EventType.TaskFailed, EventId: -1, Timestamp: nowIso(), TaskScheduledId: id, Reason: message, Details: details };
      } finally {
        this.running--;
      }
      if (this.parts.logActivities) {
        const outcome = event.EventType === EventType.TaskCompleted ? 'Succeeded' : `Failed: ${event.Reason}`;
        this.parts.log(`Executed 'Functions.${work.name}' (${outcome}, InstanceId=${instance.id}, TaskId=${id}, Duration=${(performance.now() - started).toFixed(0)}ms)`);
      }
      this.parts.inbox.deliver(instance, event);
    });
  }

  /** Fails an activity that outlives host.json functionTimeout, as Azure does (its code cannot be stopped here). */
  private withTimeout<T>(invocation: Promise<T>, name: string): Promise<T> {
    const limit = this.parts.activityTimeoutMs;
    if (!limit) return invocation;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Timeout value of ${Math.round(limit / 1000)} s (host.json functionTimeout) was exceeded by function '${name}'.`)), limit);
    });
    return Promise.race([invocation, timeout]).finally(() => clearTimeout(timer));
  }

  private armTimer(instance: InstanceState, id: number, fireAt: string): void {
    const due = Date.parse(fireAt);
    const wait = due - Date.now();
    const fire = (): void => {
      if (Date.now() < due) return this.armTimer(instance, id, fireAt);
      this.parts.inbox.deliver(instance, { EventType: EventType.TimerFired, EventId: -1, Timestamp: nowIso(), TimerId: id, FireAt: fireAt });
    };
    instance.setTimer(id, Math.max(0, Math.min(wait, maxTimerDelayMs)), fire);
  }

  private async runHttp(instance: InstanceState, id: number, work: ScheduledWork): Promise<void> {
    if (this.parts.stopped.aborted || instance.retired) return;
    const request = JSON.parse(work.input ?? '{}') as DurableHttpRequest;
    const started = performance.now();
    let event: HistoryEvent;
    try {
      const response = await fetch(request.uri, {
        method: request.method,
        headers: request.headers ?? {},
        ...(request.content !== undefined && request.method.toUpperCase() !== 'GET' ? { body: request.content } : {}),
      });
      const headers: Record<string, string> = {};
      response.headers.forEach((value, name) => (headers[name] = value));
      const result = { statusCode: response.status, headers, content: await response.text() };
      event = { EventType: EventType.TaskCompleted, EventId: -1, Timestamp: nowIso(), TaskScheduledId: id, Result: JSON.stringify(result) };
    } catch (error) {
      const { message, details } = errorText(error);
      event = { EventType: EventType.TaskFailed, EventId: -1, Timestamp: nowIso(), TaskScheduledId: id, Reason: `HTTP ${request.method} ${request.uri} failed: ${message}`, Details: details };
    }
    this.parts.log(`Executed 'BuiltIn::HttpActivity' (${event.EventType === EventType.TaskCompleted ? 'Succeeded' : 'Failed'}, InstanceId=${instance.id}, TaskId=${id}, Duration=${(performance.now() - started).toFixed(0)}ms)`);
    this.parts.inbox.deliver(instance, event);
  }

  /** Re-dispatches what committed history scheduled but has no result for yet. */
  resumeOpenWork(state: InstanceState): void {
    for (const [id, work] of state.openWork()) this.startWork(state, id, work);
  }
}

function errorText(error: unknown): { message: string; details: string } {
  if (error instanceof Error) return { message: error.message, details: error.stack ?? '' };
  return { message: String(error), details: '' };
}
