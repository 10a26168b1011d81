/**
 * The worker program end to end (`node dist/worker/main.js` as a child process) on a private
 * Azurite, with tile messages built the way the app builds them: COGs land in `cogs/` and results
 * on `tile-results`; poison tiles fail with their reason; a worker killed mid-tile loses nothing.
 * Needs `npm run build` first (npm test does it).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import gdal from 'gdal-async';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../host/spawn.js';
import { containers, queues } from '../../src/config.js';
import { deriveOutputLocation } from '../../src/jobs/job.id.js';
import type { SourceBlob } from '../../src/pipeline/contracts.js';
import { deriveItemId } from '../../src/pipeline/ids.js';
import { ingestOptionsSchema } from '../../src/pipeline/options.js';
import { createQueueServiceClient, createResultsQueueClient, createStorageWorkQueue } from '../../src/queue/queue.factory.js';
import type { StorageQueue } from '../../src/queue/storage.queue.js';
import { tileResultEvent, tileResultMessageSchema, type TileResultMessage, type TileWorkMessage } from '../../src/queue/tile.messages.js';
import { planTiles } from '../../src/raster/tile.plan.js';
import { cogBlob, versionFolder } from '../../src/stac/catalog.layout.js';
import type { BlobStore } from '../../src/storage/blob.store.js';
import { AzureBlobStore } from '../../src/storage/azure.blob.store.js';
import { createFixtureDir, writeFloat32NanDem, writeInt16Dem, type FixtureDir } from '../support/fixtures.js';
import { readWindow, samePixels } from '../integration/activity.harness.js';
import { takeMessages, usePrivateAzurite, waitFor } from './worker.support.js';

const workerEntry = join(projectRoot, 'dist', 'worker', 'main.js');
const maxDeliveries = 2;
const azurite = usePrivateAzurite();
let fixtures: FixtureDir;
let scratch: string;
let store: BlobStore;
let workQueue: StorageQueue;
const workers: RunningWorker[] = [];

function workerEnv(): Record<string, string> {
  return { AzureWebJobsStorage: azurite.connectionString, INGEST_SCRATCH_DIR: scratch, INGEST_WORKER_MAX_DELIVERIES: String(maxDeliveries), INGEST_WORKER_RETRY_DELAY_SECONDS: '1' };
}

beforeAll(() => {
  if (!existsSync(workerEntry)) throw new Error(`${workerEntry} is missing: run "npm run build" (npm test does it for you)`);
  fixtures = createFixtureDir('worker-fixtures-');
  scratch = mkdtempSync(join(tmpdir(), 'worker-scratch-'));
  store = AzureBlobStore.fromEnvironment(workerEnv());
  workQueue = createStorageWorkQueue(workerEnv());
});

afterAll(async () => {
  await Promise.all(workers.map((worker) => worker.kill('SIGKILL')));
  fixtures?.remove();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

interface RunningWorker {
  child: ChildProcess;
  lines: string[];
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startWorker(args: string[]): RunningWorker {
  const env: NodeJS.ProcessEnv = { ...process.env, ...workerEnv() };
  delete env['ServiceBusConnection'];
  delete env['ServiceBusConnection__fullyQualifiedNamespace'];
  const child = spawn(process.execPath, [workerEntry, ...args], { cwd: projectRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const waiters: Array<{ pattern: RegExp; resolve: (line: string) => void }> = [];
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => {
      lines.push(line);
      for (const waiter of waiters.filter((w) => w.pattern.test(line))) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    });
  }
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const worker: RunningWorker = {
    child,
    lines,
    exited,
    waitForLine(pattern, timeoutMs = 60_000) {
      const seen = lines.find((line) => pattern.test(line));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no worker line matched ${pattern} within ${timeoutMs} ms:\n${lines.join('\n')}`)), timeoutMs);
        waiters.push({ pattern, resolve: (line) => (clearTimeout(timer), resolve(line)) });
        void exited.then(() => setTimeout(() => reject(new Error(`the worker exited before a line matched ${pattern}:\n${lines.join('\n')}`)), 100));
      });
    },
    kill(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
  workers.push(worker);
  return worker;
}

/** Uploads a local raster under `incoming/`, as a user would, and pins it like a submitted job. */
async function upload(localPath: string): Promise<SourceBlob> {
  const ref = { container: containers.uploads, name: `incoming/${randomUUID().slice(0, 8)}/${localPath.split('/').pop()!}` };
  await store.uploadFile(ref, localPath, 'image/tiff');
  const stat = await store.stat(ref);
  if (!stat) throw new Error(`uploaded ${ref.name} but cannot see it`);
  return { ...ref, etag: stat.etag, size: stat.size, lastModified: (stat.lastModified ?? new Date(0)).toISOString() };
}

