/**
 * Small-source speed: N small rasters cut from a real Landsat scene (L7_ETMs.tif, Debian's
 * r-cran-stars, fetched at run time) ingested through the local host, either as one batch
 * (`--mode batch`) or as N separate jobs submitted at once (`--mode jobs`), against loops of
 * `gdal_translate -of COG` over the same files with the same options: one at a time, and `nproc`
 * wide (what a user with these cores runs, `xargs -P`), in alternating rounds, each pipeline round
 * on a fresh Azurite and host. Prints medians, their spread, both ratios and the host's peak
 * memory. The upload to Azurite is not timed (the sources are in storage before the first
 * submission); the pipeline also writes statistics, thumbnails and STAC.
 *
 *   npm run build && node dist/bench/batch.bench.js [--mode batch|jobs] [--count 500] [--size 128] [--rounds 3]
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Command } from 'commander';
import gdal from 'gdal-async';
import pLimit from 'p-limit';
import { startAzurite } from '../host/azurite.js';
import { startLocalHost } from '../host/spawn.js';
import { fetchDebianRasters } from '../scripts/debian.rasters.js';
import { AzureBlobStore } from '../src/storage/azure.blob.store.js';
import { cpuSecondsOf, exitedChildrenCpuSeconds, median, parseEnvPairs, summarizeTime } from './bench.support.js';

const run = promisify(execFile);

const options = new Command()
  .option('--mode <mode>', 'batch: one batch over the files; jobs: one job per file, all submitted at once', 'batch')
  .option('--count <n>', 'small rasters in the batch', '500')
  .option('--size <pixels>', 'edge of each raster', '128')
  .option('--rounds <n>', 'alternating rounds (median reported)', '3')
  .option('--env <KEY=VALUE...>', 'extra settings for the host (e.g. DURABLE_MAX_CONCURRENT_ACTIVITIES=8)', [])
  .parse()
  .opts<{ mode: string; count: string; size: string; rounds: string; env: string[] }>();
if (options.mode !== 'batch' && options.mode !== 'jobs') throw new Error(`--mode must be batch or jobs, got ${options.mode}`);
const mode: 'batch' | 'jobs' = options.mode;
const extraEnv: Record<string, string> = parseEnvPairs(options.env);
const count = Number(options.count);
const size = Number(options.size);
const rounds = Number(options.rounds);

const fetched = await fetchDebianRasters();
if ('unavailable' in fetched) throw new Error(fetched.unavailable);
const scene = gdal.open(fetched.paths.landsat);
const work = mkdtempSync(join(tmpdir(), 'batch-bench-'));
const sourcesDir = join(work, 'sources');
mkdirSync(sourcesDir);
// Deterministic windows of the scene (a small linear congruential sequence): the same run to run.
let seed = 42;
const next = (bound: number): number => {
  seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
  return seed % bound;
};
const files: string[] = [];
for (let i = 0; i < count; i++) {
  const x = next(scene.rasterSize.x - size);
  const y = next(scene.rasterSize.y - size);
  const path = join(sourcesDir, `scene-${String(i).padStart(4, '0')}.tif`);
  (await gdal.translateAsync(path, scene, ['-srcwin', String(x), String(y), String(size), String(size)])).close();
  files.push(path);
}
console.log(`${count} rasters of ${size}×${size}×${scene.bands.count()} cut from L7_ETMs.tif; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);

/** The loop a user runs: `width` gdal_translate processes at once (1, or `nproc` as `xargs -P` would). */
async function gdalLoop(width: number): Promise<{ seconds: number; cpuSeconds: number }> {
  const out = mkdtempSync(join(work, 'gdal-'));
  const cpuBefore = exitedChildrenCpuSeconds();
  const started = performance.now();
  const limit = pLimit(width);
  await Promise.all(
    files.map((file) =>
      limit(() => run('gdal_translate', ['-q', '-of', 'COG', '-co', 'COMPRESS=DEFLATE', '-co', 'PREDICTOR=YES', '-co', 'BLOCKSIZE=512', '-co', 'NUM_THREADS=ALL_CPUS', file, join(out, file.split('/').pop()!)])),
    ),
  );
  const seconds = (performance.now() - started) / 1000;
  const cpuSeconds = exitedChildrenCpuSeconds() - cpuBefore;
  rmSync(out, { recursive: true, force: true });
  return { seconds, cpuSeconds };
}

async function pipeline(): Promise<{ seconds: number; peakMiB: number; cpuSeconds: { host: number; azurite: number }; output: string }> {
  const location = mkdtempSync(join(work, 'azurite-'));
  const azurite = await startAzurite({ location });
  const host = await startLocalHost({ storageConnectionString: azurite.connectionString, env: { INGEST_SOURCE_CONTAINERS: 'uploads,incoming', HOST_NO_WORKER: '1', ...extraEnv } });
  try {
    const store = AzureBlobStore.fromEnvironment({ AzureWebJobsStorage: azurite.connectionString });
    const upload = pLimit(16);
    await Promise.all(files.map((file) => upload(() => store.uploadFile({ container: 'incoming', name: `bench/${file.split('/').pop()}` }, file, 'image/tiff'))));
    const cpuBefore = { host: cpuSecondsOf(host.process.pid) ?? 0, azurite: cpuSecondsOf(azurite.process.pid) ?? 0 };
    const started = performance.now();
    if (mode === 'batch') await runBatch(host.baseUrl);
    else await runJobs(host.baseUrl);
    const seconds = (performance.now() - started) / 1000;
    const cpuSeconds = { host: (cpuSecondsOf(host.process.pid) ?? 0) - cpuBefore.host, azurite: (cpuSecondsOf(azurite.process.pid) ?? 0) - cpuBefore.azurite };
    return { seconds, peakMiB: (host.peakMemoryBytes() ?? 0) / 2 ** 20, cpuSeconds, output: host.output() };
  } finally {
    await host.stop();
    await azurite.stop();
    rmSync(location, { recursive: true, force: true });
  }
}

