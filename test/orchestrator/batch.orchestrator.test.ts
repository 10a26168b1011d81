/**
 * A batch survives any mix of junk sources: names at Azure's 1,024-character limit (and entries
 * longer still, with quotes, control characters and emoji) that fail or name nothing are listed
 * bounded, the lists capped with the counts exact, and the custom status stays under Azure's
 * 16 KB of UTF-16 JSON at every step; the good source is ingested. Replayed with the real SDK.
 */
import { describe, expect, it } from 'vitest';
import { ingestBatchOrchestrator } from '../../src/orchestrations/batch.orchestrator.js';
import { batchStatusBounds, statusBytes } from '../../src/pipeline/batch.status.js';
import type { BatchInput, BatchProgress, IngestInput } from '../../src/pipeline/contracts.js';
import { FailureError } from '../../src/pipeline/failure.js';
import { ingestOptionsSchema } from '../../src/pipeline/options.js';
import { flattenActions, HistoryBuilder, replay } from '../support/orchestrator.replay.js';

const ok = <T>(value: T) => ({ ok: true, value });
const azureCustomStatusLimit = 16 * 1024;

const batch: BatchInput = {
  batchId: 'batch-1',
  selection: { kind: 'prefix', container: 'uploads', prefix: `junk/${'p'.repeat(1000)}/` },
  collection: 'junk',
  options: ingestOptionsSchema.parse({}),
  tileSize: 512,
  filters: {},
  window: 40,
  chunkSize: 40,
  worker: { thresholdBytes: 1 << 30, tileTimeoutSeconds: 600 },
  attempt: 1,
};

/** A 1,024-character blob name (Azure's limit), distinct in its last characters only. */
const longName = (i: number): string => `junk/${'n'.repeat(1024 - 5 - 9)}-${String(i).padStart(4, '0')}.tif`;
const source = (name: string) => ({ container: 'uploads', name, etag: '"e"', size: 10, lastModified: '2026-01-01T00:00:00.000Z' });
const ingestInput = (name: string): IngestInput => ({
  source: source(name),
  collection: 'junk',
  options: batch.options,
  tileSize: 512,
  outputs: { collection: 'junk', sourceKey: 'k', version: 'v0123456789ab' },
  attempt: 1,
  index: { key: 'k', createdTime: '2026-01-01T00:00:00.000Z' },
  worker: batch.worker,
  deferFinalize: true,
});

/** Manifest-style junk: long entries, some with what JSON escapes six-fold, some with emoji. */
const junkEntry = (i: number): string => (i % 3 === 0 ? `uploads/${'\u0001"\\'.repeat(1300)}${i}` : i % 3 === 1 ? `uploads/${'😀'.repeat(2000)}${i}` : `nope/${'x'.repeat(3000)}${i}`);

function expectBounded(progress: BatchProgress): void {
  expect(statusBytes(progress)).toBeLessThanOrEqual(batchStatusBounds.statusBytes);
  expect(statusBytes(progress)).toBeLessThan(azureCustomStatusLimit);
  expect(progress.failures.length).toBeLessThanOrEqual(batchStatusBounds.listed);
  expect(progress.missing.length).toBeLessThanOrEqual(batchStatusBounds.listed);
  for (const failure of progress.failures) expect(failure.source.length + failure.message.length).toBeLessThanOrEqual(batchStatusBounds.source + batchStatusBounds.message);
  expect(progress.selection.length).toBeLessThanOrEqual(batchStatusBounds.selection);
}

