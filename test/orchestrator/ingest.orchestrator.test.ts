import { describe, expect, it } from 'vitest';
import { ingestBatchOrchestrator } from '../../src/orchestrations/batch.orchestrator.js';
import { chooseTileRoute, ingestRasterOrchestrator, uncompressedBytes } from '../../src/orchestrations/ingest.orchestrator.js';
import { ingestTileOrchestrator, type IngestTileInput } from '../../src/orchestrations/tile.orchestrator.js';
import { buildJobView } from '../../src/jobs/job.view.js';
import type { BatchInput, IngestInput, IngestProgress, RasterInfo, RegisteredItem, TileCog } from '../../src/pipeline/contracts.js';
import { FailureError, type Failure } from '../../src/pipeline/failure.js';
import { ingestOptionsSchema } from '../../src/pipeline/options.js';
import { flattenActions, HistoryBuilder, replay } from '../support/orchestrator.replay.js';

const actionType = { callActivity: 0, callActivityWithRetry: 1, callSubOrchestrator: 2, createTimer: 5 } as const;

const input: IngestInput = {
  source: { container: 'uploads', name: 'dem/Alps.tif', etag: '"0x1"', size: 1000, lastModified: '2025-12-31T23:00:00.000Z' },
  collection: 'dems',
  options: ingestOptionsSchema.parse({}),
  tileSize: 512,
  outputs: { collection: 'dems', sourceKey: 'dem-alps', version: 'v0123456789ab' },
  attempt: 1,
  index: { key: '8232999999999-job-1', createdTime: '2026-01-01T00:00:00.000Z' },
  worker: { thresholdBytes: 1024 * 1024 * 1024, tileTimeoutSeconds: 600 },
};

/** What an activity returns to the orchestrator (see ActivityOutcome). */
const ok = <T>(value: T) => ({ ok: true, value });

/** The reason Durable records for an activity or branch that threw a FailureError. */
const thrown = (failure: Failure): string => new FailureError(failure).message;

const info: RasterInfo = {
  driver: 'GTiff',
  width: 1000,
  height: 600,
  bands: [{ gdalDataType: 'Float32', nodata: -9999, colorInterpretation: 'Gray', hasColorTable: false, description: '', unit: 'm' }],
  crs: { code: 'EPSG:32632', wkt2: 'PROJCRS[...]', projjson: {} },
  geoTransform: [500000, 10, 0, 5200000, 0, -10],
};

function item(itemId: string, cogBytes: number): RegisteredItem {
  return { itemId, itemUrl: `http://stac/${itemId}.json`, cogUrl: `http://cogs/${itemId}.tif`, cogBytes, bbox: [0, 0, 1, 1] };
}

const tileItemIds = ['dem-alps-r0-c0', 'dem-alps-r0-c1', 'dem-alps-r1-c0', 'dem-alps-r1-c1'];

/** History up to the point where validation has accepted the source. */
function validated(version = ''): HistoryBuilder {
  return new HistoryBuilder()
    .episode('ingestRaster', input, version)
    .taskScheduled(0, 'validateRaster')
    .episodeDone()
    .episode()
    .taskCompleted(0, ok(info));
}

/** History up to the collection's finalize: every tile branch registered its item. */
function finalized(version: string): HistoryBuilder {
  const history = validated(version);
  tileItemIds.forEach((_id, i) => history.subOrchestrationCreated(1 + i, 'ingestTile', `job-1-tile-00000${i}`));
  history.episodeDone().episode();
  tileItemIds.forEach((id, i) => history.subOrchestrationCompleted(1 + i, item(id, 100 + i)));
  history.taskScheduled(5, 'finalizeCollection').episodeDone().episode();
  return history.taskCompleted(5, ok({ collectionId: 'dems', collectionUrl: 'http://stac/dems/collection.json', catalogUrl: 'http://stac/catalog.json', itemCount: 4, replacedItems: 0, superseded: false, sources: [] }));
}

