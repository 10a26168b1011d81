import { randomUUID } from 'node:crypto';
import { largeMessageName, terminalStatuses, type InstanceQuery, type InstanceRecord, type RuntimeStatus, type TaskHubStore } from '../storage/task.hub.store.js';
import type { Registration } from '../worker.shim.js';
import { entitySchedulerId, operationRowKey, type EntityManager, type EntityResponse } from './entity.manager.js';
import { findOrchestrator, type EpisodeRunner } from './episode.runner.js';
import { EventType, eventKey, nowIso, type HistoryEvent } from './history.js';
import { lineOf, parseLog } from './history.log.js';
import type { HistoryWriter } from './history.writer.js';
import type { InstanceRegistry } from './instance.registry.js';
import { InstanceState, retriesOf } from './instance.state.js';
import type { WorkDispatcher } from './work.dispatcher.js';

/**
 * Instance management, as the Durable management API and DurableClient use it: start, status,
 * history and listing, external events, terminate / suspend / resume, rewind, restart, purge,
 * and entity signals and state.
 */

export class NotFoundError extends Error {}
export class ConflictError extends Error {}
export class BadRequestError extends Error {}

export type OperationResult = 'accepted' | 'notFound' | 'gone';

export interface InstanceOperationsParts {
  store: TaskHubStore;
  registrations: Map<string, Registration>;
  log: (line: string) => void;
  /** host.json extensions.durableTask.defaultVersion: version of instances started without one. */
  defaultVersion: string;
  entities: EntityManager;
  registry: InstanceRegistry;
  writer: HistoryWriter;
  runner: EpisodeRunner;
  dispatcher: WorkDispatcher;
}

export class InstanceOperations {
  constructor(private readonly parts: InstanceOperationsParts) {}

  orchestratorNames(): string[] {
    return [...this.parts.registrations.values()].filter((r) => r.trigger.type === 'orchestrationTrigger').map((r) => r.name);
  }

