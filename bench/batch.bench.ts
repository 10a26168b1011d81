/**
 * Batch speed: N small rasters cut from a real Landsat scene (L7_ETMs.tif, Debian's r-cran-stars,
 * fetched at run time) ingested as one batch through the local host, against a plain loop of
 * `gdal_translate -of COG` over the same files with the same options, in alternating rounds, each
 * pipeline round on a fresh Azurite and host. Prints medians, their spread, the ratio and the
 * host's peak memory. The upload to Azurite is not timed (the sources are in storage before the
 * batch is submitted); the pipeline also writes statistics, thumbnails and STAC.
 *
 *   npm run build && node dist/bench/batch.bench.js [--count 500] [--size 128] [--rounds 3]
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
import { BlobStore } from '../src/storage/blob.store.js';
import { cpuSecondsOf, exitedChildrenCpuSeconds, median, parseEnvPairs, summarizeTime } from './bench.support.js';

const run = promisify(execFile);

const options = new Command()
  .option('--count <n>', 'small rasters in the batch', '500')
  .option('--size <pixels>', 'edge of each raster', '128')
  .option('--rounds <n>', 'alternating rounds (median reported)', '3')
  .option('--env <KEY=VALUE...>', 'extra settings for the host (e.g. DURABLE_MAX_CONCURRENT_ACTIVITIES=8)', [])
  .parse()
  .opts<{ count: string; size: string; rounds: string; env: string[] }>();
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

async function gdalLoop(): Promise<{ seconds: number; cpuSeconds: number }> {
  const out = mkdtempSync(join(work, 'gdal-'));
  const cpuBefore = exitedChildrenCpuSeconds();
  const started = performance.now();
  for (const file of files) {
    await run('gdal_translate', ['-q', '-of', 'COG', '-co', 'COMPRESS=DEFLATE', '-co', 'PREDICTOR=YES', '-co', 'BLOCKSIZE=512', '-co', 'NUM_THREADS=ALL_CPUS', file, join(out, file.split('/').pop()!)]);
  }
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
    const store = BlobStore.fromEnvironment({ AzureWebJobsStorage: azurite.connectionString });
    const upload = pLimit(16);
    await Promise.all(files.map((file) => upload(() => store.uploadFile({ container: 'incoming', name: `bench/${file.split('/').pop()}` }, file, 'image/tiff'))));
    const cpuBefore = { host: cpuSecondsOf(host.process.pid) ?? 0, azurite: cpuSecondsOf(azurite.process.pid) ?? 0 };
    const started = performance.now();
    const response = await fetch(`${host.baseUrl}/api/batches`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ source: 'incoming/bench/', collection: 'bench' }) });
    if (response.status !== 202) throw new Error(`batch answered ${response.status}: ${await response.text()}`);
    const { id } = (await response.json()) as { id: string };
    for (;;) {
      const view = (await (await fetch(`${host.baseUrl}/api/batches/${id}`)).json()) as { status: string; counts: { done: number; failed: number } };
      if (view.status === 'Completed') {
        if (view.counts.done !== count) throw new Error(`batch finished with ${JSON.stringify(view.counts)}`);
        break;
      }
      if (view.status === 'Failed') throw new Error(`batch failed: ${JSON.stringify(view)}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const seconds = (performance.now() - started) / 1000;
    const cpuSeconds = { host: (cpuSecondsOf(host.process.pid) ?? 0) - cpuBefore.host, azurite: (cpuSecondsOf(azurite.process.pid) ?? 0) - cpuBefore.azurite };
    return { seconds, peakMiB: (host.peakMemoryBytes() ?? 0) / 2 ** 20, cpuSeconds, output: host.output() };
  } finally {
    await host.stop();
    await azurite.stop();
    rmSync(location, { recursive: true, force: true });
  }
}

const loopTimes: number[] = [];
const loopCpu: number[] = [];
const pipelineTimes: number[] = [];
const pipelineCpu: Array<{ host: number; azurite: number }> = [];
const outputs: string[] = [];
const peaks: number[] = [];
if (options.env.length) console.log(`extra host settings: ${options.env.join(' ')}`);
for (let round = 1; round <= rounds; round++) {
  const loopRun = await gdalLoop();
  loopTimes.push(loopRun.seconds);
  loopCpu.push(loopRun.cpuSeconds);
  const measured = await pipeline();
  pipelineTimes.push(measured.seconds);
  pipelineCpu.push(measured.cpuSeconds);
  outputs.push(measured.output);
  peaks.push(measured.peakMiB);
  console.log(
    `round ${round}: gdal_translate loop ${loopRun.seconds.toFixed(1)} s (CPU ${loopRun.cpuSeconds.toFixed(1)} s), batch ${measured.seconds.toFixed(1)} s ` +
      `(CPU host ${measured.cpuSeconds.host.toFixed(1)} s, Azurite ${measured.cpuSeconds.azurite.toFixed(1)} s; host peak ${measured.peakMiB.toFixed(0)} MiB)`,
  );
}
const loop = median(loopTimes);
const batch = median(pipelineTimes);
console.log(`\ngdal_translate -of COG loop over ${count} files: median ${loop.toFixed(1)} s (${Math.min(...loopTimes).toFixed(1)}–${Math.max(...loopTimes).toFixed(1)})`);
console.log(`batch through the local host:              median ${batch.toFixed(1)} s (${Math.min(...pipelineTimes).toFixed(1)}–${Math.max(...pipelineTimes).toFixed(1)}), ${(count / batch).toFixed(1)} sources/s`);
console.log(`ratio ${(batch / loop).toFixed(2)} (per round ${pipelineTimes.map((time, index) => (time / loopTimes[index]!).toFixed(2)).join(', ')}; target ≤ 1.0); host peak memory ${Math.max(...peaks).toFixed(0)} MiB; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
console.log(
  `CPU: the loop ${median(loopCpu).toFixed(1)} s; the batch host ${median(pipelineCpu.map((cpu) => cpu.host)).toFixed(1)} s + Azurite ${median(pipelineCpu.map((cpu) => cpu.azurite)).toFixed(1)} s ` +
    `(medians; ${cpus().length} cores)`,
);
console.log('where the batch time went (sum over the rounds; invocations overlap):');
for (const line of summarizeTime(outputs)) console.log(line);
rmSync(work, { recursive: true, force: true });
