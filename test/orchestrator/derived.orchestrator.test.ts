/**
 * Derived products in the orchestrators (issue 24, part 3), replayed through the durable-functions
 * SDK. A job of version 1.6 on, once its items are published, reads the collections deriving from
 * its own and runs one `deriveProducts` sub-orchestration per derived collection, with ids made
 * from the job's; their outcomes (a failure included) are data in its status and output and never
 * fail it. A job of 1.5 replays as it ran: no derived step. `deriveProducts` makes each derived
 * item, then publishes them in the derived collection with the job's finalize step, or, when one
 * failed, publishes nothing and says why, with whether a retry helps.
 */
import { describe, expect, it } from 'vitest';
import { deriveProductsOrchestrator } from '../../src/orchestrations/derived.orchestrator.js';
import { ingestRasterOrchestrator } from '../../src/orchestrations/ingest.orchestrator.js';
import { resolveQuarantineOrchestrator } from '../../src/orchestrations/quarantine.orchestrator.js';
import { removeSourceOrchestrator } from '../../src/orchestrations/source.removal.orchestrator.js';
import { withQuarantineDecision } from '../../src/jobs/job.view.js';
import { buildJobView } from '../../src/jobs/job.view.js';
import type { DerivedCollectionPlan, DerivedOutcome, DeriveProductsInput, IngestOutput, RegisteredItem, ResolveQuarantineInput, ResolveQuarantineOutput, SourceRemovalInput } from '../../src/pipeline/contracts.js';
import { FailureError } from '../../src/pipeline/failure.js';
import { ok, oneSourceInfo as info, oneSourceInput as input } from '../support/ingest.fixtures.js';
import { flattenActions, HistoryBuilder, replay } from '../support/orchestrator.replay.js';

const actionType = { callActivityWithRetry: 1, callSubOrchestrator: 2 } as const;

const window = { index: 0, row: 0, col: 0, x: 0, y: 0, width: 100, height: 100 };
const tile: RegisteredItem = { itemId: 'dem-one-r0-c0', itemUrl: 'http://stac/dems/dem-one-r0-c0.json', cogUrl: 'http://cogs/dem-one-r0-c0.tif', cogBytes: 10, bbox: [9, 46, 9.1, 46.1], window };
const finalized = { collectionId: 'dems', collectionUrl: 'u', catalogUrl: 'c', itemCount: 1, replacedItems: 0, superseded: false, sources: [] };
const plans: DerivedCollectionPlan[] = [
  { collection: 'hillshade', definitionVersion: 2, derivation: { collection: 'dems', product: 'hillshade' } },
  { collection: 'dems-wgs84', definitionVersion: 1, derivation: { collection: 'dems', product: 'reproject', targetCrs: 'EPSG:4326' } },
];

/** A one-tile job of `version` up to its collection mosaic request, answered. */
function published(version: string): HistoryBuilder {
  return new HistoryBuilder()
    .episode('ingestRaster', input, version)
    .taskScheduled(0, 'validateRaster').episodeDone().episode().taskCompleted(0, ok(info))
    .taskScheduled(1, 'createAndRegisterTile').episodeDone().episode().taskCompleted(1, ok(tile))
    .taskScheduled(2, 'finalizeCollection').episodeDone().episode().taskCompleted(2, ok(finalized))
    .taskScheduled(3, 'requestCollectionMosaic').episodeDone().episode().taskCompleted(3, ok({ instanceId: 'mosaic' }));
}

const chainedOutcome: DerivedOutcome = { collection: 'hillshade-3857', product: 'reproject', instanceId: 'job-1-derived-hillshade-derived-hillshade-3857', status: 'completed', items: 1, failures: [], failureCount: 0 };
const completedOutcome: DerivedOutcome = { collection: 'hillshade', product: 'hillshade', instanceId: 'job-1-derived-hillshade', status: 'completed', items: 1, failures: [], failureCount: 0 };

