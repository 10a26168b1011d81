/**
 * The jobs list at scale (issue 10): fills a fresh task hub with real jobs — tiny text uploads
 * submitted through `POST /api/jobs`, which fail validation fast (UNSUPPORTED_FORMAT), plus a few
 * small GeoTIFFs that complete — then times `GET /api/jobs?top=50` (no filter, each filter, and
 * the second page through the continuation token) against the old approach in the same run:
 * listing every instance through the Durable HTTP API (as the SDK's getStatusAll does, page by
 * page) and sorting newest first. By default it measures once every job is submitted, while
 * the host still works through them (both sides under the same load).
 *
 *   npm run build && node dist/bench/jobs.list.bench.js [--jobs 10000] [--rounds 5]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import pLimit from 'p-limit';
import { startAzurite } from '../host/azurite.js';
import { startLocalHost } from '../host/spawn.js';
import { JobsClient } from '../cli/jobs.client.js';
import type { JobFilter } from '../cli/jobs.api.js';
import { AzureBlobStore } from '../src/storage/azure.blob.store.js';
import { writeSampleImage } from '../scripts/sample.rasters.js';
import { mib, peakMemoryOf, spreadOfMs, waitForIdle } from './bench.support.js';

const collections = ['bench-a', 'bench-b', 'bench-c', 'bench-d'];

interface InstanceStatus {
  instanceId: string;
  createdTime: string;
  runtimeStatus: string;
}

/** The old approach: every instance of the hub through the Durable HTTP API, page by page, then sorted newest first. */
async function listByScanning(baseUrl: string, top: number): Promise<{ first: InstanceStatus[]; scanned: number }> {
  const all: InstanceStatus[] = [];
  let token: string | null = null;
  do {
    const response: Response = await fetch(`${baseUrl}/runtime/webhooks/durabletask/instances`, { headers: token ? { 'x-ms-continuation-token': token } : {} });
    if (!response.ok) throw new Error(`instances answered ${response.status}`);
    all.push(...((await response.json()) as InstanceStatus[]));
    token = response.headers.get('x-ms-continuation-token');
  } while (token);
  const jobs = all.filter((instance) => !/-tile-\d+$/.test(instance.instanceId));
  jobs.sort((a, b) => b.createdTime.localeCompare(a.createdTime));
  return { first: jobs.slice(0, top), scanned: all.length };
}

async function timed<T>(action: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await action();
  return { ms: performance.now() - started, value };
}

/** Times the lists on a hub that holds the jobs: the index-backed API and the old full scan, in the same rounds. */
async function measureLists(baseUrl: string, client: JobsClient, jobCount: number, completedCount: number, rounds: number, idleWaitMs: number): Promise<void> {
  const total = jobCount + completedCount;
  const filters: Array<{ name: string; filter: JobFilter }> = [
    { name: 'no filter', filter: {} },
    { name: 'status=Failed', filter: { status: ['Failed'] } },
    { name: `status=Completed (${completedCount} of ${jobCount + completedCount})`, filter: { status: ['Completed'] } },
    { name: 'collection=bench-b', filter: { collection: 'bench-b' } },
    { name: 'since=1d', filter: { since: '1d' } },
    { name: 'errorCode=UNSUPPORTED_FORMAT', filter: { errorCode: 'UNSUPPORTED_FORMAT' } },
  ];
  const times = new Map<string, number[]>();
  const add = (name: string, ms: number): void => void times.set(name, [...(times.get(name) ?? []), ms]);
  let scanned = 0;
  console.log(`\nbefore the lists: ${await waitForIdle(0.15, idleWaitMs)}`);
  for (let round = 1; round <= rounds; round++) {
    for (const { name, filter } of filters) {
      const first = await timed(() => client.listJobs(filter, { top: 50 }));
      if (first.value.jobs.length === 0 && !name.startsWith('status=Completed')) throw new Error(`${name}: empty first page`);
      add(`GET /api/jobs?top=50 ${name}`, first.ms);
      if (name === 'no filter') {
        const token = first.value.continuationToken;
        if (!token) throw new Error('no continuation token after the first page');
        const second = await timed(() => client.listJobs(filter, { top: 50, continuationToken: token }));
        if (second.value.jobs.length !== 50) throw new Error(`second page held ${second.value.jobs.length} jobs`);
        add('GET /api/jobs?top=50 second page (token)', second.ms);
      }
    }
    // The old approach, in the same round: everything, then sorted.
    const old = await timed(() => listByScanning(baseUrl, 50));
    scanned = old.value.scanned;
    add('old: every instance via the Durable HTTP API, sorted', old.ms);
    console.log(`round ${round} done`);
  }
  console.log(`\n${total} jobs (${scanned} instances in the hub); medians (min–max) of ${rounds} rounds, each list in every round:`);
  for (const [name, values] of times) console.log(`  ${name.padEnd(58)} ${spreadOfMs(values)}`);
}

