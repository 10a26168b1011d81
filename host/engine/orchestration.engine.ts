import { randomUUID } from 'node:crypto';
import { largeMessageName, terminalStatuses, type InstanceQuery, type InstanceRecord, type RuntimeStatus, type TaskHubStore } from '../storage/task.hub.store.js';
import type { Registration } from '../worker.shim.js';
import { ActionScheduler } from './action.scheduler.js';
import { EntityManager, entitySchedulerId, operationRowKey, type EntityResponse } from './entity.manager.js';
import { EpisodeRunner, findOrchestrator } from './episode.runner.js';
import { EventType, eventKey, nowIso, type HistoryEvent } from './history.js';
import { lineOf, parseLog } from './history.log.js';
import { HistoryWriter } from './history.writer.js';
import { InstanceRegistry } from './instance.registry.js';
import { InstanceState, retriesOf } from './instance.state.js';
import { WorkDispatcher } from './work.dispatcher.js';

export interface EngineOptions {
  store: TaskHubStore;
  registrations: Map<string, Registration>;
  maxConcurrentActivities: number;
  log: (line: string) => void;
  /** Print one line per activity invocation (orchestrator episodes are always logged). */
  logActivities?: boolean;
  /** host.json extensions.durableTask.defaultVersion: version of instances started without one. */
  defaultVersion?: string;
  /** host.json functionTimeout for activities. */
  activityTimeoutMs?: number | undefined;
}

export class NotFoundError extends Error {}
export class ConflictError extends Error {}
export class BadRequestError extends Error {}


export type OperationResult = 'accepted' | 'notFound' | 'gone';


/**
 * Runs orchestrations with Durable Functions semantics through the SDK's replay, with all state in
 * a TaskHubStore. Each episode's new history is one append to the instance's history blob (the
 * source of truth); activities are dispatched in-process from committed history and their results
 * are appended in batches, so thousands of activities need only hundreds of storage writes.
 */
export class OrchestrationEngine {
  private readonly store: TaskHubStore;
  private readonly registrations: Map<string, Registration>;
  private readonly log: (line: string) => void;
  private readonly defaultVersion: string;
  private stopping = false;
  readonly entities: EntityManager;
  private readonly scheduler: ActionScheduler;
  private readonly dispatcher: WorkDispatcher;
  private readonly writer: HistoryWriter;
  private readonly runner: EpisodeRunner;
  private readonly registry: InstanceRegistry;

  constructor(options: EngineOptions) {
    this.store = options.store;
    this.registrations = options.registrations;
    this.log = options.log;
    this.defaultVersion = options.defaultVersion ?? '';
    this.entities = new EntityManager(this.store, this.registrations, (instanceId, requestId, response) => this.deliverEntityResponse(instanceId, requestId, response), this.log);
    this.writer = new HistoryWriter({ store: this.store, log: this.log, isCurrent: (instance) => this.registry.isCurrent(instance) });
    this.registry = new InstanceRegistry({
      store: this.store,
      log: this.log,
      writer: this.writer,
      scheduleEpisode: (instance, delayMs) => this.runner.scheduleEpisode(instance, delayMs),
      continueAsNew: (instance, next) => this.runner.continueAsNew(instance, next),
      notifyParent: (child) => this.dispatcher.notifyParent(child),
      resumeOpenWork: (instance) => this.dispatcher.resumeOpenWork(instance),
    });
    this.dispatcher = new WorkDispatcher({
      store: this.store,
      registrations: this.registrations,
      log: this.log,
      maxConcurrentActivities: options.maxConcurrentActivities,
      logActivities: options.logActivities ?? true,
      activityTimeoutMs: options.activityTimeoutMs,
      isStopping: () => this.stopping,
      deliver: (instance, event) => this.registry.deliver(instance, event),
      activate: (record) => this.registry.activate(record),
      ensureActive: (instanceId) => this.registry.ensureActive(instanceId),
      startNew: (name, startOptions) => this.startNew(name, startOptions),
    });
    this.scheduler = new ActionScheduler({ log: this.log, entities: this.entities, startWork: (instance, id, work) => this.dispatcher.startWork(instance, id, work) });
    this.runner = new EpisodeRunner({
      store: this.store,
      registrations: this.registrations,
      log: this.log,
      entities: this.entities,
      scheduler: this.scheduler,
      dispatcher: this.dispatcher,
      writer: this.writer,
      isStopping: () => this.stopping,
      isCurrent: (instance) => this.registry.isCurrent(instance),
      setActive: (instance) => this.registry.setActive(instance),
      retire: (instanceId) => this.registry.retire(instanceId),
      ensureActive: (instanceId) => this.registry.ensureActive(instanceId),
      deliver: (instance, event) => this.registry.deliver(instance, event),
    });
  }

