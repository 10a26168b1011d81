import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { terminalStatuses, type InstanceRecord, type RuntimeStatus, type TaskHubStore } from '../storage/task.hub.store.js';
import { invokeRegistration, typedDataToJson, type Registration } from '../worker.shim.js';
import { checkDeterminism, needsAllocation, wakeIdsFor, type ActionScheduler, type EpisodeDraft } from './action.scheduler.js';
import type { EntityManager, EntityOperation } from './entity.manager.js';
import { ActionType, EventType, actionInputJson, eventKey, flattenActions, nowIso, stateOfOrchestratorError, type Action, type HistoryEvent, type OrchestratorState } from './history.js';
import { lineOf, type EpisodeSnapshot } from './history.log.js';
import type { HistoryWriter } from './history.writer.js';
import type { InstanceRegistry } from './instance.registry.js';
import { InstanceState } from './instance.state.js';
import { versionMismatch, type VersioningSettings } from './versioning.js';
import type { SubOrchestrations } from './sub.orchestrations.js';

/**
 * The episode runner: decides when an instance's next episode runs, replays its history plus the
 * new events through the SDK, checks determinism, and commits the outcome (one append to the
 * history blob, then the instance row); terminate, suspend and resume are applied without
 * running the orchestrator; continue-as-new starts the next execution.
 */

/** Azure limits custom status to 16 KB of UTF-16 JSON text: 8,192 UTF-16 code units. */
const customStatusLimitBytes = 16 * 1024;

export const controlEventTypes: ReadonlySet<number> = new Set([EventType.ExecutionTerminated, EventType.ExecutionSuspended, EventType.ExecutionResumed]);

/** The app's orchestrator of that name (case-insensitive, as Functions names are). */
export function findOrchestrator(registrations: Map<string, Registration>, name: string): Registration | undefined {
  const registration = registrations.get(name) ?? [...registrations.values()].find((r) => r.name.toLowerCase() === name.toLowerCase());
  return registration?.trigger.type === 'orchestrationTrigger' ? registration : undefined;
}

export interface EpisodeRunnerParts {
  store: TaskHubStore;
  registrations: Map<string, Registration>;
  log: (line: string) => void;
  entities: EntityManager;
  scheduler: ActionScheduler;
  subOrchestrations: SubOrchestrations;
  writer: HistoryWriter;
  /** Aborted when the engine stops. */
  stopped: AbortSignal;
  /** The instances in memory: which copy runs, retiring, reloading, and the inbox. */
  registry: Pick<InstanceRegistry, 'isCurrent' | 'setActive' | 'retire' | 'ensureActive' | 'deliver'>;
  versioning: VersioningSettings;
  fault?: EpisodeFault | undefined;
}

/**
 * Fault injection for durability tests: `after-append` kills the process right after the
 * `commit`-th episode append (before the instance row update); `torn-append` writes only part of
 * that episode and then kills the process.
 */
export interface EpisodeFault {
  kind: 'after-append' | 'torn-append';
  commit: number;
}

/** The fault a DURABLE_HOST_FAULT value names (`after-append:N`, `torn-append:N`), if any. */
export function parseEpisodeFault(value: string | undefined): EpisodeFault | undefined {
  const match = /^(after-append|torn-append):(\d+)$/.exec(value ?? '');
  return match ? { kind: match[1] as EpisodeFault['kind'], commit: Number(match[2]) } : undefined;
}

export class EpisodeRunner {
  private readonly runningEpisodes = new Set<Promise<void>>();
  private commits = 0;

  constructor(private readonly parts: EpisodeRunnerParts) {}

  /** Resolves once the episodes running now have ended (on stop). */
  async settleRunning(): Promise<void> {
    await Promise.allSettled([...this.runningEpisodes]);
  }

  /**
   * Schedules the next episode. Episodes replay the whole history, so they are spaced out by
   * their own duration (replay takes at most about half the CPU) and, while the orchestrator
   * waits on a Task.all, postponed until all its results are in (bounded by maxWakeDelayMs).
   */
  scheduleEpisode(instance: InstanceState, delayMs?: number): void {
    if (this.parts.stopped.aborted || instance.episode.running || !instance.isRunnable()) return;
    // A refused version still takes terminate, suspend and resume: they run no orchestrator code.
    if (instance.episode.rejected && !instance.pending.some((e) => controlEventTypes.has(e.EventType))) return;
    const first = instance.history.length === 0;
    if (!first && instance.pending.length === 0) return;
    const now = Date.now();
    let delay = delayMs ?? instance.episode.spacing(now);
    const hasControl = instance.pending.some((e) => controlEventTypes.has(e.EventType));
    if (!first && !hasControl && delayMs === undefined) {
      if (instance.status === 'Suspended') return;
      const wait = instance.episode.blockedWait(now, instance.waitingSince);
      if (wait !== undefined) delay = Math.max(delay, wait);
    }
    const due = now + delay;
    // An episode already due sooner stays; a later one is brought forward.
    if (!instance.episode.bringForward(due, instance.episodeScheduled)) return;
    instance.setEpisodeTimer(delay, () => {
      const episode = this.runEpisode(instance);
      this.runningEpisodes.add(episode);
      void episode.finally(() => this.runningEpisodes.delete(episode));
    });
  }

