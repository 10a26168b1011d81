/**
 * The collection schedule orchestration (issue 24, part 4), replayed through the durable-functions
 * SDK with synthetic histories (the clock is the history's: episodes start 2026-01-01T00:00:01Z):
 * a step plans the next window and waits on a durable timer or a definition change, then
 * continues as new with what it carries; an open window checks "after" and either waits for a
 * re-check (status `waiting`, dependencies named) or submits the batch since the last run; a
 * window passed while nothing ran is recorded missed; a removed schedule ends the instance.
 */
import { describe, expect, it } from 'vitest';
import { ActionType } from '../../host/engine/history.js';
import { initialCarry, type ScheduleCarry, type ScheduleRun, type ScheduleSnapshot, type ScheduleStatus } from '../../src/collections/schedule.plan.js';
import { collectionScheduleOrchestrator } from '../../src/orchestrations/schedule.orchestrator.js';
import type { ScheduleInput } from '../../src/pipeline/contracts.js';
import { flattenActions, HistoryBuilder, replay, type Action } from '../support/orchestrator.replay.js';

const ok = <T>(value: T) => ({ ok: true, value });
const snapshot: ScheduleSnapshot = { version: 2, cron: '0 3 * * *', timeZone: 'UTC', source: 'incoming/dem/', after: [] };
const withAfter: ScheduleSnapshot = { ...snapshot, after: [{ collection: 'raw' }] };
const input = (carry?: ScheduleCarry): ScheduleInput => ({ collection: 'dem', name: 'nightly', recheckMs: 60_000, ...(carry ? { carry } : {}) });
const instanceId = 'schedule:dem:nightly';
/** A timer action's fire time as ISO text (the SDK keeps a Date there). */
const fireAt = (action: Action): string => new Date(action.fireAt as unknown as string | Date).toISOString();

/** The first episode's read of the definition, answered in the second. */
function definitionRead(start: ScheduleInput, answer: ScheduleSnapshot | null): HistoryBuilder {
  return new HistoryBuilder().episode('collectionSchedule', start).taskScheduled(0, 'readScheduleDefinition').episodeDone().episode().taskCompleted(0, ok(answer));
}