describe('ingestRaster orchestrator (replayed through the durable-functions SDK)', () => {
  it('starts by validating the source, with retries, and reports the stage', async () => {
    const state = await replay(ingestRasterOrchestrator, new HistoryBuilder().episode('ingestRaster', input), input);
    expect(state.isDone).toBe(false);
    const actions = flattenActions(state);
    expect(actions).toHaveLength(1);
    expect(actions[0]).toMatchObject({ actionType: actionType.callActivityWithRetry, functionName: 'validateRaster', input: { source: input.source, options: input.options } });
    expect(actions[0]!.retryOptions).toMatchObject({ maxNumberOfAttempts: 4, backoffCoefficient: 2 });
    expect(state.customStatus).toMatchObject({ stage: 'validating' });
  });

  it('fans out one tile sub-orchestration per tile with deterministic ids, all at once', async () => {
    const state = await replay(ingestRasterOrchestrator, validated(), input);
    const actions = flattenActions(state).slice(1);
    expect(actions).toHaveLength(4);
    expect(actions.map((a) => a.actionType)).toEqual([2, 2, 2, 2]);
    expect(actions.map((a) => a.functionName)).toEqual(['ingestTile', 'ingestTile', 'ingestTile', 'ingestTile']);
    expect(actions.map((a) => a.instanceId)).toEqual(['job-1-tile-000000', 'job-1-tile-000001', 'job-1-tile-000002', 'job-1-tile-000003']);
    const tileInputs = actions.map((a) => a.input as IngestTileInput);
    expect(tileInputs.map((t) => t.itemId)).toEqual(tileItemIds);
    expect(tileInputs.map((t) => [t.window.x, t.window.y, t.window.width, t.window.height])).toEqual([
      [0, 0, 512, 512],
      [512, 0, 488, 512],
      [0, 512, 512, 88],
      [512, 512, 488, 88],
    ]);
    // Item datetimes come from the orchestration clock, so every replay builds the same items.
    expect(new Set(tileInputs.map((t) => t.datetime))).toEqual(new Set(['2026-01-01T00:00:02.000Z']));
    expect(state.customStatus).toMatchObject({ stage: 'creating-cogs', tilesTotal: 4, tilesDone: 0 });
  });

  it('fans out one branch per variable × time step × window of a netCDF source, passing each the CRS validation assumed', async () => {
    const band = { gdalDataType: 'Int16', nodata: -32767, colorInterpretation: 'Undefined', hasColorTable: false, description: '', unit: 'K', scale: 0.01, offset: 273.15 };
    const variables: RasterInfo = {
      ...info,
      driver: 'netCDF',
      crsAssumed: 'EPSG:4326',
      variables: [
        { name: 'tas', key: 'tas', subdataset: true, width: 1000, height: 600, band, steps: 3, stepLabel: 't', crs: info.crs, geoTransform: info.geoTransform, crsAssumed: 'EPSG:4326' },
        { name: 'orog', key: 'orog', subdataset: true, width: 300, height: 200, band, steps: 1, stepLabel: null, crs: info.crs, geoTransform: info.geoTransform },
      ],
    };
    const history = new HistoryBuilder().episode('ingestRaster', input).taskScheduled(0, 'validateRaster').episodeDone().episode().taskCompleted(0, ok(variables));
    const state = await replay(ingestRasterOrchestrator, history, input);
    const actions = flattenActions(state).slice(1);
    // tas: 3 steps × 2×2 windows; orog: one window.
    expect(actions).toHaveLength(13);
    expect(actions.every((a) => a.actionType === actionType.callSubOrchestrator)).toBe(true);
    expect(actions.map((a) => a.instanceId)).toEqual(Array.from({ length: 13 }, (_, i) => `job-1-tile-${String(i).padStart(6, '0')}`));
    const tileInputs = actions.map((a) => a.input as IngestTileInput);
    expect(tileInputs.map((t) => t.itemId).slice(0, 5)).toEqual(['dem-alps-tas-t0-r0-c0', 'dem-alps-tas-t0-r0-c1', 'dem-alps-tas-t0-r1-c0', 'dem-alps-tas-t0-r1-c1', 'dem-alps-tas-t1-r0-c0']);
    expect(tileInputs.at(-1)!.itemId).toBe('dem-alps-orog-r0-c0');
    expect(new Set(tileInputs.map((t) => t.itemId)).size).toBe(13);
    expect(tileInputs[4]!.window.slice).toEqual({ variable: 'tas', variableKey: 'tas', subdataset: true, band: 2, stepLabel: 't' });
    expect(tileInputs.map((t) => t.assumedCrs)).toEqual([...Array<string>(12).fill('EPSG:4326'), null]);
    // Totals count every variable and step; the ledger plans the same tiles from the status.
    expect(state.customStatus).toMatchObject({
      stage: 'creating-cogs',
      tilesTotal: 13,
      layout: 'fan-out',
      grid: { tileSize: 512, slices: [{ keys: ['tas'], width: 1000, height: 600, steps: 3, stepLabel: 't' }, { keys: ['orog'], width: 300, height: 200, steps: 1, stepLabel: null }] },
    });
  });

  it('replays an instance of version 1.1 as it ran then: it builds the collection mosaic itself', async () => {
    const history = finalized('1.1');
    const mosaicking = await replay(ingestRasterOrchestrator, history, input);
    expect(flattenActions(mosaicking).at(-1)).toMatchObject({ functionName: 'buildCollectionMosaic', input: { collection: 'dems' } });
    history.taskScheduled(6, 'buildCollectionMosaic').episodeDone().episode().taskCompleted(6, ok({ collection: 'dems', mosaics: [], skipped: [] }));
    const next = await replay(ingestRasterOrchestrator, history, input);
    expect(flattenActions(next).at(-1)).toMatchObject({ functionName: 'recordJob', input: { status: 'Completed' } });
  });

  it('replays an instance of version 1.0 as it ran then: no collection mosaic after the finalize', async () => {
    const history = finalized('1.0');
    const next = await replay(ingestRasterOrchestrator, history, input);
    expect(flattenActions(next).at(-1)).toMatchObject({ functionName: 'recordJob', input: { status: 'Completed' } });
  });

  it('finalizes the collection once every tile has registered, then returns the job summary', async () => {
    const history = validated();
    tileItemIds.forEach((_id, i) => history.subOrchestrationCreated(1 + i, 'ingestTile', `job-1-tile-00000${i}`));
    history.episodeDone().episode();
    tileItemIds.forEach((id, i) => history.subOrchestrationCompleted(1 + i, item(id, 100 + i)));
    const finalizing = await replay(ingestRasterOrchestrator, history, input);
    const finalize = flattenActions(finalizing).at(-1)!;
    expect(finalize).toMatchObject({ actionType: 1, functionName: 'finalizeCollection' });
    expect((finalize.input as { publications: Array<{ items: RegisteredItem[] }> }).publications[0]!.items.map((i) => i.itemId)).toEqual(tileItemIds);
    expect(finalizing.customStatus).toMatchObject({ stage: 'finalizing', tilesDone: 4, itemsRegistered: 4 });

    history.taskScheduled(5, 'finalizeCollection').episodeDone().episode();
    const collection = { collectionId: 'dems', collectionUrl: 'http://stac/dems/collection.json', catalogUrl: 'http://stac/catalog.json', itemCount: 4, replacedItems: 0, superseded: false, sources: [] };
    history.taskCompleted(5, ok(collection));
    // Then it asks for the collection mosaic, now with this source, without waiting for the build.
    const mosaicking = await replay(ingestRasterOrchestrator, history, input);
    expect(flattenActions(mosaicking).at(-1)).toMatchObject({ functionName: 'requestCollectionMosaic', input: { collection: 'dems' } });
    history.taskScheduled(6, 'requestCollectionMosaic').episodeDone().episode().taskCompleted(6, ok({ instanceId: 'mosaic-run' }));
    const recording = await replay(ingestRasterOrchestrator, history, input);
    // The job writes its end to the jobs index before it completes.
    expect(flattenActions(recording).at(-1)).toMatchObject({
      functionName: 'recordJob',
      input: { key: input.index.key, id: 'job-1', status: 'Completed', tilesDone: 4, tilesFailed: 0, tilesTotal: 4, errors: [], errorCodes: [] },
    });
    history.taskScheduled(7, 'recordJob').episodeDone().episode().taskCompleted(7, { ok: true });
    const done = await replay(ingestRasterOrchestrator, history, input);
    expect(done.isDone).toBe(true);
    expect(done.output).toEqual({
      collection,
      tiles: tileItemIds.map((id, i) => ({ itemId: id, cogUrl: `http://cogs/${id}.tif`, itemUrl: `http://stac/${id}.json`, cogBytes: 100 + i })),
      bytesIn: 1000,
      bytesOut: 100 + 101 + 102 + 103,
    });
    expect(done.customStatus).toMatchObject({ stage: 'completed' });
  });

  it('fails with the validation reason when the source is rejected, scheduling nothing else', async () => {
    const history = new HistoryBuilder()
      .episode('ingestRaster', input)
      .taskScheduled(0, 'validateRaster')
      .episodeDone()
      .episode()
      .taskCompleted(0, { ok: false, failure: { code: 'INVALID_INPUT', message: 'the file is truncated: GDAL could not read block 3' } });
    const recording = await replay(ingestRasterOrchestrator, history, input);
    expect(flattenActions(recording).map((a) => a.functionName)).toEqual(['validateRaster', 'recordJob']);
    expect(flattenActions(recording).at(-1)).toMatchObject({ input: { status: 'Failed', errorCodes: ['INVALID_INPUT'] } });
    history.taskScheduled(1, 'recordJob').episodeDone().episode().taskCompleted(1, { ok: true });
    const state = await replay(ingestRasterOrchestrator, history, input);
    // A throwing orchestrator reports `error`; the host then records ExecutionFailed.
    expect(state.error).toContain('Cannot ingest uploads/dem/Alps.tif: the file is truncated');
    expect(state.customStatus).toMatchObject({
      stage: 'failed',
      errors: [{ code: 'INVALID_INPUT', message: 'the file is truncated: GDAL could not read block 3' }],
      errorCount: 1,
    });
  });

  it('counts tiles as they register, without scheduling any branch twice', async () => {
    const history = validated();
    tileItemIds.forEach((_id, i) => history.subOrchestrationCreated(1 + i, 'ingestTile', `job-1-tile-00000${i}`));
    history.episodeDone().episode().subOrchestrationCompleted(1, item(tileItemIds[0]!, 1)).subOrchestrationCompleted(2, item(tileItemIds[1]!, 1));
    const state = await replay(ingestRasterOrchestrator, history, input);
    expect(state.customStatus).toMatchObject({ stage: 'creating-cogs', tilesDone: 2, tilesTotal: 4, itemsRegistered: 2 });
    // validate + 4 branches: awaiting each branch again adds no action.
    expect(flattenActions(state)).toHaveLength(5);
  });

  it('counts tiles as they finish, in any order: tiles 1–3 done while tile 0 still runs is 3 done', async () => {
    const history = validated();
    tileItemIds.forEach((_id, i) => history.subOrchestrationCreated(1 + i, 'ingestTile', `job-1-tile-00000${i}`));
    history.episodeDone();
    // One episode per branch, as they end: 3, then 1, then 2; tile 0 is still being made.
    for (const i of [3, 1, 2]) history.episode().subOrchestrationCompleted(1 + i, item(tileItemIds[i]!, 1)).episodeDone();
    history.episode();
    const running = await replay(ingestRasterOrchestrator, history, input);
    expect(running.isDone).toBe(false);
    // The status as the host and Azure store it (JSON), and as the object the SDK returned.
    const stored = JSON.parse(JSON.stringify(running.customStatus)) as IngestProgress;
    expect(stored).toMatchObject({ stage: 'creating-cogs', tilesDone: 3, tilesFailed: 0, tilesTotal: 4, itemsRegistered: 3 });
    expect(running.customStatus).toMatchObject({ tilesDone: 3, itemsRegistered: 3 });
    const view = buildJobView({ instanceId: 'job-1', name: 'ingestRaster', runtimeStatus: 'Running', createdTime: '2026-01-01T00:00:00Z', lastUpdatedTime: '2026-01-01T00:00:05Z', input, customStatus: stored });
    expect(view.tiles).toEqual({ done: 3, failed: 0, total: 4 });
    // validate + 4 branches, each scheduled once.
    expect(flattenActions(running).map((a) => a.instanceId ?? a.functionName)).toEqual(['validateRaster', 'job-1-tile-000000', 'job-1-tile-000001', 'job-1-tile-000002', 'job-1-tile-000003']);

    // A failed branch counts at once too, before the one it follows in tile order.
    const failing = validated();
    tileItemIds.forEach((_id, i) => failing.subOrchestrationCreated(1 + i, 'ingestTile', `job-1-tile-00000${i}`));
    failing.episodeDone().episode().subOrchestrationFailed(3, thrown({ code: 'DISK_FULL', message: 'no space left' })).subOrchestrationCompleted(4, item(tileItemIds[3]!, 1));
    const failed = JSON.parse(JSON.stringify((await replay(ingestRasterOrchestrator, failing, input)).customStatus)) as IngestProgress;
    expect(failed).toMatchObject({ tilesDone: 1, tilesFailed: 1, errorCount: 1, errors: [{ code: 'DISK_FULL', itemId: 'dem-alps-r1-c0' }], errorCodes: ['DISK_FULL'] });

    // Tile 0 ends last: the job finalizes with all four items in tile order, having scheduled nothing twice.
    history.subOrchestrationCompleted(1, item(tileItemIds[0]!, 1));
    const finalizing = await replay(ingestRasterOrchestrator, history, input);
    expect(JSON.parse(JSON.stringify(finalizing.customStatus))).toMatchObject({ stage: 'finalizing', tilesDone: 4, tilesTotal: 4 });
    const actions = flattenActions(finalizing);
    expect(actions.map((a) => a.instanceId ?? a.functionName)).toEqual(['validateRaster', 'job-1-tile-000000', 'job-1-tile-000001', 'job-1-tile-000002', 'job-1-tile-000003', 'finalizeCollection']);
    expect((actions.at(-1)!.input as { publications: Array<{ items: RegisteredItem[] }> }).publications[0]!.items.map((i) => i.itemId)).toEqual(tileItemIds);
  });

  it('lets every branch finish, then fails the job naming each failed tile and its reason', async () => {
    const history = validated();
    tileItemIds.forEach((_id, i) => history.subOrchestrationCreated(1 + i, 'ingestTile', `job-1-tile-00000${i}`));
    const diskFull: Failure = { code: 'DISK_FULL', message: 'the worker ran out of scratch disk space' };
    history
      .episodeDone()
      .episode()
      .subOrchestrationCompleted(1, item(tileItemIds[0]!, 1))
      .subOrchestrationFailed(2, thrown(diskFull), 'FailureError: at runTileSteps (/home/app/dist/src/orchestrations/tile.orchestrator.js:40:11)');
    const waiting = await replay(ingestRasterOrchestrator, history, input);
    expect(waiting.error).toBeUndefined();
    expect(waiting.customStatus).toMatchObject({ stage: 'creating-cogs', tilesDone: 1, tilesFailed: 1, errors: [{ ...diskFull, itemId: 'dem-alps-r0-c1' }] });

    history.episodeDone().episode().subOrchestrationCompleted(3, item(tileItemIds[2]!, 1)).subOrchestrationFailed(4, 'TypeError: x is undefined', 'at /home/app/secret/path.js:1:1');
    const recording = await replay(ingestRasterOrchestrator, history, input);
    expect(flattenActions(recording).at(-1)).toMatchObject({ functionName: 'recordJob', input: { status: 'Failed', tilesFailed: 2, errorCodes: ['DISK_FULL', 'INTERNAL'] } });
    history.taskScheduled(5, 'recordJob').episodeDone().episode().taskCompleted(5, { ok: true });
    const state = await replay(ingestRasterOrchestrator, history, input);
    expect(state.error).toMatch(/2 of 4 tiles failed; tile dem-alps-r0-c1: the worker ran out of scratch disk space \(and 1 more failed tile\)/);
    expect(state.customStatus).toMatchObject({
      stage: 'failed',
      tilesDone: 2,
      tilesFailed: 2,
      errorCount: 2,
      errors: [
        { ...diskFull, itemId: 'dem-alps-r0-c1' },
        // A failure without its code travels as a generic internal one: no stack, path or raw text.
        { code: 'INTERNAL', message: expect.stringMatching(/unexpected error/), itemId: 'dem-alps-r1-c1' },
      ],
    });
    expect(JSON.stringify(state.customStatus)).not.toMatch(/secret|\/home\/app|TypeError/);
    expect(flattenActions(state)).toHaveLength(6);
  });
});