  private async runEpisode(instance: InstanceState): Promise<void> {
    if (this.parts.stopped.aborted || instance.episode.running || !instance.isRunnable()) return;
    instance.episode.begin();
    try {
      const control = instance.pending.find((event) => controlEventTypes.has(event.EventType));
      if (control) await this.applyControl(instance, control);
      else if (instance.status !== 'Suspended' && !this.rejectVersion(instance)) await this.replay(instance);
    } catch (error) {
      // Memory may no longer match storage: drop this copy and load the instance again from its
      // history (the source of truth); results of work still running are re-created by re-running it.
      this.parts.log(`Instance ${instance.id}: the host failed while running an episode; reloading it from storage in 1 s: ${(error as Error).stack ?? error}`);
      instance.episode.abandon();
      this.parts.registry.retire(instance.id);
      setTimeout(() => {
        if (!this.parts.stopped.aborted) void this.parts.registry.ensureActive(instance.id).catch((reloadError: unknown) => this.parts.log(`Instance ${instance.id}: reload failed: ${(reloadError as Error).message}`));
      }, 1000);
      return;
    } finally {
      instance.episode.end(Date.now());
    }
    if (instance.pending.length) this.scheduleEpisode(instance);
  }

  /**
   * versionFailureStrategy Reject: an instance whose version this host may not run is left as it
   * is (events keep arriving and are stored) for a host whose defaultVersion accepts it, as Azure
   * abandons the work item for another worker. Fail is handled in replay().
   */
  private rejectVersion(instance: InstanceState): boolean {
    const { versioning } = this.parts;
    if (versioning.failureStrategy !== 'Reject') return false;
    const mismatch = versionMismatch(instance.record.version, versioning);
    if (!mismatch) return false;
    if (instance.episode.reject()) {
      this.parts.log(
        `WARNING: instance ${instance.id} (${instance.record.name}) is not run by this host: ${mismatch}. ` +
          'It waits, with its events stored, for a host whose defaultVersion accepts it (versionFailureStrategy Reject).',
      );
    }
    return true;
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
    instance.take(taken);
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

    const registration = findOrchestrator(this.parts.registrations, instance.record.name);
    let state: OrchestratorState | undefined;
    let failure: string | undefined;
    const mismatch = versionMismatch(instance.record.version, this.parts.versioning);
    if (!registration) {
      failure = `The orchestrator function '${instance.record.name}' is not registered in this app.`;
    } else if (mismatch) {
      // versionFailureStrategy Fail (Reject never gets here).
      failure = `The orchestration cannot run here: ${mismatch}; versionFailureStrategy is Fail.`;
    } else {
      ({ state, failure } = await this.invokeOrchestrator(registration, instance, newEvents));
    }

    if (state) {
      const customStatus = state.customStatus === undefined || state.customStatus === null ? undefined : JSON.stringify(state.customStatus);
      if (customStatus !== undefined && customStatus.length * 2 > customStatusLimitBytes) {
        failure ??= `The custom status is ${customStatus.length * 2} bytes of UTF-16 JSON; Azure limits it to ${customStatusLimitBytes} bytes (16 KB). Keep only a summary in setCustomStatus.`;
      } else {
        instance.customStatus = customStatus;
      }
      const { leaves, topLevel, repeats } = flattenActions(state);
      this.warnRepeats(instance, repeats);
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
            const problem = this.parts.scheduler.schedule(instance, leaves[index]!, index, draft);
            if (problem) {
              failure = problem;
              break;
            }
          }
          instance.handledActions = Math.max(instance.handledActions, leaves.length);
          const last = taken[taken.length - 1];
          if (!failure && last && needsAllocation(instance, last)) this.parts.scheduler.allocateFollowUp(instance, last, draft);
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
    // An orchestration that ends inside a critical section releases its entities.
    if (terminal) this.parts.scheduler.release(instance, draft, false);

    await this.commit(instance, newEvents, generated, continueWith, entityOps.length ? () => this.storeEntityOps(entityOps) : undefined);
    this.setWake(instance, wake);
    const elapsed = performance.now() - started;
    instance.episode.recordDuration(elapsed);
    const scheduled = generated.filter((e) => e.EventType === EventType.TaskScheduled || e.EventType === EventType.SubOrchestrationInstanceCreated || e.EventType === EventType.TimerCreated).length;
    this.parts.log(
      `Executed 'Functions.${instance.record.name}' (${terminal?.status === 'Failed' ? 'Failed' : 'Succeeded'}, InstanceId=${instance.id}, Duration=${elapsed.toFixed(0)}ms) ` +
        `episode ${instance.episodes - 1}: ${taken.length} new event(s), ${scheduled} scheduled, status ${instance.status}${terminal?.failure ? `: ${terminal.failure}` : ''}`,
    );
    for (const effect of effects) effect();
    if (continueWith) await this.continueAsNew(instance, continueWith);
    else if (terminal) await this.finish(instance);
  }