describe('the derived step of a job (orchestration 1.6)', () => {
  it('replays a job of version 1.5 as it ran: recordJob right after the mosaic request, no derived step', async () => {
    const state = await replay(ingestRasterOrchestrator, published('1.5'), input);
    expect(flattenActions(state).at(-1)).toMatchObject({ functionName: 'recordJob', input: { status: 'Completed' } });
    expect(flattenActions(state).some((action) => action.functionName === 'listDerivedCollections')).toBe(false);
  });

  it('reads the collections deriving from its own once its items are published', async () => {
    const state = await replay(ingestRasterOrchestrator, published('1.6'), input);
    expect(flattenActions(state).at(-1)).toMatchObject({ actionType: actionType.callActivityWithRetry, functionName: 'listDerivedCollections', input: { collection: 'dems' } });
  });

  it('runs nothing more when none derives from it', async () => {
    const history = published('1.6').taskScheduled(4, 'listDerivedCollections').episodeDone().episode().taskCompleted(4, ok([]));
    const state = await replay(ingestRasterOrchestrator, history, input);
    expect(flattenActions(state).at(-1)).toMatchObject({ functionName: 'recordJob', input: { status: 'Completed' } });
  });

  it('runs one deriveProducts per derived collection at once, with ids made from the job\'s, and the source\'s COG names (never a URL)', async () => {
    const history = published('1.6').taskScheduled(4, 'listDerivedCollections').episodeDone().episode().taskCompleted(4, ok(plans));
    const state = await replay(ingestRasterOrchestrator, history, input);
    const started = flattenActions(state).filter((action) => action.actionType === actionType.callSubOrchestrator);
    expect(started.map((action) => [action.functionName, action.instanceId])).toEqual([
      ['deriveProducts', 'job-1-derived-hillshade'],
      ['deriveProducts', 'job-1-derived-dems-wgs84'],
    ]);
    const derivedInput = started[0]!.input as DeriveProductsInput;
    expect(derivedInput).toEqual({
      jobId: 'job-1',
      source: input.source,
      sourceOutputs: input.outputs,
      order: { sourceModified: input.source.lastModified, jobStarted: derivedInput.datetime },
      items: [{ itemId: tile.itemId, itemUrl: tile.itemUrl, window }],
      target: plans[0],
      datetime: derivedInput.datetime,
    });
    expect(JSON.stringify(derivedInput)).not.toContain(tile.cogUrl);
    expect(state.customStatus).toMatchObject({ stage: 'deriving' });
  });

  it('completes with each outcome as data: a failed derived collection does not fail the job', async () => {
    const history = published('1.6')
      .taskScheduled(4, 'listDerivedCollections').episodeDone().episode().taskCompleted(4, ok(plans))
      .subOrchestrationCreated(5, 'deriveProducts', 'job-1-derived-hillshade')
      .subOrchestrationCreated(6, 'deriveProducts', 'job-1-derived-dems-wgs84')
      .episodeDone().episode()
      .subOrchestrationCompleted(5, { ...completedOutcome, downstream: [chainedOutcome] })
      // A sub-orchestration that crashed outright (its own failures are outcomes): shown, not thrown.
      .subOrchestrationFailed(6, new FailureError({ code: 'TRANSIENT_STORAGE', message: 'storage was busy' }).message);
    const recording = await replay(ingestRasterOrchestrator, history, input);
    expect(flattenActions(recording).at(-1)).toMatchObject({ functionName: 'recordJob', input: { status: 'Completed', errorCodes: [] } });
    const failedOutcome: DerivedOutcome = { collection: 'dems-wgs84', product: 'reproject', instanceId: 'job-1-derived-dems-wgs84', status: 'failed', items: 0, failures: [{ code: 'TRANSIENT_STORAGE', message: 'storage was busy', retryable: true }], failureCount: 1 };
    // Flat: each collection's outcome, then those of the collections deriving from it.
    expect(recording.customStatus).toMatchObject({ stage: 'completed', derived: [completedOutcome, chainedOutcome, failedOutcome] });
    history.taskScheduled(7, 'recordJob').episodeDone().episode().taskCompleted(7, { ok: true });
    history.taskScheduled(8, 'publishEvents').episodeDone().episode().taskCompleted(8, ok({ delivered: 0, dropped: [] }));
    const done = await replay(ingestRasterOrchestrator, history, input);
    expect(done.isDone).toBe(true);
    expect((done.output as IngestOutput).derived).toEqual([completedOutcome, chainedOutcome, failedOutcome]);
    // The job view shows them, from the output.
    const view = buildJobView({ instanceId: 'job-1', name: 'ingestRaster', runtimeStatus: 'Completed', createdTime: '2026-01-01T00:00:00Z', lastUpdatedTime: '2026-01-01T00:00:09Z', input, output: done.output, customStatus: done.customStatus });
    expect(view.status).toBe('Completed');
    expect(view.derived).toEqual([completedOutcome, chainedOutcome, failedOutcome]);
  });

  it('shows the lookup\'s failure and completes when the derived collections cannot be read', async () => {
    // The activity's final answer (after its retries, or a refusal no retry fixes).
    const history = published('1.6').taskScheduled(4, 'listDerivedCollections').episodeDone().episode().taskCompleted(4, { ok: false, failure: { code: 'STORAGE_REFUSED', message: 'the definitions table refused the read' } });
    const state = await replay(ingestRasterOrchestrator, history, input);
    expect(flattenActions(state).at(-1)).toMatchObject({ functionName: 'recordJob', input: { status: 'Completed' } });
    expect(state.customStatus).toMatchObject({ stage: 'completed', derivedLookupFailure: { code: 'STORAGE_REFUSED' } });
  });
});

