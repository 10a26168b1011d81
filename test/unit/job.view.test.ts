import { describe, expect, it } from 'vitest';
import { buildJobView, type OrchestrationStatusLike } from '../../src/jobs/job.view.js';

const base: OrchestrationStatusLike = {
  instanceId: 'ingest-1',
  name: 'ingestRaster',
  runtimeStatus: 'Running',
  createdTime: '2026-01-01T00:00:00Z',
  lastUpdatedTime: '2026-01-01T00:00:05Z',
  input: { source: { container: 'uploads', name: 'a.tif', etag: 'x', size: 10 }, collection: 'rasters', options: {}, tileSize: 512 },
  output: null,
  customStatus: { source: 'uploads/a.tif', collection: 'rasters', stage: 'creating-cogs', tilesDone: 3, tilesTotal: 4, itemsRegistered: 3, errors: [] },
};

describe('job view', () => {
  it('shows tiles done while the job fans out', () => {
    const view = buildJobView(base);
    expect(view).toMatchObject({ id: 'ingest-1', status: 'Running', stage: 'creating-cogs', source: 'uploads/a.tif', collection: 'rasters', tiles: { done: 3, total: 4 }, itemsRegistered: 3 });
    expect(view.createdTime).toBe('2026-01-01T00:00:00.000Z');
  });

  it('shows the failure reason of a failed job once', () => {
    const failed = buildJobView({ ...base, runtimeStatus: 'Failed', output: 'Cannot ingest uploads/a.tif: not a raster', customStatus: { ...(base.customStatus as object), stage: 'failed', errors: ['not a raster'] } });
    expect(failed.stage).toBe('failed');
    expect(failed.errors).toEqual(['Cannot ingest uploads/a.tif: not a raster']);
    const failedEarly = buildJobView({ ...base, runtimeStatus: 'Failed', output: 'Orchestrator function crashed', customStatus: null });
    expect(failedEarly.errors).toEqual(['Orchestrator function crashed']);
    expect(failedEarly.output).toBeNull();
  });

  it('takes source and collection from the status when the instance list omits inputs', () => {
    const view = buildJobView({ ...base, input: null });
    expect(view).toMatchObject({ source: 'uploads/a.tif', collection: 'rasters' });
  });
});