  /**
   * Parity with Azure (azure-functions-durable-js#574): a task yielded again inside a new
   * Task.any / Task.all reaches the host a second time. This host runs it once; Azure's extension
   * schedules it again, so the pattern that passes here runs work twice there.
   */
  private warnRepeats(instance: InstanceState, repeats: Action[]): void {
    for (const action of repeats) {
      const taskId = action.taskId!;
      if (!instance.episode.firstRepeat(taskId)) continue;
      const what = action.functionName ? `'${action.functionName}'` : `of action type ${action.actionType}`;
      this.parts.log(
        `WARNING: orchestrator '${instance.record.name}' (instance ${instance.id}) yielded its already scheduled task #${taskId} (${what}) again inside a new Task.any/Task.all. ` +
          'The local host runs it once, but Azure schedules it again (azure-functions-durable-js#574): the work runs twice there and the replay may fail. ' +
          'Yield a task that is already scheduled on its own (yield task), not in a new Task.any/Task.all.',
      );
    }
  }

  private async invokeOrchestrator(registration: Registration, instance: InstanceState, newEvents: HistoryEvent[]): Promise<{ state?: OrchestratorState; failure?: string }> {
    const newJson = newEvents.map((event) => JSON.stringify({ ...event, IsPlayed: false })).join(',');
    const history = instance.playedJson ? `${instance.playedJson},${newJson}` : newJson;
    const payload =
      `{"history":[${history}],"input":${instance.input ?? 'null'},"instanceId":${JSON.stringify(instance.id)},` +
      `"isReplaying":${instance.history.length > 0},"parentInstanceId":${JSON.stringify(instance.record.parentInstanceId ?? null)},` +
      `"upperSchemaVersion":1,"upperSchemaVersionNew":3,"longRunningTimerIntervalDuration":"3.00:00:00",` +
      // The host keeps timers in history and re-arms them on start, so any length is one timer.
      `"maximumShortTimerDuration":"36500.00:00:00","defaultHttpAsyncRequestSleepTimeMillseconds":30000}`;
    try {
      const response = await invokeRegistration(registration, { inputData: [{ name: registration.triggerName, data: { string: payload } }] });
      const json = typedDataToJson(response.returnValue);
      return { state: JSON.parse(json) as OrchestratorState };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const state = stateOfOrchestratorError(message);
      return state ? { state, failure: state.error ?? message } : { failure: message };
    }
  }

  private setWake(instance: InstanceState, ids: number[] | undefined): void {
    instance.episode.blockOn(
      ids,
      (id) => instance.doneKeys.has(`t:${id}`),
      (id) => instance.isPending(`t:${id}`),
      ids !== undefined && instance.pending.some((event) => event.EventType !== EventType.TaskCompleted),
    );
  }

  /** Stores the entity operations an episode sends. */
  private async storeEntityOps(entityOps: Array<{ schedulerId: string; op: EntityOperation }>): Promise<void> {
    // Stored before the episode commits, with request ids derived from the episode, so a crash
    // in between at worst stores an operation twice under the same id (applied once).
    for (const { schedulerId, op } of entityOps) await this.parts.entities.enqueue(schedulerId, op, false);
  }

