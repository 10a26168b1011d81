/**
 * Backpressure on the worker route (issue 21), replayed through the real SDK: a tile branch of
 * version 1.4 takes a permit of the `workerDispatchPermits` entity before it sends its tile, waits
 * its turn queued with no tile timer against it (only the permit recheck), gives the permit back
 * however the worker step ends and announces whom that let in; a recheck handed the audit reclaims
 * the permits of holders gone. A 1.3 branch replays as it ran: no entity at all.
 */
import { describe, expect, it } from 'vitest';
import { ingestTileOrchestrator } from '../../src/orchestrations/tile.orchestrator.js';
import type { TileProgress } from '../../src/pipeline/contracts.js';
import { episodeTime, flattenActions, HistoryBuilder, replay, sampleTileInput } from '../support/orchestrator.replay.js';

const actionType = { callActivityWithRetry: 1, createTimer: 5, waitForExternalEvent: 6, callEntity: 7 } as const;
const at = episodeTime;
const permits = '@workerdispatchpermits@large-rasters';
const tileId = 'job-1-tile-000000';
const workerTile = sampleTileInput('worker', { thresholdBytes: 1, tileTimeoutSeconds: 600, dispatchPermits: 2 });
const tile = { itemId: 'dem-alps-r0-c0', size: 42, checksum: '1220ab', blob: {}, window: workerTile.window, bbox: [0, 0, 1, 1], bands: [], geometry: {} };
const run = (history: HistoryBuilder) => replay(ingestTileOrchestrator, history, workerTile, tileId);
const dispatchIdOf = (actions: ReturnType<typeof flattenActions>): string => (actions.find((action) => action.functionName === 'dispatchTile')!.input as { dispatchId: string }).dispatchId;

