/**
 * Queued is not running (issue 19, item 4): a tile branch of version 1.3 tells the wait for an
 * activity slot (or the worker) from the work, replayed through the real SDK; a 1.2 branch replays
 * as it ran. Then the tile ledger reads what the branch recorded.
 */
import { describe, expect, it } from 'vitest';
import { buildTileEntry, type LedgerJob } from '../../src/jobs/tile.ledger.js';
import { ingestTileOrchestrator, type IngestTileInput } from '../../src/orchestrations/tile.orchestrator.js';
import type { IngestInput, RegisteredItem, TileProgress } from '../../src/pipeline/contracts.js';
import { FailureError } from '../../src/pipeline/failure.js';
import { episodeTime, flattenActions, HistoryBuilder, replay, sampleTileInput } from '../support/orchestrator.replay.js';

const actionType = { callActivity: 0, callActivityWithRetry: 1, createTimer: 5, waitForExternalEvent: 6 } as const;
const at = episodeTime;
const tileInput = sampleTileInput('functions', { thresholdBytes: 1, tileTimeoutSeconds: 600 });
const { source, outputs } = tileInput;
const item: RegisteredItem = { itemId: 'dem-alps-r0-c0', itemUrl: 'http://stac/i.json', cogUrl: 'http://cogs/i.tif', cogBytes: 42, bbox: [0, 0, 1, 1] };
const started = (seconds: number) => ({ kind: 'work-started', startedAt: at(seconds) });

describe('a tile branch of version 1.3 on the Functions route', () => {
  it('is queued until its activity says it started, then creating its COG; its work is what the activity measured', async () => {
    const history = new HistoryBuilder().episode('ingestTile', tileInput, '1.3');
    const first = await replay(ingestTileOrchestrator, history, tileInput);
    expect(flattenActions(first)).toEqual([
      expect.objectContaining({ actionType: actionType.callActivity, functionName: 'createAndRegisterTile', input: expect.objectContaining({ itemId: 'dem-alps-r0-c0', startNotice: { instanceId: 'job-1', eventName: 'work-started-1' } }) }),
      expect.objectContaining({ actionType: actionType.waitForExternalEvent }),
    ]);
    // Scheduled, waiting for an activity slot: queued, nothing worked yet.
    expect(first.customStatus).toEqual(expect.objectContaining({ stage: 'queued', attempts: 1, startedAt: at(1), timing: { waitMs: 0, workMs: 0 } }));

    history.taskScheduled(0, 'createAndRegisterTile').episodeDone().episode().eventRaised('work-started-1', started(4.5));
    const working = await replay(ingestTileOrchestrator, history, tileInput);
    expect(working.customStatus).toEqual(expect.objectContaining({ stage: 'creating-cog', timing: { startedAt: at(4.5), waitMs: 3500, workMs: 0 } }));

    history.episodeDone().episode().taskCompleted(0, { ok: true, value: item, ran: { startedAt: at(4.5), endedAt: at(4.636) } });
    const done = await replay(ingestTileOrchestrator, history, tileInput);
    expect(done.isDone).toBe(true);
    expect(done.output).toEqual(item);
    // 3.5 s queued, 136 ms of work: the wait counts once although both the event and the outcome told the start.
    expect(done.customStatus).toEqual(expect.objectContaining({ stage: 'registered', endedAt: at(3), timing: { startedAt: at(4.5), waitMs: 3500, workMs: 136 } }));
  });

  it('takes the times from the outcome when the activity finished before its event arrived', async () => {
    const history = new HistoryBuilder()
      .episode('ingestTile', tileInput, '1.3')
      .taskScheduled(0, 'createAndRegisterTile')
      .episodeDone()
      .episode()
      .taskCompleted(0, { ok: true, value: item, ran: { startedAt: at(1.25), endedAt: at(1.5) } });
    const done = await replay(ingestTileOrchestrator, history, tileInput);
    expect(done.isDone).toBe(true);
    expect(done.customStatus).toEqual(expect.objectContaining({ stage: 'registered', timing: { startedAt: at(1.25), waitMs: 250, workMs: 250 } }));
  });

  it('retries with a new event name, so a late "started" of the failed attempt never shows the next one as working', async () => {
    const history = new HistoryBuilder()
      .episode('ingestTile', tileInput, '1.3')
      .taskScheduled(0, 'createAndRegisterTile')
      .episodeDone()
      .episode()
      .taskFailed(0, new FailureError({ code: 'TRANSIENT_STORAGE', message: 'storage answered HTTP 503' }).message)
      .timerCreated(1)
      .episodeDone()
      .episode()
      .timerFired(1);
    const retried = await replay(ingestTileOrchestrator, history, tileInput);
    expect(flattenActions(retried).map((action) => action.actionType)).toEqual([actionType.callActivity, actionType.waitForExternalEvent, actionType.createTimer, actionType.callActivity, actionType.waitForExternalEvent]);
    expect(flattenActions(retried).at(-2)).toMatchObject({ input: { startNotice: { eventName: 'work-started-2' } } });
    expect(retried.customStatus).toMatchObject({ stage: 'queued', attempts: 2 });

    history.taskScheduled(2, 'createAndRegisterTile').episodeDone().episode().eventRaised('work-started-1', started(1.1));
    const late = await replay(ingestTileOrchestrator, history, tileInput);
    expect(late.customStatus).toMatchObject({ stage: 'queued', attempts: 2 });
    expect((late.customStatus as TileProgress).timing?.startedAt).toBeUndefined();
  });
});

