/**
 * Collection schedules (issue 24, part 4) through the local host's HTTP API, on an Azurite of
 * this file's own: a schedule whose cron fires about a minute ahead is planned for that window,
 * its durable timer survives a host restart before the window, and at the window it submits a
 * batch over its source (which completes); a schedule "after" another collection waits, shown as
 * `waiting` with the dependency named, until a job of that collection completes, then runs; a
 * restart after the runs keeps last and next run; a definition change re-plans the instance in its
 * new time zone, and removing the schedule stops it; a window whose "after" is still unmet when
 * the next one opens is reported missed, naming the dependency, and logged. Every wait is on the schedule view
 * (`GET /api/collections/{id}/schedules`), never a fixed sleep; no assertion reads the wall clock
 * (the cron is chosen from it, the assertions compare with that choice).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { JobsClient } from '../../cli/jobs.client.js';
import type { CollectionSchedules, ScheduleView } from '../../cli/jobs.api.js';
import { startAzurite, type RunningAzurite } from '../../host/azurite.js';
import type { BlobStore } from '../../src/storage/blob.store.js';
import { AzureBlobStore } from '../../src/storage/azure.blob.store.js';
import { createFixtureDir, writeRgbUint8, type FixtureDir } from '../support/fixtures.js';
import { startLocalHost, waitForJob, type LocalHost } from '../support/local.host.js';

const env = { INGEST_SOURCE_CONTAINERS: 'uploads,incoming', INGEST_SCHEDULE_RECHECK_SECONDS: '5' };

let azurite: RunningAzurite;
let azuriteDir: string;
let fixtures: FixtureDir;
let store: BlobStore;
let host: LocalHost;
const hosts: LocalHost[] = [];

async function startHost(): Promise<LocalHost> {
  const started = await startLocalHost({ storageConnectionString: azurite.connectionString, env, worker: false });
  hosts.push(started);
  return started;
}

beforeAll(async () => {
  azuriteDir = mkdtempSync(join(tmpdir(), 'e2e-schedules-azurite-'));
  azurite = await startAzurite({ location: azuriteDir });
  store = AzureBlobStore.fromEnvironment({ AzureWebJobsStorage: azurite.connectionString });
  fixtures = createFixtureDir('e2e-schedules-');
  host = await startHost();
});

afterAll(async () => {
  for (const started of hosts) await started.stop();
  await azurite?.stop();
  fixtures?.remove();
  if (azuriteDir) rmSync(azuriteDir, { recursive: true, force: true });
});

const client = (): JobsClient => new JobsClient({ baseUrl: host.baseUrl });

async function put(id: string, definition: unknown, ifMatch?: string): Promise<Response> {
  return fetch(`${host.baseUrl}/api/collections/${id}`, { method: 'PUT', headers: { 'Content-Type': 'application/json', ...(ifMatch ? { 'If-Match': ifMatch } : {}) }, body: JSON.stringify(definition) });
}

/** The view of one schedule, once `ready` accepts it (read again until then). */
async function scheduleWhen(collection: string, name: string, ready: (view: ScheduleView) => boolean, timeout = 240_000): Promise<ScheduleView> {
  return vi.waitFor(
    async () => {
      const views: CollectionSchedules = await client().getCollectionSchedules(collection);
      const view = views.schedules.find((schedule) => schedule.name === name);
      if (!view || !ready(view)) throw new Error(`schedule ${collection}/${name} not there yet: ${JSON.stringify(view)}`);
      return view;
    },
    { timeout, interval: 1000 },
  );
}

async function restartHost(): Promise<void> {
  await host.stop();
  host = await startHost();
}

/**
 * A daily cron at the first whole minute at least 40 s ahead (UTC), and that window; and a cron
 * with that window and one 5 minutes later (the minimum interval), for a window to be missed.
 */
function windowAhead(): { cron: string; window: string; pairCron: string; later: string } {
  const window = new Date(Math.ceil((Date.now() + 40_000) / 60_000) * 60_000);
  const later = new Date(window.getTime() + 5 * 60_000);
  // Minutes × hours: {m1, m2} × {h1, h2} holds both windows; the other two combinations are 5 or 55 minutes from them.
  const minutes = [...new Set([window.getUTCMinutes(), later.getUTCMinutes()])].join(',');
  const hours = [...new Set([window.getUTCHours(), later.getUTCHours()])].join(',');
  return { cron: `${window.getUTCMinutes()} ${window.getUTCHours()} * * *`, window: window.toISOString(), pairCron: `${minutes} ${hours} * * *`, later: later.toISOString() };
}

const localTime = (iso: string, timeZone: string): string => new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(iso));

