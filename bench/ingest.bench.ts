/**
 * Ingestion speed (issue 9): each bench shape through the local host on its own fresh Azurite —
 * the Functions route reading a local copy (`INGEST_SOURCE_READ=copy`), the Functions route
 * reading in place, and the container worker route — against `gdal_translate -of COG` with the
 * same options on all cores, in alternating rounds. Prints medians with min–max, ratios, the
 * host's (and worker's) peak memory, the scratch folder's peak size and where the time went.
 *
 *   npm run build && node dist/bench/ingest.bench.js [--rounds 5] [--shapes square,etopo5x3,landsat8bit,sentinel2jp2] [--routes copy,in-place,worker]
 *
 * The upload to Azurite is not timed: the source is in storage before the job is submitted.
 */
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { startAzurite } from '../host/azurite.js';
import { startLocalHost } from '../host/spawn.js';
import { JobsClient } from '../cli/jobs.client.js';
import { AzureBlobStore } from '../src/storage/azure.blob.store.js';
import { writeShape, shapeNames, type BenchShape, type ShapeName } from './bench.rasters.js';
import { cpuSecondsOf, exitedChildrenCpuSeconds, loadLine, median, mib, parseEnvPairs, peakMemoryOf, run, runIfMain, seconds, spreadOfRatios, spreadOfTimes, summarizeTime, waitForIdle, watchFolderPeak, workerPidFrom } from './bench.support.js';

export const routes = ['copy', 'in-place', 'worker', 'worker-capped'] as const;

/** The scratch cap of `worker-capped` (MB): half of it is below every shape, so `auto` reads each in place, as the worker does in Azure with a source over its disk rule. */
export const cappedScratchMb = 128;
export type BenchRoute = (typeof routes)[number];

/** The COG options the pipeline uses by default (cog.command.ts), for the baseline. */
export const baselineCreationOptions = ['COMPRESS=DEFLATE', 'PREDICTOR=YES', 'BLOCKSIZE=512', 'NUM_THREADS=ALL_CPUS', 'BIGTIFF=IF_SAFER', 'OVERVIEWS=AUTO', 'OVERVIEW_RESAMPLING=AVERAGE'];

export async function timeBaseline(sourcePath: string, outputPath: string, extraArguments: readonly string[] = []): Promise<{ ms: number; bytes: number; cpuSeconds: number }> {
  const cpuBefore = exitedChildrenCpuSeconds();
  const started = performance.now();
  await run('gdal_translate', ['-q', '-of', 'COG', ...extraArguments, ...baselineCreationOptions.flatMap((option) => ['-co', option]), sourcePath, outputPath], { timeout: 3_600_000 });
  const ms = performance.now() - started;
  const cpuSeconds = exitedChildrenCpuSeconds() - cpuBefore;
  const bytes = statSync(outputPath).size;
  rmSync(outputPath);
  return { ms, bytes, cpuSeconds };
}

export interface PipelineRun {
  ms: number;
  /** CPU seconds from submit to Completed: the host (GDAL runs in it), Azurite, and the worker when it ran. */
  cpu: { host: number; azurite: number; worker: number };
  uploadMs: number;
  hostPeak: number;
  workerPeak: number | undefined;
  scratchPeak: number;
  tiles: number;
  bytesOut: number;
  output: string;
}

/**
 * The environment of each route: the Functions routes keep every source on Functions (a threshold
 * of 1 TiB; a 3 GB source would otherwise go to the worker), the worker route sends every tile to
 * the worker (threshold 1 MB).
 */
export function routeEnvironment(route: BenchRoute, workerRead: string | undefined): Record<string, string> {
  const functionsOnly = { INGEST_WORKER_THRESHOLD_MB: String(1024 * 1024) };
  switch (route) {
    case 'copy':
      return { ...functionsOnly, INGEST_SOURCE_READ: 'copy' };
    case 'in-place':
      return { ...functionsOnly, INGEST_SOURCE_READ: 'in-place' };
    case 'worker':
      return { INGEST_WORKER_THRESHOLD_MB: '1', ...(workerRead ? { INGEST_SOURCE_READ: workerRead } : {}) };
    case 'worker-capped':
      return { INGEST_WORKER_THRESHOLD_MB: '1', INGEST_SCRATCH_MAX_MB: String(cappedScratchMb), INGEST_SOURCE_READ: 'auto' };
  }
}

