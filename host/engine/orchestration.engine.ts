import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { invokeRegistration, typedDataToJson, type Registration } from '../worker.shim.js';
import { largeMessageName, terminalStatuses, type InstanceQuery, type InstanceRecord, type RuntimeStatus, type TaskHubStore } from '../storage/task.hub.store.js';
import {
  ActionType,
  EventType,
  actionInputJson,
  eventKey,
  flattenActions,
  nowIso,
  type HistoryEvent,
  type OrchestratorState,
} from './history.js';
import { lineOf, parseLog, type EpisodeSnapshot } from './history.log.js';
import { InstanceState, retriesOf } from './instance.state.js';
import { WorkDispatcher } from './work.dispatcher.js';
import { HistoryWriter } from './history.writer.js';
import { ActionScheduler, checkDeterminism, needsAllocation, wakeIdsFor, type EpisodeDraft } from './action.scheduler.js';
import { EntityManager, entitySchedulerId, operationRowKey, type EntityOperation, type EntityResponse } from './entity.manager.js';

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

/** Azure limits custom status to 16 KB. */
const customStatusLimitBytes = 16 * 1024;
/** How long completions may wait while the orchestrator is known to be blocked on a Task.all. */
const maxWakeDelayMs = 2000;
/** Completions are written in batches this often (one append per instance). */
const flushIntervalMs = 20;

export type OperationResult = 'accepted' | 'notFound' | 'gone';

