import { performance } from 'node:perf_hooks';
import pLimit, { type LimitFunction } from 'p-limit';
import { terminalStatuses, type InstanceRecord, type RuntimeStatus, type TaskHubStore } from '../storage/task.hub.store.js';
import { invokeRegistration, typedDataToJson, type Registration, type TypedData } from '../worker.shim.js';
import { EventType, nowIso, type DurableHttpRequest, type HistoryEvent } from './history.js';
import type { InstanceState, ScheduledWork } from './instance.state.js';

/**
 * Work dispatch: runs what committed history scheduled, in-process — activities (under the
 * concurrency limit and host.json functionTimeout), durable timers, sub-orchestrations and HTTP
 * calls — and hands each result to the instance as an incoming history event.
 */

const maxTimerDelayMs = 2 ** 31 - 1;

/** Input data an activity gets besides its trigger (its durable client bindings). */
export type ActivityInputs = (registration: Registration) => Array<{ name: string; data: TypedData }>;

export interface WorkDispatcherParts {
  store: TaskHubStore;
  registrations: Map<string, Registration>;
  log: (line: string) => void;
  maxConcurrentActivities: number;
  /** Print one line per activity invocation. */
  logActivities: boolean;
  /** host.json functionTimeout for activities. */
  activityTimeoutMs: number | undefined;
  activityInputs: ActivityInputs;
  isStopping: () => boolean;
  /** Hands an incoming event (a result) to the instance. */
  deliver: (instance: InstanceState, event: HistoryEvent) => void;
  activate: (record: InstanceRecord) => Promise<InstanceState | undefined>;
  ensureActive: (instanceId: string) => Promise<InstanceState | undefined>;
  startNew: (name: string, options: { instanceId: string; input: string | undefined; version: string | undefined; parent: { instanceId: string; taskId: number } }) => Promise<string>;
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
    if (this.parts.isStopping() || instance.retired) return;
    switch (work.kind) {
      case 'activity':
        this.dispatchActivity(instance, id, work);
        return;
      case 'timer':
      case 'retryTimer':
        if (!instance.canceledTimers.has(id)) this.armTimer(instance, id, work.fireAt!);
        return;
      case 'subOrchestration':
        void this.startChild(instance, id, work).catch((error: unknown) =>
          this.parts.deliver(instance, { EventType: EventType.SubOrchestrationInstanceFailed, EventId: -1, Timestamp: nowIso(), TaskScheduledId: id, Reason: (error as Error).message, Details: '' }),
        );
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
      if (this.parts.isStopping() || instance.retired) return;
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
      this.parts.deliver(instance, event);
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
      this.parts.deliver(instance, { EventType: EventType.TimerFired, EventId: -1, Timestamp: nowIso(), TimerId: id, FireAt: fireAt });
    };
    instance.setTimer(id, Math.max(0, Math.min(wait, maxTimerDelayMs)), fire);
  }

  private async runHttp(instance: InstanceState, id: number, work: ScheduledWork): Promise<void> {
    if (this.parts.isStopping() || instance.retired) return;
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
    this.parts.deliver(instance, event);
  }

  /** Creates the child instance once; on restart, finds it and passes on its result if it finished. */
  private async startChild(parent: InstanceState, id: number, work: ScheduledWork): Promise<void> {
    const childId = work.childInstanceId!;
    const existing = await this.parts.store.getInstance(childId);
    if (existing && existing.parentInstanceId === parent.id && existing.parentTaskId === id) {
      if (terminalStatuses.has(existing.runtimeStatus)) {
        const output = await this.parts.store.internalize(existing.output);
        this.parts.deliver(parent, childResultEvent(id, existing.runtimeStatus, output, existing.name, childId));
      } else {
        await this.parts.activate(existing);
      }
      return;
    }
    if (existing && !terminalStatuses.has(existing.runtimeStatus)) {
      throw new Error(`Sub-orchestration instance '${childId}' already exists and is ${existing.runtimeStatus}.`);
    }
    await this.parts.startNew(work.name, { instanceId: childId, input: work.input, version: work.version, parent: { instanceId: parent.id, taskId: id } });
  }

  async notifyParent(child: InstanceState): Promise<void> {
    const parentId = child.record.parentInstanceId;
    if (!parentId || child.status === 'ContinuedAsNew') return;
    const parent = await this.parts.ensureActive(parentId);
    if (!parent) return;
    const taskId = child.record.parentTaskId ?? -1;
    const work = parent.scheduled.get(taskId);
    if (work?.kind !== 'subOrchestration' || work.childInstanceId !== child.id) return;
    this.parts.deliver(parent, childResultEvent(taskId, child.status, child.output, child.record.name, child.id));
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

function childResultEvent(taskId: number, status: RuntimeStatus, output: string | undefined, name: string, childId: string): HistoryEvent {
  if (status === 'Completed') {
    return { EventType: EventType.SubOrchestrationInstanceCompleted, EventId: -1, Timestamp: nowIso(), TaskScheduledId: taskId, Result: output ?? 'null' };
  }
  let reason = `Sub-orchestration '${name}' (${childId}) ${status.toLowerCase()}`;
  try {
    const text = output === undefined ? undefined : (JSON.parse(output) as unknown);
    if (typeof text === 'string') reason = text;
  } catch {
    // keep the generic reason
  }
  return { EventType: EventType.SubOrchestrationInstanceFailed, EventId: -1, Timestamp: nowIso(), TaskScheduledId: taskId, Reason: reason, Details: '' };
}