async function runBatch(baseUrl: string): Promise<void> {
  const response = await fetch(`${baseUrl}/api/batches`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ source: 'incoming/bench/', collection: 'bench' }) });
  if (response.status !== 202) throw new Error(`batch answered ${response.status}: ${await response.text()}`);
  const { id } = (await response.json()) as { id: string };
  for (;;) {
    const view = (await (await fetch(`${baseUrl}/api/batches/${id}`)).json()) as { status: string; counts: { done: number; failed: number } };
    if (view.status === 'Completed') {
      if (view.counts.done !== count) throw new Error(`batch finished with ${JSON.stringify(view.counts)}`);
      return;
    }
    if (view.status === 'Failed') throw new Error(`batch failed: ${JSON.stringify(view)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Every file as its own job, all submitted at once (as an upload trigger firing for each would), then awaited. */
async function runJobs(baseUrl: string): Promise<void> {
  const ids = await Promise.all(
    files.map(async (file) => {
      const response = await fetch(`${baseUrl}/api/jobs`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ source: `incoming/bench/${file.split('/').pop()}`, collection: 'bench' }) });
      if (response.status !== 202) throw new Error(`job answered ${response.status}: ${await response.text()}`);
      return ((await response.json()) as { id: string }).id;
    }),
  );
  const pending = new Set(ids);
  while (pending.size > 0) {
    const page = (await (await fetch(`${baseUrl}/api/jobs?top=500&collection=bench`)).json()) as { jobs: Array<{ id: string; status: string }> };
    for (const job of page.jobs) {
      if (job.status === 'Failed') throw new Error(`job ${job.id} failed`);
      if (job.status === 'Completed') pending.delete(job.id);
    }
    if (pending.size > 0) await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const wide = cpus().length;
const wideTimes: number[] = [];
const loopTimes: number[] = [];
const loopCpu: number[] = [];
const pipelineTimes: number[] = [];
const pipelineCpu: Array<{ host: number; azurite: number }> = [];
const outputs: string[] = [];
const peaks: number[] = [];
if (options.env.length) console.log(`extra host settings: ${options.env.join(' ')}`);
for (let round = 1; round <= rounds; round++) {
  const loopRun = await gdalLoop(1);
  loopTimes.push(loopRun.seconds);
  loopCpu.push(loopRun.cpuSeconds);
  const wideRun = await gdalLoop(wide);
  wideTimes.push(wideRun.seconds);
  const measured = await pipeline();
  pipelineTimes.push(measured.seconds);
  pipelineCpu.push(measured.cpuSeconds);
  outputs.push(measured.output);
  peaks.push(measured.peakMiB);
  console.log(
    `round ${round}: gdal_translate loop ${loopRun.seconds.toFixed(1)} s (CPU ${loopRun.cpuSeconds.toFixed(1)} s), ${wide} wide ${wideRun.seconds.toFixed(1)} s, ${mode} ${measured.seconds.toFixed(1)} s ` +
      `(CPU host ${measured.cpuSeconds.host.toFixed(1)} s, Azurite ${measured.cpuSeconds.azurite.toFixed(1)} s; host peak ${measured.peakMiB.toFixed(0)} MiB)`,
  );
}
const loop = median(loopTimes);
const loopWide = median(wideTimes);
const batch = median(pipelineTimes);
const spread = (times: number[]): string => `${Math.min(...times).toFixed(1)}–${Math.max(...times).toFixed(1)}`;
const perRound = (baseline: number[]): string => pipelineTimes.map((time, index) => (time / baseline[index]!).toFixed(2)).join(', ');
console.log(`\ngdal_translate -of COG loop over ${count} files, one at a time: median ${loop.toFixed(1)} s (${spread(loopTimes)})`);
console.log(`the same loop ${wide} wide (xargs -P ${wide}):                 median ${loopWide.toFixed(1)} s (${spread(wideTimes)})`);
console.log(`${mode === 'batch' ? 'one batch' : `${count} jobs at once`} through the local host: median ${batch.toFixed(1)} s (${spread(pipelineTimes)}), ${(count / batch).toFixed(1)} sources/s`);
console.log(`ratio against the wide loop ${(batch / loopWide).toFixed(2)} (per round ${perRound(wideTimes)}); against the serial loop ${(batch / loop).toFixed(2)} (per round ${perRound(loopTimes)})`);
console.log(`host peak memory ${Math.max(...peaks).toFixed(0)} MiB; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
console.log(
  `CPU: the loop ${median(loopCpu).toFixed(1)} s; the batch host ${median(pipelineCpu.map((cpu) => cpu.host)).toFixed(1)} s + Azurite ${median(pipelineCpu.map((cpu) => cpu.azurite)).toFixed(1)} s ` +
    `(medians; ${cpus().length} cores)`,
);
console.log('where the batch time went (sum over the rounds; invocations overlap):');
for (const line of summarizeTime(outputs)) console.log(line);
rmSync(work, { recursive: true, force: true });