/** One tile-work message per tile of `source`, as the app's tile orchestrations would send them. */
function tileMessages(source: SourceBlob, width: number, height: number, tileSize: number): TileWorkMessage[] {
  const options = ingestOptionsSchema.parse({ blockSize: 256 });
  const outputs = deriveOutputLocation({ container: source.container, name: source.name, etag: source.etag, collection: 'worker-e2e', options, tileSize });
  return planTiles(width, height, tileSize).map((window) => ({
    kind: 'tile-work',
    instanceId: `job-${randomUUID()}:tile-${window.index}`,
    eventName: tileResultEvent,
    dispatchId: randomUUID(),
    input: { source, outputs, itemId: deriveItemId(outputs.sourceKey, window), window, options },
  }));
}

/** Takes this test's results off `tile-results`, waiting until `count` arrived. */
async function awaitResults(instanceIds: string[], count: number, already: TileResultMessage[] = []): Promise<TileResultMessage[]> {
  const results = createResultsQueueClient(workerEnv());
  const ours = new Set(instanceIds);
  const taken = [...already];
  return waitFor(`${count} results`, async () => {
    const bodies = await takeMessages(results, (body) => {
      const parsed = tileResultMessageSchema.safeParse(body);
      return parsed.success && ours.has(parsed.data.instanceId);
    });
    for (const body of bodies) taken.push(tileResultMessageSchema.parse(body) as TileResultMessage);
    return taken.length >= count ? taken : undefined;
  });
}

async function visibleWork(): Promise<number> {
  const { peekedMessageItems } = await createQueueServiceClient(workerEnv()).getQueueClient(queues.largeRasters).peekMessages({ numberOfMessages: 32 });
  return peekedMessageItems.length;
}