describe('ingestRaster routing', () => {
  it('runs a one-tile raster inline: COG, item and finalize in the job itself, no sub-orchestration', async () => {
    const small = { ...info, width: 300, height: 200 };
    const history = new HistoryBuilder().episode('ingestRaster', input).taskScheduled(0, 'validateRaster').episodeDone().episode().taskCompleted(0, ok(small));
    const cog = await replay(ingestRasterOrchestrator, history, input);
    expect(flattenActions(cog).map((a) => [a.actionType, a.functionName])).toEqual([
      [actionType.callActivityWithRetry, 'validateRaster'],
      [actionType.callActivity, 'createAndRegisterTile'],
    ]);
    expect(cog.customStatus).toMatchObject({ stage: 'creating-cogs', layout: 'single-tile', route: 'functions', tilesTotal: 1 });

    history.taskScheduled(1, 'createAndRegisterTile').episodeDone().episode().taskCompleted(1, ok(item('dem-alps-r0-c0', 7)));
    const finalizing = await replay(ingestRasterOrchestrator, history, input);
    expect(flattenActions(finalizing).map((a) => a.functionName)).toEqual(['validateRaster', 'createAndRegisterTile', 'finalizeCollection']);
    expect(finalizing.customStatus).toMatchObject({ stage: 'finalizing', tilesDone: 1, itemsRegistered: 1 });
  });

  it('reports a failed inline tile like a failed branch', async () => {
    const small = { ...info, width: 300, height: 200 };
    const history = new HistoryBuilder()
      .episode('ingestRaster', input)
      .taskScheduled(0, 'validateRaster')
      .episodeDone()
      .episode()
      .taskCompleted(0, ok(small))
      .taskScheduled(1, 'createAndRegisterTile')
      .episodeDone();
    // Four attempts, retried by the tile steps themselves with a back-off timer between them.
    let id = 1;
    for (let attempt = 1; attempt <= 4; attempt++) {
      history.episode().taskFailed(id, thrown({ code: 'STORAGE_REFUSED', message: 'storage refused the request with HTTP 403 (AuthorizationFailure)' }));
      if (attempt === 4) break;
      history.timerCreated(id + 1).episodeDone().episode().timerFired(id + 1);
      id += 2;
      history.taskScheduled(id, 'createAndRegisterTile').episodeDone();
    }
    const recording = await replay(ingestRasterOrchestrator, history, input);
    expect(recording.customStatus).toMatchObject({ tile: { itemId: 'dem-alps-r0-c0', stage: 'failed', attempts: 4, error: { code: 'STORAGE_REFUSED' } } });
    history.taskScheduled(id + 1, 'recordJob').episodeDone().episode().taskCompleted(id + 1, { ok: true });
    const state = await replay(ingestRasterOrchestrator, history, input);
    expect(state.error).toMatch(/1 of 1 tiles failed; tile dem-alps-r0-c0: storage refused the request with HTTP 403 \(AuthorizationFailure\)/);
    expect(state.customStatus).toMatchObject({ stage: 'failed', tilesFailed: 1, errors: [{ code: 'STORAGE_REFUSED', itemId: 'dem-alps-r0-c0' }] });
  });
});