const controlEventTypes: ReadonlySet<number> = new Set([EventType.ExecutionTerminated, EventType.ExecutionSuspended, EventType.ExecutionResumed]);

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
  private readonly active = new Map<string, InstanceState>();
  private readonly loading = new Map<string, Promise<InstanceState | undefined>>();
  private stopping = false;
  private readonly runningEpisodes = new Set<Promise<void>>();
  /**
   * Fault injection for durability tests (DURABLE_HOST_FAULT): `after-append:N` kills the process
   * right after the N-th episode append (before the instance row update); `torn-append:N` writes
   * only part of the N-th episode and then kills the process.
   */
  private readonly fault = /^(after-append|torn-append):(\d+)$/.exec(process.env['DURABLE_HOST_FAULT'] ?? '');
  private commits = 0;
  readonly entities: EntityManager;
  private readonly scheduler: ActionScheduler;
  private readonly dispatcher: WorkDispatcher;
  private readonly writer: HistoryWriter;

  constructor(options: EngineOptions) {
    this.store = options.store;
    this.registrations = options.registrations;
    this.log = options.log;
    this.defaultVersion = options.defaultVersion ?? '';
    this.entities = new EntityManager(this.store, this.registrations, (instanceId, requestId, response) => this.deliverEntityResponse(instanceId, requestId, response), this.log);
    this.writer = new HistoryWriter({ store: this.store, log: this.log, isCurrent: (instance) => this.active.get(instance.id) === instance });
    this.dispatcher = new WorkDispatcher({
      store: this.store,
      registrations: this.registrations,
      log: this.log,
      maxConcurrentActivities: options.maxConcurrentActivities,
      logActivities: options.logActivities ?? true,
      activityTimeoutMs: options.activityTimeoutMs,
      isStopping: () => this.stopping,
      deliver: (instance, event) => this.deliver(instance, event),
      activate: (record) => this.activate(record),
      ensureActive: (instanceId) => this.ensureActive(instanceId),
      startNew: (name, startOptions) => this.startNew(name, startOptions),
    });
    this.scheduler = new ActionScheduler({ log: this.log, entities: this.entities, startWork: (instance, id, work) => this.dispatcher.startWork(instance, id, work) });
  }

  // ---- lifecycle ------------------------------------------------------------------------------

  /** Resumes every unfinished orchestration found in storage. */
  async start(): Promise<number> {
    await this.entities.ensureCreated();
    let resumed = 0;
    for await (const record of this.store.allInstances({ runtimeStatus: ['Pending', 'Running', 'Suspended', 'ContinuedAsNew'] })) {
      const instance = await this.activate(record);
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
    await Promise.allSettled([...this.runningEpisodes]);
    for (const instance of this.active.values()) {
      clearTimeout(instance.episodeTimer);
      clearTimeout(instance.flushTimer);
      for (const timer of instance.timers.values()) clearTimeout(timer);
      instance.timers.clear();
      this.writer.flushPending(instance);
    }
    await Promise.allSettled([...this.active.values()].map((instance) => instance.writeChain));
  }

  get activityConcurrency(): number {
    return this.dispatcher.concurrency;
  }

  // ---- client operations ----------------------------------------------------------------------

  orchestratorNames(): string[] {
    return [...this.registrations.values()].filter((r) => r.trigger.type === 'orchestrationTrigger').map((r) => r.name);
  }

  private orchestrator(name: string): Registration | undefined {
    const registration = this.registrations.get(name) ?? [...this.registrations.values()].find((r) => r.name.toLowerCase() === name.toLowerCase());
    return registration?.trigger.type === 'orchestrationTrigger' ? registration : undefined;
  }

  /**
   * Creates an instance and starts it. An existing instance in a terminal state is replaced (as
   * Azure does by default); a running one is a conflict.
   */
  async startNew(name: string, options: { instanceId?: string | undefined; input?: string | undefined; version?: string | undefined; parent?: { instanceId: string; taskId: number } }): Promise<string> {
    const registration = this.orchestrator(name);
    if (!registration) {
      throw new BadRequestError(`The function '${name}' doesn't exist, is disabled, or is not an orchestrator function. Orchestrators: ${this.orchestratorNames().join(', ') || 'none'}`);
    }
    const instanceId = options.instanceId ?? randomUUID().replace(/-/g, '');
    await this.settle(instanceId);
    if (!instanceId || /[/\\#?]/.test(instanceId) || instanceId.length > 256) {
      throw new BadRequestError(`Instance id '${instanceId}' is invalid: it must be 1-256 characters without / \\ # ?`);
    }
    const existing = await this.store.getInstance(instanceId);
    if (existing && !terminalStatuses.has(existing.runtimeStatus)) {
      throw new ConflictError(`An instance with ID '${instanceId}' already exists and is ${existing.runtimeStatus}.`);
    }
    if (existing) this.retire(instanceId);
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
    this.active.set(instanceId, state);
    this.scheduleEpisode(state, 0);
    return instanceId;
  }

  /** Current record of an instance: in-memory when active, else from the table. */
  async getRecord(instanceId: string): Promise<{ record: InstanceRecord; input: string | undefined; output: string | undefined; customStatus: string | undefined } | undefined> {
    const active = this.active.get(instanceId);
    if (active) {
      return { record: { ...active.record, runtimeStatus: active.status }, input: active.input, output: active.output, customStatus: active.customStatus };
    }
    const record = await this.store.getInstance(instanceId);
    if (!record) return undefined;
    const [input, output, customStatus] = await Promise.all([this.store.internalize(record.input), this.store.internalize(record.output), this.store.internalize(record.customStatus)]);
    return { record, input, output, customStatus };
  }

  async resolveRecord(record: InstanceRecord): Promise<{ input: string | undefined; output: string | undefined; customStatus: string | undefined }> {
    const active = this.active.get(record.instanceId);
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
    await Promise.all([...this.active.values()].map((instance) => instance.writeChain));
    const page = await this.store.queryInstances(query);
    const items = await Promise.all(page.records.map(async (record) => ({ record, payloads: await this.resolveRecord(record) })));
    return { items, continuationToken: page.continuationToken };
  }

  /** Committed history of the current execution. */
  async getHistory(instanceId: string): Promise<HistoryEvent[] | undefined> {
    const active = this.active.get(instanceId);
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
    const instance = await this.ensureActive(instanceId);
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
    this.deliver(instance, event);
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
    const active = await this.ensureActive(instanceId);
    if (!active || active.doneKeys.has(`m:${requestId}`) || active.pendingKeys.has(`m:${requestId}`)) return;
    await this.sendMessage(instanceId, { EventType: EventType.EventRaised, EventId: -1, Name: requestId, Input: JSON.stringify(response), MessageId: requestId, Timestamp: nowIso() });
  }

  /**
   * Rewinds a failed instance: its failed activities and sub-orchestrations are scheduled again;
   * everything that succeeded stays in history and is not re-run.
   */
  async rewind(instanceId: string, reason: string): Promise<'accepted' | 'notFound' | 'notFailed'> {
    await this.settle(instanceId);
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
    this.active.set(instanceId, state);
    // Children first, so that re-creating the parent's open work finds them running again.
    for (const child of failedChildren) await this.rewind(child, reason);
    this.dispatcher.resumeOpenWork(state);
    this.scheduleEpisode(state, 0);
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
    await this.settle(instanceId);
    const record = await this.store.getInstance(instanceId);
    if (!record) return 0;
    this.retire(instanceId);
    await this.store.deleteHistoryBlobs(instanceId);
    await this.store.deleteInstanceRow(instanceId);
    return 1;
  }

  async purgeBy(filter: { createdTimeFrom?: Date | undefined; createdTimeTo?: Date | undefined; runtimeStatus?: RuntimeStatus[] | undefined }): Promise<number> {
    const statuses = (filter.runtimeStatus?.length ? filter.runtimeStatus : [...terminalStatuses]).filter((s) => terminalStatuses.has(s));
    if (statuses.length === 0) return 0;
    // Statuses clients already see in memory must be in the rows the filter reads.
    await Promise.all([...this.active.values()].map((instance) => instance.writeChain));
    let deleted = 0;
    const ids: string[] = [];
    for await (const record of this.store.allInstances({ ...filter, runtimeStatus: statuses })) ids.push(record.instanceId);
    for (const id of ids) deleted += await this.purge(id);
    return deleted;
  }

  /** Waits until what memory says about an instance is also in storage. */
  private async settle(instanceId: string): Promise<void> {
    const active = this.active.get(instanceId);
    if (active) await active.writeChain;
  }

  private retire(instanceId: string): void {
    const instance = this.active.get(instanceId);
    if (!instance) return;
    instance.retired = true;
    clearTimeout(instance.episodeTimer);
    clearTimeout(instance.flushTimer);
    for (const timer of instance.timers.values()) clearTimeout(timer);
    this.active.delete(instanceId);
  }

  // ---- loading ------------------------------------------------------------------------------

  private async ensureActive(instanceId: string): Promise<InstanceState | undefined> {
    const active = this.active.get(instanceId);
    if (active) return active;
    const record = await this.store.getInstance(instanceId);
    if (!record || terminalStatuses.has(record.runtimeStatus)) return undefined;
    return this.activate(record);
  }

  /** Loads an instance from its history blob and resumes its pending work. */
  private activate(record: InstanceRecord): Promise<InstanceState | undefined> {
    const existing = this.active.get(record.instanceId);
    if (existing) return Promise.resolve(existing);
    let loading = this.loading.get(record.instanceId);
    if (!loading) {
      loading = this.load(record).finally(() => this.loading.delete(record.instanceId));
      this.loading.set(record.instanceId, loading);
    }
    return loading;
  }

  private async load(record: InstanceRecord): Promise<InstanceState | undefined> {
    let text = await this.store.readHistoryBlob(record.historyBlob);
    if (text === undefined) {
      await this.store.createHistoryBlob(record.historyBlob);
      text = '';
    }
    const parsed = parseLog(text);
    for (const event of [...parsed.committed, ...parsed.pending]) await this.writer.internalizeEvent(event);
    const input = await this.store.internalize(record.input);
    const state = new InstanceState(record, input);
    state.restore(parsed, Buffer.byteLength(text));
    if (text) state.blobBlocks = await this.store.historyBlockCount(record.historyBlob);
    if (parsed.tornLines) this.log(`Instance ${record.instanceId}: ignored ${parsed.tornLines} torn history line(s) from an interrupted write`);
    if (parsed.snapshot?.next && parsed.snapshot.st === 'ContinuedAsNew') {
      this.active.set(record.instanceId, state);
      await this.continueAsNew(state, parsed.snapshot.next);
      return state;
    }
    if (terminalStatuses.has(state.status)) {
      // The history says finished but the row was not updated before the host stopped.
      await this.store.replaceInstance(this.writer.recordOf(state));
      await this.dispatcher.notifyParent(state);
      return undefined;
    }
    this.active.set(record.instanceId, state);
    this.dispatcher.resumeOpenWork(state);
    if (state.pending.length || state.history.length === 0) this.scheduleEpisode(state, 0);
    return state;
  }

  // ---- episodes -----------------------------------------------------------------------------

  private deliver(instance: InstanceState, event: HistoryEvent): void {
    if (instance.retired || this.active.get(instance.id) !== instance) return;
    const key = eventKey(event);
    if (key && (instance.doneKeys.has(key) || instance.pendingKeys.has(key))) return;
    if (instance.pending.length === 0) instance.firstPendingAt = Date.now();
    if (instance.wakeIds) {
      if ((event.EventType === EventType.TaskCompleted || event.EventType === EventType.SubOrchestrationInstanceCompleted) && instance.wakeIds.has(event.TaskScheduledId ?? -1)) {
        instance.wakeRemaining--;
      } else if (event.EventType !== EventType.TaskCompleted) {
        // A failure resolves a Task.all; an external event or timer may matter to the code too.
        instance.wakeBroken = true;
      }
    }
    instance.pending.push(event);
    if (key) instance.pendingKeys.add(key);
    if (key && !instance.persistedKeys.has(key) && !instance.flushTimer) {
      instance.flushTimer = setTimeout(() => {
        instance.flushTimer = undefined;
        this.writer.flushPending(instance);
      }, flushIntervalMs);
    }
    this.scheduleEpisode(instance);
  }

  /**
   * Schedules the next episode. Episodes replay the whole history, so they are spaced out by
   * their own duration (replay takes at most about half the CPU) and, while the orchestrator
   * waits on a Task.all, postponed until all its results are in (bounded by maxWakeDelayMs).
   */
  private scheduleEpisode(instance: InstanceState, delayMs?: number): void {
    if (this.stopping || instance.episodeRunning || !instance.isRunnable()) return;
    const first = instance.history.length === 0;
    if (!first && instance.pending.length === 0) return;
    const now = Date.now();
    let delay = delayMs ?? Math.max(0, instance.lastEpisodeEnd + instance.lastEpisodeMs - now);
    const hasControl = instance.pending.some((e) => controlEventTypes.has(e.EventType));
    if (!first && !hasControl && delayMs === undefined) {
      if (instance.status === 'Suspended') return;
      if (instance.wakeIds && instance.wakeRemaining > 0 && !instance.wakeBroken) {
        const wait = Math.max(maxWakeDelayMs, instance.lastEpisodeMs * 10) - (now - instance.firstPendingAt);
        delay = Math.max(delay, wait);
      }
    }
    const due = now + delay;
    if (instance.episodeTimer) {
      if (due >= instance.episodeDue - 2) return;
      clearTimeout(instance.episodeTimer);
    }
    instance.episodeDue = due;
    instance.episodeTimer = setTimeout(() => {
      instance.episodeTimer = undefined;
      const episode = this.runEpisode(instance);
      this.runningEpisodes.add(episode);
      void episode.finally(() => this.runningEpisodes.delete(episode));
    }, delay);
  }

  private async runEpisode(instance: InstanceState): Promise<void> {
    if (this.stopping || instance.episodeRunning || !instance.isRunnable()) return;
    instance.episodeRunning = true;
    try {
      const control = instance.pending.find((event) => controlEventTypes.has(event.EventType));
      if (control) await this.applyControl(instance, control);
      else if (instance.status !== 'Suspended') await this.replay(instance);
    } catch (error) {
      // Memory may no longer match storage: drop this copy and load the instance again from its
      // history (the source of truth); results of work still running are re-created by re-running it.
      this.log(`Instance ${instance.id}: the host failed while running an episode; reloading it from storage in 1 s: ${(error as Error).stack ?? error}`);
      instance.episodeRunning = false;
      this.retire(instance.id);
      setTimeout(() => {
        if (!this.stopping) void this.ensureActive(instance.id).catch((reloadError: unknown) => this.log(`Instance ${instance.id}: reload failed: ${(reloadError as Error).message}`));
      }, 1000);
      return;
    } finally {
      instance.episodeRunning = false;
      instance.lastEpisodeEnd = Date.now();
    }
    if (instance.pending.length) this.scheduleEpisode(instance);
  }

  /** Takes pending events for one episode: at most one that makes the host allocate ids, and it last. */
  private takeEvents(instance: InstanceState): HistoryEvent[] {
    const taken: HistoryEvent[] = [];
    const rest: HistoryEvent[] = [];
    let allocating: HistoryEvent | undefined;
    for (const event of instance.pending) {
      if (controlEventTypes.has(event.EventType)) rest.push(event);
      else if (needsAllocation(instance, event)) {
        if (allocating) rest.push(event);
        else allocating = event;
      } else taken.push(event);
    }
    if (allocating) taken.push(allocating);
    instance.pending = rest;
    for (const event of taken) {
      const key = eventKey(event);
      if (key) instance.pendingKeys.delete(key);
    }
    instance.firstPendingAt = rest.length ? Date.now() : 0;
    return taken;
  }

  private startedEvent(instance: InstanceState): HistoryEvent {
    const now = Math.max(Date.now(), instance.lastStartedAt + 1);
    return { EventType: EventType.OrchestratorStarted, EventId: -1, Timestamp: new Date(now).toISOString() };
  }

  /** Runs the orchestrator over its history plus the new events and commits the outcome. */
  private async replay(instance: InstanceState): Promise<void> {
    const started = performance.now();
    const taken = this.takeEvents(instance);
    const startedEvent = this.startedEvent(instance);
    const newEvents: HistoryEvent[] = [startedEvent];
    if (instance.history.length === 0) {
      newEvents.push({
        EventType: EventType.ExecutionStarted,
        EventId: -1,
        Timestamp: startedEvent.Timestamp,
        Name: instance.record.name,
        Version: instance.record.version,
        Input: instance.input,
        OrchestrationInstance: { InstanceId: instance.id, ExecutionId: instance.record.executionId },
        ...(instance.record.parentInstanceId ? { ParentInstance: { OrchestrationInstance: { InstanceId: instance.record.parentInstanceId }, TaskScheduleId: instance.record.parentTaskId } } : {}),
      });
    }
    newEvents.push(...taken);
    const generated: HistoryEvent[] = [];
    const effects: Array<() => void> = [];
    let terminal: { status: RuntimeStatus; output: string | undefined; failure?: string } | undefined;
    let continueWith: { executionId: string; input: string | undefined } | undefined;
    let wake: number[] | undefined;
    const entityOps: Array<{ schedulerId: string; op: EntityOperation }> = [];
    const draft: EpisodeDraft = { generated, effects, episodeTime: startedEvent.Timestamp, entityOps };

    const registration = this.orchestrator(instance.record.name);
    let state: OrchestratorState | undefined;
    let failure: string | undefined;
    if (!registration) {
      failure = `The orchestrator function '${instance.record.name}' is not registered in this app.`;
    } else {
      ({ state, failure } = await this.invokeOrchestrator(registration, instance, newEvents));
    }

    if (state) {
      const customStatus = state.customStatus === undefined || state.customStatus === null ? undefined : JSON.stringify(state.customStatus);
      if (customStatus !== undefined && Buffer.byteLength(customStatus) > customStatusLimitBytes) {
        failure ??= `The custom status is ${Buffer.byteLength(customStatus)} bytes of JSON; Azure limits it to ${customStatusLimitBytes} bytes (16 KB). Keep only a summary in setCustomStatus.`;
      } else {
        instance.customStatus = customStatus;
      }
      const { leaves, topLevel } = flattenActions(state);
      const mismatch = failure ? undefined : checkDeterminism(instance, leaves);
      if (mismatch) failure = mismatch;
      if (!failure) {
        const continueAction = leaves.find((action) => action.actionType === ActionType.ContinueAsNew);
        if (continueAction) {
          continueWith = { executionId: randomUUID().replace(/-/g, ''), input: actionInputJson(continueAction.input) };
          generated.push({ EventType: EventType.ContinueAsNew, EventId: -1, Timestamp: nowIso(), Input: continueWith.input });
          terminal = { status: 'ContinuedAsNew', output: undefined };
        } else {
          for (let index = instance.handledActions; index < leaves.length; index++) {
            const problem = this.scheduler.schedule(instance, leaves[index]!, index, draft);
            if (problem) {
              failure = problem;
              break;
            }
          }
          instance.handledActions = Math.max(instance.handledActions, leaves.length);
          const last = taken[taken.length - 1];
          if (!failure && last && needsAllocation(instance, last)) this.scheduler.allocateFollowUp(instance, last, draft);
          if (!failure && state.isDone) terminal = { status: 'Completed', output: state.output === undefined ? 'null' : JSON.stringify(state.output) };
          wake = state.isDone ? undefined : wakeIdsFor(instance, leaves, topLevel);
        }
      }
    }
    if (failure) {
      terminal = { status: 'Failed', output: JSON.stringify(`Orchestrator function '${instance.record.name}' failed: ${failure}`), failure };
    }
    if (terminal && terminal.status !== 'ContinuedAsNew') {
      generated.push({ EventType: EventType.ExecutionCompleted, EventId: -1, Timestamp: nowIso(), OrchestrationStatus: terminal.status, Result: terminal.output });
    }
    generated.push({ EventType: EventType.OrchestratorCompleted, EventId: -1, Timestamp: nowIso() });
    if (terminal) {
      instance.status = terminal.status;
      instance.output = terminal.output;
    } else if (instance.status === 'Pending') {
      instance.status = 'Running';
    }

    await this.commit(instance, newEvents, generated, continueWith, entityOps.length ? () => this.storeEntityOps(entityOps) : undefined);
    this.setWake(instance, wake);
    const elapsed = performance.now() - started;
    instance.lastEpisodeMs = elapsed;
    const scheduled = generated.filter((e) => e.EventType === EventType.TaskScheduled || e.EventType === EventType.SubOrchestrationInstanceCreated || e.EventType === EventType.TimerCreated).length;
    this.log(
      `Executed 'Functions.${instance.record.name}' (${terminal?.status === 'Failed' ? 'Failed' : 'Succeeded'}, InstanceId=${instance.id}, Duration=${elapsed.toFixed(0)}ms) ` +
        `episode ${instance.episodes - 1}: ${taken.length} new event(s), ${scheduled} scheduled, status ${instance.status}${terminal?.failure ? `: ${terminal.failure}` : ''}`,
    );
    for (const effect of effects) effect();
    if (continueWith) await this.continueAsNew(instance, continueWith);
    else if (terminal) await this.finish(instance);
  }

  private async invokeOrchestrator(registration: Registration, instance: InstanceState, newEvents: HistoryEvent[]): Promise<{ state?: OrchestratorState; failure?: string }> {
    const newJson = newEvents.map((event) => JSON.stringify({ ...event, IsPlayed: false })).join(',');
    const history = instance.playedJson ? `${instance.playedJson},${newJson}` : newJson;
    const payload =
      `{"history":[${history}],"input":${instance.input ?? 'null'},"instanceId":${JSON.stringify(instance.id)},` +
      `"isReplaying":${instance.history.length > 0},"parentInstanceId":${JSON.stringify(instance.record.parentInstanceId ?? null)},` +
      `"upperSchemaVersion":1,"upperSchemaVersionNew":2,"longRunningTimerIntervalDuration":"3.00:00:00",` +
      // The host keeps timers in history and re-arms them on start, so any length is one timer.
      `"maximumShortTimerDuration":"36500.00:00:00","defaultHttpAsyncRequestSleepTimeMillseconds":30000}`;
    try {
      const response = await invokeRegistration(registration, { inputData: [{ name: registration.triggerName, data: { string: payload } }] });
      const json = typedDataToJson(response.returnValue);
      return { state: JSON.parse(json) as OrchestratorState };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const marker = message.indexOf('$OutOfProcData$:');
      if (marker >= 0) {
        const state = JSON.parse(message.slice(marker + '$OutOfProcData$:'.length)) as OrchestratorState;
        return { state, failure: state.error ?? message };
      }
      return { failure: message };
    }
  }

  /** Stores the entity operations an episode sends. */
  private async storeEntityOps(entityOps: Array<{ schedulerId: string; op: EntityOperation }>): Promise<void> {
    // Stored before the episode commits, with request ids derived from the episode, so a crash
    // in between at worst stores an operation twice under the same id (applied once).
    for (const { schedulerId, op } of entityOps) await this.entities.enqueue(schedulerId, op, false);
  }

  private setWake(instance: InstanceState, ids: number[] | undefined): void {
    instance.wakeBroken = false;
    if (!ids) {
      instance.wakeIds = undefined;
      return;
    }
    const open = ids.filter((id) => !instance.doneKeys.has(`t:${id}`));
    instance.wakeIds = new Set(open);
    instance.wakeRemaining = open.filter((id) => !instance.pendingKeys.has(`t:${id}`)).length;
    instance.wakeBroken = instance.pending.some((event) => event.EventType !== EventType.TaskCompleted);
  }

  /** Appends the episode (one atomic append unless over 4 MiB) and then updates the instance row. */
  private async commit(instance: InstanceState, newEvents: HistoryEvent[], generated: HistoryEvent[], next?: EpisodeSnapshot['next'], beforeAppend?: () => Promise<void>): Promise<void> {
    const episode = instance.episodes++;
    for (const event of [...newEvents, ...generated]) instance.addCommitted(event);
    const snapshot = instance.snapshot(next);
    instance.record.lastUpdatedTime = new Date();
    if (terminalStatuses.has(instance.status)) instance.record.completedTime = instance.record.lastUpdatedTime;
    const a = randomUUID().slice(0, 8);
    await this.writer.enqueueWrite(instance, async () => {
      const lines: string[] = [];
      for (const event of newEvents) {
        const key = eventKey(event);
        if (key && instance.persistedKeys.has(key)) lines.push(lineOf({ k: 'r', ep: episode, a, key }));
        else lines.push(lineOf({ k: 'e', ep: episode, a, ev: await this.writer.externalizeEvent(instance.id, event) }));
      }
      for (const event of generated) lines.push(lineOf({ k: 'e', ep: episode, a, ev: await this.writer.externalizeEvent(instance.id, event) }));
      lines.push(lineOf({ k: 'c', ep: episode, a, s: snapshot }));
      const text = '\n' + lines.join('\n');
      if (beforeAppend) await beforeAppend();
      const injectFault = this.fault !== null && ++this.commits === Number(this.fault[2]);
      if (injectFault && this.fault![1] === 'torn-append') {
        await this.store.appendHistory(instance.record.historyBlob, instance.blobLength, text.slice(0, Math.floor(text.length / 2)));
        process.kill(process.pid, 'SIGKILL');
      }
      await this.writer.append(instance, text);
      if (injectFault) process.kill(process.pid, 'SIGKILL');
      for (const event of newEvents) {
        const key = eventKey(event);
        if (key) instance.persistedKeys.delete(key);
      }
      await this.store.replaceInstance(await this.writer.externalRecord(instance));
      await this.writer.maybeCompact(instance);
    });
  }

  /** Terminate, suspend and resume are applied by the host without running the orchestrator. */
  private async applyControl(instance: InstanceState, control: HistoryEvent): Promise<void> {
    instance.pending = instance.pending.filter((event) => event !== control);
    instance.pendingKeys.delete(eventKey(control)!);
    const startedEvent = this.startedEvent(instance);
    const newEvents: HistoryEvent[] = [startedEvent, control];
    const generated: HistoryEvent[] = [];
    let finished = false;
    if (control.EventType === EventType.ExecutionTerminated) {
      instance.status = 'Terminated';
      instance.output = control.Input ?? 'null';
      generated.push({ EventType: EventType.ExecutionCompleted, EventId: -1, Timestamp: nowIso(), OrchestrationStatus: 'Terminated', Result: instance.output });
      finished = true;
    } else if (control.EventType === EventType.ExecutionSuspended) {
      if (instance.status === 'Running' || instance.status === 'Pending') instance.status = 'Suspended';
    } else if (control.EventType === EventType.ExecutionResumed) {
      if (instance.status === 'Suspended') instance.status = instance.history.length ? 'Running' : 'Pending';
    }
    await this.commit(instance, newEvents, generated);
    this.log(`Instance ${instance.id} (${instance.record.name}): ${control.EventType === EventType.ExecutionTerminated ? 'terminated' : instance.status === 'Suspended' ? 'suspended' : 'resumed'}${control.Reason ? `: ${control.Reason}` : ''}`);
    if (finished) await this.finish(instance);
  }

  private async finish(instance: InstanceState): Promise<void> {
    for (const timer of instance.timers.values()) clearTimeout(timer);
    instance.timers.clear();
    await this.dispatcher.notifyParent(instance);
    if (this.active.get(instance.id) === instance) this.retire(instance.id);
  }

  private async continueAsNew(instance: InstanceState, next: { executionId: string; input: string | undefined }): Promise<void> {
    // External events not consumed yet carry over to the new execution, as in Durable Functions.
    const carried = instance.pending.filter((event) => event.EventType === EventType.EventRaised);
    this.retire(instance.id);
    const record: InstanceRecord = {
      ...instance.record,
      runtimeStatus: 'Running',
      executionId: next.executionId,
      historyBlob: this.store.historyBlobName(instance.id, next.executionId),
      input: await this.store.externalize(instance.id, next.input),
      output: undefined,
      customStatus: instance.customStatus,
      lastUpdatedTime: new Date(),
      completedTime: undefined,
    };
    await this.store.createHistoryBlob(record.historyBlob);
    await this.store.replaceInstance(record);
    // The previous execution's history is not needed any more (as in DurableTask.AzureStorage).
    await this.store.deleteHistoryBlob(instance.record.historyBlob).catch(() => undefined);
    const state = new InstanceState(record, next.input);
    state.status = 'Running';
    this.active.set(instance.id, state);
    for (const event of carried) this.deliver(state, event);
    this.scheduleEpisode(state, 0);
  }

  // ---- work: activities, timers, sub-orchestrations, HTTP ---------------------------------------

}