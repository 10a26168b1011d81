/**
 * Drives an orchestrator through the real durable-functions replay engine with a synthetic
 * history, the way the Durable extension does, and returns the OrchestratorState it produces.
 * A few builders keep histories short and readable.
 */
import { createRequire } from 'node:module';
import * as df from 'durable-functions';
import type { OrchestrationHandler } from 'durable-functions';

const require = createRequire(import.meta.url);
// The SDK's own wrapper around Orchestrator: the same code path `df.app.orchestration` registers.
const { createOrchestrator } = require('durable-functions/lib/src/util/testingUtils.js') as {
  createOrchestrator: (fn: OrchestrationHandler) => (trigger: unknown, context: unknown) => Promise<unknown>;
};

export interface HistoryEvent {
  EventType: number;
  EventId: number;
  IsPlayed: boolean;
  Timestamp: string;
  [field: string]: unknown;
}

export interface Action {
  actionType: number;
  functionName?: string;
  input?: unknown;
  instanceId?: string;
  retryOptions?: Record<string, number>;
  compoundActions?: Action[];
}

export interface OrchestratorState {
  isDone: boolean;
  actions: Action[][];
  output?: unknown;
  error?: string;
  customStatus?: unknown;
}

const start = Date.parse('2026-01-01T00:00:00Z');

/** Builds a history one episode at a time; timestamps advance by a second per episode. */
export class HistoryBuilder {
  readonly events: HistoryEvent[] = [];
  private clock = start;

  private push(EventType: number, fields: Record<string, unknown> = {}, EventId = -1): this {
    this.events.push({ EventType, EventId, IsPlayed: true, Timestamp: new Date(this.clock).toISOString(), ...fields });
    return this;
  }

  /** Starts an episode; the first one also records ExecutionStarted. */
  episode(name?: string, input?: unknown): this {
    this.clock += 1000;
    this.push(12);
    if (name !== undefined) this.push(0, { Name: name, Input: JSON.stringify(input), Version: '' });
    return this;
  }

  taskScheduled(id: number, name: string): this {
    return this.push(4, { Name: name }, id);
  }

  taskCompleted(scheduledId: number, result: unknown): this {
    return this.push(5, { TaskScheduledId: scheduledId, Result: JSON.stringify(result) });
  }

  taskFailed(scheduledId: number, reason: string, details = ''): this {
    return this.push(6, { TaskScheduledId: scheduledId, Reason: reason, Details: details });
  }

  subOrchestrationCreated(id: number, name: string, instanceId: string): this {
    return this.push(7, { Name: name, InstanceId: instanceId }, id);
  }

  subOrchestrationCompleted(scheduledId: number, result: unknown): this {
    return this.push(8, { TaskScheduledId: scheduledId, Result: JSON.stringify(result) });
  }

  subOrchestrationFailed(scheduledId: number, reason: string, details = ''): this {
    return this.push(9, { TaskScheduledId: scheduledId, Reason: reason, Details: details });
  }

  timerCreated(id: number): this {
    return this.push(10, {}, id);
  }

  timerFired(timerId: number): this {
    return this.push(11, { TimerId: timerId, FireAt: new Date(this.clock).toISOString() });
  }

  episodeDone(): this {
    return this.push(13);
  }
}

/** Runs one episode of the orchestrator over `history`, as the Durable extension would call it. */
export async function replay(orchestrator: OrchestrationHandler, history: HistoryBuilder, input: unknown, instanceId = 'job-1'): Promise<OrchestratorState> {
  const handler = createOrchestrator(orchestrator);
  const trigger = { history: history.events, input, instanceId, isReplaying: true, parentInstanceId: null, upperSchemaVersion: 1, upperSchemaVersionNew: 2 };
  const context = new df.DummyOrchestrationContext('orchestrator', 'invocation-1', () => undefined);
  try {
    return (await handler(trigger, context)) as OrchestratorState;
  } catch (error) {
    // A throwing orchestrator rejects with "<bool>\n\n$OutOfProcData$:<state JSON>".
    const message = error instanceof Error ? error.message : String(error);
    const marker = '$OutOfProcData$:';
    const at = message.indexOf(marker);
    if (at < 0) throw error;
    return JSON.parse(message.slice(at + marker.length)) as OrchestratorState;
  }
}

/** The top-level actions of the execution so far, compound actions expanded, in schedule order. */
export function flattenActions(state: OrchestratorState): Action[] {
  const out: Action[] = [];
  const walk = (action: Action): void => {
    if (action.compoundActions) action.compoundActions.forEach(walk);
    else out.push(action);
  };
  (state.actions[0] ?? []).forEach(walk);
  return out;
}