describe('a tile branch of version 1.2 replays as it ran', () => {
  it('schedules its activity alone, shows it creating its COG from the start, and keeps no timing', async () => {
    const history = new HistoryBuilder().episode('ingestTile', tileInput, '1.2');
    const first = await replay(ingestTileOrchestrator, history, tileInput);
    expect(flattenActions(first)).toEqual([
      expect.objectContaining({
        actionType: actionType.callActivity,
        functionName: 'createAndRegisterTile',
        input: { source, outputs, itemId: tileInput.itemId, window: tileInput.window, options: tileInput.options, datetime: tileInput.datetime, order: tileInput.order },
      }),
    ]);
    expect(first.customStatus).toMatchObject({ stage: 'creating-cog', attempts: 1 });
    history.taskScheduled(0, 'createAndRegisterTile').episodeDone().episode().taskCompleted(0, { ok: true, value: item, ran: { startedAt: at(1.2), endedAt: at(1.3) } });
    const done = await replay(ingestTileOrchestrator, history, tileInput);
    expect(done.isDone).toBe(true);
    expect(done.customStatus).not.toHaveProperty('timing');
  });
});

describe('a tile branch on the worker route', () => {
  const workerTile: IngestTileInput = { ...tileInput, route: 'worker' };
  const tile = { itemId: 'dem-alps-r0-c0', size: 42, checksum: '1220ab', blob: {}, window: workerTile.window, bbox: [0, 0, 1, 1], bands: [], geometry: {} };

  it('waits from the dispatch to the worker\'s start, works until its end, and adds the registration', async () => {
    const history = new HistoryBuilder().episode('ingestTile', workerTile, '1.3');
    const first = await replay(ingestTileOrchestrator, history, workerTile);
    const dispatchId = (flattenActions(first)[0]!.input as { dispatchId: string }).dispatchId;
    expect(first.customStatus).toEqual(expect.objectContaining({ stage: 'queued', timing: { waitMs: 0, workMs: 0 } }));
    const envelope = { instanceId: 'job-1', eventName: 'tile-cog', dispatchId };

    history.taskScheduled(0, 'dispatchTile').episodeDone().episode().taskCompleted(0, { ok: true }).timerCreated(1).episodeDone().episode();
    history.eventRaised('tile-cog', { kind: 'tile-started', ...envelope, worker: { name: 'w', deliveryCount: 1, startedAt: at(2.5) } });
    const running = await replay(ingestTileOrchestrator, history, workerTile);
    expect(running.customStatus).toEqual(expect.objectContaining({ stage: 'running', timing: { startedAt: at(2.5), waitMs: 1500, workMs: 0 } }));

    history.timerCreated(2).episodeDone().episode();
    history.eventRaised('tile-cog', { kind: 'tile-result', ...envelope, outcome: { ok: true, value: tile }, worker: { name: 'w', deliveryCount: 1, startedAt: at(2.5), endedAt: at(3.7) } });
    const registering = await replay(ingestTileOrchestrator, history, workerTile);
    expect(registering.customStatus).toEqual(expect.objectContaining({ stage: 'registering', timing: { startedAt: at(2.5), waitMs: 1500, workMs: 1200 } }));

    // Registration was scheduled at 4 s, ran from 4.25 to 4.3 s.
    history.taskScheduled(3, 'registerTileItem').episodeDone().episode().taskCompleted(3, { ok: true, value: item, ran: { startedAt: at(4.25), endedAt: at(4.3) } });
    const done = await replay(ingestTileOrchestrator, history, workerTile);
    expect(done.isDone).toBe(true);
    expect(done.customStatus).toEqual(expect.objectContaining({ stage: 'registered', timing: { startedAt: at(2.5), waitMs: 1750, workMs: 1250 } }));
  });
});

