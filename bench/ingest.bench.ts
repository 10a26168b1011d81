/**
 * Ingestion speed: a large float32 raster through the local host (Azurite persistence, the
 * unchanged app) against `gdal_translate -of COG` on the same file with all cores, in the same
 * run. Prints both times, their ratio and the host's peak memory.
 *
 *   npm run build && node dist/bench/ingest.bench.js [--size 9000] [--tile-size 4096] [--rounds 3]
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Command } from 'commander';
import { startAzurite } from '../host/azurite.js';
import { startLocalHost } from '../host/spawn.js';
import type { JobView } from '../cli/jobs.api.js';
import { JobsClient } from '../cli/jobs.client.js';
import { BlobStore } from '../src/storage/blob.store.js';
import { writeSampleDem } from '../scripts/sample.rasters.js';

const run = promisify(execFile);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function mib(bytes: number): string {
  return `${(bytes / (1 << 20)).toFixed(0)} MiB`;
}

/** Sums the host's per-invocation log lines by function: where the pipeline's time went. */
function summarizeInvocations(hostOutput: string): string[] {
  const totals = new Map<string, { count: number; totalMs: number; maxMs: number }>();
  for (const match of hostOutput.matchAll(/Executed 'Functions\.(\w+)' \([^)]*Duration=(\d+)ms\)/g)) {
    const entry = totals.get(match[1]!) ?? { count: 0, totalMs: 0, maxMs: 0 };
    const ms = Number(match[2]);
    totals.set(match[1]!, { count: entry.count + 1, totalMs: entry.totalMs + ms, maxMs: Math.max(entry.maxMs, ms) });
  }
  return [...totals.entries()]
    .sort((a, b) => b[1].totalMs - a[1].totalMs)
    .map(([name, t]) => `  ${name.padEnd(20)} ${String(t.count).padStart(4)} calls  ${seconds(t.totalMs).padStart(8)} total  ${seconds(t.maxMs).padStart(7)} longest`);
}

/** Waits for the job through the job API client; a job that did not complete ends the bench with its failures. */
async function waitForCompletion(client: JobsClient, id: string): Promise<JobView> {
  const view = await client.waitForJob(id, { intervalMs: 200 });
  if (view.status !== 'Completed') throw new Error(`job ${id} ${view.status}: ${view.errors.map((failure) => `${failure.code}: ${failure.message}`).join('; ')}`);
  return view;
}

async function main(): Promise<void> {
  const options = new Command()
    .option('--size <pixels>', 'edge of the square float32 raster (9000 → 324 MB)', '9000')
    .option('--tile-size <pixels>', 'tile edge used by the pipeline', '4096')
    .option('--rounds <n>', 'alternating baseline/pipeline rounds (medians are reported)', '3')
    .parse()
    .opts<{ size: string; tileSize: string; rounds: string }>();
  const size = Number(options.size);
  const rounds = Math.max(1, Number(options.rounds));
  const work = mkdtempSync(join(tmpdir(), 'ingest-bench-'));
  try {
    const sourcePath = join(work, 'large.tif');
    console.log(`Generating a ${size}×${size} float32 raster…`);
    // Uncompressed and striped, like a typical export: neither side gets a head start.
    await writeSampleDem(sourcePath, size, size, []);
    const sourceBytes = statSync(sourcePath).size;
    console.log(`Source: ${mib(sourceBytes)} float32, nodata -9999`);

    // Alternate baseline and pipeline rounds so both see the same machine load; report medians.
    const baselineTimes: number[] = [];
    const pipelineTimes: number[] = [];
    const uploadTimes: number[] = [];
    const peaks: number[] = [];
    const hostOutputs: string[] = [];
    let baselineBytes = 0;
    let lastView: JobView | undefined;
    for (let round = 1; round <= rounds; round++) {
      // Baseline: GDAL's own COG conversion, all cores, the same compression the pipeline uses.
      const baselineStart = performance.now();
      await run('gdal_translate', ['-q', '-of', 'COG', '-co', 'COMPRESS=DEFLATE', '-co', 'PREDICTOR=YES', '-co', 'BLOCKSIZE=512', '-co', 'NUM_THREADS=ALL_CPUS', '-co', 'BIGTIFF=IF_SAFER', sourcePath, join(work, 'baseline.tif')]);
      baselineTimes.push(performance.now() - baselineStart);
      baselineBytes = statSync(join(work, 'baseline.tif')).size;
      rmSync(join(work, 'baseline.tif'));

      // Fresh storage and host each round: Azurite serves blobs more slowly as its data grows,
      // and every round should ingest like a first ingestion.
      const roundDir = join(work, `round-${round}`);
      const azurite = await startAzurite({ location: join(roundDir, 'azurite') });
      try {
        const store = BlobStore.fromEnvironment({ AzureWebJobsStorage: azurite.connectionString });
        const uploadStart = performance.now();
        await store.uploadFile({ container: 'incoming', name: 'bench/large.tif' }, sourcePath, 'image/tiff');
        uploadTimes.push(performance.now() - uploadStart);

        const host = await startLocalHost({ storageConnectionString: azurite.connectionString, env: { INGEST_SCRATCH_DIR: join(roundDir, 'scratch'), INGEST_SOURCE_CONTAINERS: 'uploads,incoming' } });
        try {
          const pipelineStart = performance.now();
          const client = new JobsClient({ baseUrl: host.baseUrl });
          const { id } = await client.submit({ source: 'incoming/bench/large.tif', collection: 'bench', options: { tileSize: Number(options.tileSize) } });
          lastView = await waitForCompletion(client, id);
          pipelineTimes.push(performance.now() - pipelineStart);
          peaks.push(host.peakMemoryBytes() ?? 0);
          hostOutputs.push(host.output());
        } finally {
          await host.stop();
        }
      } finally {
        await azurite.stop();
        rmSync(roundDir, { recursive: true, force: true });
      }
      console.log(`round ${round}: baseline ${seconds(baselineTimes.at(-1)!)}, pipeline ${seconds(pipelineTimes.at(-1)!)}`);
    }
    const baselineMs = median(baselineTimes);
    const pipelineMs = median(pipelineTimes);
    const peak = Math.max(...peaks);

    console.log('');
    console.log(`medians of ${rounds} alternating rounds:`);
    console.log(`gdal_translate -of COG (baseline)   ${seconds(baselineMs).padStart(8)}   → 1 COG, ${mib(baselineBytes)}`);
    console.log(`pipeline via local host             ${seconds(pipelineMs).padStart(8)}   → ${lastView!.output!.tiles.length} COG tiles + STAC, ${mib(lastView!.output!.bytesOut)}`);
    console.log(`ratio pipeline / baseline           ${(pipelineMs / baselineMs).toFixed(2).padStart(8)}   (target ≤ 1.25)`);
    console.log(`host peak memory (VmHWM, max)       ${(peak ? mib(peak) : 'n/a').padStart(8)}   (target ≤ 1536 MiB)`);
    console.log(`upload to Azurite (not in the ratio) ${seconds(median(uploadTimes)).padStart(7)}`);
    console.log('\nwhere the pipeline spent its time, all rounds (activities overlap):');
    for (const line of summarizeInvocations(hostOutputs.join('\n'))) console.log(line);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