describe('collection schedules on the local host', () => {
  const soon = windowAhead();

  it('fires at its window across a host restart, submits a batch over its source, and waits for "after" until it is met', async () => {
    await store.uploadFile({ container: 'incoming', name: 'sched/a.tif' }, writeRgbUint8(fixtures.path, 120, 80, 'a.tif'), 'image/tiff');
    await store.uploadFile({ container: 'incoming', name: 'waits/b.tif' }, writeRgbUint8(fixtures.path, 120, 80, 'b.tif'), 'image/tiff');
    await store.uploadFile({ container: 'incoming', name: 'dep/c.tif' }, writeRgbUint8(fixtures.path, 120, 80, 'c.tif'), 'image/tiff');
    expect((await put('sched', { sources: [{ container: 'incoming', prefix: 'sched/' }], schedules: [{ name: 'soon', cron: soon.cron, timeZone: 'UTC' }] })).status).toBe(201);
    expect((await put('dep', { sources: [{ container: 'incoming', prefix: 'dep/' }] })).status).toBe(201);
    expect((await put('waits', { sources: [{ container: 'incoming', prefix: 'waits/' }], schedules: [{ name: 'after-dep', cron: soon.cron, after: [{ collection: 'dep' }] }] })).status).toBe(201);

    // For the last test: waits for a collection that never completes a job, so its first window is missed at the second.
    expect((await put('never', { sources: [{ container: 'incoming', prefix: 'never/' }] })).status).toBe(201);
    expect((await put('misses', { sources: [{ container: 'incoming', prefix: 'misses/' }], schedules: [{ name: 'gated', cron: soon.pairCron, after: [{ collection: 'never' }] }] })).status).toBe(201);

    const planned = await scheduleWhen('sched', 'soon', (view) => view.state === 'planned' && view.runtimeStatus === 'Running');
    expect(planned).toMatchObject({ instanceId: 'schedule:sched:soon', nextRun: soon.window, lastRun: null, missed: [], source: 'incoming/sched/' });

    // The window's durable timer is in storage only while the host is down.
    await restartHost();

    const ran = await scheduleWhen('sched', 'soon', (view) => view.lastRun !== null);
    expect(ran.lastRun).toMatchObject({ window: soon.window, outcome: 'started', version: 1 });
    expect(ran.missed).toEqual([]);
    const batch = await client().waitForBatch(ran.lastRun!.batchId!, { timeoutMs: 240_000, intervalMs: 1000 });
    expect(batch.status).toBe('Completed');
    expect(batch.counts.done).toBe(1);

    // "after" dep: its window is open, nothing of dep has completed since the schedule started.
    const waiting = await scheduleWhen('waits', 'after-dep', (view) => view.state === 'waiting');
    expect(waiting).toMatchObject({ pendingWindow: soon.window, waitingFor: ['collection:dep'], lastRun: null });
    const submitted = await client().submit({ source: 'incoming/dep/c.tif', collection: 'dep' });
    expect((await waitForJob(host.baseUrl, submitted.id)).status).toBe('Completed');
    const met = await scheduleWhen('waits', 'after-dep', (view) => view.lastRun !== null);
    expect(met.lastRun).toMatchObject({ window: soon.window, outcome: 'started' });
    expect(met).toMatchObject({ state: 'planned', waitingFor: [], pendingWindow: null, missed: [] });
  }, 600_000);

  it('keeps last and next run across a restart between windows', async () => {
    const before = await scheduleWhen('sched', 'soon', (view) => view.lastRun !== null && view.state === 'planned');
    await restartHost();
    const after = await scheduleWhen('sched', 'soon', (view) => view.runtimeStatus === 'Running' && view.state === 'planned');
    expect(after.lastRun).toEqual(before.lastRun);
    expect(after.nextRun).toBe(new Date(new Date(soon.window).getTime() + 86_400_000).toISOString());
    expect(after.missed).toEqual([]);
  }, 300_000);

  it('re-plans on a definition change (its new time zone) and stops when the schedule is removed', async () => {
    const changed = await put('sched', { sources: [{ container: 'incoming', prefix: 'sched/' }], schedules: [{ name: 'soon', cron: '0 12 * * *', timeZone: 'America/New_York' }] }, '"1"');
    expect(changed.status, await changed.text()).toBe(200);
    const replanned = await scheduleWhen('sched', 'soon', (view) => view.instanceVersion === 2 && view.state === 'planned');
    expect(localTime(replanned.nextRun!, 'America/New_York')).toBe('12:00');
    expect(replanned.lastRun).toMatchObject({ window: soon.window, version: 1 });

    expect((await put('sched', { sources: [{ container: 'incoming', prefix: 'sched/' }] }, '"2"')).status).toBe(200);
    await vi.waitFor(
      async () => {
        const status = (await (await fetch(`${host.baseUrl}/runtime/webhooks/durabletask/instances/${encodeURIComponent('schedule:sched:soon')}`)).json()) as { runtimeStatus: string; customStatus?: { state?: string } };
        if (status.runtimeStatus !== 'Completed') throw new Error(`still ${status.runtimeStatus}`);
        expect(status.customStatus?.state).toBe('stopped');
      },
      { timeout: 60_000, interval: 500 },
    );
    expect((await client().getCollectionSchedules('sched')).schedules).toEqual([]);
  });

  it('reports a window whose "after" was still unmet when the next opened as missed, naming the dependency, and logs it', async () => {
    const missed = await scheduleWhen('misses', 'gated', (view) => view.missedTotal > 0, 480_000);
    expect(missed.missed).toEqual([{ window: soon.window, reason: 'after', waitingFor: ['collection:never'], recordedAt: expect.any(String) }]);
    expect(missed).toMatchObject({ state: 'waiting', pendingWindow: soon.later, waitingFor: ['collection:never'], lastRun: null });
    expect(host.output()).toContain(`Schedule misses/gated: missed the window of ${soon.window}: still waiting for collection:never`);
  }, 600_000);

  it('answers 404 for an unknown collection and shows the default collection without a definition', async () => {
    expect((await fetch(`${host.baseUrl}/api/collections/ghost/schedules`)).status).toBe(404);
    expect((await fetch(`${host.baseUrl}/api/collections/..%2Fx/schedules`)).status).toBeGreaterThanOrEqual(400);
    expect(await client().getCollectionSchedules('rasters')).toEqual({ collection: 'rasters', version: 0, schedules: [], settingsSchedule: null });
  });
});
