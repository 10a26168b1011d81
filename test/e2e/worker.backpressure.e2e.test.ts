/**
 * Backpressure on the worker route (issue 21), through the local host and one worker process of
 * concurrency 1 on the Storage-queue stand-in of Service Bus: three jobs of six tiles each, one
 * dispatch permit (INGEST_WORKER_DISPATCH_PERMITS=1), a tile timeout of 10 s. The backlog takes
 * longer than the timeout, yet no tile times out or is sent twice: each waits its turn queued (the
 * ledger shows it), at most one tile message is out at a time, and the worker killed by SIGKILL
 * mid-tile once costs a redelivery of that one tile, not a duplicate. Then a job terminated while
 * its tile holds the one permit: the tile waiting behind it audits the holders on its recheck,
 * reclaims the permit and completes (no leak).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QueueServiceClient } from '@azure/storage-queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobView } from '../../cli/jobs.api.js';
import { startAzurite, type RunningAzurite } from '../../host/azurite.js';
import type { TileLedgerPage } from '../../src/jobs/tile.ledger.js';
import { AzureBlobStore } from '../../src/storage/azure.blob.store.js';
import type { BlobStore } from '../../src/storage/blob.store.js';
import { createFixtureDir, writeFloat32Nodata, type FixtureDir } from '../support/fixtures.js';
import { startLocalHost, waitForJob, type LocalHost } from '../support/local.host.js';
import { PauseControl } from '../support/pause.control.js';
import { spawnWorker, waitFor, type WorkerProcess } from '../worker/worker.support.js';

const tileTimeoutSeconds = 10;
const scratchDir = mkdtempSync(join(tmpdir(), 'backpressure-scratch-'));
const pauseDir = mkdtempSync(join(tmpdir(), 'backpressure-pause-'));
const azuriteDir = mkdtempSync(join(tmpdir(), 'backpressure-azurite-'));
let azurite: RunningAzurite;
let host: LocalHost;
let store: BlobStore;
let fixtures: FixtureDir;
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  azurite = await startAzurite({ location: azuriteDir });
  // The host runs no worker of its own: the test starts (and kills) the one worker there is.
  host = await startLocalHost({
    storageConnectionString: azurite.connectionString,
    worker: false,
    env: { INGEST_WORKER_DISPATCH_PERMITS: '1', INGEST_WORKER_TILE_TIMEOUT_SECONDS: String(tileTimeoutSeconds), INGEST_SCRATCH_DIR: scratchDir },
  });
  store = AzureBlobStore.fromEnvironment({ AzureWebJobsStorage: azurite.connectionString });
  fixtures = createFixtureDir('backpressure-');
}, 180_000);

afterAll(async () => {
  await Promise.all(workers.map((worker) => worker.kill('SIGKILL')));
  await host?.stop();
  await azurite?.stop();
  fixtures?.remove();
  for (const dir of [scratchDir, pauseDir, azuriteDir]) rmSync(dir, { recursive: true, force: true });
});

function startWorker(name: string): WorkerProcess {
  // Locks of 3 s: a killed worker's tile is delivered again 3 s later.
  const worker = spawnWorker({ AzureWebJobsStorage: azurite.connectionString, INGEST_SCRATCH_DIR: scratchDir, INGEST_TEST_PAUSE_DIR: pauseDir }, ['--concurrency', '1', '--lock-seconds', '3', '--name', name]);
  workers.push(worker);
  return worker;
}

async function submitJob(source: string): Promise<string> {
  const response = await fetch(`${host.baseUrl}/api/jobs`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ source, collection: 'backlog', options: { tileSize: 512, blockSize: 256, route: 'worker' } }),
  });
  expect(response.status).toBe(202);
  return ((await response.json()) as { id: string }).id;
}

/** The permits entity's state, as the Durable API shows it. */
async function permitsState(): Promise<{ holders: string[]; waiting: string[]; reclaimed: number } | undefined> {
  const response = await fetch(`${host.baseUrl}/runtime/webhooks/durabletask/entities/workerDispatchPermits/large-rasters`);
  if (response.status !== 200) return undefined;
  return (await response.json()) as { holders: string[]; waiting: string[]; reclaimed: number };
}

async function ledgerOf(id: string): Promise<TileLedgerPage> {
  return (await (await fetch(`${host.baseUrl}/api/jobs/${id}/tiles`)).json()) as TileLedgerPage;
}

/** Tile messages in the work queue (visible or locked): what has been sent to the worker and not settled. */
async function tileMessagesOut(): Promise<number> {
  const queue = QueueServiceClient.fromConnectionString(azurite.connectionString).getQueueClient('large-rasters');
  if (!(await queue.exists())) return 0;
  return (await queue.getProperties()).approximateMessagesCount ?? 0;
}

/** `tile <itemId> (dispatch <id>, delivery <n>) <what>` lines of the workers. */
function tileLines(what: 'started' | 'completed'): Array<{ worker: string; itemId: string; dispatchId: string; delivery: number }> {
  return workers.flatMap((worker) =>
    worker.lines.flatMap((line) => {
      const match = new RegExp(`(\\S+): tile (\\S+) \\(dispatch (\\S+), delivery (\\d+)\\) ${what}`).exec(line);
      return match ? [{ worker: match[1]!, itemId: match[2]!, dispatchId: match[3]!, delivery: Number(match[4]) }] : [];
    }),
  );
}

