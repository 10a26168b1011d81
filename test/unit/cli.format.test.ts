import { describe, expect, it } from 'vitest';
import { formatBulkRetry, formatDuration, formatJobDetail, formatJobTable, formatProblem, formatTable, formatTileTable } from '../../cli/cli.format.js';
import { formatProgressLine } from '../../cli/job.progress.js';
import { sampleJob, sampleTile } from '../cli/fake.job.api.js';

describe('CLI text output', () => {
  it('aligns table columns', () => {
    expect(formatTable(['A', 'LONG'], [['xyz', '1'], ['x', '22']])).toBe('A    LONG\nxyz  1\nx    22');
  });

  it('lists jobs with their tile counts, failed ones separately', () => {
    const table = formatJobTable([sampleJob('ingest-1', 'Failed', { done: 7, failed: 2, total: 9 }), sampleJob('ingest-2', 'Running', { done: 3, failed: 0, total: 9 })]);
    const [header, failed, running] = table.split('\n');
    expect(header).toMatch(/^ID\s+STATUS\s+STAGE\s+TILES\s+COLLECTION\s+CREATED\s+SOURCE$/);
    expect(failed).toMatch(/^ingest-1\s+Failed\s+failed\s+7\/9 done, 2 failed\s+demo\s+2026-11-30 08:00:00Z\s+incoming\/scene.tif$/);
    expect(running).toContain('3/9 done ');
    expect(formatJobTable([])).toBe('No jobs match.');
  });

  it("shows a failed job's failures with their codes and how to retry it", () => {
    const detail = formatJobDetail(sampleJob('ingest-1', 'Failed', { done: 1, failed: 1, total: 2 }));
    expect(detail).toContain('status      Failed (failed)');
    expect(detail).toContain('route       functions, fan-out (the raster is below the worker threshold)');
    expect(detail).toContain('STORAGE_REFUSED scene-r0-c1: the COG blob is leased by another writer');
    expect(detail).toContain('Re-run what failed: raster-ingest retry ingest-1');
  });

  it("shows each derived collection's outcome, a failure with its code and whether a retry helps", () => {
    const job = sampleJob('ingest-1', 'Completed', { done: 1, failed: 0, total: 1 });
    job.derived = [
      { collection: 'dem-hillshade', product: 'hillshade', instanceId: 'ingest-1-derived-dem-hillshade', status: 'completed', items: 1, failures: [], failureCount: 0 },
      { collection: 'dem-ndi', product: 'normalized-difference', instanceId: 'ingest-1-derived-dem-ndi', status: 'failed', items: 0, failures: [{ code: 'INVALID_INPUT', message: 'derivedFrom.bands names band 2, and the source item has 1 band', itemId: 'scene-r0-c0', retryable: false }], failureCount: 1 },
    ];
    const detail = formatJobDetail(job);
    expect(detail).toContain('  derived     dem-hillshade (hillshade): 1 item published, run ingest-1-derived-dem-hillshade');
    expect(detail).toContain('              dem-ndi (normalized-difference): failed (1 failure), run ingest-1-derived-dem-ndi');
    // Not retryable: no hint that a retry may help.
    expect(detail).toMatch(/^ {4}INVALID_INPUT scene-r0-c0: derivedFrom\.bands names band 2, and the source item has 1 band$/m);
  });

  it('offers no retry for a permanent failure, and says what to do instead', () => {
    const job = sampleJob('ingest-1', 'Failed', { done: 0, failed: 0, total: 0, stage: 'failed' });
    const permanent = { ...job, errors: [{ code: 'INVALID_INPUT' as const, message: 'the raster has no CRS' }], retry: { offered: false, reason: 'INVALID_INPUT is a permanent failure: ...' } };
    const detail = formatJobDetail(permanent);
    expect(detail).not.toContain('raster-ingest retry');
    expect(detail).toContain('No retry: INVALID_INPUT is a permanent failure');
  });

  it("shows a failed job's partial output: the tiles it made and the ones that failed", () => {
    const job = sampleJob('ingest-1', 'Failed', { done: 1, failed: 1, total: 2 });
    job.output = {
      partial: true,
      tiles: [{ itemId: 'scene-r0-c0', cogUrl: 'http://blob/cogs/a.tif', itemUrl: 'http://blob/stac/a.json', cogBytes: 2048 }],
      failedTiles: [{ code: 'STORAGE_REFUSED', message: 'the COG blob is leased by another writer', itemId: 'scene-r0-c1' }],
      bytesIn: 4096,
      bytesOut: 2048,
    };
    const detail = formatJobDetail(job);
    expect(detail).toContain('output      partial: 1 COG tiles made (2.0 KiB), 1 failed\n    STORAGE_REFUSED scene-r0-c1: the COG blob is leased by another writer');
  });

  it('lists tiles with state, attempts, queue wait, duration and error', () => {
    const rows = formatTileTable([sampleTile(0, 'done'), sampleTile(1, 'failed', { code: 'TIMEOUT', message: 'the COG took too long' }), sampleTile(2, 'pending')]).split('\n');
    expect(rows[0]).toMatch(/^#\s+ITEM\s+STATE\s+ATTEMPTS\s+QUEUED\s+DURATION\s+ERROR$/);
    expect(rows[1]).toMatch(/^0\s+scene-r0-c0\s+done\s+1\s+6\.0 s\s+2\.5 s$/);
    expect(rows[2]).toMatch(/^1\s+scene-r0-c1\s+failed\s+1\s+6\.0 s\s+2\.5 s\s+TIMEOUT: the COG took too long$/);
    expect(rows[3]).toMatch(/^2\s+scene-r0-c2\s+pending\s+0\s+-\s+-$/);
    expect(formatDuration('2026-11-30T08:00:00Z', '2026-11-30T08:02:05Z')).toBe('2 min 5 s');
  });

  it('shows the work itself as the duration, the wait for a slot apart from it', () => {
    // 8.9 s in the queue for an activity slot, 136 ms of work: the duration is the work.
    const tile = { ...sampleTile(0, 'done'), queuedAt: '2026-11-30T08:00:00Z', startedAt: '2026-11-30T08:00:08.900Z', endedAt: '2026-11-30T08:00:09.036Z', waitMs: 8900, workMs: 136 };
    const queued = { ...sampleTile(1, 'queued'), queuedAt: '2026-11-30T08:00:00Z', startedAt: null, waitMs: null, workMs: null };
    const rows = formatTileTable([tile, queued]).split('\n');
    expect(rows[1]).toMatch(/^0\s+scene-r0-c0\s+done\s+1\s+8\.9 s\s+0\.1 s$/);
    expect(rows[2]).toMatch(/^1\s+scene-r0-c1\s+queued\s+1\s+-\s+-$/);
    // A service that does not tell them apart: the span from start to end, as before.
    const older = { ...sampleTile(2, 'done'), queuedAt: null, waitMs: null, workMs: null };
    expect(formatTileTable([older]).split('\n')[1]).toMatch(/^2\s+scene-r0-c2\s+done\s+1\s+-\s+2\.5 s$/);
  });

  it('says what a bulk retry did, or would do', () => {
    const jobs = [{ id: 'ingest-1', source: 'incoming/a.tif', errorCodes: ['TIMEOUT', 'STORAGE_REFUSED'], retriedAs: null, outcome: 'dry-run', reason: 'would retry: re-runs 2 failed tiles' }];
    const permanent = { id: 'ingest-9', source: 'incoming/bad.tif', errorCodes: ['INVALID_INPUT'], retriedAs: null, outcome: 'permanent', reason: 'INVALID_INPUT is a permanent failure' };
    expect(formatBulkRetry(jobs, true)).toMatch(/ingest-1\s+would retry\s+-\s+TIMEOUT,STORAGE_REFUSED\s+incoming\/a.tif\s+would retry: re-runs 2 failed tiles\n\n1 job would be retried \(dry run: nothing was started\)\./);
    // The dry run says which it would skip, and why.
    expect(formatBulkRetry([...jobs, permanent], true)).toMatch(/ingest-9\s+permanent\s+-\s+INVALID_INPUT\s+incoming\/bad.tif\s+INVALID_INPUT is a permanent failure\n\n1 job would be retried, 1 not \(see OUTCOME and REASON\) \(dry run: nothing was started\)\./);
    expect(formatBulkRetry([{ ...jobs[0]!, retriedAs: 'ingest-1-a2', outcome: 'started' }, { ...jobs[0]!, id: 'ingest-2', retriedAs: null, outcome: 'running' }], false)).toMatch(/ingest-1\s+started\s+ingest-1-a2[^]*ingest-2\s+running\s+-[^]*\n\n1 job retried, 1 not \(see OUTCOME and REASON\)\.$/);
    expect(formatBulkRetry([], true)).toBe('No job would be retried.');
  });

  it('prints a problem with its detail and fields', () => {
    expect(formatProblem('POST /api/jobs', 400, { title: 'Invalid job request', detail: 'source: not allowed', fields: ['source'] })).toBe(
      'POST /api/jobs answered 400 Invalid job request\n  source: not allowed\n  fields: source',
    );
  });

  it('describes progress in one line when the output is not a terminal', () => {
    expect(formatProgressLine('scene.tif', sampleJob('ingest-1', 'Running', { done: 3, failed: 1, total: 9 }))).toBe('scene.tif: creating-cogs, tiles 3/9 done, 1 failed');
    expect(formatProgressLine('scene.tif', sampleJob('ingest-1', 'Failed', { done: 8, failed: 1, total: 9 }))).toBe('scene.tif: FAILED, tiles 8/9 done, 1 failed');
  });
});