describe('the worker program', () => {
  it('makes the COG of every tile sent, reports each on tile-results, and exits with --once when the queue is empty', async () => {
    const local = writeInt16Dem(fixtures.path, 600, 500);
    const source = await upload(local);
    const messages = tileMessages(source, 600, 500, 256);
    expect(messages).toHaveLength(6);
    for (const message of messages) await workQueue.send(message, { messageId: message.dispatchId });

    const worker = startWorker(['--once', '--concurrency', '2', '--name', 'w-happy']);
    expect(await worker.exited).toEqual({ code: 0, signal: null });
    const results = await awaitResults(
      messages.map((m) => m.instanceId),
      messages.length,
    );

    const sourceDataset = gdal.open(local);
    for (const message of messages) {
      const result = results.find((r) => r.instanceId === message.instanceId);
      expect(result, message.input.itemId).toMatchObject({ kind: 'tile-result', eventName: tileResultEvent, dispatchId: message.dispatchId, worker: { name: 'w-happy', deliveryCount: 1 } });
      if (!result?.outcome.ok) throw new Error(`tile ${message.input.itemId} failed: ${JSON.stringify(result?.outcome)}`);
      const expected = cogBlob(message.input.outputs, message.input.itemId);
      expect(result.outcome.value.blob).toMatchObject({ container: containers.cogs, name: expected.name });
      // The COG in cogs/ holds exactly the source's window.
      const cogPath = join(fixtures.path, `${message.input.itemId}.tif`);
      await store.downloadToFile(expected, cogPath);
      const cog = gdal.open(cogPath);
      const { x, y, width, height } = message.input.window;
      expect(samePixels(readWindow(sourceDataset, 1, x, y, width, height), readWindow(cog, 1, 0, 0, width, height)), `${message.input.itemId} pixels`).toBe(true);
      cog.close();
    }
    sourceDataset.close();
    // One line per tile finished.
    expect(worker.lines.filter((line) => / completed: /.test(line))).toHaveLength(messages.length);
    expect(await visibleWork()).toBe(0);
  });

  it('fails poison tiles with their reason: a missing source at once, an always-failing tile dead-lettered after N deliveries', async () => {
    const local = writeInt16Dem(fixtures.path, 300, 200, 'small.tif');
    const source = await upload(local);
    const [missing] = tileMessages({ ...source, name: `${source.name}.gone` }, 300, 200, 512);
    // JPEG on Int16 (validation would refuse it; this message skips validation): GDAL fails every time, a failure worth retrying.
    const [poison] = tileMessages(source, 300, 200, 512).map((message) => ({ ...message, input: { ...message.input, options: { ...message.input.options, compression: 'JPEG' as const } } }));
    for (const message of [missing!, poison!]) await workQueue.send(message);
    await workQueue.send({ hello: 'not a tile' });

    const worker = startWorker(['--once', '--name', 'w-poison']);
    expect(await worker.exited).toEqual({ code: 0, signal: null });
    const results = await awaitResults([missing!.instanceId, poison!.instanceId], 2);

    const missingResult = results.find((r) => r.instanceId === missing!.instanceId);
    expect(missingResult?.outcome).toEqual({ ok: false, failure: { code: 'SOURCE_MISSING', message: expect.stringMatching(/no longer exists/) } });

    const poisonResult = results.find((r) => r.instanceId === poison!.instanceId);
    expect(poisonResult?.worker.deliveryCount).toBe(maxDeliveries + 1);
    expect(poisonResult?.outcome).toEqual({ ok: false, failure: { code: 'INTERNAL', message: `dead-lettered after ${maxDeliveries} deliveries: an unexpected error occurred; the service logs have the details` } });
    // Failure text never carries a local path or a stack.
    expect(JSON.stringify(results)).not.toMatch(/\/tmp\/|\bat .*\.js:\d+/);

    const deadLetters = await workQueue.readDeadLetters();
    expect(deadLetters).toEqual(
      expect.arrayContaining([
        { body: poison, reason: 'MaxDeliveriesExceeded', description: poisonResult?.outcome.ok === false ? poisonResult.outcome.failure.message : '', deliveryCount: maxDeliveries + 1 },
        { body: { hello: 'not a tile' }, reason: 'InvalidMessage', description: 'the message is not a tile-work message', deliveryCount: 1 },
      ]),
    );
    // The missing source was a final failure: reported and completed, not dead-lettered.
    expect(deadLetters.some((letter) => JSON.stringify(letter.body).includes(missing!.dispatchId))).toBe(false);
    // Each retry waited its back-off (1 s, then 2 s): the deliveries were not spent within milliseconds.
    const retries = worker.lines.filter((line) => /will be retried in \d+\.\d s \(INTERNAL\)/.test(line));
    expect(retries).toHaveLength(maxDeliveries);
    expect(retries.map((line) => /will be retried in (\S+) s/.exec(line)![1])).toEqual(['1.0', '2.0']);
    const failedAt = retries.map((line) => Date.parse(line.split(' ')[0]!));
    expect(failedAt[1]! - failedAt[0]!).toBeGreaterThanOrEqual(1000);
    expect(await visibleWork()).toBe(0);
  });

  it('SIGKILL mid-tile: the lock expires, a new worker makes the tile, one COG blob, at most two results', async () => {
    const local = writeFloat32NanDem(fixtures.path, 2500, 2500, 'big.tif');
    const source = await upload(local);
    const [message] = tileMessages(source, 2500, 2500, 4096);
    await workQueue.send(message!);

    const first = startWorker(['--lock-seconds', '2', '--name', 'w-killed']);
    await first.waitForLine(/tile .* started/);
    // Locked by the first worker: nobody else can see the message.
    expect(await visibleWork()).toBe(0);
    expect(await first.kill('SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' });
    expect(first.lines.some((line) => / completed: /.test(line))).toBe(false);

    const second = startWorker(['--lock-seconds', '2', '--name', 'w-second']);
    await second.waitForLine(/ completed: /, 90_000);
    const results = await awaitResults([message!.instanceId], 1);
    // Graceful stop: nothing in flight, exits cleanly.
    expect(await second.kill('SIGTERM')).toEqual({ code: 0, signal: null });

    expect(results.length).toBeLessThanOrEqual(2);
    expect(results.every((r) => r.outcome.ok)).toBe(true);
    expect(results.find((r) => r.worker.name === 'w-second')?.worker.deliveryCount).toBe(2);
    // Exactly one COG for the tile, under its deterministic name.
    const folder = versionFolder(message!.input.outputs);
    const blobs = await store.list(folder.container, folder.name);
    const cogs = blobs.filter((name) => name.endsWith('.tif'));
    expect(cogs).toEqual([cogBlob(message!.input.outputs, message!.input.itemId).name]);
    expect(await workQueue.readDeadLetters()).not.toContainEqual(expect.objectContaining({ body: message }));
    expect(await visibleWork()).toBe(0);
  });
});