describe('the tile ledger', () => {
  const input = { source, collection: 'dems', options: tileInput.options, tileSize: 512, outputs, attempt: 1, index: { key: 'k', createdTime: at(0) }, worker: tileInput.worker } satisfies IngestInput;
  const job: LedgerJob = { id: 'job-1', input, progress: undefined };
  const blobUrl = (ref: { container: string; name: string }): string => `http://blob/${ref.container}/${ref.name}`;
  const branch = (customStatus: TileProgress, runtimeStatus = 'Running') => ({ instanceId: 'job-1-tile-000000', name: 'ingestTile', runtimeStatus, createdTime: at(0.9), lastUpdatedTime: at(9), customStatus });
  const progress: TileProgress = { itemId: item.itemId, stage: 'queued', route: 'functions', attempts: 1, startedAt: at(1), timing: { waitMs: 0, workMs: 0 } };

  it('shows a tile waiting for a slot as queued, with no start and no duration yet', () => {
    const entry = buildTileEntry(job, tileInput.window, { jobEnded: false, instance: branch(progress) }, blobUrl);
    expect(entry).toMatchObject({ state: 'queued', queuedAt: at(1), startedAt: null, endedAt: null, waitMs: null, workMs: null });
  });

  it('shows the wait and the work apart once it ran', () => {
    const working = buildTileEntry(job, tileInput.window, { jobEnded: false, instance: branch({ ...progress, stage: 'creating-cog', timing: { startedAt: at(9.9), waitMs: 8900, workMs: 0 } }) }, blobUrl);
    expect(working).toMatchObject({ state: 'creating-cog', queuedAt: at(1), startedAt: at(9.9), waitMs: 8900, workMs: null });
    const done = buildTileEntry(
      job,
      tileInput.window,
      { jobEnded: false, instance: branch({ ...progress, stage: 'registered', item, endedAt: at(11), timing: { startedAt: at(9.9), waitMs: 8900, workMs: 136 } }, 'Completed') },
      blobUrl,
    );
    expect(done).toMatchObject({ state: 'done', queuedAt: at(1), startedAt: at(9.9), endedAt: at(11), waitMs: 8900, workMs: 136 });
  });

  it('keeps what older branches said: their start holds the wait, which is not told apart', () => {
    const older: TileProgress = { itemId: item.itemId, stage: 'creating-cog', route: 'functions', attempts: 1, startedAt: at(1) };
    expect(buildTileEntry(job, tileInput.window, { jobEnded: false, instance: branch(older) }, blobUrl)).toMatchObject({ state: 'creating-cog', queuedAt: null, startedAt: at(1), waitMs: null, workMs: null });
  });
});