describe('ingestTile orchestrator', () => {
  const tileInput: IngestTileInput = {
    source: input.source,
    outputs: input.outputs,
    itemId: 'dem-alps-r0-c0',
    window: { index: 0, row: 0, col: 0, x: 0, y: 0, width: 512, height: 512 },
    options: input.options,
    datetime: '2026-01-01T00:00:02.000Z',
    order: { sourceModified: input.source.lastModified, jobStarted: '2026-01-01T00:00:02.000Z' },
    route: 'functions',
    worker: input.worker,
  };

  it('makes the COG and registers its STAC item in one activity, so the item appears as soon as the COG exists', async () => {
    const first = await replay(ingestTileOrchestrator, new HistoryBuilder().episode('ingestTile', tileInput), tileInput);
    expect(flattenActions(first)).toEqual([
      expect.objectContaining({
        actionType: actionType.callActivity,
        functionName: 'createAndRegisterTile',
        input: { source: input.source, outputs: input.outputs, itemId: 'dem-alps-r0-c0', window: tileInput.window, options: input.options, datetime: tileInput.datetime, order: tileInput.order },
      }),
    ]);
    expect(first.customStatus).toMatchObject({ itemId: 'dem-alps-r0-c0', stage: 'creating-cog', attempts: 1, startedAt: expect.any(String) });

    const history = new HistoryBuilder().episode('ingestTile', tileInput).taskScheduled(0, 'createAndRegisterTile').episodeDone().episode().taskCompleted(0, ok(item('dem-alps-r0-c0', 42)));
    const done = await replay(ingestTileOrchestrator, history, tileInput);
    expect(done.isDone).toBe(true);
    expect(done.output).toEqual(item('dem-alps-r0-c0', 42));
    expect(done.customStatus).toMatchObject({ stage: 'registered', item: item('dem-alps-r0-c0', 42) });
  });

  it('replays a tile of version 1.1 as it ran then: the COG, then the item in its own activity', async () => {
    const first = await replay(ingestTileOrchestrator, new HistoryBuilder().episode('ingestTile', tileInput, '1.1'), tileInput);
    expect(flattenActions(first)).toEqual([expect.objectContaining({ actionType: actionType.callActivity, functionName: 'createTileCog' })]);

    const tile = { itemId: 'dem-alps-r0-c0', size: 42 } as TileCog;
    const history = new HistoryBuilder().episode('ingestTile', tileInput, '1.1').taskScheduled(0, 'createTileCog').episodeDone().episode().taskCompleted(0, ok(tile));
    const second = await replay(ingestTileOrchestrator, history, tileInput);
    expect(flattenActions(second).at(-1)).toMatchObject({ functionName: 'registerTileItem', input: { tile, datetime: tileInput.datetime, outputs: input.outputs, order: tileInput.order } });
    expect(second.customStatus).toMatchObject({ stage: 'registering' });

    history.taskScheduled(1, 'registerTileItem').episodeDone().episode().taskCompleted(1, ok(item('dem-alps-r0-c0', 42)));
    const done = await replay(ingestTileOrchestrator, history, tileInput);
    expect(done.isDone).toBe(true);
    expect(done.output).toEqual(item('dem-alps-r0-c0', 42));
  });

  it('retries a failed COG attempt after the back-off timer, without re-running anything else', async () => {
    const history = new HistoryBuilder()
      .episode('ingestTile', tileInput)
      .taskScheduled(0, 'createAndRegisterTile')
      .episodeDone()
      .episode()
      .taskFailed(0, 'storage busy')
      .timerCreated(1)
      .episodeDone()
      .episode()
      .timerFired(1);
    const state = await replay(ingestTileOrchestrator, history, tileInput);
    expect(state.isDone).toBe(false);
    expect(state.error).toBeUndefined();
    expect(flattenActions(state).map((a) => [a.actionType, a.functionName ?? ''])).toEqual([
      [actionType.callActivity, 'createAndRegisterTile'],
      [actionType.createTimer, ''],
      [actionType.callActivity, 'createAndRegisterTile'],
    ]);
    expect(state.customStatus).toMatchObject({ stage: 'creating-cog', attempts: 2 });
  });

  it('does not retry a final failure (a conflict), and fails the branch with its code', async () => {
    const conflict: Failure = { code: 'OUTPUT_CONFLICT', message: 'its item id is already taken' };
    const history = new HistoryBuilder()
      .episode('ingestTile', tileInput)
      .taskScheduled(0, 'createAndRegisterTile')
      .episodeDone()
      .episode()
      .taskCompleted(0, { ok: false, failure: conflict });
    const state = await replay(ingestTileOrchestrator, history, tileInput);
    expect(state.error).toContain(conflict.message);
    expect(state.customStatus).toMatchObject({ stage: 'failed', attempts: 1, error: conflict });
  });
});

