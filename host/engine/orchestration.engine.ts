import type { TaskHubStore } from '../storage/task.hub.store.js';
import type { Registration } from '../worker.shim.js';
import { ActionScheduler } from './action.scheduler.js';
import { EntityManager } from './entity.manager.js';
import { EpisodeRunner, type EpisodeFault } from './episode.runner.js';
import { defaultMaxHistoryBlocks, HistoryWriter } from './history.writer.js';
import { InstanceOperations } from './instance.operations.js';
import { InstanceRegistry } from './instance.registry.js';
import { SubOrchestrations } from './sub.orchestrations.js';
import { readVersioning, type VersioningSettings } from './versioning.js';
import { WorkDispatcher, type ActivityInputs } from './work.dispatcher.js';

export interface EngineOptions {
  store: TaskHubStore;
  registrations: Map<string, Registration>;
  maxConcurrentActivities: number;
  log: (line: string) => void;
  /** Print one line per activity invocation (orchestrator episodes are always logged). */
  logActivities?: boolean;
  /** host.json extensions.durableTask defaultVersion (version of instances started without one) and the strategies that decide which instances this host runs. */
  versioning?: VersioningSettings;
  /** host.json functionTimeout for activities. */
  activityTimeoutMs?: number | undefined;
  /** The extra input bindings of an activity (a durable client, as Azure gives any function that declares one). */
  activityInputs?: ActivityInputs;
  /** Appends after which a history blob is rewritten into a new one (Azure's limit is 50,000; default 45,000). */
  maxHistoryBlocks?: number;
  /** Test hook: a crash injected during an episode commit (`after-append:N`, `torn-append:N`; see EpisodeRunner). */
  fault?: EpisodeFault;
}

/**
 * Runs orchestrations with Durable Functions semantics through the SDK's replay, with all state in
 * a TaskHubStore. Each episode's new history is one append to the instance's history blob (the
 * source of truth); activities are dispatched in-process from committed history and their results
 * are appended in batches, so thousands of activities need only hundreds of storage writes.
 *
 * This class is the one place the parts are built (in dependency order) and started and stopped:
 * - InstanceOperations (instance.operations.ts): what the management API and clients ask for;
 * - InstanceRegistry (instance.registry.ts): the instances in memory, loaded from history;
 * - EpisodeRunner (episode.runner.ts): replay through the SDK, determinism check, commit;
 * - ActionScheduler (action.scheduler.ts): SDK actions -> history events and work;
 * - WorkDispatcher (work.dispatcher.ts): activities, timers, HTTP calls;
 * - SubOrchestrations (sub.orchestrations.ts): children as instances of their own;
 * - HistoryWriter (history.writer.ts): the ordered writes of each instance.
 */
export class OrchestrationEngine {
  private readonly store: TaskHubStore;
  private readonly registrations: Map<string, Registration>;
  private readonly log: (line: string) => void;
  private readonly stopController = new AbortController();
  readonly entities: EntityManager;
  private readonly scheduler: ActionScheduler;
  private readonly dispatcher: WorkDispatcher;
  private readonly subOrchestrations: SubOrchestrations;
  private readonly writer: HistoryWriter;
  private readonly runner: EpisodeRunner;
  private readonly registry: InstanceRegistry;
  /** Instance management for the management API and the durable client binding. */
  readonly instances: InstanceOperations;

  constructor(options: EngineOptions) {
    this.store = options.store;
    this.registrations = options.registrations;
    this.log = options.log;
    const versioning = options.versioning ?? readVersioning(undefined);
    const { store, registrations, log } = this;
    const stopped = this.stopController.signal;
    // Built in dependency order: each part gets the parts it calls, as narrow Pick<> types.
    this.entities = new EntityManager(store, registrations, log);
    this.writer = new HistoryWriter({ store, log, maxHistoryBlocks: options.maxHistoryBlocks ?? defaultMaxHistoryBlocks });
    this.registry = new InstanceRegistry({ store, log, writer: this.writer });
    this.subOrchestrations = new SubOrchestrations(store, this.registry);
    this.dispatcher = new WorkDispatcher({
      registrations,
      log,
      maxConcurrentActivities: options.maxConcurrentActivities,
      logActivities: options.logActivities ?? true,
      activityTimeoutMs: options.activityTimeoutMs,
      activityInputs: options.activityInputs ?? (() => []),
      stopped,
      inbox: this.registry,
      subOrchestrations: this.subOrchestrations,
    });
    this.scheduler = new ActionScheduler({ log, entities: this.entities, work: this.dispatcher });
    this.runner = new EpisodeRunner({
      store,
      registrations,
      log,
      entities: this.entities,
      scheduler: this.scheduler,
      subOrchestrations: this.subOrchestrations,
      writer: this.writer,
      stopped,
      registry: this.registry,
      versioning,
      fault: options.fault,
    });
    this.instances = new InstanceOperations({
      store,
      registrations,
      log,
      defaultVersion: versioning.defaultVersion,
      entities: this.entities,
      registry: this.registry,
      writer: this.writer,
      runner: this.runner,
      dispatcher: this.dispatcher,
    });
    // The one cycle, closed here: results wake episodes and episodes start work, so the parts
    // built first reach the later ones through connect(): a loaded instance resumes its work and
    // episodes, a child starts as an instance does, an entity answers an orchestration.
    this.registry.connect({ episodes: this.runner, work: this.dispatcher, parents: this.subOrchestrations });
    this.subOrchestrations.connect(this.instances);
    this.entities.connect(this.instances);
  }

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
    this.stopController.abort();
    this.entities.stop();
    this.dispatcher.clearQueue();
    const deadline = Date.now() + timeoutMs;
    while (this.dispatcher.runningActivities > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    await this.runner.settleRunning();
    for (const instance of this.registry.instances()) {
      instance.stopAllTimers();
      this.writer.flushPending(instance);
    }
    await Promise.allSettled(this.registry.instances().map((instance) => instance.blob.settled()));
  }

  get activityConcurrency(): number {
    return this.dispatcher.concurrency;
  }
}