describe('deriveProducts orchestrator', () => {
  const derive: DeriveProductsInput = {
    jobId: 'job-1',
    source: input.source,
    sourceOutputs: input.outputs,
    order: { sourceModified: input.source.lastModified, jobStarted: '2026-01-01T00:00:05.000Z' },
    items: [
      { itemId: 'dem-one-r0-c0', itemUrl: 'http://stac/a.json', window },
      { itemId: 'dem-one-r0-c1', itemUrl: 'http://stac/b.json', window: { ...window, index: 1, col: 1, x: 100 } },
    ],
    target: plans[0]!,
    datetime: '2026-01-01T00:00:05.000Z',
  };
  const instanceId = 'job-1-derived-hillshade';
  const outputs = { collection: 'hillshade', sourceKey: 'dem-one', version: 'v0123456789ab-d2' };
  const made = (itemId: string): RegisteredItem => ({ itemId, itemUrl: `http://stac/hillshade/${itemId}.json`, cogUrl: `http://cogs/hillshade/${itemId}.tif`, cogBytes: 5, bbox: [9, 46, 9.1, 46.1] });

  it('makes each derived item in turn from the source COG names, into the derived collection\'s own version folder', async () => {
    const history = new HistoryBuilder().episode('deriveProducts', derive);
    const first = await replay(deriveProductsOrchestrator, history, derive, instanceId);
    expect(flattenActions(first)).toEqual([
      expect.objectContaining({ functionName: 'createDerivedItem', input: { source: derive.source, sourceOutputs: derive.sourceOutputs, sourceItem: derive.items[0], outputs, derivation: plans[0]!.derivation, datetime: derive.datetime, order: derive.order } }),
    ]);
    history.taskScheduled(0, 'createDerivedItem').episodeDone().episode().taskCompleted(0, ok(made('dem-one-r0-c0')));
    const second = await replay(deriveProductsOrchestrator, history, derive, instanceId);
    expect(flattenActions(second).at(-1)).toMatchObject({ functionName: 'createDerivedItem', input: { sourceItem: derive.items[1] } });
    expect(second.customStatus).toMatchObject({ collection: 'hillshade', stage: 'deriving', itemsDone: 1, itemsTotal: 2 });
  });

  it('publishes the derived items with the job\'s finalize, marked as derived, then asks for the mosaic', async () => {
    const history = new HistoryBuilder()
      .episode('deriveProducts', derive)
      .taskScheduled(0, 'createDerivedItem').episodeDone().episode().taskCompleted(0, ok(made('dem-one-r0-c0')))
      .taskScheduled(1, 'createDerivedItem').episodeDone().episode().taskCompleted(1, ok(made('dem-one-r0-c1')));
    const finalizing = await replay(deriveProductsOrchestrator, history, derive, instanceId);
    expect(flattenActions(finalizing).at(-1)).toMatchObject({
      functionName: 'finalizeCollection',
      input: { collection: 'hillshade', datetime: derive.datetime, publications: [{ outputs, source: derive.source, items: [made('dem-one-r0-c0'), made('dem-one-r0-c1')], order: derive.order, jobId: instanceId, derivedFrom: { collection: 'dems' } }] },
    });
    history.taskScheduled(2, 'finalizeCollection').episodeDone().episode().taskCompleted(2, ok({ ...finalized, collectionId: 'hillshade' }));
    expect(flattenActions(await replay(deriveProductsOrchestrator, history, derive, instanceId)).at(-1)).toMatchObject({ functionName: 'requestCollectionMosaic', input: { collection: 'hillshade' } });
    history.taskScheduled(3, 'requestCollectionMosaic').episodeDone().episode().taskCompleted(3, ok({ instanceId: 'm' }));
    // Newly published in hillshade: the collections deriving from it, if any, take their turn.
    expect(flattenActions(await replay(deriveProductsOrchestrator, history, derive, instanceId)).at(-1)).toMatchObject({ functionName: 'listDerivedCollections', input: { collection: 'hillshade' } });
    history.taskScheduled(4, 'listDerivedCollections').episodeDone().episode().taskCompleted(4, ok([]));
    const done = await replay(deriveProductsOrchestrator, history, derive, instanceId);
    expect(done.isDone).toBe(true);
    expect(done.output).toEqual({ collection: 'hillshade', product: 'hillshade', instanceId, status: 'completed', items: 2, failures: [], failureCount: 0 });
  });

  it('runs the collections deriving from the derived one down the chain, never one already in it, and returns their outcomes with its own', async () => {
    const history = new HistoryBuilder()
      .episode('deriveProducts', derive)
      .taskScheduled(0, 'createDerivedItem').episodeDone().episode().taskCompleted(0, ok(made('dem-one-r0-c0')))
      .taskScheduled(1, 'createDerivedItem').episodeDone().episode().taskCompleted(1, ok(made('dem-one-r0-c1')))
      .taskScheduled(2, 'finalizeCollection').episodeDone().episode().taskCompleted(2, ok({ ...finalized, collectionId: 'hillshade' }))
      .taskScheduled(3, 'requestCollectionMosaic').episodeDone().episode().taskCompleted(3, ok({ instanceId: 'm' }));
    // hillshade-3857 derives from hillshade; "dems" (the source, a cycle that slipped in) is left out.
    const downstreamPlan: DerivedCollectionPlan = { collection: 'hillshade-3857', definitionVersion: 1, derivation: { collection: 'hillshade', product: 'reproject', targetCrs: 'EPSG:3857' } };
    const cycle: DerivedCollectionPlan = { collection: 'dems', definitionVersion: 4, derivation: { collection: 'hillshade', product: 'slope' } };
    history.taskScheduled(4, 'listDerivedCollections').episodeDone().episode().taskCompleted(4, ok([cycle, downstreamPlan]));
    const started = flattenActions(await replay(deriveProductsOrchestrator, history, derive, instanceId)).filter((action) => action.actionType === actionType.callSubOrchestrator);
    expect(started.map((action) => action.instanceId)).toEqual(['job-1-derived-hillshade-derived-hillshade-3857']);
    expect(started[0]!.input).toMatchObject({ sourceOutputs: outputs, chain: ['dems', 'hillshade'], target: downstreamPlan, jobId: instanceId, items: [{ itemId: 'dem-one-r0-c0' }, { itemId: 'dem-one-r0-c1' }] });
    const further: DerivedOutcome = { collection: 'hillshade-3857', product: 'reproject', instanceId: 'job-1-derived-hillshade-derived-hillshade-3857', status: 'completed', items: 2, failures: [], failureCount: 0 };
    history.subOrchestrationCreated(5, 'deriveProducts', 'job-1-derived-hillshade-derived-hillshade-3857').episodeDone().episode().subOrchestrationCompleted(5, further);
    const done = await replay(deriveProductsOrchestrator, history, derive, instanceId);
    expect(done.output).toEqual({ collection: 'hillshade', product: 'hillshade', instanceId, status: 'completed', items: 2, failures: [], failureCount: 0, downstream: [further] });
  });

  it('publishes nothing when an item fails, and says which, why, and that no retry helps a permanent failure', async () => {
    const message = 'a hillshade is made from a one-band DEM; the source item has 3 bands';
    const history = new HistoryBuilder()
      .episode('deriveProducts', derive)
      .taskScheduled(0, 'createDerivedItem').episodeDone().episode().taskCompleted(0, { ok: false, failure: { code: 'INVALID_INPUT', message } })
      .taskScheduled(1, 'createDerivedItem').episodeDone().episode().taskCompleted(1, ok(made('dem-one-r0-c1')));
    const done = await replay(deriveProductsOrchestrator, history, derive, instanceId);
    expect(done.isDone).toBe(true);
    expect(flattenActions(done).some((action) => action.functionName === 'finalizeCollection')).toBe(false);
    expect(done.output).toEqual({ collection: 'hillshade', product: 'hillshade', instanceId, status: 'failed', items: 0, failures: [{ code: 'INVALID_INPUT', message, itemId: 'dem-one-r0-c0', retryable: false }], failureCount: 1 });
    expect(done.customStatus).toMatchObject({ stage: 'failed', itemsFailed: 1 });
  });
});

