/**
 * The `removeSource` orchestration (issue 24's deletion path), replayed through the
 * durable-functions SDK: it looks first (`findSourceOutputs`); a live blob ends it with nothing
 * removed; jobs of the source still running are waited for (a timer a minute apart, bounded),
 * then it looks again; a source never ingested ends it; otherwise each collection's outputs are
 * removed in turn with the removal's own id and the deletion's time, and each collection's mosaic
 * is asked for, whose failure does not fail the removal.
 */
import { describe, expect, it } from 'vitest';
import { removeSourceOrchestrator, runningJobsWait } from '../../src/orchestrations/source.removal.orchestrator.js';
import type { RemovedSourceOutputs, SourceOutputsInCollection, SourceRemovalInput } from '../../src/pipeline/contracts.js';
import { episodeTime, flattenActions, HistoryBuilder, replay } from '../support/orchestrator.replay.js';

const ok = <T>(value: T) => ({ ok: true, value });
const input: SourceRemovalInput = { source: { container: 'uploads', name: 'dem/one.tif' }, deletion: { eventId: 'e-1', eventTime: '2026-12-06T10:00:00.000Z', sequencer: '0a0f' } };
const instanceId = 'remove-0123456789abcdef0123456789abcdef';
const inCollection = (collection: string): SourceOutputsInCollection => ({ collection, sourceKey: 'one-abc', published: { version: 'v0123456789ab', etag: '"0x1"', jobId: 'ingest-1' }, versions: ['v0123456789ab'] });
const removed = (collection: string): RemovedSourceOutputs => ({ collection, sourceKey: 'one-abc', unpublished: true, items: 2, blobs: 6 });

describe('removeSource orchestrator', () => {
  it('removes nothing while the blob exists', async () => {
    const history = new HistoryBuilder().episode('removeSource', input);
    expect(flattenActions(await replay(removeSourceOrchestrator, history, input, instanceId)).at(-1)).toMatchObject({ functionName: 'findSourceOutputs', input });
    history.taskScheduled(0, 'findSourceOutputs').episodeDone().episode().taskCompleted(0, ok({ outcome: 'source-present', etag: '"0x2"' }));
    const done = await replay(removeSourceOrchestrator, history, input, instanceId);
    expect(flattenActions(done)).toHaveLength(1);
    expect(done.output).toEqual({ source: 'uploads/dem/one.tif', outcome: 'source-present', collections: [] });
  });

  it('ends with nothing removed when nothing was ingested of the blob and no job of it runs', async () => {
    const history = new HistoryBuilder().episode('removeSource', input).taskScheduled(0, 'findSourceOutputs').episodeDone();
    history.episode().taskCompleted(0, ok({ outcome: 'gone', collections: [] }));
    expect(flattenActions(await replay(removeSourceOrchestrator, history, input, instanceId)).at(-1)).toMatchObject({ functionName: 'findRunningJobs', input: { source: input.source } });
    history.taskScheduled(1, 'findRunningJobs').episodeDone().episode().taskCompleted(1, ok([]));
    const done = await replay(removeSourceOrchestrator, history, input, instanceId);
    expect(flattenActions(done)).toHaveLength(2);
    expect(done.output).toEqual({ source: 'uploads/dem/one.tif', outcome: 'not-ingested', collections: [] });
  });

  it('waits for running jobs of the source (a durable timer a minute apart), then looks again before it removes', async () => {
    const history = new HistoryBuilder().episode('removeSource', input).taskScheduled(0, 'findSourceOutputs').episodeDone();
    history.episode().taskCompleted(0, ok({ outcome: 'gone', collections: [] })).taskScheduled(1, 'findRunningJobs').episodeDone();
    history.episode().taskCompleted(1, ok(['ingest-running']));
    // A durable timer (action type 5) a minute after this episode's time.
    expect(flattenActions(await replay(removeSourceOrchestrator, history, input, instanceId)).at(-1)).toEqual(expect.objectContaining({ actionType: 5, fireAt: new Date(Date.parse(episodeTime(3)) + runningJobsWait.intervalMs) }));
    history.timerCreated(2).episodeDone().episode().timerFired(2);
    expect(flattenActions(await replay(removeSourceOrchestrator, history, input, instanceId)).at(-1)).toMatchObject({ functionName: 'findRunningJobs' });
    history.taskScheduled(3, 'findRunningJobs').episodeDone().episode().taskCompleted(3, ok([]));
    // The job left a tile before it ended: the second look finds it.
    expect(flattenActions(await replay(removeSourceOrchestrator, history, input, instanceId)).at(-1)).toMatchObject({ functionName: 'findSourceOutputs', input });
    history.taskScheduled(4, 'findSourceOutputs').episodeDone().episode().taskCompleted(4, ok({ outcome: 'gone', collections: [{ ...inCollection('dems'), published: null }] }));
    history.taskScheduled(5, 'removeSourceOutputs').episodeDone().episode().taskCompleted(5, ok({ ...removed('dems'), unpublished: false }));
    history.taskScheduled(6, 'requestCollectionMosaic').episodeDone().episode().taskCompleted(6, ok({ instanceId: 'm' }));
    const done = await replay(removeSourceOrchestrator, history, input, instanceId);
    expect(done.output).toEqual({ source: 'uploads/dem/one.tif', outcome: 'removed', collections: [{ ...removed('dems'), unpublished: false }], waitedFor: ['ingest-running'] });
  });

  it('removes the outputs of each collection in turn, asks for each mosaic, and is not failed by a mosaic request that fails', async () => {
    const history = new HistoryBuilder().episode('removeSource', input).taskScheduled(0, 'findSourceOutputs').episodeDone();
    history.episode().taskCompleted(0, ok({ outcome: 'gone', collections: [inCollection('dems'), inCollection('rasters')] })).taskScheduled(1, 'findRunningJobs').episodeDone();
    history.episode().taskCompleted(1, ok([]));
    expect(flattenActions(await replay(removeSourceOrchestrator, history, input, instanceId)).at(-1)).toMatchObject({
      functionName: 'removeSourceOutputs',
      input: { source: input.source, outputs: inCollection('dems'), removal: { instanceId, eventTime: input.deletion.eventTime } },
    });
    history.taskScheduled(2, 'removeSourceOutputs').episodeDone().episode().taskCompleted(2, ok(removed('dems')));
    expect(flattenActions(await replay(removeSourceOrchestrator, history, input, instanceId)).at(-1)).toMatchObject({ functionName: 'requestCollectionMosaic', input: { collection: 'dems' } });
    // A final failure (after the activity's own retries, or one no retry helps): the removal goes on.
    history.taskScheduled(3, 'requestCollectionMosaic').episodeDone().episode().taskCompleted(3, { ok: false, failure: { code: 'STAC_API_UNAVAILABLE', message: 'busy' } });
    expect(flattenActions(await replay(removeSourceOrchestrator, history, input, instanceId)).at(-1)).toMatchObject({ functionName: 'removeSourceOutputs', input: { outputs: inCollection('rasters') } });
    history.taskScheduled(4, 'removeSourceOutputs').episodeDone().episode().taskCompleted(4, ok(removed('rasters')));
    history.taskScheduled(5, 'requestCollectionMosaic').episodeDone().episode().taskCompleted(5, ok({ instanceId: 'm' }));
    const done = await replay(removeSourceOrchestrator, history, input, instanceId);
    expect(done.output).toEqual({ source: 'uploads/dem/one.tif', outcome: 'removed', collections: [removed('dems'), removed('rasters')] });
  });
});
