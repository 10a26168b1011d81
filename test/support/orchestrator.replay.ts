/**
 * Drives an orchestrator through the real durable-functions replay engine with a synthetic
 * history, the way the Durable extension does, and returns the OrchestratorState it produces.
 * A few builders keep histories short and readable. Event numbers, event and action shapes are
 * the local host's (host/engine/history.ts), so tests and host agree on the wire format.
 */
import { createRequire } from 'node:module';
import * as df from 'durable-functions';
import type { OrchestrationHandler } from 'durable-functions';
import { EventType, flattenActions as flattenActionTree, stateOfOrchestratorError, type Action, type HistoryEvent, type OrchestratorState } from '../../host/engine/history.js';
import type { IngestTileInput } from '../../src/orchestrations/tile.orchestrator.js';
import { ingestOptionsSchema } from '../../src/pipeline/options.js';

export type { Action, HistoryEvent, OrchestratorState };

const require = createRequire(import.meta.url);
// The SDK's own wrapper around Orchestrator: the same code path `df.app.orchestration` registers.
const { createOrchestrator } = require('durable-functions/lib/src/util/testingUtils.js') as {
  createOrchestrator: (fn: OrchestrationHandler) => (trigger: unknown, context: unknown) => Promise<unknown>;
};

const start = Date.parse('2026-01-01T00:00:00Z');

/** Builds a history one episode at a time; timestamps advance by a second per episode. */
export class HistoryBuilder {
  readonly events: HistoryEvent[] = [];
  private clock = start;

  private push(type: number, fields: Partial<HistoryEvent> = {}, eventId = -1): this {
    this.events.push({ EventType: type, EventId: eventId, IsPlayed: true, Timestamp: new Date(this.clock).toISOString(), ...fields });
    return this;
  }

  /** Starts an episode; the first one also records ExecutionStarted (with the instance's orchestration version). */
  episode(name?: string, input?: unknown, version = ''): this {
    this.clock += 1000;
    this.push(EventType.OrchestratorStarted);
    if (name !== undefined) this.push(EventType.ExecutionStarted, { Name: name, Input: JSON.stringify(input), Version: version });
    return this;
  }

  taskScheduled(id: number, name: string): this {
    return this.push(EventType.TaskScheduled, { Name: name }, id);
  }

  taskCompleted(scheduledId: number, result: unknown): this {
    return this.push(EventType.TaskCompleted, { TaskScheduledId: scheduledId, Result: JSON.stringify(result) });
  }

  taskFailed(scheduledId: number, reason: string, details = ''): this {
    return this.push(EventType.TaskFailed, { TaskScheduledId: scheduledId, Reason: reason, Details: details });
  }

  subOrchestrationCreated(id: number, name: string, instanceId: string): this {
    return this.push(EventType.SubOrchestrationInstanceCreated, { Name: name, InstanceId: instanceId }, id);
  }

  subOrchestrationCompleted(scheduledId: number, result: unknown): this {
    return this.push(EventType.SubOrchestrationInstanceCompleted, { TaskScheduledId: scheduledId, Result: JSON.stringify(result) });
  }

  subOrchestrationFailed(scheduledId: number, reason: string, details = ''): this {
    return this.push(EventType.SubOrchestrationInstanceFailed, { TaskScheduledId: scheduledId, Reason: reason, Details: details });
  }

  timerCreated(id: number): this {
    return this.push(EventType.TimerCreated, {}, id);
  }

  timerFired(timerId: number): this {
    return this.push(EventType.TimerFired, { TimerId: timerId, FireAt: new Date(this.clock).toISOString() });
  }

  eventRaised(name: string, input: unknown): this {
    return this.push(EventType.EventRaised, { Name: name, Input: JSON.stringify(input) });
  }

  /** An entity operation the orchestration sent (callEntity), as the host records it; `entityAnswered` gives its response. */
  entityCalled(id: number, schedulerId: string, requestId: string, operation: string): this {
    return this.push(EventType.EventSent, { InstanceId: schedulerId, Name: 'op', Input: JSON.stringify({ id: requestId, op: operation, signal: false }) }, id);
  }

  entityAnswered(requestId: string, value: unknown): this {
    return this.push(EventType.EventRaised, { Name: requestId, Input: JSON.stringify({ result: JSON.stringify(value) }) });
  }

  episodeDone(): this {
    return this.push(EventType.OrchestratorCompleted);
  }
}

/** Runs one episode of the orchestrator over `history`, as the Durable extension would call it. */
export async function replay(orchestrator: OrchestrationHandler, history: HistoryBuilder, input: unknown, instanceId = 'job-1'): Promise<OrchestratorState> {
  const handler = createOrchestrator(orchestrator);
  // Timer settings as the extension sends them (docs/durable-protocol.md); the SDK needs them to create timers.
  const trigger = {
    history: history.events,
    input,
    instanceId,
    isReplaying: true,
    parentInstanceId: null,
    upperSchemaVersion: 1,
    upperSchemaVersionNew: 2,
    longRunningTimerIntervalDuration: '3.00:00:00',
    maximumShortTimerDuration: '6.00:00:00',
  };
  const context = new df.DummyOrchestrationContext('orchestrator', 'invocation-1', () => undefined);
  try {
    return (await handler(trigger, context)) as OrchestratorState;
  } catch (error) {
    // A throwing orchestrator still reports its state (actions so far, error) inside the rejection.
    const state = stateOfOrchestratorError(error instanceof Error ? error.message : String(error));
    if (!state) throw error;
    return state;
  }
}

/** The actions of the execution so far, compound actions expanded, in schedule order. */
export function flattenActions(state: OrchestratorState): Action[] {
  return flattenActionTree(state).leaves;
}

/** The time of episode `seconds` of a HistoryBuilder (they start at 2026-01-01T00:00:00Z, a second apart). */
export const episodeTime = (seconds: number): string => new Date(Date.parse('2026-01-01T00:00:00Z') + seconds * 1000).toISOString();

/** A one-window tile branch's input (uploads/dem/Alps.tif into `dems`) on `route`, with the job's worker sizing. */
export function sampleTileInput(route: IngestTileInput['route'], worker: IngestTileInput['worker']): IngestTileInput {
  const source = { container: 'uploads', name: 'dem/Alps.tif', etag: '"0x1"', size: 1000, lastModified: '2025-12-31T23:00:00.000Z' };
  return {
    source,
    outputs: { collection: 'dems', sourceKey: 'dem-alps', version: 'v0123456789ab' },
    itemId: 'dem-alps-r0-c0',
    window: { index: 0, row: 0, col: 0, x: 0, y: 0, width: 512, height: 512 },
    options: ingestOptionsSchema.parse({}),
    datetime: episodeTime(0),
    order: { sourceModified: source.lastModified, jobStarted: episodeTime(0) },
    route,
    worker,
  };
}