/** One job through a fresh Azurite and host: upload (not timed), then submit → Completed (timed). */
export async function timePipeline(source: BenchShape, route: BenchRoute, roundDir: string, extraEnv: Record<string, string> = {}): Promise<PipelineRun> {
  const azurite = await startAzurite({ location: join(roundDir, 'azurite') });
  try {
    const store = AzureBlobStore.fromEnvironment({ AzureWebJobsStorage: azurite.connectionString });
    const uploadStart = performance.now();
    await store.uploadFile({ container: 'incoming', name: `bench/${source.name}.tif` }, source.path, 'image/tiff');
    const uploadMs = performance.now() - uploadStart;
    const scratch = join(roundDir, 'scratch');
    const host = await startLocalHost({
      storageConnectionString: azurite.connectionString,
      worker: route === 'worker' || route === 'worker-capped',
      env: { INGEST_SCRATCH_DIR: scratch, INGEST_SOURCE_CONTAINERS: 'uploads,incoming', ...extraEnv, ...routeEnvironment(route, extraEnv['INGEST_SOURCE_READ']) },
    });
    try {
      const client = new JobsClient({ baseUrl: host.baseUrl });
      const scratchWatch = watchFolderPeak(scratch);
      let workerPeak: number | undefined;
      // The worker's peak is read while it still runs (its /proc entry goes with it).
      const workerWatch = setInterval(() => (workerPeak = peakMemoryOf(workerPidFrom(host.output())) ?? workerPeak), 500);
      const cpuNow = (): PipelineRun['cpu'] => ({
        host: cpuSecondsOf(host.process.pid) ?? 0,
        azurite: cpuSecondsOf(azurite.process.pid) ?? 0,
        worker: cpuSecondsOf(workerPidFrom(host.output())) ?? 0,
      });
      const cpuBefore = cpuNow();
      const started = performance.now();
      const { id } = await client.submit({ source: `incoming/bench/${source.name}.tif`, collection: 'bench' });
      const view = await client.waitForJob(id, { intervalMs: 200 });
      const ms = performance.now() - started;
      const cpuAfter = cpuNow();
      const cpu = { host: cpuAfter.host - cpuBefore.host, azurite: cpuAfter.azurite - cpuBefore.azurite, worker: cpuAfter.worker - cpuBefore.worker };
      clearInterval(workerWatch);
      workerPeak = peakMemoryOf(workerPidFrom(host.output())) ?? workerPeak;
      const scratchPeak = scratchWatch.stop();
      if (view.status !== 'Completed') throw new Error(`${source.name} on ${route}: job ${view.status}: ${view.errors.map((failure) => `${failure.code}: ${failure.message}`).join('; ')}`);
      const expectedRoute = route === 'worker' || route === 'worker-capped' ? 'worker' : 'functions';
      if (view.route !== expectedRoute) throw new Error(`${source.name}: the job took the ${view.route} route, not ${expectedRoute}`);
      return { ms, cpu, uploadMs, hostPeak: host.peakMemoryBytes() ?? 0, workerPeak, scratchPeak, tiles: view.output?.tiles.length ?? 0, bytesOut: view.output?.bytesOut ?? 0, output: host.output() };
    } finally {
      await host.stop();
    }
  } finally {
    await azurite.stop();
    rmSync(roundDir, { recursive: true, force: true });
  }
}

function parseList<T extends string>(raw: string, allowed: readonly T[], what: string): T[] {
  const values = raw.split(',').map((value) => value.trim());
  for (const value of values) if (!allowed.includes(value as T)) throw new Error(`unknown ${what} "${value}" (one of ${allowed.join(', ')})`);
  return values.filter((value): value is T => allowed.includes(value as T));
}

