import { describe, expect, it } from 'vitest';
import { durableHttpStatus, durableStatusOfJob } from '../../src/jobs/durable.status.js';
import type { JobView } from '../../src/jobs/job.view.js';

const view = (overrides: Partial<JobView>): JobView =>
  ({
    id: 'ingest-abc',
    status: 'Running',
    stage: 'creating-cogs',
    route: 'functions',
    routeReason: null,
    layout: 'fan-out',
    source: 'uploads/a.tif',
    collection: 'rasters',
    tiles: { done: 1, failed: 0, total: 4 },
    itemsRegistered: 1,
    errors: [],
    errorCount: 0,
    attempt: 1,
    previousAttempt: null,
    createdTime: '2026-12-06T00:00:00.000Z',
    lastUpdatedTime: '2026-12-06T00:00:01.000Z',
    ...overrides,
  }) as JobView;

describe("Durable's instance-status shape, from the sanitized job view", () => {
  it('answers 202 until the job ended, then 200', () => {
    for (const running of ['Pending', 'Running', 'ContinuedAsNew', 'Suspended']) expect(durableHttpStatus(running)).toBe(202);
    for (const ended of ['Completed', 'Failed', 'Terminated', 'Canceled']) expect(durableHttpStatus(ended)).toBe(200);
  });

  it('carries runtimeStatus, the progress as customStatus, and a failed job\'s first failure as its output', () => {
    expect(durableStatusOfJob(view({}), 'ingestRaster')).toMatchObject({ name: 'ingestRaster', instanceId: 'ingest-abc', runtimeStatus: 'Running', customStatus: { stage: 'creating-cogs', tiles: { done: 1, total: 4 } }, output: null });
    const failure = { code: 'INVALID_INPUT' as const, message: 'it has no georeferencing' };
    const failed = durableStatusOfJob(view({ status: 'Failed', stage: 'failed', errors: [failure], errorCount: 1 }), 'ingestRaster');
    expect(failed).toMatchObject({ runtimeStatus: 'Failed', output: { error: failure, errorCount: 1 } });
  });
});
