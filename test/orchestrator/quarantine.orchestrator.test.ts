/**
 * Quality gates in the job orchestrator and the quarantine decision (issue 24, step 2), replayed
 * through the durable-functions SDK: a job whose input carries gates checks them after its tiles
 * and before finalize; failing ones end it quarantined (recorded so, nothing finalized, the
 * publication kept in its output); passing ones finalize as before; a job without gates schedules
 * no check (the history of instances started before gates existed is unchanged). The decision
 * orchestration publishes (finalize with the job's publication) or deletes, then marks the job.
 */
import { describe, expect, it } from 'vitest';
import { ingestRasterOrchestrator } from '../../src/orchestrations/ingest.orchestrator.js';
import { resolveQuarantineOrchestrator } from '../../src/orchestrations/quarantine.orchestrator.js';
import type { IngestInput, RegisteredItem, ResolveQuarantineInput, SourcePublication } from '../../src/pipeline/contracts.js';
import { crsViolation as violation, gatedInput as gated, ok, oneSourceInfo as info, oneSourceInput as base } from '../support/ingest.fixtures.js';
import { flattenActions, HistoryBuilder, replay } from '../support/orchestrator.replay.js';

const tile: RegisteredItem = { itemId: 'dem-one', itemUrl: 'http://stac/dem-one.json', cogUrl: 'http://cogs/dem-one.tif', cogBytes: 10, bbox: [9, 46, 9.1, 46.1] };

/** One tile, made inline (a single-tile layout: COG and item in one activity). */
function tilesMade(input: IngestInput): HistoryBuilder {
  return new HistoryBuilder()
    .episode('ingestRaster', input)
    .taskScheduled(0, 'validateRaster')
    .episodeDone()
    .episode()
    .taskCompleted(0, ok(info))
    .taskScheduled(1, 'createAndRegisterTile')
    .episodeDone()
    .episode()
    .taskCompleted(1, ok(tile));
}

describe('quality gates in the job orchestrator', () => {
  it('checks the gates after the tiles, before finalize, with what validation and the tiles measured', async () => {
    const state = await replay(ingestRasterOrchestrator, tilesMade(gated), gated);
    const check = flattenActions(state).at(-1)!;
    expect(check).toMatchObject({ functionName: 'checkQualityGates', input: { gates: gated.definition!.gates, sizeBytes: 1000, collection: 'dems', info: { crs: info.crs, bands: info.bands }, items: [{ itemId: 'dem-one', bbox: tile.bbox }] } });
  });

  it('ends quarantined on a violation: recorded so, nothing finalized, the publication kept', async () => {
    const history = tilesMade(gated).taskScheduled(2, 'checkQualityGates').episodeDone().episode().taskCompleted(2, ok([violation]));
    const recording = await replay(ingestRasterOrchestrator, history, gated);
    const actions = flattenActions(recording);
    expect(actions.map((action) => action.functionName)).not.toContain('finalizeCollection');
    expect(actions.at(-1)).toMatchObject({ functionName: 'recordJob', input: { status: 'Quarantined', tilesDone: 1 } });
    expect(recording.customStatus).toMatchObject({ stage: 'quarantined' });
    history.taskScheduled(3, 'recordJob').episodeDone().episode().taskCompleted(3, { ok: true });
    const done = await replay(ingestRasterOrchestrator, history, gated);
    expect(done.isDone).toBe(true);
    expect(done.output).toMatchObject({ collection: null, quarantine: { violations: [violation], definitionVersion: 3 }, publication: { items: [tile], outputs: gated.outputs, jobId: 'job-1' } });
  });

  it('finalizes as before when every gate passes', async () => {
    const history = tilesMade(gated).taskScheduled(2, 'checkQualityGates').episodeDone().episode().taskCompleted(2, ok([]));
    const state = await replay(ingestRasterOrchestrator, history, gated);
    expect(flattenActions(state).at(-1)).toMatchObject({ functionName: 'finalizeCollection' });
  });

  it('publishes its end as a CloudEvent from version 1.5 on, with an id made of the job and the transition', async () => {
    const history = new HistoryBuilder()
      .episode('ingestRaster', gated, '1.5')
      .taskScheduled(0, 'validateRaster').episodeDone().episode().taskCompleted(0, ok(info))
      .taskScheduled(1, 'createAndRegisterTile').episodeDone().episode().taskCompleted(1, ok(tile))
      .taskScheduled(2, 'checkQualityGates').episodeDone().episode().taskCompleted(2, ok([violation]))
      .taskScheduled(3, 'recordJob').episodeDone().episode().taskCompleted(3, { ok: true });
    const publishing = await replay(ingestRasterOrchestrator, history, gated);
    expect(flattenActions(publishing).at(-1)).toMatchObject({
      functionName: 'publishEvents',
      input: { collection: 'dems', definitionVersion: 3, events: [{ specversion: '1.0', id: 'job-1:quarantined', type: 'org.raster-ingest.job.quarantined', subject: 'jobs/job-1', data: { jobId: 'job-1', status: 'Quarantined', rules: ['crs.family'], definitionVersion: 3 } }] },
    });
    // Replayed, the same event: the same id and time.
    const again = await replay(ingestRasterOrchestrator, history, gated);
    expect(flattenActions(again).at(-1)!.input).toEqual(flattenActions(publishing).at(-1)!.input);
  });

  it('schedules no check for a job without gates (or without a definition)', async () => {
    for (const input of [base, { ...base, definition: { version: 1, gates: {} } }]) {
      const state = await replay(ingestRasterOrchestrator, tilesMade(input), input);
      expect(flattenActions(state).at(-1)).toMatchObject({ functionName: 'finalizeCollection' });
    }
  });
});

