/**
 * Jobs that do not break each other and survive crashes (issue 19, item 5), and tiles that wait
 * for a slot shown as queued (item 4), through the built host and worker on a private Azurite.
 *
 * One small source (1100 × 1000 float32 with nodata, uncompressed: 4.4 MB, just over the size
 * validation downloads whole, so the host reads it in place and only the tiles hold copies, as
 * with the 150 MB upload) ingested twice at once, into two collections with tile sizes
 * 512 (6 tiles) and 1024 (2 tiles). A fixed matrix: on the worker
 * route, the two jobs one after the other (the second one's tiles used to fail with ENOENT: the
 * first job's end deleted the copy the worker had cached), at once, and at once with the worker
 * SIGKILLed during the source copy, mid-tile and during the upload, then the host SIGKILLed
 * mid-tile; on the Functions route, at once, and with the host SIGKILLed at the same three points.
 * Every job ends Completed with every tile's pixels equal to the source's, and the scratch folder
 * keeps nothing of a killed process (no partial download, no folder of a dead pid).
 *
 * Kill points are reached deterministically: the process under test gets INGEST_TEST_PAUSE_DIR
 * and stops at a held point (src/activities/pause.points.ts); the test waits for the file it
 * writes there, kills it, lets go, and starts the next one. No fixed sleeps.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import gdal from 'gdal-async';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzurite, type RunningAzurite } from '../../host/azurite.js';
import { JobsClient } from '../../cli/jobs.client.js';
import type { PausePointName } from '../../src/activities/pause.points.js';
import { isProcessAlive, processesFolder } from '../../src/activities/scratch.space.js';
import type { TileEntry } from '../../src/jobs/tile.ledger.js';
import type { BlobStore } from '../../src/storage/blob.store.js';
import { AzureBlobStore } from '../../src/storage/azure.blob.store.js';
import { wholeDownloadMaxBytes } from '../../src/activities/source.cache.js';
import { createFixtureDir, writeRaster, type FixtureDir } from '../support/fixtures.js';
import { startLocalHost, waitForJob, type LocalHost } from '../support/local.host.js';
import { PauseControl } from '../support/pause.control.js';
import { readWindow, samePixels } from '../integration/activity.harness.js';
import { spawnWorker, waitFor, type WorkerProcess } from '../worker/worker.support.js';

const sourceName = 'shared/dem.tif';
const sourceContainers = 'uploads,incoming';
const scenarioTimeoutMs = 300_000;

let azurite: RunningAzurite;
let azuriteDir: string;
let scratch: string;
let pauses: PauseControl;
let fixtures: FixtureDir;
let store: BlobStore;
let sourcePath: string;
let source: gdal.Dataset;
const hosts: LocalHost[] = [];
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  azuriteDir = mkdtempSync(join(tmpdir(), 'shared-source-azurite-'));
  azurite = await startAzurite({ location: azuriteDir });
  store = AzureBlobStore.fromEnvironment({ AzureWebJobsStorage: azurite.connectionString });
  scratch = mkdtempSync(join(tmpdir(), 'shared-source-scratch-'));
  pauses = new PauseControl(mkdtempSync(join(tmpdir(), 'shared-source-pauses-')));
  fixtures = createFixtureDir('shared-source-');
  sourcePath = writeRaster(join(fixtures.path, 'dem.tif'), {
    width: 1100,
    height: 1000,
    bands: 1,
    dataType: gdal.GDT_Float32,
    srs: gdal.SpatialReference.fromEPSG(32633),
    geoTransform: [400000, 30, 0, 5500000, 0, -30],
    nodata: -32768,
    creationOptions: ['COMPRESS=NONE'],
    value: (x, y) => (y > 960 ? -32768 : 250.5 + Math.sin(x / 50) * 40 + ((x * 7 + y * 13) % 17) / 3),
  });
  await store.uploadFile({ container: 'incoming', name: sourceName }, sourcePath, 'image/tiff');
  // Over the whole-download size: validation reads it in place, only the tiles' processes copy it.
  expect((await store.stat({ container: 'incoming', name: sourceName }))!.size).toBeGreaterThan(wholeDownloadMaxBytes);
  source = gdal.open(sourcePath);
});

afterAll(async () => {
  source?.close();
  await Promise.all(workers.map((worker) => worker.kill('SIGKILL')));
  for (const host of hosts) await host.stop();
  await azurite?.stop();
  fixtures?.remove();
  for (const dir of [azuriteDir, scratch, pauses?.dir]) if (dir) rmSync(dir, { recursive: true, force: true });
});

async function startHost(env: Record<string, string> = {}): Promise<LocalHost> {
  const host = await startLocalHost({ storageConnectionString: azurite.connectionString, worker: false, env: { INGEST_SOURCE_CONTAINERS: sourceContainers, INGEST_SCRATCH_DIR: scratch, ...env } });
  hosts.push(host);
  return host;
}

/** A worker with a short lock, so a killed one's tiles come back within seconds; it stops at held pause points. */
function startWorker(name: string): WorkerProcess {
  const worker = spawnWorker(
    { AzureWebJobsStorage: azurite.connectionString, INGEST_SOURCE_CONTAINERS: sourceContainers, INGEST_SCRATCH_DIR: scratch, INGEST_TEST_PAUSE_DIR: pauses.dir },
    ['--lock-seconds', '3', '--name', name],
  );
  workers.push(worker);
  return worker;
}

