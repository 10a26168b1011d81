import { describe, expect, it } from 'vitest';
import { buildJobView, buildJobViewFromIndex, withSupersession } from '../../src/jobs/job.view.js';
import { adviseRetry, permanentCodes } from '../../src/jobs/retry.advice.js';
import { failureCodes, isFinalFailure, isPermanentFailure, type FailureCode } from '../../src/pipeline/failure.js';

const failedJob = (errors: Array<{ code: FailureCode; message: string }>, errorCodes?: FailureCode[]) =>
  buildJobView({
    instanceId: 'ingest-1',
    name: 'ingestRaster',
    runtimeStatus: 'Failed',
    createdTime: '2026-01-01T00:00:00Z',
    lastUpdatedTime: '2026-01-01T00:01:00Z',
    customStatus: { source: 'uploads/borked_no_crs.nc', collection: 'rasters', stage: 'failed', tilesDone: 0, tilesFailed: 0, tilesTotal: 0, itemsRegistered: 0, errors, errorCount: errors.length, ...(errorCodes ? { errorCodes } : {}), attempt: 1 },
  });

describe('retry advice: a retry is offered only where it can help', () => {
  it('takes every failure code as permanent or retryable, as failure.ts says', () => {
    const permanent = permanentCodes([...failureCodes]);
    expect(permanent.sort()).toEqual(['INPUT_LIMIT', 'INVALID_INPUT', 'OUTPUT_CONFLICT', 'SOURCE_CHANGED', 'SOURCE_MISSING', 'UNSUPPORTED_FORMAT']);
    for (const code of failureCodes) expect(permanent.includes(code)).toBe(isPermanentFailure({ code, message: '' }));
  });

  it('offers a retry of a STAC API that stayed unavailable, which the activity itself does not retry (its client did)', () => {
    expect(isFinalFailure({ code: 'STAC_API_UNAVAILABLE', message: '' })).toBe(true);
    expect(adviseRetry({ status: 'Failed', errorCodes: ['STAC_API_UNAVAILABLE'], source: null })).toEqual({ offered: true, reason: null });
  });

  it('refuses a permanent failure, saying what to do instead: a new upload, or force', () => {
    const advice = adviseRetry({ status: 'Failed', errorCodes: ['INVALID_INPUT'], source: 'uploads/borked_no_crs.nc' });
    expect(advice.offered).toBe(false);
    expect(advice.reason).toMatch(/^INVALID_INPUT is a permanent failure: the same upload with the same options fails the same way/);
    expect(advice.reason).toContain('Upload a new version of uploads/borked_no_crs.nc');
    expect(advice.reason).toContain('"force": true');
    // One permanent failure among retryable ones: the retry would fail again on it.
    expect(adviseRetry({ status: 'Failed', errorCodes: ['TIMEOUT', 'INPUT_LIMIT'], source: null }).offered).toBe(false);
  });

  it('offers a retry of storage, time, memory, disk and internal failures, only once the job has failed', () => {
    for (const code of ['TRANSIENT_STORAGE', 'STORAGE_REFUSED', 'OUT_OF_MEMORY', 'DISK_FULL', 'TIMEOUT', 'INTERNAL'] as const) {
      expect(adviseRetry({ status: 'Failed', errorCodes: [code], source: null }), code).toEqual({ offered: true, reason: null });
    }
    expect(adviseRetry({ status: 'Terminated', errorCodes: ['INTERNAL'], source: null }).offered).toBe(true);
    expect(adviseRetry({ status: 'Running', errorCodes: [], source: null })).toMatchObject({ offered: false, reason: expect.stringMatching(/running/) });
    expect(adviseRetry({ status: 'Completed', errorCodes: [], source: null })).toMatchObject({ offered: false, reason: expect.stringMatching(/"force": true/) });
  });

  it('the job view carries the advice, from every failure code the job recorded, not only the ones shown', () => {
    expect(failedJob([{ code: 'INVALID_INPUT', message: 'the raster has no CRS' }]).retry).toMatchObject({ offered: false });
    expect(failedJob([{ code: 'STORAGE_REFUSED', message: 'leased' }]).retry).toEqual({ offered: true, reason: null });
    // The 21st failure is not shown, but its code is recorded.
    expect(failedJob([{ code: 'TIMEOUT', message: 'slow' }], ['TIMEOUT', 'INPUT_LIMIT']).retry).toMatchObject({ offered: false, reason: expect.stringMatching(/^INPUT_LIMIT is a permanent failure/) });
    const listed = buildJobViewFromIndex({
      key: 'k',
      id: 'ingest-2',
      source: 'uploads/a.tif',
      collection: 'c',
      status: 'Failed',
      createdTime: '2026-01-01T00:00:00.000Z',
      lastUpdatedTime: '2026-01-01T00:01:00.000Z',
      attempt: 1,
      previousAttempt: null,
      tilesDone: 0,
      tilesFailed: 0,
      tilesTotal: 0,
      errors: [{ code: 'UNSUPPORTED_FORMAT', message: 'netCDF-4 is refused' }],
      errorCodes: ['UNSUPPORTED_FORMAT'],
    });
    expect(listed.retry.offered).toBe(false);
  });

  it('a superseded job says by which job, and offers no retry', () => {
    const view = withSupersession(failedJob([{ code: 'TIMEOUT', message: 'slow' }]), { by: 'ingest-9', message: 'superseded by ingest-9: a newer upload replaced the version this job read' });
    expect(view.superseded).toEqual({ by: 'ingest-9', message: expect.stringMatching(/^superseded by ingest-9/) });
    expect(view.retry).toEqual({ offered: false, reason: 'superseded by ingest-9: a newer upload replaced the version this job read' });
    expect(withSupersession(failedJob([]), null).superseded).toBeNull();
  });
});