async function main(): Promise<void> {
  const options = new Command()
    .option('--rounds <n>', 'alternating rounds (medians and min–max are reported)', '5')
    .option('--shapes <list>', `comma list of ${shapeNames.join(', ')}`, shapeNames.join(','))
    .option('--routes <list>', `comma list of ${routes.join(', ')}`, routes.join(','))
    .option('--worker-read <mode>', 'INGEST_SOURCE_READ of the worker route (default: the app default)')
    .option('--env <KEY=VALUE...>', 'extra settings for the host on every route (e.g. DURABLE_MAX_CONCURRENT_ACTIVITIES=1)', [])
    .option('--logs <dir>', 'keep each run\'s host output there')
    .option('--data <dir>', 'folder for the generated sources (kept between runs when given)')
    .parse()
    .opts<{ rounds: string; shapes: string; routes: string; workerRead?: string; env: string[]; logs?: string; data?: string }>();
  const rounds = Math.max(1, Number(options.rounds));
  const shapes = parseList<ShapeName>(options.shapes, shapeNames, 'shape');
  const chosenRoutes = parseList<BenchRoute>(options.routes, routes, 'route');
  const work = mkdtempSync(join(tmpdir(), 'ingest-bench-'));
  const dataDir = options.data ?? join(work, 'data');
  try {
    const sources: BenchShape[] = [];
    for (const name of shapes) {
      console.log(`Preparing ${name}…`);
      sources.push(await writeShape(name, dataDir));
    }
    console.log(`before the first round: ${await waitForIdle()}`);
    const extraEnv: Record<string, string> = parseEnvPairs(options.env);
    if (options.env.length) console.log(`extra host settings: ${options.env.join(' ')}`);

    const results = new Map<string, { baseline: number[]; baselineCpu: number[]; baselineBytes: number; runs: Map<BenchRoute, PipelineRun[]> }>();
    for (const source of sources) results.set(source.name, { baseline: [], baselineCpu: [], baselineBytes: 0, runs: new Map(chosenRoutes.map((route) => [route, []])) });
    for (let round = 1; round <= rounds; round++) {
      for (const source of sources) {
        const entry = results.get(source.name)!;
        const line = [`round ${round} ${source.name} (${await waitForIdle()}):`];
        const baseline = await timeBaseline(source.path, join(work, 'baseline.tif'), source.baselineArguments);
        entry.baseline.push(baseline.ms);
        entry.baselineCpu.push(baseline.cpuSeconds);
        entry.baselineBytes = baseline.bytes;
        line.push(`gdal_translate ${seconds(baseline.ms)}`);
        for (const route of chosenRoutes) {
          const result = await timePipeline(source, route, join(work, `round-${round}-${route}`), { ...extraEnv, ...(route === 'worker' && options.workerRead ? { INGEST_SOURCE_READ: options.workerRead } : {}) });
          entry.runs.get(route)!.push(result);
          if (options.logs) {
            mkdirSync(options.logs, { recursive: true });
            writeFileSync(join(options.logs, `${source.name}-${route}-${round}.log`), result.output);
          }
          line.push(`${route} ${seconds(result.ms)} (${(result.ms / baseline.ms).toFixed(2)}×)`);
        }
        console.log(line.join(', '));
      }
    }

    console.log(`\nafter the last round: ${loadLine()}`);
    console.log(`\nmedians (min–max) of ${rounds} alternating rounds; the upload to Azurite is not timed (the source is in storage before submit):`);
    for (const source of sources) {
      const entry = results.get(source.name)!;
      console.log(`\n${source.name}: ${source.description}`);
      const baselineCpu = median(entry.baselineCpu);
      console.log(`  gdal_translate -of COG         ${spreadOfTimes(entry.baseline)} → 1 COG, ${mib(entry.baselineBytes)}; CPU ${baselineCpu.toFixed(1)} s (${(baselineCpu / (median(entry.baseline) / 1000)).toFixed(2)} of ${cpus().length} cores busy)`);
      for (const [route, runs] of entry.runs) {
        const ratios = runs.map((result, index) => result.ms / entry.baseline[index]!);
        const last = runs.at(-1)!;
        const workerPeaks = runs.map((result) => result.workerPeak ?? 0);
        console.log(
          `  pipeline ${route.padEnd(9)}            ${spreadOfTimes(runs.map((result) => result.ms))} → ${last.tiles} COGs, ${mib(last.bytesOut)}; ratio ${spreadOfRatios(ratios)}; ` +
            `host peak ${mib(Math.max(...runs.map((result) => result.hostPeak)))}` +
            (route !== 'copy' && route !== 'in-place' ? `, worker peak ${mib(Math.max(...workerPeaks))}` : '') +
            `; scratch peak ${mib(Math.max(...runs.map((result) => result.scratchPeak)))}; upload (untimed) ${seconds(runs.map((result) => result.uploadMs).reduce((a, b) => a + b, 0) / runs.length)}`,
        );
        // Wall time cannot drop below the CPU work spread over every core: the floor this shape has here.
        const cpu = { host: median(runs.map((result) => result.cpu.host)), azurite: median(runs.map((result) => result.cpu.azurite)), worker: median(runs.map((result) => result.cpu.worker)) };
        const cpuTotal = cpu.host + cpu.azurite + cpu.worker;
        console.log(
          `    CPU ${cpuTotal.toFixed(1)} s (host ${cpu.host.toFixed(1)} s, Azurite ${cpu.azurite.toFixed(1)} s${route !== 'copy' && route !== 'in-place' ? `, worker ${cpu.worker.toFixed(1)} s` : ''}) against gdal_translate's ${baselineCpu.toFixed(1)} s: ` +
            `on ${cpus().length} cores no schedule finishes before ${seconds((cpuTotal / cpus().length) * 1000)} (ratio ≥ ${((cpuTotal / cpus().length) * 1000 / median(entry.baseline)).toFixed(2)})`,
        );
        console.log(`  where the ${route} time went (sum over the rounds; activities overlap):`);
        for (const timeLine of summarizeTime(runs.map((result) => result.output))) console.log(timeLine);
      }
      const copied = entry.runs.get('worker');
      const capped = entry.runs.get('worker-capped');
      if (copied?.length && capped?.length) {
        // The same round's two runs against each other: in place (the cap) over a local copy.
        const ratios = capped.map((result, index) => result.ms / copied[index]!.ms);
        console.log(`  worker in place (scratch cap ${cappedScratchMb} MB) / worker with a local copy: ${spreadOfRatios(ratios)}`);
      }
    }
    console.log('\ntargets: ratio ≤ 1.00 on every shape, host peak ≤ 1536 MiB');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

runIfMain(import.meta.url, main);
