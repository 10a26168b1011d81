/**
 * One moment of a job, three readers: the dashboard's header and legend, and the CLI. Tiles 1–3
 * have finished and tile 0 still runs; the job's status comes from the orchestrator replayed
 * through the real SDK, its ledger from the tile branches' own statuses. All say 3 of 4 done.
 */
import { describe, expect, it } from 'vitest';
import { formatJobTable, formatTileCounts } from '../../cli/cli.format.js';
import { formatProgressLine } from '../../cli/job.progress.js';
import type { InstanceStatus } from '../../src/jobs/durable.instances.js';
import { buildJobView } from '../../src/jobs/job.view.js';
import { buildTileEntry, type LedgerJob } from '../../src/jobs/tile.ledger.js';
import { ingestRasterOrchestrator } from '../../src/orchestrations/ingest.orchestrator.js';
import type { IngestInput, IngestProgress, RasterInfo, RegisteredItem } from '../../src/pipeline/contracts.js';
import { deriveItemId, deriveTileInstanceId } from '../../src/pipeline/ids.js';
import { ingestOptionsSchema } from '../../src/pipeline/options.js';
import { planTiles } from '../../src/raster/tile.plan.js';
import { countByState, formatTileSummary, summarizeTiles } from '../../web/tile.format.js';
import { HistoryBuilder, replay } from '../support/orchestrator.replay.js';

const input: IngestInput = {
  source: { container: 'uploads', name: 'dem.tif', etag: '"0x1"', size: 1000, lastModified: '2025-12-31T23:00:00.000Z' },
  collection: 'dems',
  options: ingestOptionsSchema.parse({}),
  tileSize: 512,
  outputs: { collection: 'dems', sourceKey: 'dem', version: 'v0123456789ab' },
  attempt: 1,
  index: { key: 'k', createdTime: '2026-01-01T00:00:00.000Z' },
  worker: { thresholdBytes: 1024 ** 3, tileTimeoutSeconds: 600 },
};
const info: RasterInfo = {
  driver: 'GTiff',
  width: 1000,
  height: 600,
  bands: [{ gdalDataType: 'Byte', nodata: null, colorInterpretation: 'Gray', hasColorTable: false, description: '', unit: null }],
  crs: { code: 'EPSG:32632', wkt2: 'PROJCRS[...]', projjson: {} },
  geoTransform: [500000, 10, 0, 5200000, 0, -10],
};
const windows = planTiles(info.width, info.height, input.tileSize);
const item = (itemId: string): RegisteredItem => ({ itemId, itemUrl: `http://stac/${itemId}.json`, cogUrl: `http://cogs/${itemId}.tif`, cogBytes: 1, bbox: [0, 0, 1, 1] });

describe('one job, one moment: the dashboard header, its legend and the CLI count the same tiles', () => {
  it('tiles 1–3 done and tile 0 running: 3 done, 0 failed, 4 in all everywhere', async () => {
    const jobId = 'ingest-progress';
    const finished = [3, 1, 2];
    const history = new HistoryBuilder().episode('ingestRaster', input).taskScheduled(0, 'validateRaster').episodeDone().episode().taskCompleted(0, { ok: true, value: info });
    windows.forEach((window, i) => history.subOrchestrationCreated(1 + i, 'ingestTile', deriveTileInstanceId(jobId, window)));
    history.episodeDone();
    for (const i of finished) history.episode().subOrchestrationCompleted(1 + i, item(deriveItemId(input.outputs.sourceKey, windows[i]!))).episodeDone();
    const state = await replay(ingestRasterOrchestrator, history.episode(), input, jobId);
    // The job's status as Durable stores it, and its view (GET /api/jobs/{id}, the CLI's `job`).
    const customStatus = JSON.parse(JSON.stringify(state.customStatus)) as IngestProgress;
    const status = { instanceId: jobId, name: 'ingestRaster', runtimeStatus: 'Running', createdTime: '2026-01-01T00:00:00Z', lastUpdatedTime: '2026-01-01T00:00:05Z', input, customStatus };
    const view = buildJobView(status);

    // The ledger (GET /api/jobs/{id}/tiles) at the same moment: each branch's own status.
    const job: LedgerJob = { id: jobId, input, progress: customStatus };
    const tiles = windows.map((window, i) => {
      const itemId = deriveItemId(input.outputs.sourceKey, window);
      const instance: InstanceStatus = finished.includes(i)
        ? { instanceId: deriveTileInstanceId(jobId, window), name: 'ingestTile', runtimeStatus: 'Completed', createdTime: '2026-01-01T00:00:02Z', lastUpdatedTime: '2026-01-01T00:00:04Z', output: item(itemId), customStatus: { itemId, stage: 'registered', route: 'functions', attempts: 1, startedAt: '2026-01-01T00:00:02Z', item: item(itemId) } }
        : { instanceId: deriveTileInstanceId(jobId, window), name: 'ingestTile', runtimeStatus: 'Running', createdTime: '2026-01-01T00:00:02Z', lastUpdatedTime: '2026-01-01T00:00:02Z', customStatus: { itemId, stage: 'creating-cog', route: 'functions', attempts: 1, startedAt: '2026-01-01T00:00:02Z' } };
      return buildTileEntry(job, window, { instance, jobEnded: false }, (ref) => `http://blobs/${ref.name}`);
    });

    const expected = { done: 3, failed: 0, total: 4 };
    expect(view.tiles).toEqual(expected);
    // Dashboard: the header, and the legend beside the grid.
    expect(summarizeTiles(view, tiles)).toEqual(expected);
    expect(formatTileSummary(summarizeTiles(view, tiles))).toBe('3 done, 0 failed, 4 in all');
    expect(countByState(tiles)).toEqual([
      { state: 'creating-cog', count: 1 },
      { state: 'done', count: 3 },
    ]);
    // CLI: `job`, `jobs` and the progress line of `--watch`.
    expect(formatTileCounts(view.tiles)).toBe('3/4 done');
    expect(formatJobTable([view])).toContain('3/4 done');
    expect(formatProgressLine('dem.tif', view)).toBe('dem.tif: creating-cogs, tiles 3/4 done');
  });

  it('the header falls back to the job view before the ledger holds every tile', () => {
    const view = { tiles: { done: 2, failed: 1, total: 5 } };
    expect(summarizeTiles(view, [])).toEqual({ done: 2, failed: 1, total: 5 });
    expect(summarizeTiles(view, [{ state: 'done' }, { state: 'failed' }, { state: 'done' }, { state: 'done' }, { state: 'running' }])).toEqual({ done: 3, failed: 1, total: 5 });
  });
});