describe('resolveQuarantine orchestrator', () => {
  const publication: SourcePublication = { outputs: gated.outputs, source: gated.source, items: [tile], order: { sourceModified: gated.source.lastModified, jobStarted: '2026-01-01T00:00:01.000Z' }, options: gated.options, jobId: 'job-1' };
  const decide = (decision: 'approve' | 'reject'): ResolveQuarantineInput => ({ jobId: 'job-1', decision, collection: 'dems', publication, index: { key: gated.index.key } });
  const finalized = { collectionId: 'dems', collectionUrl: 'u', catalogUrl: 'c', itemCount: 1, replacedItems: 0, superseded: false, sources: [] };

  it('approve: publishes the job\'s own publication, asks for the mosaic, marks the job Completed', async () => {
    const input = decide('approve');
    const history = new HistoryBuilder().episode('resolveQuarantine', input);
    expect(flattenActions(await replay(resolveQuarantineOrchestrator, history, input, 'job-1-decision')).at(-1)).toMatchObject({ functionName: 'finalizeCollection', input: { collection: 'dems', publications: [publication] } });
    history.taskScheduled(0, 'finalizeCollection').episodeDone().episode().taskCompleted(0, ok(finalized));
    expect(flattenActions(await replay(resolveQuarantineOrchestrator, history, input, 'job-1-decision')).at(-1)).toMatchObject({ functionName: 'requestCollectionMosaic' });
    history.taskScheduled(1, 'requestCollectionMosaic').episodeDone().episode().taskCompleted(1, ok({ instanceId: 'm' }));
    expect(flattenActions(await replay(resolveQuarantineOrchestrator, history, input, 'job-1-decision')).at(-1)).toMatchObject({ functionName: 'markJobDecision', input: { key: gated.index.key, status: 'Completed' } });
    history.taskScheduled(2, 'markJobDecision').episodeDone().episode().taskCompleted(2, { ok: true });
    const publishing = await replay(resolveQuarantineOrchestrator, history, input, 'job-1-decision');
    expect(flattenActions(publishing).at(-1)).toMatchObject({ functionName: 'publishEvents', input: { collection: 'dems', events: [{ id: 'job-1:approved', type: 'org.raster-ingest.job.approved', specversion: '1.0' }] } });
    // A delivery dropped for good (here: a receiver answered 404) does not undo the decision.
    history.taskScheduled(3, 'publishEvents').episodeDone().episode().taskCompleted(3, ok({ delivered: 0, dropped: ['http://hooks: answered 404'] }));
    const done = await replay(resolveQuarantineOrchestrator, history, input, 'job-1-decision');
    expect(done.output).toEqual({ jobId: 'job-1', decision: 'approve', collection: finalized });
  });

  it('reject: deletes the kept outputs, marks the job Rejected', async () => {
    const input = decide('reject');
    const history = new HistoryBuilder().episode('resolveQuarantine', input);
    expect(flattenActions(await replay(resolveQuarantineOrchestrator, history, input, 'job-1-decision')).at(-1)).toMatchObject({ functionName: 'deleteQuarantinedOutputs', input: { outputs: gated.outputs, itemIds: ['dem-one'] } });
    history.taskScheduled(0, 'deleteQuarantinedOutputs').episodeDone().episode().taskCompleted(0, ok({ deleted: 3 }));
    expect(flattenActions(await replay(resolveQuarantineOrchestrator, history, input, 'job-1-decision')).at(-1)).toMatchObject({ functionName: 'markJobDecision', input: { status: 'Rejected' } });
    history.taskScheduled(1, 'markJobDecision').episodeDone().episode().taskCompleted(1, { ok: true });
    history.taskScheduled(2, 'publishEvents').episodeDone().episode().taskCompleted(2, ok({ delivered: 1, dropped: [] }));
    expect((await replay(resolveQuarantineOrchestrator, history, input, 'job-1-decision')).output).toEqual({ jobId: 'job-1', decision: 'reject', deleted: 3 });
  });
});