describe('retrying a failed job', () => {
  it('takes the tiles the failed attempt made as they are and runs only the others', async () => {
    const retry: IngestInput = { ...input, attempt: 2, previousAttempt: 'job-0', reuse: [item(tileItemIds[0]!, 1), item(tileItemIds[3]!, 4)] };
    const history = new HistoryBuilder().episode('ingestRaster', retry).taskScheduled(0, 'validateRaster').episodeDone().episode().taskCompleted(0, ok(info));
    const state = await replay(ingestRasterOrchestrator, history, retry);
    const branches = flattenActions(state).filter((a) => a.actionType === actionType.callSubOrchestrator);
    expect(branches.map((a) => a.instanceId)).toEqual(['job-1-tile-000001', 'job-1-tile-000002']);
    expect(state.customStatus).toMatchObject({ tilesDone: 2, tilesTotal: 4, tilesReused: 2, attempt: 2, previousAttempt: 'job-0' });

    history.subOrchestrationCreated(1, 'ingestTile', 'job-1-tile-000001').subOrchestrationCreated(2, 'ingestTile', 'job-1-tile-000002');
    history.episodeDone().episode().subOrchestrationCompleted(1, item(tileItemIds[1]!, 2)).subOrchestrationCompleted(2, item(tileItemIds[2]!, 3));
    const finalizing = await replay(ingestRasterOrchestrator, history, retry);
    const finalize = flattenActions(finalizing).at(-1)!;
    expect(finalize.functionName).toBe('finalizeCollection');
    // All four items, in tile order, reused or not.
    expect((finalize.input as { publications: Array<{ items: RegisteredItem[] }> }).publications[0]!.items.map((i) => i.itemId)).toEqual(tileItemIds);
  });
});