describe('a batch of junk sources', () => {
  const junk = 30;
  const names = Array.from({ length: junk }, (_, i) => longName(i));
  const runs = [...names, 'junk/good.tif'].map((name, i) => ({ kind: 'run', source: `uploads/${name}`, instanceId: `ingest-b1-0-${i}`, input: ingestInput(name) }));

  /** Listed (30 junk names, 30 junk manifest entries), prepared, all jobs started; `settled` of them ended. */
  function history(settled: number): HistoryBuilder {
    const history = new HistoryBuilder().episode('ingestBatch', batch).taskScheduled(0, 'listBatchSources').episodeDone().episode();
    history.taskCompleted(0, ok({ sources: [...names, 'junk/good.tif'].map(source), missing: Array.from({ length: junk }, (_, i) => ({ entry: junkEntry(i), reason: `no such blob ${junkEntry(i)}` })), cursor: 'next' }));
    history.taskScheduled(1, 'prepareBatchJobs').episodeDone().episode().taskCompleted(1, ok(runs));
    for (const [i, run] of runs.entries()) history.subOrchestrationCreated(2 + i, 'ingestRaster', run.instanceId);
    history.episodeDone().episode();
    for (let i = 0; i < settled; i++) {
      if (i < junk) {
        // The job's own message names the source in full, as a GDAL message may.
        history.subOrchestrationFailed(2 + i, new FailureError({ code: 'UNSUPPORTED_FORMAT', message: `uploads/${names[i]} is not a raster GDAL can read: ${'detail '.repeat(200)}` }).message);
      } else {
        const publication = { outputs: { collection: 'junk', sourceKey: 'good', version: 'v1' }, source: source('junk/good.tif'), items: [{ itemId: 'good-r0-c0', itemUrl: 'i', cogUrl: 'c', cogBytes: 1, bbox: [0, 0, 1, 1] }], order: { sourceModified: 'a', jobStarted: 'b' } };
        history.subOrchestrationCompleted(2 + i, { collection: null, publication, tiles: [], bytesIn: 1, bytesOut: 1 });
      }
    }
    return history;
  }

  it('keeps its status under 16 KB at every step, listing bounded, distinct names and exact counts', async () => {
    for (const settled of [0, 1, 12, junk, junk + 1]) {
      const state = await replay(ingestBatchOrchestrator, history(settled), batch, 'batch-1');
      const progress = state.customStatus as BatchProgress;
      expectBounded(progress);
      expect(progress.counts).toMatchObject({ total: junk + 1, missing: junk, failed: Math.min(settled, junk), done: Math.max(0, settled - junk) });
    }
    const state = await replay(ingestBatchOrchestrator, history(junk + 1), batch, 'batch-1');
    const progress = state.customStatus as BatchProgress;
    // The good source is finalized with the chunk.
    expect(flattenActions(state).at(-1)).toMatchObject({ functionName: 'finalizeCollection', input: { publications: [expect.objectContaining({ source: expect.objectContaining({ name: 'junk/good.tif' }) })] } });
    expect(progress.stage).toBe('finalizing');
    // Names cut with a hash of the whole: the first ten junk sources, each still told apart.
    expect(progress.failures.length).toBeGreaterThan(0);
    expect(new Set(progress.failures.map((failure) => failure.source)).size).toBe(progress.failures.length);
    for (const failure of progress.failures) {
      expect(failure).toMatchObject({ code: 'UNSUPPORTED_FORMAT', source: expect.stringMatching(/^uploads\/junk\/n+…#[0-9a-f]{8}$/), jobId: expect.stringMatching(/^ingest-b1-0-\d+$/) });
    }
    expect(progress.missing.length).toBeGreaterThan(0);
    for (const missing of progress.missing) expect(missing).toMatch(/…#[0-9a-f]{8}: no such blob/);
  });

  /** Every job ended and the chunk finalized: the batch continues as new with what it carries. */
  function finalized(): HistoryBuilder {
    const finalize = 2 + runs.length;
    const done = history(junk + 1).taskScheduled(finalize, 'finalizeCollection').episodeDone().episode();
    return done.taskCompleted(finalize, ok({ collectionId: 'junk', collectionUrl: 'c', catalogUrl: 'k', itemCount: 1, replacedItems: 0, superseded: false, sources: [{ sourceKey: 'good', outcome: 'published', replacedItems: 0 }] }));
  }

  it('carries only the bounded lists into the next chunk', async () => {
    const next = flattenActions(await replay(ingestBatchOrchestrator, finalized(), batch, 'batch-1')).at(-1) as { input: BatchInput };
    const carried = next.input.carry!;
    expect(carried.counts).toMatchObject({ total: junk + 1, failed: junk, missing: junk, done: 1 });
    expect(carried.failures.length).toBeLessThanOrEqual(batchStatusBounds.listed);
    expect(statusBytes({ failures: carried.failures, missing: carried.missing })).toBeLessThan(batchStatusBounds.statusBytes);
  });

  it('bounds the reason it failed with, in its status and its error', async () => {
    const history = new HistoryBuilder().episode('ingestBatch', batch).taskScheduled(0, 'listBatchSources').episodeDone().episode();
    // A final failure comes back as the activity's result (it is not retried).
    history.taskCompleted(0, { ok: false, failure: { code: 'INVALID_INPUT', message: `the manifest ${'m'.repeat(5000)} is not valid` } });
    const failed = await replay(ingestBatchOrchestrator, history, batch, 'batch-1');
    const progress = failed.customStatus as BatchProgress;
    expectBounded(progress);
    expect(progress).toMatchObject({ stage: 'failed', reason: expect.stringMatching(/^the manifest m+…#[0-9a-f]{8}$/) });
    expect(progress.reason!.length).toBe(batchStatusBounds.reason);
    expect(String(failed.error).length).toBeLessThan(1000);
  });
});
