import { terminalStatuses, type RuntimeStatus, type TaskHubStore } from '../storage/task.hub.store.js';
import { EventType, nowIso, type HistoryEvent } from './history.js';
import type { InstanceOperations } from './instance.operations.js';
import type { InstanceRegistry } from './instance.registry.js';
import type { InstanceState, ScheduledWork } from './instance.state.js';

/**
 * Sub-orchestrations, in one place: a child is an instance of its own, started once per attempt
 * under an id derived from its parent (unless the orchestrator named one), found again after a
 * restart, and its outcome reaches the parent as SubOrchestrationInstanceCompleted / Failed.
 * The ActionScheduler records SubOrchestrationInstanceCreated (and retried attempts) with
 * `childInstanceId`; retries of a child follow the activities' retry path (action.scheduler.ts).
 */

/** The id of a child the orchestrator did not name: `<parent>:<event id as 4 hex digits>`. */
export function childInstanceId(parentId: string, eventId: number, named?: string): string {
  return named || `${parentId}:${eventId.toString(16).padStart(4, '0')}`;
}

/** The child id of a retried attempt: a named child keeps its id, a generated one gets the attempt's. */
export function retriedChildInstanceId(parentId: string, eventId: number, firstAttemptChild: string | undefined): string {
  return firstAttemptChild && !firstAttemptChild.startsWith(`${parentId}:`) ? firstAttemptChild : childInstanceId(parentId, eventId);
}

export class SubOrchestrations {
  private starter: Pick<InstanceOperations, 'startNew'> | undefined;

  constructor(
    private readonly store: TaskHubStore,
    private readonly instances: Pick<InstanceRegistry, 'deliver' | 'activate' | 'ensureActive'>,
  ) {}

  /** Children start as instances do (InstanceOperations.startNew, built on this): connected once by the engine. */
  connect(starter: Pick<InstanceOperations, 'startNew'>): void {
    this.starter = starter;
  }

  /** Starts the child of scheduled work `id`; a child that cannot start fails the parent's task. */
  start(parent: InstanceState, id: number, work: ScheduledWork): void {
    void this.startChild(parent, id, work).catch((error: unknown) =>
      this.instances.deliver(parent, { EventType: EventType.SubOrchestrationInstanceFailed, EventId: -1, Timestamp: nowIso(), TaskScheduledId: id, Reason: (error as Error).message, Details: '' }),
    );
  }

  /** Creates the child instance once; on restart, finds it and passes on its result if it finished. */
  private async startChild(parent: InstanceState, id: number, work: ScheduledWork): Promise<void> {
    const childId = work.childInstanceId!;
    const existing = await this.store.getInstance(childId);
    if (existing && existing.parentInstanceId === parent.id && existing.parentTaskId === id) {
      if (terminalStatuses.has(existing.runtimeStatus)) {
        const output = await this.store.internalize(existing.output);
        this.instances.deliver(parent, childResultEvent(id, existing.runtimeStatus, output, existing.name, childId));
      } else {
        await this.instances.activate(existing);
      }
      return;
    }
    if (existing && !terminalStatuses.has(existing.runtimeStatus)) {
      throw new Error(`Sub-orchestration instance '${childId}' already exists and is ${existing.runtimeStatus}.`);
    }
    if (!this.starter) throw new Error('SubOrchestrations: used before the engine connected it');
    await this.starter.startNew(work.name, { instanceId: childId, input: work.input, version: work.version, parent: { instanceId: parent.id, taskId: id } });
  }

  /** Passes a finished child's outcome to its parent (loading the parent if needed). */
  async notifyParent(child: InstanceState): Promise<void> {
    const parentId = child.record.parentInstanceId;
    if (!parentId || child.status === 'ContinuedAsNew') return;
    const parent = await this.instances.ensureActive(parentId);
    if (!parent) return;
    const taskId = child.record.parentTaskId ?? -1;
    const work = parent.scheduled.get(taskId);
    if (work?.kind !== 'subOrchestration' || work.childInstanceId !== child.id) return;
    this.instances.deliver(parent, childResultEvent(taskId, child.status, child.output, child.record.name, child.id));
  }
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
