/**
 * The `removeSource` orchestration (issue 24's deletion path), replayed through the
 * durable-functions SDK: it looks first (`findSourceOutputs`); a live blob or a source never
 * ingested ends it with nothing removed; otherwise each collection's outputs are removed in turn
 * with the removal's own id and the deletion's time, and each collection's mosaic is asked for,
 * whose failure does not fail the removal.
 */
import { describe, expect, it } from 'vitest';
import { removeSourceOrchestrator } from '../../src/orchestrations/source.removal.orchestrator.js';
import type { RemovedSourceOutputs, SourceOutputsInCollection, SourceRemovalInput } from '../../src/pipeline/contracts.js';
import { flattenActions, HistoryBuilder, replay } from '../support/orchestrator.replay.js';

const ok = <T>(value: T) => ({ ok: true, value });
const input: SourceRemovalInput = { source: { container: 'uploads', name: 'dem/one.tif' }, deletion: { eventId: 'e-1', eventTime: '2026-12-06T10:00:00.000Z', sequencer: '0a0f' } };
const instanceId = 'remove-0123456789abcdef0123456789abcdef';
const inCollection = (collection: string): SourceOutputsInCollection => ({ collection, sourceKey: 'one-abc', published: { version: 'v0123456789ab', etag: '"0x1"', jobId: 'ingest-1' }, versions: ['v0123456789ab'] });
const removed = (collection: string): RemovedSourceOutputs => ({ collection, sourceKey: 'one-abc', unpublished: true, items: 2, blobs: 6 });

describe('removeSource orchestrator', () => {
  it('removes nothing while the blob exists, or when nothing was ingested of it', async () => {
    for (const [found, outcome] of [
      [{ outcome: 'source-present', etag: '"0x2"' }, 'source-present'],
      [{ outcome: 'gone', collections: [] }, 'not-ingested'],
    ] as const) {
      const history = new HistoryBuilder().episode('removeSource', input);
      expect(flattenActions(await replay(removeSourceOrchestrator, history, input, instanceId)).at(-1)).toMatchObject({ functionName: 'findSourceOutputs', input });
      history.taskScheduled(0, 'findSourceOutputs').episodeDone().episode().taskCompleted(0, ok(found));
      const done = await replay(removeSourceOrchestrator, history, input, instanceId);
      expect(flattenActions(done)).toHaveLength(1);
      expect(done.output).toEqual({ source: 'uploads/dem/one.tif', outcome, collections: [] });
    }
  });

  it('removes the outputs of each collection in turn, asks for each mosaic, and is not failed by a mosaic request that fails', async () => {
    const history = new HistoryBuilder().episode('removeSource', input).taskScheduled(0, 'findSourceOutputs').episodeDone();
    history.episode().taskCompleted(0, ok({ outcome: 'gone', collections: [inCollection('dems'), inCollection('rasters')] }));
    expect(flattenActions(await replay(removeSourceOrchestrator, history, input, instanceId)).at(-1)).toMatchObject({
      functionName: 'removeSourceOutputs',
      input: { source: input.source, outputs: inCollection('dems'), removal: { instanceId, eventTime: input.deletion.eventTime } },
    });
    history.taskScheduled(1, 'removeSourceOutputs').episodeDone().episode().taskCompleted(1, ok(removed('dems')));
    expect(flattenActions(await replay(removeSourceOrchestrator, history, input, instanceId)).at(-1)).toMatchObject({ functionName: 'requestCollectionMosaic', input: { collection: 'dems' } });
    // A final failure (after the activity's own retries, or one no retry helps): the removal goes on.
    history.taskScheduled(2, 'requestCollectionMosaic').episodeDone().episode().taskCompleted(2, { ok: false, failure: { code: 'STAC_API_UNAVAILABLE', message: 'busy' } });
    expect(flattenActions(await replay(removeSourceOrchestrator, history, input, instanceId)).at(-1)).toMatchObject({ functionName: 'removeSourceOutputs', input: { outputs: inCollection('rasters') } });
    history.taskScheduled(3, 'removeSourceOutputs').episodeDone().episode().taskCompleted(3, ok(removed('rasters')));
    history.taskScheduled(4, 'requestCollectionMosaic').episodeDone().episode().taskCompleted(4, ok({ instanceId: 'm' }));
    const done = await replay(removeSourceOrchestrator, history, input, instanceId);
    expect(done.output).toEqual({ source: 'uploads/dem/one.tif', outcome: 'removed', collections: [removed('dems'), removed('rasters')] });
  });
});