describe('routing: Functions or the container worker', () => {
  it('chooses by uncompressed size against the threshold, unless the job names a route', () => {
    const band = (gdalDataType: string) => ({ gdalDataType, nodata: null, colorInterpretation: 'Gray', hasColorTable: false, description: '', unit: null });
    const big = { width: 20_000, height: 20_000, bands: [band('Float32')] }; // 1,526 MB
    const small = { width: 1000, height: 1000, bands: [band('Byte'), band('Byte'), band('Byte')] };
    expect(uncompressedBytes(big)).toBe(20_000 * 20_000 * 4);
    expect(uncompressedBytes({ width: 10, height: 10, bands: [band('CFloat64'), band('Int16')] })).toBe(100 * (16 + 2));
    const threshold = 1024 * 1024 * 1024;
    expect(chooseTileRoute(big, 'auto', threshold)).toEqual({ route: 'worker', reason: '1,526 MB uncompressed, over the worker threshold of 1,024 MB' });
    expect(chooseTileRoute(small, undefined, threshold)).toMatchObject({ route: 'functions' });
    expect(chooseTileRoute(small, 'worker', threshold)).toEqual({ route: 'worker', reason: "the job's route option asks for worker" });
    expect(chooseTileRoute(big, 'functions', threshold)).toMatchObject({ route: 'functions' });
  });

  const workerTile: IngestTileInput = {
    source: input.source,
    outputs: input.outputs,
    itemId: 'dem-alps-r0-c0',
    window: { index: 0, row: 0, col: 0, x: 0, y: 0, width: 512, height: 512 },
    options: input.options,
    datetime: '2026-01-01T00:00:02.000Z',
    order: { sourceModified: input.source.lastModified, jobStarted: '2026-01-01T00:00:02.000Z' },
    route: 'worker',
    worker: { thresholdBytes: 1, tileTimeoutSeconds: 600 },
  };
  const tile = { itemId: 'dem-alps-r0-c0', size: 42, checksum: '1220ab', blob: {}, window: workerTile.window, bbox: [0, 0, 1, 1], bands: [], geometry: {} };
  const result = (dispatchId: string, outcome: unknown) => ({ kind: 'tile-result', instanceId: 'job-1', eventName: 'tile-cog', dispatchId, outcome, worker: { name: 'w', deliveryCount: 1, startedAt: 'a', endedAt: 'b' } });

  it('sends the tile to the worker, shows it queued then running, and registers the worker\'s COG', async () => {
    const history = new HistoryBuilder().episode('ingestTile', workerTile);
    const first = await replay(ingestTileOrchestrator, history, workerTile);
    const dispatch = flattenActions(first)[0]!;
    expect(dispatch).toMatchObject({ functionName: 'dispatchTile', input: { instanceId: 'job-1', eventName: 'tile-cog', input: { itemId: 'dem-alps-r0-c0' } } });
    expect(first.customStatus).toMatchObject({ stage: 'queued', route: 'worker', attempts: 1 });
    const dispatchId = (dispatch.input as { dispatchId: string }).dispatchId;

    history.taskScheduled(0, 'dispatchTile').episodeDone().episode().taskCompleted(0, { ok: true });
    const waiting = await replay(ingestTileOrchestrator, history, workerTile);
    expect(flattenActions(waiting).map((a) => a.actionType)).toEqual([1, 6, 5]);
    history.timerCreated(1).episodeDone().episode().eventRaised('tile-cog', { kind: 'tile-started', instanceId: 'job-1', eventName: 'tile-cog', dispatchId, worker: { name: 'w', deliveryCount: 1, startedAt: 'a' } });
    const running = await replay(ingestTileOrchestrator, history, workerTile);
    expect(running.customStatus).toMatchObject({ stage: 'running', route: 'worker' });

    history.timerCreated(2).episodeDone().episode().eventRaised('tile-cog', result(dispatchId, { ok: true, value: tile }));
    const registering = await replay(ingestTileOrchestrator, history, workerTile);
    expect(flattenActions(registering).at(-1)).toMatchObject({ functionName: 'registerTileItem', input: { tile } });
    expect(registering.customStatus).toMatchObject({ stage: 'registering', route: 'worker' });
  });

  it('fails the tile with the worker\'s reason (a dead-lettered tile)', async () => {
    const history = new HistoryBuilder().episode('ingestTile', workerTile);
    const first = await replay(ingestTileOrchestrator, history, workerTile);
    const dispatchId = (flattenActions(first)[0]!.input as { dispatchId: string }).dispatchId;
    history.taskScheduled(0, 'dispatchTile').episodeDone().episode().taskCompleted(0, { ok: true }).timerCreated(1).episodeDone().episode();
    history.eventRaised('tile-cog', result(dispatchId, { ok: false, failure: { code: 'INTERNAL', message: 'dead-lettered after 5 deliveries: the worker crashed' } }));
    const state = await replay(ingestTileOrchestrator, history, workerTile);
    expect(state.error).toContain('dead-lettered after 5 deliveries');
    expect(state.customStatus).toMatchObject({ stage: 'failed', route: 'worker', error: { code: 'INTERNAL' } });
  });

  it('re-routes a tile that ran out of memory on Functions to the worker, once, saying why', async () => {
    const functionsTile: IngestTileInput = { ...workerTile, route: 'functions' };
    const history = new HistoryBuilder().episode('ingestTile', functionsTile).taskScheduled(0, 'createTileCog').episodeDone().episode();
    history.taskFailed(0, thrown({ code: 'OUT_OF_MEMORY', message: 'the worker ran out of memory' })).timerCreated(1).episodeDone().episode().timerFired(1);
    let id = 2;
    for (let attempt = 2; attempt <= 4; attempt++) {
      history.taskScheduled(id, 'createTileCog').episodeDone().episode().taskFailed(id, thrown({ code: 'OUT_OF_MEMORY', message: 'the worker ran out of memory' }));
      if (attempt < 4) history.timerCreated(id + 1).episodeDone().episode().timerFired(id + 1);
      id += 2;
    }
    const state = await replay(ingestTileOrchestrator, history, functionsTile);
    expect(flattenActions(state).at(-1)).toMatchObject({ functionName: 'dispatchTile' });
    expect(state.customStatus).toMatchObject({ route: 'worker', stage: 'queued', reroutedBecause: 'OUT_OF_MEMORY on Functions: the worker ran out of memory' });
  });
});