  /**
   * Creates an instance and starts it. An existing instance in a terminal state is replaced (as
   * Azure does by default); a running one is a conflict.
   */
  async startNew(name: string, options: { instanceId?: string | undefined; input?: string | undefined; version?: string | undefined; parent?: { instanceId: string; taskId: number } }): Promise<string> {
    const registration = findOrchestrator(this.parts.registrations, name);
    if (!registration) {
      throw new BadRequestError(`The function '${name}' doesn't exist, is disabled, or is not an orchestrator function. Orchestrators: ${this.orchestratorNames().join(', ') || 'none'}`);
    }
    const instanceId = options.instanceId ?? randomUUID().replace(/-/g, '');
    await this.parts.registry.settle(instanceId);
    if (!instanceId || /[/\\#?]/.test(instanceId) || instanceId.length > 256) {
      throw new BadRequestError(`Instance id '${instanceId}' is invalid: it must be 1-256 characters without / \\ # ?`);
    }
    const existing = await this.parts.store.getInstance(instanceId);
    if (existing && !terminalStatuses.has(existing.runtimeStatus)) {
      throw new ConflictError(`An instance with ID '${instanceId}' already exists and is ${existing.runtimeStatus}.`);
    }
    if (existing) this.parts.registry.retire(instanceId);
    const executionId = randomUUID().replace(/-/g, '');
    const now = new Date();
    const record: InstanceRecord = {
      instanceId,
      name: registration.name,
      version: options.version || this.parts.defaultVersion,
      runtimeStatus: 'Pending',
      createdTime: now,
      lastUpdatedTime: now,
      input: await this.parts.store.externalize(instanceId, options.input),
      output: undefined,
      customStatus: undefined,
      executionId,
      historyBlob: this.parts.store.historyBlobName(instanceId, executionId),
      parentInstanceId: options.parent?.instanceId,
      parentTaskId: options.parent?.taskId,
    };
    const written = existing ? await this.parts.store.replaceInstance(record, existing.etag) : await this.parts.store.insertInstance(record);
    if (!written) throw new ConflictError(`An instance with ID '${instanceId}' was created concurrently.`);
    await this.parts.store.createHistoryBlob(record.historyBlob);
    const state = new InstanceState(record, options.input);
    this.parts.registry.setActive(state);
    this.parts.runner.scheduleEpisode(state, 0);
    return instanceId;
  }

  /** Current record of an instance: in-memory when active, else from the table. */
  async getRecord(instanceId: string): Promise<{ record: InstanceRecord; input: string | undefined; output: string | undefined; customStatus: string | undefined } | undefined> {
    const active = this.parts.registry.get(instanceId);
    if (active) {
      return { record: { ...active.record, runtimeStatus: active.status }, input: active.input, output: active.output, customStatus: active.customStatus };
    }
    const record = await this.parts.store.getInstance(instanceId);
    if (!record) return undefined;
    const [input, output, customStatus] = await Promise.all([this.parts.store.internalize(record.input), this.parts.store.internalize(record.output), this.parts.store.internalize(record.customStatus)]);
    return { record, input, output, customStatus };
  }

  async resolveRecord(record: InstanceRecord): Promise<{ input: string | undefined; output: string | undefined; customStatus: string | undefined }> {
    const active = this.parts.registry.get(record.instanceId);
    if (active) {
      record.runtimeStatus = active.status;
      return { input: active.input, output: active.output, customStatus: active.customStatus };
    }
    const [input, output, customStatus] = await Promise.all([this.parts.store.internalize(record.input), this.parts.store.internalize(record.output), this.parts.store.internalize(record.customStatus)]);
    return { input, output, customStatus };
  }

  /** One page of instances, with their payloads resolved. */
  async listInstances(query: InstanceQuery): Promise<{ items: Array<{ record: InstanceRecord; payloads: { input: string | undefined; output: string | undefined; customStatus: string | undefined } }>; continuationToken: string | undefined }> {
    // Rows lag memory by one write; let pending writes land so filters see current statuses.
    await Promise.all(this.parts.registry.instances().map((instance) => instance.blob.settled()));
    const page = await this.parts.store.queryInstances(query);
    const items = await Promise.all(page.records.map(async (record) => ({ record, payloads: await this.resolveRecord(record) })));
    return { items, continuationToken: page.continuationToken };
  }

  /** Committed history of the current execution. */
  async getHistory(instanceId: string): Promise<HistoryEvent[] | undefined> {
    const active = this.parts.registry.get(instanceId);
    if (active) return active.history;
    const record = await this.parts.store.getInstance(instanceId);
    if (!record) return undefined;
    const text = (await this.parts.store.readHistoryBlob(record.historyBlob)) ?? '';
    const events = parseLog(text).committed;
    for (const event of events) {
      for (const field of ['Input', 'Result'] as const) {
        if (largeMessageName(event[field])) event[field] = await this.parts.store.internalize(event[field]);
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
    const instance = await this.parts.registry.ensureActive(instanceId);
    if (!instance) {
      const record = await this.parts.store.getInstance(instanceId);
      return record ? 'gone' : 'notFound';
    }
    // Finished in memory while its last episode is still being stored: as gone as once retired.
    if (terminalStatuses.has(instance.status)) return 'gone';
    event.MessageId ??= randomUUID();
    const key = eventKey(event)!;
    await this.parts.writer.enqueueWrite(instance, async () => {
      const stored = await this.parts.writer.externalizeEvent(instance.id, event);
      await this.parts.writer.append(instance, '\n' + lineOf({ k: 'i', ev: stored }));
    });
    instance.blob.markStored(key);
    this.parts.registry.deliver(instance, event);
    void this.parts.writer.enqueueWrite(instance, () => this.parts.writer.maybeCompact(instance)).catch((error: unknown) => this.parts.log(`Instance ${instance.id}: history rewrite failed: ${(error as Error).message}`));
    return 'accepted';
  }

  /** Signals an entity from a client; false if the app has no such entity function. */
  async signalEntity(name: string, key: string, operation: string, inputJson: string | undefined): Promise<boolean> {
    if (!this.parts.entities.findEntity(name)) return false;
    await this.parts.entities.enqueue(entitySchedulerId(name, key), { rk: operationRowKey(), operation, input: inputJson, requestId: randomUUID(), signal: true });
    return true;
  }

  async readEntityState(name: string, key: string): Promise<string | undefined> {
    return this.parts.entities.readState(entitySchedulerId(name, key));
  }

  /** An entity's answer to callEntity: an EventRaised named after the request id, stored once. */
  async deliverEntityResponse(instanceId: string, requestId: string, response: EntityResponse): Promise<void> {
    const active = await this.parts.registry.ensureActive(instanceId);
    if (!active || active.hasReceived(`m:${requestId}`)) return;
    await this.sendMessage(instanceId, { EventType: EventType.EventRaised, EventId: -1, Name: requestId, Input: JSON.stringify(response), MessageId: requestId, Timestamp: nowIso() });
  }

  /**
   * Rewinds a failed instance: its failed activities and sub-orchestrations are scheduled again;
   * everything that succeeded stays in history and is not re-run.
   */
  async rewind(instanceId: string, reason: string): Promise<'accepted' | 'notFound' | 'notFailed'> {
    await this.parts.registry.settle(instanceId);
    const record = await this.parts.store.getInstance(instanceId);
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
    const previous = parseLog((await this.parts.store.readHistoryBlob(record.historyBlob)) ?? '').snapshot;
    const generation = (Number(/\.r(\d+)\.jsonl$/.exec(record.historyBlob)?.[1] ?? 0) || 0) + 1;
    const blobName = this.parts.store.historyBlobName(instanceId, record.executionId, generation);
    await this.parts.store.createHistoryBlob(blobName);
    const input = await this.parts.store.internalize(record.input);
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
    state.blob.reset(await this.parts.store.appendHistory(blobName, 0, '\n' + lines.join('\n')), 0);
    state.episodes = 1;
    state.record.lastUpdatedTime = new Date();
    await this.parts.store.replaceInstance(this.parts.writer.recordOf(state));
    await this.parts.store.deleteHistoryBlob(record.historyBlob).catch(() => undefined);
    this.parts.log(`Rewound ${record.name} (${instanceId}): ${reason || 'no reason given'}`);
    this.parts.registry.setActive(state);
    // Children first, so that re-creating the parent's open work finds them running again.
    for (const child of failedChildren) await this.rewind(child, reason);
    this.parts.dispatcher.resumeOpenWork(state);
    this.parts.runner.scheduleEpisode(state, 0);
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
    await this.parts.registry.settle(instanceId);
    const record = await this.parts.store.getInstance(instanceId);
    if (!record) return 0;
    this.parts.registry.retire(instanceId);
    await this.parts.store.deleteHistoryBlobs(instanceId);
    await this.parts.store.deleteInstanceRow(instanceId);
    return 1;
  }

  async purgeBy(filter: { createdTimeFrom?: Date | undefined; createdTimeTo?: Date | undefined; runtimeStatus?: RuntimeStatus[] | undefined }): Promise<number> {
    const statuses = (filter.runtimeStatus?.length ? filter.runtimeStatus : [...terminalStatuses]).filter((s) => terminalStatuses.has(s));
    if (statuses.length === 0) return 0;
    // Statuses clients already see in memory must be in the rows the filter reads.
    await Promise.all(this.parts.registry.instances().map((instance) => instance.blob.settled()));
    let deleted = 0;
    const ids: string[] = [];
    for await (const record of this.parts.store.allInstances({ ...filter, runtimeStatus: statuses })) ids.push(record.instanceId);
    for (const id of ids) deleted += await this.purge(id);
    return deleted;
  }
}