describe('a backlog on the worker route, one worker of concurrency 1, one permit', () => {
  it('runs every tile once, none times out though the backlog outlasts the timeout, tiles wait queued, and a SIGKILLed worker costs one redelivery', async () => {
    const pause = new PauseControl(pauseDir);
    const sources: string[] = [];
    for (const name of ['a', 'b', 'c']) {
      const path = writeFloat32Nodata(fixtures.path, 1100, 700, `${name}.tif`); // 3 × 2 tiles of 512
      await store.uploadFile({ container: 'uploads', name: `backlog/${name}.tif` }, path, 'image/tiff');
      sources.push(`uploads/backlog/${name}.tif`);
    }
    const first = startWorker('w1');
    const ids: string[] = [];
    for (const source of sources) ids.push(await submitJob(source));

    // While the backlog drains: tiles of every job wait queued, and never more than one message is out.
    const queuedSeen = new Set<string>();
    let mostOut = 0;
    const watch = async (): Promise<boolean> => {
      mostOut = Math.max(mostOut, await tileMessagesOut());
      const ledgers = await Promise.all(ids.map(ledgerOf));
      ledgers.forEach((ledger, index) => {
        if (ledger.tiles.some((tile) => tile.state === 'queued')) queuedSeen.add(ids[index]!);
      });
      return ledgers.flatMap((ledger) => ledger.tiles).filter((tile) => tile.state === 'done').length >= 6;
    };
    await waitFor('six tiles done, the backlog watched meanwhile', async () => ((await watch()) ? true : undefined), 240_000, 250);
    expect(queuedSeen.size).toBeGreaterThanOrEqual(2);

    // Mid-backlog: the worker stops with a tile's COG written, and is killed there.
    pause.hold('tile-written');
    const killedPid = await pause.waitUntilReached('tile-written');
    expect(killedPid).toBe(first.pid);
    const killedTile = tileLines('started').at(-1)!;
    expect(await first.kill('SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' });
    pause.release('tile-written');
    startWorker('w2');

    const views: JobView[] = [];
    for (const id of ids) {
      for (;;) {
        await watch();
        const view = await waitForJob(host.baseUrl, id, 5_000).catch(() => undefined);
        if (view) {
          views.push(view);
          break;
        }
      }
    }
    for (const view of views) expect(view).toMatchObject({ status: 'Completed', route: 'worker', tiles: { done: 6, failed: 0, total: 6 } });
    expect(views.flatMap((view) => view.errors)).toEqual([]);
    expect(mostOut).toBeLessThanOrEqual(1);

    const started = tileLines('started');
    const completed = tileLines('completed');
    // Every tile sent once (one dispatch id each: no timeout sent one again) and completed once.
    const itemIds = [...new Set(started.map((line) => line.itemId))];
    expect(itemIds).toHaveLength(18);
    for (const itemId of itemIds) {
      expect(new Set(started.filter((line) => line.itemId === itemId).map((line) => line.dispatchId)).size, itemId).toBe(1);
      expect(completed.filter((line) => line.itemId === itemId), itemId).toHaveLength(1);
    }
    // The killed worker's tile: delivered again to the new worker, the one tile started twice.
    expect(started.filter((line) => line.itemId === killedTile.itemId)).toEqual([
      { worker: 'w1', itemId: killedTile.itemId, dispatchId: killedTile.dispatchId, delivery: 1 },
      { worker: 'w2', itemId: killedTile.itemId, dispatchId: killedTile.dispatchId, delivery: 2 },
    ]);
    expect(started).toHaveLength(19);

    // The wait was the line's, not a timer's: some tile waited longer than the tile timeout and was still sent once.
    const ledgers = await Promise.all(ids.map(ledgerOf));
    const waits = ledgers.flatMap((ledger) => ledger.tiles.map((tile) => tile.waitMs ?? 0));
    expect(Math.max(...waits)).toBeGreaterThan(tileTimeoutSeconds * 1000);
    // Every permit given back.
    expect(await permitsState()).toMatchObject({ holders: [], waiting: [] });
  }, 400_000);

  it('reclaims the permit of a job terminated while its tile held it: the tile behind it audits, takes it and completes', async () => {
    // No worker: the terminated job's tile sits sent and unanswered, holding the one permit.
    await Promise.all(workers.map((worker) => worker.kill('SIGTERM')));
    const paths = ['held', 'behind'].map((name) => writeFloat32Nodata(fixtures.path, 500, 400, `${name}.tif`)); // one tile each
    for (const [index, path] of paths.entries()) await store.uploadFile({ container: 'uploads', name: `terminate/${index}.tif` }, path, 'image/tiff');
    const held = await submitJob('uploads/terminate/0.tif');
    await waitFor('the first job holding the permit', async () => ((await permitsState())?.holders.includes(held) ? true : undefined), 120_000);
    const behind = await submitJob('uploads/terminate/1.tif');
    await waitFor('the second job in line', async () => ((await permitsState())?.waiting.includes(behind) ? true : undefined), 120_000);
    const terminated = await fetch(`${host.baseUrl}/runtime/webhooks/durabletask/instances/${held}/terminate?reason=test`, { method: 'POST' });
    expect(terminated.status).toBe(202);
    // It never releases; the tile behind it rechecks after a minute, audits, reclaims.
    await waitFor('the permit reclaimed', async () => ((await permitsState())?.reclaimed === 1 ? true : undefined), 180_000, 500);
    expect(await permitsState()).toMatchObject({ holders: [behind], waiting: [] });
    startWorker('w3');
    expect(await waitForJob(host.baseUrl, behind)).toMatchObject({ status: 'Completed', route: 'worker', tiles: { done: 1, failed: 0, total: 1 }, errors: [] });
    expect(await permitsState()).toMatchObject({ holders: [], waiting: [] });
  }, 400_000);
});