/** Submits one job of the shared source on `route` into its own collection. */
async function submit(host: LocalHost, collection: string, tileSize: number, route: 'worker' | 'functions'): Promise<string> {
  const answer = await new JobsClient({ baseUrl: host.baseUrl }).submit({ source: `incoming/${sourceName}`, collection, options: { tileSize, route } });
  return answer.id;
}

/** The two jobs of a scenario, submitted at once: the same source into two collections with different tile sizes. */
function submitPair(host: LocalHost, scenario: string, route: 'worker' | 'functions'): Promise<string[]> {
  return Promise.all([submit(host, `${scenario}-a`, 512, route), submit(host, `${scenario}-b`, 1024, route)]);
}

/** Waits for each job; each must complete with every tile, each tile's COG holding exactly the source's window. */
async function expectCompletedWithSourcePixels(host: LocalHost, ids: string[], route: 'worker' | 'functions'): Promise<void> {
  for (const id of ids) {
    const view = await waitForJob(host.baseUrl, id);
    expect(view.errors, id).toEqual([]);
    expect(view, id).toMatchObject({ status: 'Completed', route });
    expect(view.tiles.done, id).toBe(view.tiles.total);
    const tiles = await new JobsClient({ baseUrl: host.baseUrl }).allTiles(id);
    expect(tiles.map((tile) => tile.state)).toEqual(tiles.map(() => 'done'));
    for (const tile of tiles) await expectSourcePixels(tile);
  }
}

async function expectSourcePixels(tile: TileEntry): Promise<void> {
  const local = join(fixtures.path, `${tile.itemId}-${Date.now()}.tif`);
  await store.downloadToFile({ container: 'cogs', name: decodeURIComponent(tile.cogHref!.replace('/api/cogs/', '')) }, local);
  const cog = gdal.open(local);
  try {
    const { x, y, width, height } = tile.window;
    expect(samePixels(readWindow(source, 1, x, y, width, height), readWindow(cog, 1, 0, 0, width, height)), `${tile.itemId} pixels`).toBe(true);
  } finally {
    cog.close();
    rmSync(local, { force: true });
  }
}

/** What the scratch root holds of processes that are gone: their folders, and any partial download. */
function scratchLeftovers(): { deadOwners: number[]; partials: string[] } {
  const root = processesFolder(scratch);
  const folders = existsSync(root) ? readdirSync(root) : [];
  const deadOwners: number[] = [];
  const partials: string[] = [];
  for (const folder of folders) {
    const ownerFile = join(root, folder, 'owner.json');
    if (existsSync(ownerFile)) {
      const { pid } = JSON.parse(readFileSync(ownerFile, 'utf8')) as { pid: number };
      if (!isProcessAlive(pid)) deadOwners.push(pid);
    }
    const sources = join(root, folder, 'sources');
    if (existsSync(sources)) partials.push(...readdirSync(sources).filter((file) => file.endsWith('.part')));
  }
  return { deadOwners, partials };
}

describe('several jobs on one source, on the worker route', () => {
  let host: LocalHost;
  beforeAll(async () => {
    host = await startHost();
  });
  // One host per task hub: the Functions route's host comes next.
  afterAll(() => host.stop());

  it('one job after the other: the first job\'s end does not take the copy the second job\'s tiles read', { timeout: scenarioTimeoutMs }, async () => {
    const worker = startWorker('w-sequential');
    const first = await submit(host, 'seq-a', 512, 'worker');
    await expectCompletedWithSourcePixels(host, [first], 'worker');
    // The worker still has the source from the first job; that job's end must not have deleted it under it.
    const second = await submit(host, 'seq-b', 1024, 'worker');
    await expectCompletedWithSourcePixels(host, [second], 'worker');
    expect(worker.lines.filter((line) => /will be retried|dead-lettered/.test(line))).toEqual([]);
    expect(await worker.kill('SIGTERM')).toEqual({ code: 0, signal: null });
  });

  it('two jobs at once', { timeout: scenarioTimeoutMs }, async () => {
    const worker = startWorker('w-together');
    await expectCompletedWithSourcePixels(host, await submitPair(host, 'together', 'worker'), 'worker');
    expect(worker.lines.filter((line) => /will be retried|dead-lettered/.test(line))).toEqual([]);
    expect(await worker.kill('SIGTERM')).toEqual({ code: 0, signal: null });
  });

  for (const point of ['source-copy', 'tile-written', 'tile-upload'] as const satisfies readonly PausePointName[]) {
    it(`two jobs at once, the worker SIGKILLed at ${point}: a new worker finishes both`, { timeout: scenarioTimeoutMs }, async () => {
      pauses.clear();
      pauses.hold(point);
      const killed = startWorker(`w-killed-${point}`);
      const ids = await submitPair(host, `wk-${point}`, 'worker');
      expect(await pauses.waitUntilReached(point)).toBe(killed.pid);
      expect(await killed.kill('SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' });
      pauses.release(point);

      const next = startWorker(`w-after-${point}`);
      await expectCompletedWithSourcePixels(host, ids, 'worker');
      // The new worker removed what the killed one left in the scratch folder.
      expect(scratchLeftovers()).toEqual({ deadOwners: [], partials: [] });
      expect(await next.kill('SIGTERM')).toEqual({ code: 0, signal: null });
    });
  }

  it('two jobs at once, the host SIGKILLed while the worker is mid-tile: a new host finishes both', { timeout: scenarioTimeoutMs }, async () => {
    pauses.clear();
    pauses.hold('tile-written');
    const worker = startWorker('w-host-killed');
    const ids = await submitPair(host, 'hk', 'worker');
    expect(await pauses.waitUntilReached('tile-written')).toBe(worker.pid);
    await host.stop('SIGKILL');
    pauses.release('tile-written');
    host = await startHost();
    await expectCompletedWithSourcePixels(host, ids, 'worker');
    expect(scratchLeftovers()).toEqual({ deadOwners: [], partials: [] });
    expect(await worker.kill('SIGTERM')).toEqual({ code: 0, signal: null });
  });
});

