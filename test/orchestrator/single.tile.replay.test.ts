/**
 * Version 1.7 (issue 22): a job validates with `validateAndCreateTile`, which for a source of one
 * tile on the Functions route also makes its COG, registers its item and checks the collection's
 * gates. Replayed through the durable-functions SDK: the tile it made is taken (no
 * `createAndRegisterTile`, no `checkQualityGates`), a gate violation still quarantines, a tile that
 * failed takes its own steps (retried on Functions, or on the worker after running out of memory),
 * a failure for good fails the tile, and larger sources fan out as before. After finalize a 1.7
 * job asks the collection's mosaic entity first and starts a mosaic run only when told to, and its
 * end record goes with its finalize.
 * Instances of 1.6 and older replay their separate steps unchanged.
 */
import { describe, expect, it } from 'vitest';
import { ingestRasterOrchestrator } from '../../src/orchestrations/ingest.orchestrator.js';
import type { IngestInput, IngestProgress, RasterInfo, RegisteredItem, ValidatedSource } from '../../src/pipeline/contracts.js';
import { crsViolation as violation, gatedInput as gated, ok, oneSourceInfo as info, oneSourceInput as input } from '../support/ingest.fixtures.js';
import { episodeTime, flattenActions, HistoryBuilder, replay } from '../support/orchestrator.replay.js';

const itemId = 'dem-one-r0-c0';
const tile: RegisteredItem = { itemId, itemUrl: `http://stac/${itemId}.json`, cogUrl: `http://cogs/${itemId}.tif`, cogBytes: 10, bbox: [9, 46, 9.1, 46.1], window: { index: 0, row: 0, col: 0, x: 0, y: 0, width: 100, height: 100 } };
const ran = { startedAt: '2026-01-01T00:00:01.250Z', endedAt: '2026-01-01T00:00:01.750Z' };
const finalized = { collectionId: 'dems', collectionUrl: 'http://stac/dems/collection.json', catalogUrl: 'http://stac/catalog.json', itemCount: 1, replacedItems: 0, superseded: false, sources: [] };
/** What finalize answers a job that derives products (it looked them up first): none derive from `dems`, so it recorded the end. */
const finalizedAlone = { ...finalized, endRecorded: true, derivedPlans: [] };

/** History up to the answer of `validateAndCreateTile` (version 1.7 unless given). */
function validatedWith(answer: unknown, job: IngestInput = input, version = '1.7'): HistoryBuilder {
  return new HistoryBuilder().episode('ingestRaster', job, version).taskScheduled(0, 'validateAndCreateTile').episodeDone().episode().taskCompleted(0, answer);
}

/** The activities and sub-orchestrations scheduled (a tile's wait for its "started" event has no name). */
const names = (actions: ReturnType<typeof flattenActions>): string[] => actions.flatMap((action) => (action.functionName ? [action.functionName] : []));
const lastCall = (actions: ReturnType<typeof flattenActions>) => actions.filter((action) => action.functionName).at(-1);