describe('a worker tile of version 1.4 waits its turn for a dispatch permit', () => {
  it('queued in line with only the recheck timer, then sent when its turn is announced; the permit goes back with the result and the next one is told', async () => {
    const history = new HistoryBuilder().episode('ingestTile', workerTile, '1.4');
    const first = await run(history);
    expect(flattenActions(first)).toEqual([expect.objectContaining({ actionType: actionType.callEntity, instanceId: permits, operation: 'acquire', input: { holder: tileId, capacity: 2, at: at(1) } })]);
    expect(first.customStatus).toMatchObject({ stage: 'queued', attempts: 1 });

    history.entityCalled(0, permits, 'acquire-1', 'acquire').episodeDone().episode().entityAnswered('acquire-1', { granted: false, position: 0, grants: [] });
    const waiting = await run(history);
    const waits = flattenActions(waiting).slice(1);
    // No tile timer while it waits its turn: the event, and the one-minute recheck.
    expect(waits).toEqual([
      expect.objectContaining({ actionType: actionType.waitForExternalEvent, externalEventName: 'dispatch-permit' }),
      expect.objectContaining({ actionType: actionType.createTimer, fireAt: new Date(at(2 + 60)) }),
    ]);
    expect(flattenActions(waiting).some((action) => action.functionName === 'dispatchTile')).toBe(false);
    expect(waiting.customStatus).toMatchObject({ stage: 'queued', inLine: 0 });

    // Its turn, announced 45 minutes later (far past the 600 s tile timeout): now it is sent.
    history.timerCreated(1).episodeDone().episode().eventRaised('dispatch-permit', { kind: 'dispatch-permit' });
    const sent = await run(history);
    const dispatchId = dispatchIdOf(flattenActions(sent));
    expect(flattenActions(sent).at(-1)).toMatchObject({ actionType: actionType.callActivityWithRetry, functionName: 'dispatchTile' });
    expect(sent.customStatus).not.toHaveProperty('inLine');

    const envelope = { instanceId: tileId, eventName: 'tile-cog', dispatchId };
    history.taskScheduled(2, 'dispatchTile').episodeDone().episode().taskCompleted(2, { ok: true }).timerCreated(3).episodeDone().episode();
    history.eventRaised('tile-cog', { kind: 'tile-started', ...envelope, worker: { name: 'w', deliveryCount: 1, startedAt: at(4.5) } });
    history.timerCreated(4).episodeDone().episode();
    history.eventRaised('tile-cog', { kind: 'tile-result', ...envelope, outcome: { ok: true, value: tile }, worker: { name: 'w', deliveryCount: 1, startedAt: at(4.5), endedAt: at(5.5) } });
    const released = await run(history);
    expect(flattenActions(released).at(-1)).toMatchObject({ actionType: actionType.callEntity, operation: 'release', input: { holder: tileId } });
    // The wait counts from getting in line (1 s) to the worker's start (4.5 s).
    expect(released.customStatus).toMatchObject({ stage: 'running', timing: { startedAt: at(4.5), waitMs: 3500, workMs: 1000 } });

    history.entityCalled(5, permits, 'release-1', 'release').episodeDone().episode().entityAnswered('release-1', { grants: ['job-2-tile-000003'] });
    const announcing = await run(history);
    expect(flattenActions(announcing).at(-1)).toMatchObject({ functionName: 'announceDispatchPermits', input: { holders: ['job-2-tile-000003'] } });

    history.taskScheduled(6, 'announceDispatchPermits').episodeDone().episode().taskCompleted(6, { ok: true });
    const registering = await run(history);
    expect(flattenActions(registering).at(-1)).toMatchObject({ functionName: 'registerTileItem' });
  });

  it('gives the permit back when the worker fails the tile, and still fails with the worker\'s code', async () => {
    const history = new HistoryBuilder()
      .episode('ingestTile', workerTile, '1.4')
      .entityCalled(0, permits, 'acquire-1', 'acquire')
      .episodeDone()
      .episode()
      .entityAnswered('acquire-1', { granted: true, position: 0, grants: [] });
    const sent = await run(history);
    const dispatchId = dispatchIdOf(flattenActions(sent));
    history.taskScheduled(1, 'dispatchTile').episodeDone().episode().taskCompleted(1, { ok: true }).timerCreated(2).episodeDone().episode();
    history.eventRaised('tile-cog', { kind: 'tile-result', instanceId: tileId, eventName: 'tile-cog', dispatchId, outcome: { ok: false, failure: { code: 'INVALID_INPUT', message: 'bad pixels' } }, worker: { name: 'w', deliveryCount: 1, startedAt: at(3), endedAt: at(4) } });
    const releasing = await run(history);
    expect(flattenActions(releasing).at(-1)).toMatchObject({ actionType: actionType.callEntity, operation: 'release' });
    expect(releasing.isDone).toBe(false);

    history.entityCalled(3, permits, 'release-1', 'release').episodeDone().episode().entityAnswered('release-1', { grants: [] });
    const failed = await run(history);
    // Failed with the worker's failure (the SDK reports an orchestrator's error, not isDone).
    expect(failed.error).toContain('bad pixels');
    expect((failed.customStatus as TileProgress).error).toMatchObject({ code: 'INVALID_INPUT' });
  });

  it('a recheck handed the audit reclaims the permits of holders gone, and takes the one freed for itself', async () => {
    const history = new HistoryBuilder()
      .episode('ingestTile', workerTile, '1.4')
      .entityCalled(0, permits, 'acquire-1', 'acquire')
      .episodeDone()
      .episode()
      .entityAnswered('acquire-1', { granted: false, position: 0, grants: [] })
      .timerCreated(1)
      .episodeDone()
      .episode()
      .timerFired(1);
    const rechecking = await run(history);
    expect(flattenActions(rechecking).at(-1)).toMatchObject({ actionType: actionType.callEntity, operation: 'acquire', input: { holder: tileId, recheck: true } });

    history.entityCalled(2, permits, 'acquire-2', 'acquire').episodeDone().episode().entityAnswered('acquire-2', { granted: false, position: 0, grants: [], audit: ['job-9-tile-000001', 'job-8-tile-000000'] });
    const auditing = await run(history);
    expect(flattenActions(auditing).at(-1)).toMatchObject({ functionName: 'auditDispatchPermits', input: { holders: ['job-9-tile-000001', 'job-8-tile-000000'] } });

    // Job 9 was terminated while its tile held a permit: the tile never released it.
    history.taskScheduled(3, 'auditDispatchPermits').episodeDone().episode().taskCompleted(3, { ok: true, value: ['job-9-tile-000001'] });
    const reclaiming = await run(history);
    expect(flattenActions(reclaiming).at(-1)).toMatchObject({ actionType: actionType.callEntity, operation: 'reclaim', input: { holders: ['job-9-tile-000001'] } });

    history.entityCalled(4, permits, 'reclaim-1', 'reclaim').episodeDone().episode().entityAnswered('reclaim-1', { grants: [tileId] });
    const sent = await run(history);
    expect(flattenActions(sent).at(-1)).toMatchObject({ functionName: 'dispatchTile' });
  });
});

describe('a worker tile of version 1.3 replays as it ran', () => {
  it('is sent at once, with no permit, even when its input names a permit count', async () => {
    const history = new HistoryBuilder().episode('ingestTile', workerTile, '1.3');
    const first = await run(history);
    expect(flattenActions(first)).toEqual([expect.objectContaining({ actionType: actionType.callActivityWithRetry, functionName: 'dispatchTile' })]);
    expect(first.customStatus).toMatchObject({ stage: 'queued', attempts: 1 });
  });
});