async function main(): Promise<void> {
  const options = new Command()
    .option('--jobs <n>', 'text uploads submitted as jobs (each fails validation)', '10000')
    .option('--completed <n>', 'small GeoTIFF jobs that complete', '20')
    .option('--rounds <n>', 'rounds of each list (medians and min–max)', '5')
    .option('--parallel <n>', 'submissions in flight while filling the hub', '16')
    .option('--url <baseUrl>', 'measure the lists of a running host that already holds the jobs (no fill)')
    .option('--settle', 'wait for every job to end before measuring (the local host ends about 2.6 of these jobs a second)', false)
    .parse()
    .opts<{ jobs: string; completed: string; rounds: string; parallel: string; url?: string; settle: boolean }>();
  const jobCount = Number(options.jobs);
  const completedCount = Number(options.completed);
  const rounds = Math.max(1, Number(options.rounds));
  if (options.url) {
    await measureLists(options.url, new JobsClient({ baseUrl: options.url }), jobCount, completedCount, rounds, 0);
    return;
  }
  const work = mkdtempSync(join(tmpdir(), 'jobs-list-bench-'));
  const azurite = await startAzurite({ location: join(work, 'azurite') });
  try {
    const store = AzureBlobStore.fromEnvironment({ AzureWebJobsStorage: azurite.connectionString });
    await store.ensureContainer('incoming');
    const host = await startLocalHost({ storageConnectionString: azurite.connectionString, worker: false, env: { INGEST_SOURCE_CONTAINERS: 'uploads,incoming', INGEST_SCRATCH_DIR: join(work, 'scratch') } });
    try {
      const client = new JobsClient({ baseUrl: host.baseUrl });
      const limit = pLimit(Number(options.parallel));

      // Fill the hub: real submissions, each its own orchestration and its own row in the jobs index.
      const fillStart = performance.now();
      const imagePath = join(work, 'small.tif');
      await writeSampleImage(imagePath, 64, 64);
      await Promise.all(
        Array.from({ length: completedCount }, (_, index) =>
          limit(async () => {
            await store.uploadFile({ container: 'incoming', name: `ok/image-${index}.tif` }, imagePath, 'image/tiff');
            await client.submit({ source: `incoming/ok/image-${index}.tif`, collection: collections[index % collections.length]! });
          }),
        ),
      );
      let submitted = 0;
      await Promise.all(
        Array.from({ length: jobCount }, (_, index) =>
          limit(async () => {
            const name = `text/note-${String(index).padStart(5, '0')}.txt`;
            await store.uploadBytes({ container: 'incoming', name }, new TextEncoder().encode(`not a raster ${index}\n`), 'text/plain');
            await client.submit({ source: `incoming/${name}`, collection: collections[index % collections.length]! });
            if (++submitted % 1000 === 0) console.log(`  ${submitted} submitted (${((performance.now() - fillStart) / 1000).toFixed(0)} s)`);
          }),
        ),
      );
      // Every job is in the hub and the index once submitted; --settle also waits for them to end.
      for (;;) {
        if (!options.settle) break;
        const page = await client.listJobs({ status: ['Pending', 'Running'] }, { top: 1 });
        if (page.jobs.length === 0) break;
        await new Promise((resolveWait) => setTimeout(resolveWait, 1000));
      }
      const fillSeconds = (performance.now() - fillStart) / 1000;
      const total = jobCount + completedCount;
      console.log(`hub filled with ${total} jobs in ${fillSeconds.toFixed(0)} s (${(total / fillSeconds).toFixed(0)} jobs/s), host peak ${mib(host.peakMemoryBytes() ?? 0)}`);

      await measureLists(host.baseUrl, client, jobCount, completedCount, rounds, options.settle ? 300_000 : 0);
      console.log(`host peak memory ${mib(peakMemoryOf(host.process.pid) ?? 0)}`);
    } finally {
      await host.stop();
    }
  } finally {
    await azurite.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