describe('the schedule orchestration', () => {
  it('reads its definition first, then waits for the next window on a durable timer or a definition change', async () => {
    const first = await replay(collectionScheduleOrchestrator, new HistoryBuilder().episode('collectionSchedule', input()), input(), instanceId);
    expect(flattenActions(first)).toMatchObject([{ functionName: 'readScheduleDefinition', input: { collection: 'dem', name: 'nightly' } }]);

    const state = await replay(collectionScheduleOrchestrator, definitionRead(input(), snapshot), input(), instanceId);
    const actions = flattenActions(state);
    expect(actions.slice(1).map((action) => action.actionType)).toEqual([ActionType.CreateTimer, ActionType.WaitForExternalEvent]);
    expect(fireAt(actions[1]!)).toBe('2026-01-01T03:00:00.000Z');
    expect(actions[2]!.externalEventName).toBe('definitionChanged');
    expect(state.customStatus).toMatchObject({ state: 'planned', nextRun: '2026-01-01T03:00:00.000Z', version: 2, cron: '0 3 * * *', lastRun: null } satisfies Partial<ScheduleStatus>);
  });

  it('continues as new carrying the planned window once the timer fires', async () => {
    const history = definitionRead(input(), snapshot).timerCreated(1).episodeDone().episode().timerFired(1);
    const state = await replay(collectionScheduleOrchestrator, history, input(), instanceId);
    const next = flattenActions(state).find((action) => action.actionType === ActionType.ContinueAsNew);
    expect(next?.input).toMatchObject({ collection: 'dem', name: 'nightly', carry: { window: '2026-01-01T03:00:00.000Z', lastRun: null } });
  });

  it('in an open window with "after" unmet: waits for a re-check and shows the dependency', async () => {
    const carry: ScheduleCarry = { ...initialCarry(new Date('2025-12-30T00:00:00Z')), window: '2026-01-01T00:00:00.000Z' };
    const history = definitionRead(input(carry), withAfter).taskScheduled(1, 'checkScheduleAfter').episodeDone().episode().taskCompleted(1, ok(['collection:raw']));
    const state = await replay(collectionScheduleOrchestrator, history, input(carry), instanceId);
    const actions = flattenActions(state);
    expect(actions[1]).toMatchObject({ functionName: 'checkScheduleAfter', input: { after: [{ collection: 'raw' }], since: '2025-12-30T00:00:00.000Z' } });
    expect(actions[2]).toMatchObject({ actionType: ActionType.CreateTimer });
    // A minute after the check (the third episode's clock), long before the next window.
    expect(Date.parse(fireAt(actions[2]!)) - Date.parse('2026-01-01T00:00:03Z')).toBe(60_000);
    expect(state.customStatus).toMatchObject({ state: 'waiting', pendingWindow: '2026-01-01T00:00:00.000Z', waitingFor: ['collection:raw'], nextRun: '2026-01-01T03:00:00.000Z' });
  });

  it('after a host was down across windows: records them missed, submits the batch for the latest since the last listing, and plans the next', async () => {
    const lastRun: ScheduleRun = { window: '2025-12-28T03:00:00.000Z', at: '2025-12-28T03:00:01.000Z', batchId: 'batch-1', outcome: 'started', version: 1 };
    const carry: ScheduleCarry = { ...initialCarry(new Date('2025-12-01T00:00:00Z')), window: '2025-12-29T03:00:00.000Z', lastRun, listedUpTo: lastRun.at };
    const run: ScheduleRun = { window: '2025-12-31T03:00:00.000Z', at: '2026-01-01T00:00:03.000Z', batchId: 'batch-2', outcome: 'started', version: 2 };
    const history = definitionRead(input(carry), snapshot).taskScheduled(1, 'runScheduledBatch').episodeDone().episode().taskCompleted(1, ok(run));
    const state = await replay(collectionScheduleOrchestrator, history, input(carry), instanceId);
    const actions = flattenActions(state);
    expect(actions[1]).toMatchObject({ functionName: 'runScheduledBatch', input: { collection: 'dem', name: 'nightly', window: '2025-12-31T03:00:00.000Z', since: '2025-12-28T03:00:01.000Z', snapshot } });
    expect(actions[2]).toMatchObject({ actionType: ActionType.CreateTimer });
    expect(fireAt(actions[2]!)).toBe('2026-01-01T03:00:00.000Z');
    const status = state.customStatus as ScheduleStatus;
    expect(status).toMatchObject({ state: 'planned', lastRun: run, missedTotal: 2, nextRun: '2026-01-01T03:00:00.000Z' });
    expect(status.missed.map((missed) => [missed.window, missed.reason])).toEqual([
      ['2025-12-30T03:00:00.000Z', 'not-running'],
      ['2025-12-29T03:00:00.000Z', 'not-running'],
    ]);
  });

  it('a definition change wakes it: the timer is cancelled and the next step re-reads the definition', async () => {
    const history = definitionRead(input(), snapshot).timerCreated(1).episodeDone().episode().eventRaised('definitionChanged', { at: '2026-01-01T00:00:03Z' });
    const state = await replay(collectionScheduleOrchestrator, history, input(), instanceId);
    const actions = flattenActions(state);
    expect(actions.find((action) => action.actionType === ActionType.CreateTimer)?.isCanceled).toBe(true);
    expect(actions.find((action) => action.actionType === ActionType.ContinueAsNew)?.input).toMatchObject({ carry: { window: '2026-01-01T03:00:00.000Z' } });
  });

  it('ends when its schedule is removed from the definition, keeping its last run in the output', async () => {
    const state = await replay(collectionScheduleOrchestrator, definitionRead(input(), null), input(), instanceId);
    expect(state.isDone).toBe(true);
    expect(state.output).toEqual({ stopped: true, lastRun: null });
    expect(state.customStatus).toMatchObject({ state: 'stopped' });
  });
});