describe('approving a quarantined job runs its derived products (1.6 on)', () => {
  const publication = { outputs: input.outputs, source: input.source, items: [tile], order: { sourceModified: input.source.lastModified, jobStarted: '2026-01-01T00:00:01.000Z' }, options: input.options, jobId: 'job-1' };
  const approve: ResolveQuarantineInput = { jobId: 'job-1', decision: 'approve', collection: 'dems', publication, index: { key: input.index.key }, definitionVersion: 2 };
  const decisionId = 'job-1-decision';
  const approved = (version: string): HistoryBuilder =>
    new HistoryBuilder()
      .episode('resolveQuarantine', approve, version)
      .taskScheduled(0, 'finalizeCollection').episodeDone().episode().taskCompleted(0, ok(finalized))
      .taskScheduled(1, 'requestCollectionMosaic').episodeDone().episode().taskCompleted(1, ok({ instanceId: 'm' }));

  it('replays a decision of 1.5 as it ran: marks the job right after the mosaic request', async () => {
    expect(flattenActions(await replay(resolveQuarantineOrchestrator, approved('1.5'), approve, decisionId)).at(-1)).toMatchObject({ functionName: 'markJobDecision' });
  });

  it('derives from the published items, with ids made from the decision\'s, and shows the outcomes in the job view', async () => {
    const history = approved('1.6');
    expect(flattenActions(await replay(resolveQuarantineOrchestrator, history, approve, decisionId)).at(-1)).toMatchObject({ functionName: 'listDerivedCollections', input: { collection: 'dems' } });
    history.taskScheduled(2, 'listDerivedCollections').episodeDone().episode().taskCompleted(2, ok([plans[0]]));
    const deriving = await replay(resolveQuarantineOrchestrator, history, approve, decisionId);
    expect(flattenActions(deriving).at(-1)).toMatchObject({ functionName: 'deriveProducts', instanceId: 'job-1-decision-derived-hillshade', input: { jobId: 'job-1', sourceOutputs: input.outputs, items: [{ itemId: tile.itemId, itemUrl: tile.itemUrl, window }] } });
    const outcome = { ...completedOutcome, instanceId: 'job-1-decision-derived-hillshade' };
    history.subOrchestrationCreated(3, 'deriveProducts', 'job-1-decision-derived-hillshade').episodeDone().episode().subOrchestrationCompleted(3, outcome);
    history.taskScheduled(4, 'markJobDecision').episodeDone().episode().taskCompleted(4, { ok: true });
    history.taskScheduled(5, 'publishEvents').episodeDone().episode().taskCompleted(5, ok({ delivered: 0, dropped: [] }));
    const done = await replay(resolveQuarantineOrchestrator, history, approve, decisionId);
    expect(done.isDone).toBe(true);
    expect((done.output as ResolveQuarantineOutput).derived).toEqual([outcome]);
    const quarantined = buildJobView({ instanceId: 'job-1', name: 'ingestRaster', runtimeStatus: 'Completed', createdTime: '2026-01-01T00:00:00Z', lastUpdatedTime: '2026-01-01T00:00:09Z', input, output: { collection: null, tiles: [], bytesIn: 0, bytesOut: 0, quarantine: { violations: [], definitionVersion: 2 }, publication } });
    expect(quarantined.derived).toEqual([]);
    const view = withQuarantineDecision(quarantined, { decision: 'approve', id: decisionId, status: 'Completed', derived: [outcome] });
    expect(view).toMatchObject({ status: 'Completed', derived: [outcome], quarantine: { decision: { decision: 'approve', id: decisionId, status: 'Completed' } } });
    expect(view.quarantine!.decision).not.toHaveProperty('derived');
  });
});