  // ---- lifecycle ------------------------------------------------------------------------------

  /** Resumes every unfinished orchestration found in storage. */
  async start(): Promise<number> {
    await this.entities.ensureCreated();
    let resumed = 0;
    for await (const record of this.store.allInstances({ runtimeStatus: ['Pending', 'Running', 'Suspended', 'ContinuedAsNew'] })) {
      const instance = await this.registry.activate(record);
      if (instance) resumed++;
    }
    await this.entities.start();
    return resumed;
  }

  /** Stops dispatching, waits for running activities (bounded) and writes their results. */
  async stop(timeoutMs = 10_000): Promise<void> {
    this.stopping = true;
    this.entities.stop();
    this.dispatcher.clearQueue();
    const deadline = Date.now() + timeoutMs;
    while (this.dispatcher.runningActivities > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    await this.runner.settleRunning();
    for (const instance of this.registry.instances()) {
      clearTimeout(instance.episodeTimer);
      clearTimeout(instance.flushTimer);
      for (const timer of instance.timers.values()) clearTimeout(timer);
      instance.timers.clear();
      this.writer.flushPending(instance);
    }
    await Promise.allSettled(this.registry.instances().map((instance) => instance.writeChain));
  }

  get activityConcurrency(): number {
    return this.dispatcher.concurrency;
  }

  // ---- client operations ----------------------------------------------------------------------

  orchestratorNames(): string[] {
    return [...this.registrations.values()].filter((r) => r.trigger.type === 'orchestrationTrigger').map((r) => r.name);
  }

  /**
   * Creates an instance and starts it. An existing instance in a terminal state is replaced (as
   * Azure does by default); a running one is a conflict.
   */
  async startNew(name: string, options: { instanceId?: string | undefined; input?: string | undefined; version?: string | undefined; parent?: { instanceId: string; taskId: number } }): Promise<string> {
    const registration = findOrchestrator(this.registrations, name);
    if (!registration) {
      throw new BadRequestError(`The function '${name}' doesn't exist, is disabled, or is not an orchestrator function. Orchestrators: ${this.orchestratorNames().join(', ') || 'none'}`);
    }
    const instanceId = options.instanceId ?? randomUUID().replace(/-/g, '');
    await this.registry.settle(instanceId);
    if (!instanceId || /[/\\#?]/.test(instanceId) || instanceId.length > 256) {
      throw new BadRequestError(`Instance id '${instanceId}' is invalid: it must be 1-256 characters without / \\ # ?`);
    }
    const existing = await this.store.getInstance(instanceId);
    if (existing && !terminalStatuses.has(existing.runtimeStatus)) {
      throw new ConflictError(`An instance with ID '${instanceId}' already exists and is ${existing.runtimeStatus}.`);
    }
    if (existing) this.registry.retire(instanceId);
    const executionId = randomUUID().replace(/-/g, '');
    const now = new Date();
    const record: InstanceRecord = {
      instanceId,
      name: registration.name,
      version: options.version || this.defaultVersion,
      runtimeStatus: 'Pending',
      createdTime: now,
      lastUpdatedTime: now,
      input: await this.store.externalize(instanceId, options.input),
      output: undefined,
      customStatus: undefined,
      executionId,
      historyBlob: this.store.historyBlobName(instanceId, executionId),
      parentInstanceId: options.parent?.instanceId,
      parentTaskId: options.parent?.taskId,
    };
    const written = existing ? await this.store.replaceInstance(record, existing.etag) : await this.store.insertInstance(record);
    if (!written) throw new ConflictError(`An instance with ID '${instanceId}' was created concurrently.`);
    await this.store.createHistoryBlob(record.historyBlob);
    const state = new InstanceState(record, options.input);
    this.registry.setActive(state);
    this.runner.scheduleEpisode(state, 0);
    return instanceId;
  }

  /** Current record of an instance: in-memory when active, else from the table. */
  async getRecord(instanceId: string): Promise<{ record: InstanceRecord; input: string | undefined; output: string | undefined; customStatus: string | undefined } | undefined> {
    const active = this.registry.get(instanceId);
    if (active) {
      return { record: { ...active.record, runtimeStatus: active.status }, input: active.input, output: active.output, customStatus: active.customStatus };
    }
    const record = await this.store.getInstance(instanceId);
    if (!record) return undefined;
    const [input, output, customStatus] = await Promise.all([this.store.internalize(record.input), this.store.internalize(record.output), this.store.internalize(record.customStatus)]);
    return { record, input, output, customStatus };
  }

  async resolveRecord(record: InstanceRecord): Promise<{ input: string | undefined; output: string | undefined; customStatus: string | undefined }> {
    const active = this.registry.get(record.instanceId);
    if (active) {
      record.runtimeStatus = active.status;
      return { input: active.input, output: active.output, customStatus: active.customStatus };
    }
    const [input, output, customStatus] = await Promise.all([this.store.internalize(record.input), this.store.internalize(record.output), this.store.internalize(record.customStatus)]);
    return { input, output, customStatus };
  }

  /** One page of instances, with their payloads resolved. */
  async listInstances(query: InstanceQuery): Promise<{ items: Array<{ record: InstanceRecord; payloads: { input: string | undefined; output: string | undefined; customStatus: string | undefined } }>; continuationToken: string | undefined }> {
    // Rows lag memory by one write; let pending writes land so filters see current statuses.
    await Promise.all(this.registry.instances().map((instance) => instance.writeChain));
    const page = await this.store.queryInstances(query);
    const items = await Promise.all(page.records.map(async (record) => ({ record, payloads: await this.resolveRecord(record) })));
    return { items, continuationToken: page.continuationToken };
  }

  /** Committed history of the current execution. */
  async getHistory(instanceId: string): Promise<HistoryEvent[] | undefined> {
    const active = this.registry.get(instanceId);
    if (active) return active.history;
    const record = await this.store.getInstance(instanceId);
    if (!record) return undefined;
    const text = (await this.store.readHistoryBlob(record.historyBlob)) ?? '';
    const events = parseLog(text).committed;
    for (const event of events) {
      for (const field of ['Input', 'Result'] as const) {
        if (largeMessageName(event[field])) event[field] = await this.store.internalize(event[field]);
      }
    }
    return events;
  }

  async raiseEvent(instanceId: string, eventName: string, dataJson: string | undefined): Promise<OperationResult> {
    return this.sendMessage(instanceId, { EventType: EventType.EventRaised, EventId: -1, Name: eventName, Input: dataJson, Timestamp: nowIso() });
  }

  async terminate(instanceId: string, reason: string): Promise<OperationResult> {
    return this.sendMessage(instanceId, { EventType: EventType.ExecutionTerminated, EventId: -1, Input: JSON.stringify(reason), Timestamp: nowIso() });
  }

  async suspend(instanceId: string, reason: string): Promise<OperationResult> {
    return this.sendMessage(instanceId, { EventType: EventType.ExecutionSuspended, EventId: -1, Reason: reason, Timestamp: nowIso() });
  }

  async resume(instanceId: string, reason: string): Promise<OperationResult> {
    return this.sendMessage(instanceId, { EventType: EventType.ExecutionResumed, EventId: -1, Reason: reason, Timestamp: nowIso() });
  }

  /** Persists an external message in the instance's history blob before acknowledging it. */
  private async sendMessage(instanceId: string, event: HistoryEvent): Promise<OperationResult> {
    const instance = await this.registry.ensureActive(instanceId);
    if (!instance) {
      const record = await this.store.getInstance(instanceId);
      return record ? 'gone' : 'notFound';
    }
    // Finished in memory while its last episode is still being stored: as gone as once retired.
    if (terminalStatuses.has(instance.status)) return 'gone';
    event.MessageId ??= randomUUID();
    const key = eventKey(event)!;
    await this.writer.enqueueWrite(instance, async () => {
      const stored = await this.writer.externalizeEvent(instance.id, event);
      await this.writer.append(instance, '\n' + lineOf({ k: 'i', ev: stored }));
    });
    instance.persistedKeys.add(key);
    this.registry.deliver(instance, event);
    void this.writer.enqueueWrite(instance, () => this.writer.maybeCompact(instance)).catch((error: unknown) => this.log(`Instance ${instance.id}: history rewrite failed: ${(error as Error).message}`));
    return 'accepted';
  }

  /** Signals an entity from a client; false if the app has no such entity function. */
  async signalEntity(name: string, key: string, operation: string, inputJson: string | undefined): Promise<boolean> {
    if (!this.entities.findEntity(name)) return false;
    await this.entities.enqueue(entitySchedulerId(name, key), { rk: operationRowKey(), operation, input: inputJson, requestId: randomUUID(), signal: true });
    return true;
  }

  async readEntityState(name: string, key: string): Promise<string | undefined> {
    return this.entities.readState(entitySchedulerId(name, key));
  }

  /** An entity's answer to callEntity: an EventRaised named after the request id, stored once. */
  private async deliverEntityResponse(instanceId: string, requestId: string, response: EntityResponse): Promise<void> {
    const active = await this.registry.ensureActive(instanceId);
    if (!active || active.doneKeys.has(`m:${requestId}`) || active.pendingKeys.has(`m:${requestId}`)) return;
    await this.sendMessage(instanceId, { EventType: EventType.EventRaised, EventId: -1, Name: requestId, Input: JSON.stringify(response), MessageId: requestId, Timestamp: nowIso() });
  }

  /**
   * Rewinds a failed instance: its failed activities and sub-orchestrations are scheduled again;
   * everything that succeeded stays in history and is not re-run.
   */
  async rewind(instanceId: string, reason: string): Promise<'accepted' | 'notFound' | 'notFailed'> {
    await this.registry.settle(instanceId);
    const record = await this.store.getInstance(instanceId);
    if (!record) return 'notFound';
    if (record.runtimeStatus !== 'Failed') return 'notFailed';
    const history = (await this.getHistory(instanceId)) ?? [];
    const failedChildren: string[] = [];
    const retryIds = new Set(history.filter((e) => e.RetryIndex !== undefined).map((e) => e.EventId));
    const kept = history.filter((event) => {
      if (event.EventType === EventType.ExecutionCompleted || event.EventType === EventType.ExecutionFailed) return false;
      if ((event.EventType === EventType.TaskFailed || event.EventType === EventType.SubOrchestrationInstanceFailed) && !retryIds.has(event.TaskScheduledId ?? -1)) {
        if (event.EventType === EventType.SubOrchestrationInstanceFailed) {
          const created = history.find((e) => e.EventType === EventType.SubOrchestrationInstanceCreated && e.EventId === event.TaskScheduledId);
          if (created?.InstanceId) failedChildren.push(created.InstanceId);
        }
        return false;
      }
      return true;
    });
    const previous = parseLog((await this.store.readHistoryBlob(record.historyBlob)) ?? '').snapshot;
    const generation = (Number(/\.r(\d+)\.jsonl$/.exec(record.historyBlob)?.[1] ?? 0) || 0) + 1;
    const blobName = this.store.historyBlobName(instanceId, record.executionId, generation);
    await this.store.createHistoryBlob(blobName);
    const input = await this.store.internalize(record.input);
    const state = new InstanceState({ ...record, historyBlob: blobName, runtimeStatus: 'Running', output: undefined }, input);
    for (const event of kept) state.addCommitted(event);
    state.status = 'Running';
    state.output = undefined;
    state.customStatus = previous?.cs;
    state.handledActions = previous?.h ?? 0;
    state.nextEventId = previous?.id ?? 0;
    state.retries = retriesOf(previous);
    const lines = kept.map((event) => lineOf({ k: 'e', ep: 0, a: 'rewind', ev: event }));
    lines.push(lineOf({ k: 'c', ep: 0, a: 'rewind', s: state.snapshot() }));
    state.blobLength = await this.store.appendHistory(blobName, 0, '\n' + lines.join('\n'));
    state.episodes = 1;
    state.record.lastUpdatedTime = new Date();
    await this.store.replaceInstance(this.writer.recordOf(state));
    await this.store.deleteHistoryBlob(record.historyBlob).catch(() => undefined);
    this.log(`Rewound ${record.name} (${instanceId}): ${reason || 'no reason given'}`);
    this.registry.setActive(state);
    // Children first, so that re-creating the parent's open work finds them running again.
    for (const child of failedChildren) await this.rewind(child, reason);
    this.dispatcher.resumeOpenWork(state);
    this.runner.scheduleEpisode(state, 0);
    return 'accepted';
  }

  /** Starts the same orchestration with the same input, under a new or the same instance id. */
  async restart(instanceId: string, restartWithNewInstanceId: boolean): Promise<string | undefined> {
    const found = await this.getRecord(instanceId);
    if (!found) return undefined;
    if (!restartWithNewInstanceId && !terminalStatuses.has(found.record.runtimeStatus)) {
      throw new ConflictError(`Instance '${instanceId}' is ${found.record.runtimeStatus}; only finished instances can restart under the same id.`);
    }
    return this.startNew(found.record.name, { instanceId: restartWithNewInstanceId ? undefined : instanceId, input: found.input, version: found.record.version });
  }

  /** Deletes an instance's row, history and large messages. */
  async purge(instanceId: string): Promise<number> {
    await this.registry.settle(instanceId);
    const record = await this.store.getInstance(instanceId);
    if (!record) return 0;
    this.registry.retire(instanceId);
    await this.store.deleteHistoryBlobs(instanceId);
    await this.store.deleteInstanceRow(instanceId);
    return 1;
  }

  async purgeBy(filter: { createdTimeFrom?: Date | undefined; createdTimeTo?: Date | undefined; runtimeStatus?: RuntimeStatus[] | undefined }): Promise<number> {
    const statuses = (filter.runtimeStatus?.length ? filter.runtimeStatus : [...terminalStatuses]).filter((s) => terminalStatuses.has(s));
    if (statuses.length === 0) return 0;
    // Statuses clients already see in memory must be in the rows the filter reads.
    await Promise.all(this.registry.instances().map((instance) => instance.writeChain));
    let deleted = 0;
    const ids: string[] = [];
    for await (const record of this.store.allInstances({ ...filter, runtimeStatus: statuses })) ids.push(record.instanceId);
    for (const id of ids) deleted += await this.purge(id);
    return deleted;
  }

  // ---- loading ------------------------------------------------------------------------------

  // ---- episodes -----------------------------------------------------------------------------

  // ---- work: activities, timers, sub-orchestrations, HTTP ---------------------------------------

}