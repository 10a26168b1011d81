import { terminalStatuses, type InstanceRecord, type TaskHubStore } from '../storage/task.hub.store.js';
import { eventKey, type HistoryEvent } from './history.js';
import { parseLog } from './history.log.js';
import type { EpisodeRunner } from './episode.runner.js';
import type { HistoryWriter } from './history.writer.js';
import { InstanceState } from './instance.state.js';
import type { SubOrchestrations } from './sub.orchestrations.js';
import type { WorkDispatcher } from './work.dispatcher.js';

/**
 * The instances in memory: one copy per unfinished instance, loaded from its history blob on
 * demand (once, however many callers ask), retired when it finishes or is replaced; incoming
 * events (results, timers, messages) are handed to the copy here and wake its next episode.
 */

/** Completions are written in batches this often (one append per instance). */
const flushIntervalMs = 20;

export interface InstanceRegistryParts {
  store: TaskHubStore;
  log: (line: string) => void;
  writer: HistoryWriter;
}

/**
 * What a loaded instance is handed on to: its open work is started again, its next episode (or
 * its continue-as-new) scheduled, and a parent told when it had finished unnoticed. Those parts
 * are built on the registry, so they are connected once after construction (OrchestrationEngine).
 */
export interface LoadedInstanceHandlers {
  episodes: Pick<EpisodeRunner, 'scheduleEpisode' | 'continueAsNew'>;
  work: Pick<WorkDispatcher, 'resumeOpenWork'>;
  parents: Pick<SubOrchestrations, 'notifyParent'>;
}

export class InstanceRegistry {
  private readonly active = new Map<string, InstanceState>();
  private readonly loading = new Map<string, Promise<InstanceState | undefined>>();
  private loaded: LoadedInstanceHandlers | undefined;

  constructor(private readonly parts: InstanceRegistryParts) {}

  connect(handlers: LoadedInstanceHandlers): void {
    this.loaded = handlers;
  }

  private get handlers(): LoadedInstanceHandlers {
    if (!this.loaded) throw new Error('InstanceRegistry: used before the engine connected it');
    return this.loaded;
  }

  /** The running copy of an instance, if it is in memory. */
  get(instanceId: string): InstanceState | undefined {
    return this.active.get(instanceId);
  }

  /** Instances in memory. */
  instances(): InstanceState[] {
    return [...this.active.values()];
  }

  /** Makes this copy the instance's running one (a copy it replaces is retired). */
  setActive(instance: InstanceState): void {
    const replaced = this.active.get(instance.id);
    if (replaced && replaced !== instance) this.retire(instance.id);
    this.active.set(instance.id, instance);
  }

  /** Whether this copy of the instance is the one that runs (not retired or replaced). */
  isCurrent(instance: InstanceState): boolean {
    return this.active.get(instance.id) === instance;
  }

  /** Waits until what memory says about an instance is also in storage. */
  async settle(instanceId: string): Promise<void> {
    const active = this.active.get(instanceId);
    if (active) await active.blob.settled();
  }

  retire(instanceId: string): void {
    const instance = this.active.get(instanceId);
    if (!instance) return;
    instance.retire();
    this.active.delete(instanceId);
  }

  async ensureActive(instanceId: string): Promise<InstanceState | undefined> {
    const active = this.active.get(instanceId);
    if (active) return active;
    const record = await this.parts.store.getInstance(instanceId);
    if (!record || terminalStatuses.has(record.runtimeStatus)) return undefined;
    return this.activate(record);
  }

  /** Loads an instance from its history blob and resumes its pending work. */
  activate(record: InstanceRecord): Promise<InstanceState | undefined> {
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
    let text = await this.parts.store.readHistoryBlob(record.historyBlob);
    if (text === undefined) {
      await this.parts.store.createHistoryBlob(record.historyBlob);
      text = '';
    }
    const parsed = parseLog(text);
    for (const event of [...parsed.committed, ...parsed.pending]) await this.parts.writer.internalizeEvent(event);
    const input = await this.parts.store.internalize(record.input);
    const state = new InstanceState(record, input);
    state.restore(parsed, Buffer.byteLength(text), text ? await this.parts.store.historyBlockCount(record.historyBlob) : 0);
    if (parsed.tornLines) this.parts.log(`Instance ${record.instanceId}: ignored ${parsed.tornLines} torn history line(s) from an interrupted write`);
    if (parsed.snapshot?.next && parsed.snapshot.st === 'ContinuedAsNew') {
      this.setActive(state);
      await this.handlers.episodes.continueAsNew(state, parsed.snapshot.next);
      return state;
    }
    if (terminalStatuses.has(state.status)) {
      // The history says finished but the row was not updated before the host stopped.
      await this.parts.store.replaceInstance(this.parts.writer.recordOf(state));
      await this.handlers.parents.notifyParent(state);
      return undefined;
    }
    this.setActive(state);
    this.handlers.work.resumeOpenWork(state);
    if (state.pending.length || state.history.length === 0) this.handlers.episodes.scheduleEpisode(state, 0);
    return state;
  }

  deliver(instance: InstanceState, event: HistoryEvent): void {
    if (instance.retired || this.active.get(instance.id) !== instance) return;
    const key = eventKey(event);
    if (key && instance.hasReceived(key)) return;
    instance.episode.noteArrival(event);
    instance.receive(event);
    if (key && !instance.blob.isStored(key)) instance.ensureFlushTimer(flushIntervalMs, () => this.parts.writer.flushPending(instance));
    this.handlers.episodes.scheduleEpisode(instance);
  }
}