describe('removing a source removes its derived products (1.6 on)', () => {
  const removal: SourceRemovalInput = { source: { container: 'uploads', name: 'dem/one.tif' }, deletion: { eventId: 'e-1', eventTime: '2026-12-06T10:00:00.000Z', sequencer: '0a0f' } };
  const removalId = 'remove-0123456789abcdef0123456789abcdef';
  const found = { collection: 'dems', sourceKey: 'dem-one', published: { version: 'v0123456789ab', etag: '"0x1"', jobId: 'job-1' }, versions: ['v0123456789ab'] };
  const sourceRemoved = (version: string): HistoryBuilder =>
    new HistoryBuilder()
      .episode('removeSource', removal, version)
      .taskScheduled(0, 'findSourceOutputs').episodeDone().episode().taskCompleted(0, ok({ outcome: 'gone', collections: [found] }))
      .taskScheduled(1, 'findRunningJobs').episodeDone().episode().taskCompleted(1, ok([]))
      .taskScheduled(2, 'removeSourceOutputs').episodeDone().episode().taskCompleted(2, ok({ collection: 'dems', sourceKey: 'dem-one', unpublished: true, items: 1, blobs: 3 }));

  it('asks for the derived products of the source in the collections deriving from each one it was removed from', async () => {
    const history = sourceRemoved('1.6');
    expect(flattenActions(await replay(removeSourceOrchestrator, history, removal, removalId)).at(-1)).toMatchObject({ functionName: 'removeDerivedProducts', input: { sourceCollection: 'dems', sourceKey: 'dem-one' } });
    history.taskScheduled(3, 'removeDerivedProducts').episodeDone().episode().taskCompleted(3, ok({ collections: [{ collection: 'hillshade', items: 1, blobs: 2 }] }));
    expect(flattenActions(await replay(removeSourceOrchestrator, history, removal, removalId)).at(-1)).toMatchObject({ functionName: 'requestCollectionMosaic', input: { collection: 'dems' } });
  });

  it('replays a removal of 1.5 as it ran: the mosaic request right after the outputs', async () => {
    expect(flattenActions(await replay(removeSourceOrchestrator, sourceRemoved('1.5'), removal, removalId)).at(-1)).toMatchObject({ functionName: 'requestCollectionMosaic' });
  });
});
