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

  it('shows the structured failures of a failed job, with their count', () => {
    const errors = [
      { code: 'UNSUPPORTED_FORMAT', message: 'VRT files cannot be ingested: a VRT points at other files or URLs; upload the raster itself' },
      { code: 'DISK_FULL', message: 'the worker ran out of scratch disk space', itemId: 'a-r0-c1' },
    ];
    const failed = buildJobView({
      ...base,
      runtimeStatus: 'Failed',
      output: 'Cannot ingest uploads/a.tif: ...',
      customStatus: { ...(base.customStatus as object), stage: 'failed', tilesFailed: 1, errors, errorCount: 31 },
    });
    expect(failed).toMatchObject({ stage: 'failed', errors, errorCount: 31, tiles: { done: 3, failed: 1, total: 4 } });
  });

  it('never shows raw error text: a failure without a recorded reason is a generic one naming the job', () => {
    const crashed = buildJobView({ ...base, runtimeStatus: 'Failed', output: 'TypeError: x\n    at /home/site/wwwroot/dist/x.js:1:1', customStatus: null });
    expect(crashed.errors).toEqual([{ code: 'INTERNAL', message: expect.stringContaining('ingest-1') }]);
    expect(JSON.stringify(crashed)).not.toMatch(/TypeError|wwwroot/);
    expect(crashed.output).toBeNull();
    const legacy = buildJobView({ ...base, runtimeStatus: 'Failed', customStatus: { ...(base.customStatus as object), errors: ['Error: at /tmp/x'] } });
    expect(JSON.stringify(legacy.errors)).not.toContain('/tmp/x');
  });

  it('links an attempt to the one before it', () => {
    const view = buildJobView({ ...base, customStatus: { ...(base.customStatus as object), attempt: 2, previousAttempt: 'ingest-1' } });
    expect(view).toMatchObject({ attempt: 2, previousAttempt: 'ingest-1' });
    expect(buildJobView(base)).toMatchObject({ attempt: 1, previousAttempt: null });
  });

  it('takes source and collection from the status when the instance list omits inputs', () => {
    const view = buildJobView({ ...base, input: null });
    expect(view).toMatchObject({ source: 'uploads/a.tif', collection: 'rasters' });
  });
});