  /** Appends the episode (one atomic append unless over 4 MiB) and then updates the instance row. */
  async commit(instance: InstanceState, newEvents: HistoryEvent[], generated: HistoryEvent[], next?: EpisodeSnapshot['next'], beforeAppend?: () => Promise<void>): Promise<void> {
    const episode = instance.episodes++;
    for (const event of [...newEvents, ...generated]) instance.addCommitted(event);
    const snapshot = instance.snapshot(next);
    instance.record.lastUpdatedTime = new Date();
    if (terminalStatuses.has(instance.status)) instance.record.completedTime = instance.record.lastUpdatedTime;
    const a = randomUUID().slice(0, 8);
    await this.parts.writer.enqueueWrite(instance, async () => {
      const lines: string[] = [];
      for (const event of newEvents) {
        const key = eventKey(event);
        if (key && instance.blob.isStored(key)) lines.push(lineOf({ k: 'r', ep: episode, a, key }));
        else lines.push(lineOf({ k: 'e', ep: episode, a, ev: await this.parts.writer.externalizeEvent(instance.id, event) }));
      }
      for (const event of generated) lines.push(lineOf({ k: 'e', ep: episode, a, ev: await this.parts.writer.externalizeEvent(instance.id, event) }));
      lines.push(lineOf({ k: 'c', ep: episode, a, s: snapshot }));
      const text = '\n' + lines.join('\n');
      if (beforeAppend) await beforeAppend();
      const fault = this.parts.fault;
      const injectFault = fault !== undefined && ++this.commits === fault.commit;
      if (injectFault && fault.kind === 'torn-append') {
        await this.parts.store.appendHistory(instance.record.historyBlob, instance.blob.byteLength, text.slice(0, Math.floor(text.length / 2)));
        process.kill(process.pid, 'SIGKILL');
      }
      await this.parts.writer.append(instance, text);
      if (injectFault) process.kill(process.pid, 'SIGKILL');
      for (const event of newEvents) {
        const key = eventKey(event);
        if (key) instance.blob.forget(key);
      }
      await this.parts.store.replaceInstance(await this.parts.writer.externalRecord(instance));
      await this.parts.writer.maybeCompact(instance);
    });
  }

  /** Terminate, suspend and resume are applied by the host without running the orchestrator. */
  private async applyControl(instance: InstanceState, control: HistoryEvent): Promise<void> {
    instance.takeControl(control);
    const startedEvent = this.startedEvent(instance);
    const newEvents: HistoryEvent[] = [startedEvent, control];
    const generated: HistoryEvent[] = [];
    let finished = false;
    const draft: EpisodeDraft = { generated, effects: [], episodeTime: startedEvent.Timestamp, entityOps: [] };
    if (control.EventType === EventType.ExecutionTerminated) {
      this.parts.scheduler.release(instance, draft, false);
      instance.status = 'Terminated';
      instance.output = control.Input ?? 'null';
      generated.push({ EventType: EventType.ExecutionCompleted, EventId: -1, Timestamp: nowIso(), OrchestrationStatus: 'Terminated', Result: instance.output });
      finished = true;
    } else if (control.EventType === EventType.ExecutionSuspended) {
      if (instance.status === 'Running' || instance.status === 'Pending') instance.status = 'Suspended';
    } else if (control.EventType === EventType.ExecutionResumed) {
      if (instance.status === 'Suspended') instance.status = instance.history.length ? 'Running' : 'Pending';
    }
    await this.commit(instance, newEvents, generated, undefined, draft.entityOps.length ? () => this.storeEntityOps(draft.entityOps) : undefined);
    for (const effect of draft.effects) effect();
    this.parts.log(`Instance ${instance.id} (${instance.record.name}): ${control.EventType === EventType.ExecutionTerminated ? 'terminated' : instance.status === 'Suspended' ? 'suspended' : 'resumed'}${control.Reason ? `: ${control.Reason}` : ''}`);
    if (finished) await this.finish(instance);
  }

  private async finish(instance: InstanceState): Promise<void> {
    instance.cancelTimers();
    await this.parts.subOrchestrations.notifyParent(instance);
    if (this.parts.registry.isCurrent(instance)) this.parts.registry.retire(instance.id);
  }

  async continueAsNew(instance: InstanceState, next: { executionId: string; input: string | undefined }): Promise<void> {
    // External events not consumed yet carry over to the new execution, as in Durable Functions.
    const carried = instance.pending.filter((event) => event.EventType === EventType.EventRaised);
    this.parts.registry.retire(instance.id);
    const record: InstanceRecord = {
      ...instance.record,
      runtimeStatus: 'Running',
      executionId: next.executionId,
      historyBlob: this.parts.store.historyBlobName(instance.id, next.executionId),
      input: await this.parts.store.externalize(instance.id, next.input),
      output: undefined,
      customStatus: instance.customStatus,
      lastUpdatedTime: new Date(),
      completedTime: undefined,
    };
    await this.parts.store.createHistoryBlob(record.historyBlob);
    await this.parts.store.replaceInstance(record);
    // The previous execution's history is not needed any more (as in DurableTask.AzureStorage).
    await this.parts.store.deleteHistoryBlob(instance.record.historyBlob).catch(() => undefined);
    const state = new InstanceState(record, next.input);
    state.status = 'Running';
    this.parts.registry.setActive(state);
    for (const event of carried) this.parts.registry.deliver(state, event);
    this.scheduleEpisode(state, 0);
  }
}
