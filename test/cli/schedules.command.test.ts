/**
 * `raster-ingest schedules <collection>` against a fake API: the request it makes, the next and
 * last run, what an open window waits for, the missed windows with their reasons, the schedule
 * from the settings, and a 404 as exit code 3.
 */
import { describe, expect, it } from 'vitest';
import { collectionSchedulesSchema, type CollectionSchedules } from '../../src/api/contract.js';
import { json, problem, route, runFakeCli } from './fake.job.api.js';

const schedules: CollectionSchedules = collectionSchedulesSchema.parse({
  collection: 'dem',
  version: 4,
  schedules: [
    {
      name: 'nightly',
      instanceId: 'schedule:dem:nightly',
      cron: '0 3 * * 1-5',
      timeZone: 'Europe/Berlin',
      source: 'uploads/dem/',
      after: [{ collection: 'rasters' }, { batch: 'batch-abc' }],
      state: 'waiting',
      runtimeStatus: 'Running',
      definitionVersion: 4,
      instanceVersion: 4,
      nextRun: '2026-12-08T02:00:00.000Z',
      pendingWindow: '2026-12-07T02:00:00.000Z',
      waitingFor: ['batch:batch-abc'],
      lastRun: { window: '2026-12-04T02:00:00.000Z', at: '2026-12-04T02:00:01.000Z', batchId: 'batch-123', outcome: 'started', version: 3 },
      missed: [{ window: '2026-12-05T02:00:00.000Z', reason: 'after', waitingFor: ['collection:rasters'], recordedAt: '2026-12-06T02:00:00.000Z' }, { window: '2026-12-03T02:00:00.000Z', reason: 'not-running', waitingFor: [], recordedAt: '2026-12-03T09:00:00.000Z' }],
      missedTotal: 2,
      checkedAt: '2026-12-07T02:05:00.000Z',
    },
  ],
  settingsSchedule: null,
});

describe('raster-ingest schedules', () => {
  it('shows next and last run, what the open window waits for, and each missed window with its reason', async () => {
    const result = await runFakeCli(['schedules', 'dem'], [route('GET', '/api/collections/dem/schedules', () => json(200, schedules))]);
    expect(result.exitCode, result.err).toBe(0);
    expect(result.out).toContain('nightly  0 3 * * 1-5  (Europe/Berlin)  waiting');
    expect(result.out).toContain('next run: 2026-12-08T02:00:00.000Z');
    expect(result.out).toContain('the window of 2026-12-07T02:00:00.000Z waits for batch:batch-abc');
    expect(result.out).toContain('last run: 2026-12-04T02:00:01.000Z for 2026-12-04T02:00:00.000Z: started (batch batch-123)');
    expect(result.out).toContain('missed:   2 windows');
    expect(result.out).toContain('2026-12-05T02:00:00.000Z  after not met: collection:rasters');
    expect(result.out).toContain('2026-12-03T02:00:00.000Z  not running (the host was down)');
  });

  it('prints the view as JSON, and the schedule from the settings on the default collection', async () => {
    const rasters = { collection: 'rasters', version: 0, schedules: [], settingsSchedule: { cron: '0 0 2 * * *', timeZone: 'UTC', source: 'incoming/nightly/', lastRun: null } };
    const asJson = await runFakeCli(['schedules', 'rasters', '--json'], [route('GET', '/api/collections/rasters/schedules', () => json(200, rasters))]);
    expect(asJson.exitCode, asJson.err).toBe(0);
    expect(JSON.parse(asJson.out)).toEqual(rasters);
    const text = await runFakeCli(['schedules', 'rasters'], [route('GET', '/api/collections/rasters/schedules', () => json(200, rasters))]);
    expect(text.out).toContain('Collection rasters has no schedules.');
    expect(text.out).toContain('settings (INGEST_BATCH_SCHEDULE)  0 0 2 * * *  (UTC)');
  });

  it('reports an unknown collection with exit code 3', async () => {
    const result = await runFakeCli(['schedules', 'ghost'], [route('GET', '/api/collections/ghost/schedules', () => problem(404, 'Collection not found', 'No collection has that id'))]);
    expect(result.exitCode).toBe(3);
    expect(result.err).toContain('No collection has that id');
  });
});