describe('several jobs on one source, on the Functions route', () => {
  let host: LocalHost;
  /** The host makes the tiles here: it is the process that stops at the pause points. */
  const env = (): Record<string, string> => ({ INGEST_TEST_PAUSE_DIR: pauses.dir });
  beforeAll(async () => {
    pauses.clear();
    host = await startHost(env());
  });

  it('two jobs at once', { timeout: scenarioTimeoutMs }, async () => {
    await expectCompletedWithSourcePixels(host, await submitPair(host, 'fn-together', 'functions'), 'functions');
  });

  it('shows tiles waiting for an activity slot as queued, not as creating their COG; their durations are the work, the wait apart', { timeout: scenarioTimeoutMs }, async () => {
    pauses.clear();
    // Both activity slots (host.json: 2) stop with a tile's COG written: the other 4 tiles wait.
    pauses.hold('tile-written');
    const id = await submit(host, 'fn-queued', 512, 'functions');
    const client = new JobsClient({ baseUrl: host.baseUrl });
    const busy = await waitFor(
      'two tiles working, four queued',
      async () => {
        const tiles = await client.allTiles(id).catch(() => []);
        const working = tiles.filter((tile) => tile.startedAt !== null);
        return tiles.length === 6 && working.length === 2 && pauses.reachedBy('tile-written').length === 2 && tiles.filter((tile) => tile.state === 'queued').length === 4 ? tiles : undefined;
      },
      120_000,
      100,
    );
    expect(busy.filter((tile) => tile.state === 'creating-cog').map((tile) => tile.startedAt !== null)).toEqual([true, true]);
    const queued = busy.filter((tile) => tile.state === 'queued');
    for (const tile of queued) expect(tile, tile.itemId).toMatchObject({ queuedAt: expect.any(String), startedAt: null, waitMs: null, workMs: null });

    const releasedAt = Date.now();
    pauses.release('tile-written');
    expect((await waitForJob(host.baseUrl, id)).status).toBe('Completed');
    const tiles = await client.allTiles(id);
    for (const tile of tiles) {
      const [queuedAt, startedAt, endedAt] = [tile.queuedAt, tile.startedAt, tile.endedAt].map((time) => Date.parse(time ?? ''));
      expect(tile.state).toBe('done');
      // The wait is from asking for a slot to the work's start; the work is what the activity measured, within start → end.
      expect(tile.waitMs).toBe(startedAt! - queuedAt!);
      expect(tile.workMs).toBeGreaterThan(0);
      expect(tile.workMs!).toBeLessThanOrEqual(endedAt! - startedAt! + 5);
    }
    // The tiles that were queued started only once a slot was free: their wait holds the held tiles' time, their duration does not.
    for (const tile of tiles.filter((t) => queued.some((q) => q.itemId === t.itemId))) expect(Date.parse(tile.startedAt!)).toBeGreaterThanOrEqual(releasedAt - 5);
  });

  for (const point of ['source-copy', 'tile-written', 'tile-upload'] as const satisfies readonly PausePointName[]) {
    it(`two jobs at once, the host SIGKILLed at ${point}: a new host finishes both`, { timeout: scenarioTimeoutMs }, async () => {
      pauses.clear();
      pauses.hold(point);
      const ids = await submitPair(host, `fk-${point}`, 'functions');
      expect(await pauses.waitUntilReached(point)).toBe(host.process.pid);
      await host.stop('SIGKILL');
      pauses.release(point);
      host = await startHost(env());
      await expectCompletedWithSourcePixels(host, ids, 'functions');
      expect(scratchLeftovers()).toEqual({ deadOwners: [], partials: [] });
    });
  }
});