describe('a job of version 1.7 makes a single tile with its validation', () => {
  it('validates with validateAndCreateTile, asking for the tile with the orchestration clock, the worker threshold and the gates', async () => {
    const state = await replay(ingestRasterOrchestrator, new HistoryBuilder().episode('ingestRaster', gated, '1.7'), gated);
    const [validate, ...rest] = flattenActions(state);
    expect(rest).toEqual([]);
    expect(validate).toMatchObject({
      functionName: 'validateAndCreateTile',
      retryOptions: { maxNumberOfAttempts: 4 },
      input: {
        source: input.source,
        options: input.options,
        tileSize: 4096,
        singleTile: { outputs: input.outputs, datetime: episodeTime(1), order: { sourceModified: input.source.lastModified, jobStarted: episodeTime(1) }, worker: { thresholdBytes: input.worker.thresholdBytes }, gates: gated.definition!.gates },
      },
    });
    // Without gates, none are passed.
    const plain = await replay(ingestRasterOrchestrator, new HistoryBuilder().episode('ingestRaster', input, '1.7'), input);
    expect((flattenActions(plain)[0]!.input as { singleTile: object }).singleTile).not.toHaveProperty('gates');
  });

  it('takes the tile it made: finalizes next, with the item and the tile registered in the status, then asks for the mosaic and records the job', async () => {
    const answer: ValidatedSource = { info, tile: { ok: true, item: tile, ran } };
    const history = validatedWith(ok(answer));
    const finalizing = await replay(ingestRasterOrchestrator, history, input);
    expect(names(flattenActions(finalizing))).toEqual(['validateAndCreateTile', 'finalizeCollection']);
    // Its end record goes with the finalize (written once the publication is done), not in a recordJob of its own.
    expect(flattenActions(finalizing).at(-1)).toMatchObject({
      input: {
        collection: 'dems',
        publications: [{ items: [tile], order: { jobStarted: episodeTime(1) } }],
        datetime: episodeTime(1),
        endRecord: { key: input.index.key, id: 'job-1', status: 'Completed', tilesDone: 1, tilesFailed: 0, tilesTotal: 1, errors: [], errorCodes: [], lastUpdatedTime: episodeTime(2) },
        // Finalize reads which collections derive from this one first: the end is written only when none do.
        lookUpDerived: true,
      },
    });
    const status = finalizing.customStatus as IngestProgress;
    expect(status).toMatchObject({ stage: 'finalizing', layout: 'single-tile', tilesTotal: 1, tilesDone: 1, itemsRegistered: 1, route: 'functions' });
    // Its wait counts from the job's validation being scheduled (episode 1) to the tile's start.
    expect(status.tile).toMatchObject({ itemId, stage: 'registered', route: 'functions', attempts: 1, startedAt: episodeTime(1), item: tile, timing: { waitMs: 250, workMs: 500, startedAt: ran.startedAt } });

    history.taskScheduled(1, 'finalizeCollection').episodeDone().episode().taskCompleted(1, ok(finalizedAlone));
    // Each job requests its own mosaic run (asking the entity first is off: see versions.ts).
    expect(lastCall(flattenActions(await replay(ingestRasterOrchestrator, history, input)))).toMatchObject({ functionName: 'requestCollectionMosaic', input: { collection: 'dems' } });
    history.taskScheduled(2, 'requestCollectionMosaic').episodeDone().episode().taskCompleted(2, ok({ instanceId: 'm' }));
    const publishing = await replay(ingestRasterOrchestrator, history, input);
    expect(names(flattenActions(publishing))).toEqual(['validateAndCreateTile', 'finalizeCollection', 'requestCollectionMosaic', 'publishEvents']);
    history.taskScheduled(3, 'publishEvents').episodeDone().episode().taskCompleted(3, ok({ delivered: 1, dropped: [] }));
    const done = await replay(ingestRasterOrchestrator, history, input);
    expect(done.isDone).toBe(true);
    expect(done.output).toMatchObject({ collection: finalizedAlone, tiles: [{ itemId }] });
  });

  it('records its end with recordJob when finalize fails', async () => {
    const history = validatedWith(ok({ info, tile: { ok: true, item: tile, ran } }));
    history.taskScheduled(1, 'finalizeCollection').episodeDone().episode().taskCompleted(1, { ok: false, failure: { code: 'OUTPUT_CONFLICT', message: 'taken' } });
    const recording = await replay(ingestRasterOrchestrator, history, input);
    expect(lastCall(flattenActions(recording))).toMatchObject({ functionName: 'recordJob', input: { status: 'Failed', errorCodes: ['OUTPUT_CONFLICT'] } });
  });

  it('with collections deriving from its own, runs them from the plans finalize found and records its end after them', async () => {
    const derivation = { collection: 'dems-hillshade', definitionVersion: 2, derivation: { collection: 'dems', product: 'hillshade' as const } };
    const history = validatedWith(ok({ info, tile: { ok: true, item: tile, ran } }));
    // Finalize found a derived collection, so it left the end record to the job.
    history.taskScheduled(1, 'finalizeCollection').episodeDone().episode().taskCompleted(1, ok({ ...finalized, endRecorded: false, derivedPlans: [derivation] }));
    history.taskScheduled(2, 'requestCollectionMosaic').episodeDone().episode().taskCompleted(2, ok({ instanceId: 'm' }));
    const deriving = await replay(ingestRasterOrchestrator, history, input);
    // No lookup of its own: the sub-orchestration starts from finalize's plans.
    expect(names(flattenActions(deriving))).toEqual(['validateAndCreateTile', 'finalizeCollection', 'requestCollectionMosaic', 'deriveProducts']);
    expect(lastCall(flattenActions(deriving))).toMatchObject({ functionName: 'deriveProducts', input: { target: derivation } });
    expect((deriving.customStatus as IngestProgress).stage).toBe('deriving');
    const outcome = { collection: 'dems-hillshade', product: 'hillshade', instanceId: 'job-1-derived-dems-hillshade', status: 'completed', items: 1, failures: [], failureCount: 0 };
    history.subOrchestrationCreated(3, 'deriveProducts', 'job-1-derived-dems-hillshade').episodeDone().episode().subOrchestrationCompleted(3, outcome);
    const recording = await replay(ingestRasterOrchestrator, history, input);
    expect(lastCall(flattenActions(recording))).toMatchObject({ functionName: 'recordJob', input: { status: 'Completed', tilesDone: 1 } });
  });

  it('quarantines on the gates the activity checked: no checkQualityGates, nothing finalized, recorded Quarantined', async () => {
    const answer: ValidatedSource = { info, tile: { ok: true, item: tile, ran, violations: [violation] } };
    const history = validatedWith(ok(answer), gated);
    const recording = await replay(ingestRasterOrchestrator, history, gated);
    expect(names(flattenActions(recording))).toEqual(['validateAndCreateTile', 'recordJob']);
    expect(flattenActions(recording).at(-1)).toMatchObject({ input: { status: 'Quarantined', tilesDone: 1 } });
    expect(recording.customStatus).toMatchObject({ stage: 'quarantined' });
    history.taskScheduled(1, 'recordJob').episodeDone().episode().taskCompleted(1, { ok: true });
    history.taskScheduled(2, 'publishEvents').episodeDone().episode().taskCompleted(2, ok({ delivered: 0, dropped: [] }));
    const done = await replay(ingestRasterOrchestrator, history, gated);
    expect(done.isDone).toBe(true);
    expect(done.output).toMatchObject({ collection: null, quarantine: { violations: [violation], definitionVersion: 3 }, publication: { items: [tile] } });
  });

  it('finalizes when the gates it checked all pass, and checks them in their own activity when it could not measure them', async () => {
    const passed = await replay(ingestRasterOrchestrator, validatedWith(ok({ info, tile: { ok: true, item: tile, ran, violations: [] } }), gated), gated);
    expect(names(flattenActions(passed))).toEqual(['validateAndCreateTile', 'finalizeCollection']);
    const unmeasured = await replay(ingestRasterOrchestrator, validatedWith(ok({ info, tile: { ok: true, item: tile, ran } }), gated), gated);
    expect(flattenActions(unmeasured).at(-1)).toMatchObject({ functionName: 'checkQualityGates', input: { items: [{ itemId, bbox: tile.bbox }] } });
  });

  it('takes the tile its own steps when the tile failed in a way a retry may fix', async () => {
    const answer: ValidatedSource = { info, tile: { ok: false, failure: { code: 'TRANSIENT_STORAGE', message: 'storage answered HTTP 503; retrying later may succeed' } } };
    const state = await replay(ingestRasterOrchestrator, validatedWith(ok(answer)), input);
    expect(names(flattenActions(state))).toEqual(['validateAndCreateTile', 'createAndRegisterTile']);
    expect(lastCall(flattenActions(state))).toMatchObject({ input: { itemId, datetime: episodeTime(1), window: { width: 100, height: 100 } } });
  });

  it('fails the tile at once on a failure for good, as its own steps would', async () => {
    const failure = { code: 'OUTPUT_CONFLICT' as const, message: 'its item id dem-one-r0-c0 is already taken in collection dems by another source; rename the blob and upload it again' };
    const state = await replay(ingestRasterOrchestrator, validatedWith(ok({ info, tile: { ok: false, failure } })), input);
    expect(names(flattenActions(state))).toEqual(['validateAndCreateTile', 'recordJob']);
    expect(flattenActions(state).at(-1)).toMatchObject({ input: { status: 'Failed', tilesFailed: 1, errorCodes: ['OUTPUT_CONFLICT'] } });
    expect(state.customStatus).toMatchObject({ stage: 'failed', tile: { stage: 'failed', error: failure } });
  });

  it('sends the tile to the worker at once when Functions ran out of memory, with the reason in its status', async () => {
    const answer: ValidatedSource = { info, tile: { ok: false, failure: { code: 'OUT_OF_MEMORY', message: 'the worker ran out of memory' } } };
    const state = await replay(ingestRasterOrchestrator, validatedWith(ok(answer)), input);
    expect(flattenActions(state).at(-1)).toMatchObject({ functionName: 'dispatchTile', input: { input: { itemId } } });
    expect(state.customStatus).toMatchObject({ tile: { route: 'worker', stage: 'queued', reroutedBecause: 'OUT_OF_MEMORY on Functions: the worker ran out of memory' } });
  });

  it('fans out as before when the source plans several tiles (the activity made none)', async () => {
    const large: RasterInfo = { ...info, width: 5000, height: 100 };
    const state = await replay(ingestRasterOrchestrator, validatedWith(ok({ info: large })), input);
    const actions = flattenActions(state).slice(1);
    expect(actions.map((action) => action.functionName)).toEqual(['ingestTile', 'ingestTile']);
    expect(state.customStatus).toMatchObject({ layout: 'fan-out', tilesTotal: 2 });
  });

  it('asks for no tile when a retry reuses its failed attempt\'s tiles', async () => {
    const retry: IngestInput = { ...input, attempt: 2, previousAttempt: 'job-0', reuse: [tile] };
    const state = await replay(ingestRasterOrchestrator, new HistoryBuilder().episode('ingestRaster', retry, '1.7'), retry);
    expect(flattenActions(state)[0]!.input).not.toHaveProperty('singleTile');
  });

  it('fails with the validation reason when the source is rejected, as before', async () => {
    const state = await replay(ingestRasterOrchestrator, validatedWith({ ok: false, failure: { code: 'INVALID_INPUT', message: 'the file is truncated' } }), input);
    expect(names(flattenActions(state))).toEqual(['validateAndCreateTile', 'recordJob']);
    expect(flattenActions(state).at(-1)).toMatchObject({ input: { status: 'Failed', errorCodes: ['INVALID_INPUT'] } });
  });
});

describe('jobs of 1.6 and older replay their separate steps', () => {
  it.each(['', '1.2', '1.5', '1.6'])('version "%s" validates with validateRaster, then makes the tile in its own activity', async (version) => {
    const history = new HistoryBuilder().episode('ingestRaster', input, version).taskScheduled(0, 'validateRaster').episodeDone().episode().taskCompleted(0, ok(info));
    const state = await replay(ingestRasterOrchestrator, history, input);
    expect(names(flattenActions(state))).toEqual(['validateRaster', 'createAndRegisterTile']);
    // The item's time is still the clock after validation (episode 2), as these versions recorded it.
    expect(lastCall(flattenActions(state))).toMatchObject({ input: { datetime: episodeTime(2) } });
  });
});