describe('ingestBatch orchestrator', () => {
  const batch: BatchInput = {
    batchId: 'batch-1',
    selection: { kind: 'prefix', container: 'uploads', prefix: 'scenes/' },
    collection: 'dems',
    options: input.options,
    tileSize: 512,
    filters: {},
    window: 2,
    chunkSize: 3,
    worker: input.worker,
    attempt: 1,
  };
  const source = (name: string) => ({ container: 'uploads', name, etag: '"e"', size: 10, lastModified: '2026-01-01T00:00:00.000Z' });
  const run = (i: number) => ({ kind: 'run', source: `uploads/scenes/${i}.tif`, instanceId: `ingest-b1-0-${i}`, input: { ...input, deferFinalize: true } });
  const publication = (i: number) => ({ outputs: { ...input.outputs, sourceKey: `s${i}` }, source: source(`scenes/${i}.tif`), items: [item(`s${i}-r0-c0`, 1)], order: { sourceModified: 'a', jobStarted: 'b' } });

  it('lists a chunk, skips what is published, runs the rest a window at a time, finalizes once, then continues as new', async () => {
    const history = new HistoryBuilder().episode('ingestBatch', batch);
    const listing = await replay(ingestBatchOrchestrator, history, batch, 'batch-1');
    expect(flattenActions(listing)[0]).toMatchObject({ functionName: 'listBatchSources', input: { cursor: null, pageSize: 3, taken: 0 } });
    history.taskScheduled(0, 'listBatchSources').episodeDone().episode();
    history.taskCompleted(0, ok({ sources: [source('scenes/0.tif'), source('scenes/1.tif'), source('scenes/2.tif')], missing: [], cursor: 'page-2' }));
    history.taskScheduled(1, 'prepareBatchJobs').episodeDone().episode();
    history.taskCompleted(1, ok([run(0), { kind: 'skip', source: 'uploads/scenes/1.tif', reason: 'already ingested' }, run(2)]));
    const waves = await replay(ingestBatchOrchestrator, history, batch, 'batch-1');
    const branches = flattenActions(waves).filter((a) => a.actionType === actionType.callSubOrchestrator);
    // The window is 2, and one source was skipped: one wave of both runs.
    expect(branches.map((a) => a.instanceId)).toEqual(['ingest-b1-0-0', 'ingest-b1-0-2']);
    expect(waves.customStatus).toMatchObject({ stage: 'ingesting', running: 2, counts: { total: 3, skipped: 1 } });

    history.subOrchestrationCreated(2, 'ingestRaster', 'ingest-b1-0-0').subOrchestrationCreated(3, 'ingestRaster', 'ingest-b1-0-2').episodeDone().episode();
    history.subOrchestrationCompleted(2, { collection: null, publication: publication(0), tiles: [], bytesIn: 1, bytesOut: 1 });
    history.subOrchestrationFailed(3, thrown({ code: 'UNSUPPORTED_FORMAT', message: 'VRT files cannot be ingested' }));
    const finalizing = await replay(ingestBatchOrchestrator, history, batch, 'batch-1');
    const finalize = flattenActions(finalizing).at(-1)!;
    expect(finalize).toMatchObject({ functionName: 'finalizeCollection', input: { collection: 'dems', publications: [expect.objectContaining({ outputs: expect.objectContaining({ sourceKey: 's0' }) })] } });
    expect(finalizing.customStatus).toMatchObject({ stage: 'finalizing', counts: { done: 1, failed: 1 }, failures: [{ code: 'UNSUPPORTED_FORMAT', source: 'uploads/scenes/2.tif', jobId: 'ingest-b1-0-2' }] });

    history.taskScheduled(4, 'finalizeCollection').episodeDone().episode();
    history.taskCompleted(4, ok({ collectionId: 'dems', collectionUrl: 'c', catalogUrl: 'k', itemCount: 1, replacedItems: 0, superseded: false, sources: [{ sourceKey: 's0', outcome: 'published', replacedItems: 0 }] }));
    const next = await replay(ingestBatchOrchestrator, history, batch, 'batch-1');
    // Continued as new with the cursor and the counts: the next chunk starts with a fresh history.
    const continued = flattenActions(next).at(-1)!;
    expect(continued.actionType).toBe(4);
    expect(continued).toMatchObject({ input: { carry: { cursor: 'page-2', chunk: 1, counts: { total: 3, done: 1, failed: 1, skipped: 1 } } } });
  });

  /** The jobs started so far, in order (the action tree lists a job once per composite task it is in). */
  const subOrchestrations = (state: Awaited<ReturnType<typeof replay>>): Array<string | undefined> => [
    ...new Set(
      flattenActions(state)
        .filter((a) => a.actionType === actionType.callSubOrchestrator)
        .map((a) => a.instanceId),
    ),
  ];
  const fourRuns = (): HistoryBuilder => {
    const history = new HistoryBuilder().episode('ingestBatch', { ...batch, chunkSize: 4 }).taskScheduled(0, 'listBatchSources').episodeDone().episode();
    history.taskCompleted(0, ok({ sources: [0, 1, 2, 3].map((i) => source(`scenes/${i}.tif`)), missing: [], cursor: null }));
    return history.taskScheduled(1, 'prepareBatchJobs').episodeDone().episode().taskCompleted(1, ok([run(0), run(1), run(2), run(3)]));
  };
  const done = (i: number) => ({ collection: null, publication: publication(i), tiles: [], bytesIn: 1, bytesOut: 1 });

  it('runs its jobs in waves of its window: the next wave starts when the whole wave has ended', async () => {
    const history = fourRuns();
    history.subOrchestrationCreated(2, 'ingestRaster', 'ingest-b1-0-0').subOrchestrationCreated(3, 'ingestRaster', 'ingest-b1-0-1').episodeDone().episode();
    history.subOrchestrationCompleted(3, done(1));
    // One of the wave ended: nothing new starts until the whole wave has.
    expect(subOrchestrations(await replay(ingestBatchOrchestrator, history, { ...batch, chunkSize: 4 }, 'batch-1'))).toHaveLength(2);
    history.subOrchestrationCompleted(2, done(0));
    expect(subOrchestrations(await replay(ingestBatchOrchestrator, history, { ...batch, chunkSize: 4 }, 'batch-1')).slice(2)).toEqual(['ingest-b1-0-2', 'ingest-b1-0-3']);
  });

  /** A one-source batch up to its chunk's finalize, completed (of `version`; '' is the current one). */
  const finalizedOneSourceBatch = (version = ''): HistoryBuilder => {
    const history = new HistoryBuilder().episode('ingestBatch', batch, version).taskScheduled(0, 'listBatchSources').episodeDone().episode();
    history.taskCompleted(0, ok({ sources: [source('scenes/0.tif')], missing: [], cursor: null }));
    history.taskScheduled(1, 'prepareBatchJobs').episodeDone().episode().taskCompleted(1, ok([run(0)]));
    history.subOrchestrationCreated(2, 'ingestRaster', 'ingest-b1-0-0').episodeDone().episode();
    history.subOrchestrationCompleted(2, { collection: null, publication: publication(0), tiles: [], bytesIn: 1, bytesOut: 1 });
    history.taskScheduled(3, 'finalizeCollection').episodeDone().episode();
    history.taskCompleted(3, ok({ collectionId: 'dems', collectionUrl: 'c', catalogUrl: 'k', itemCount: 1, replacedItems: 0, superseded: false, sources: [{ sourceKey: 's0', outcome: 'published', replacedItems: 0 }] }));
    return history;
  };

  it('asks for the collection mosaic once, after the last chunk, and completes with the run it started', async () => {
    const history = finalizedOneSourceBatch();
    const requesting = await replay(ingestBatchOrchestrator, history, batch, 'batch-1');
    expect(flattenActions(requesting).at(-1)).toMatchObject({ functionName: 'requestCollectionMosaic', input: { collection: 'dems' } });
    history.taskScheduled(4, 'requestCollectionMosaic').episodeDone().episode().taskCompleted(4, ok({ instanceId: 'mosaic-run' }));
    const done = await replay(ingestBatchOrchestrator, history, batch, 'batch-1');
    expect(done.isDone).toBe(true);
    expect(done.output).toMatchObject({ counts: { done: 1 }, mosaic: { requested: 'mosaic-run' } });
  });

  it('replays a batch of version 1.1 as it ran then: it built the mosaic itself (a mosaic failure is reported, not fatal)', async () => {
    for (const mosaicOutcome of [ok({ collection: 'dems', mosaics: [{ group: 'epsg-32633-1xfloat32', url: 'm', sources: 1, tiles: 1 }], overview: { url: 'o', width: 10, height: 10, groups: [] }, skipped: [] }), { ok: false, failure: { code: 'INTERNAL', message: 'no' } }]) {
      const history = finalizedOneSourceBatch('1.1');
      const mosaicking = await replay(ingestBatchOrchestrator, history, batch, 'batch-1');
      expect(flattenActions(mosaicking).at(-1)).toMatchObject({ functionName: 'buildCollectionMosaic', input: { collection: 'dems' } });
      history.taskScheduled(4, 'buildCollectionMosaic').episodeDone().episode().taskCompleted(4, mosaicOutcome);
      const done = await replay(ingestBatchOrchestrator, history, batch, 'batch-1');
      expect(done.isDone).toBe(true);
      expect(done.output).toMatchObject({ counts: { done: 1 }, mosaic: mosaicOutcome.ok ? { mosaics: ['m'], overview: 'o', skipped: 0 } : { error: expect.stringMatching(/no/) } });
    }
  });

  it('fails a batch that selects nothing, saying why', async () => {
    const history = new HistoryBuilder().episode('ingestBatch', batch).taskScheduled(0, 'listBatchSources').episodeDone().episode();
    history.taskCompleted(0, ok({ sources: [], missing: [], cursor: null }));
    const state = await replay(ingestBatchOrchestrator, history, batch, 'batch-1');
    expect(state.error).toMatch(/selects no blobs/);
    expect(state.customStatus).toMatchObject({ stage: 'failed', reason: expect.stringMatching(/selects no blobs/) });
  });
});
