/**
 * Ingestion speed: a large float32 raster through the local host (Azurite persistence, the
 * unchanged app) against `gdal_translate -of COG` on the same file with all cores, in the same
 * run. Prints both times, their ratio and the host's peak memory.
 *
 *   npm run build && node dist/bench/ingest.bench.js [--size 9000] [--tile-size 4096]
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Command } from 'commander';
import { startAzurite } from '../host/azurite.js';
import { startLocalHost } from '../host/spawn.js';
import type { JobView } from '../src/jobs/job.view.js';
import { BlobStore } from '../src/storage/blob.store.js';
import { writeSampleDem } from '../scripts/sample.rasters.js';

const run = promisify(execFile);

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function mib(bytes: number): string {
  return `${(bytes / (1 << 20)).toFixed(0)} MiB`;
}

async function waitForCompletion(baseUrl: string, id: string): Promise<JobView> {
  for (;;) {
    const response = await fetch(`${baseUrl}/api/jobs/${id}`);
    if (response.ok) {
      const view = (await response.json()) as JobView;
      if (view.status === 'Completed') return view;
      if (view.status === 'Failed' || view.status === 'Terminated') throw new Error(`job ${id} ${view.status}: ${view.errors.join('; ')}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function main(): Promise<void> {
  const options = new Command()
    .option('--size <pixels>', 'edge of the square float32 raster (9000 → 324 MB)', '9000')
    .option('--tile-size <pixels>', 'tile edge used by the pipeline', '4096')
    .parse()
    .opts<{ size: string; tileSize: string }>();
  const size = Number(options.size);
  const work = mkdtempSync(join(tmpdir(), 'ingest-bench-'));
  const azurite = await startAzurite({ location: join(work, 'azurite') });
  try {
    const sourcePath = join(work, 'large.tif');
    console.log(`Generating a ${size}×${size} float32 raster…`);
    // Uncompressed and striped, like a typical export: neither side gets a head start.
    await writeSampleDem(sourcePath, size, size, []);
    const sourceBytes = statSync(sourcePath).size;
    console.log(`Source: ${mib(sourceBytes)} float32, nodata -9999`);

    // Baseline: GDAL's own COG conversion, all cores, the same compression the pipeline uses.
    const baselineStart = performance.now();
    await run('gdal_translate', ['-q', '-of', 'COG', '-co', 'COMPRESS=DEFLATE', '-co', 'PREDICTOR=YES', '-co', 'BLOCKSIZE=512', '-co', 'NUM_THREADS=ALL_CPUS', '-co', 'BIGTIFF=IF_SAFER', sourcePath, join(work, 'baseline.tif')]);
    const baselineMs = performance.now() - baselineStart;
    const baselineBytes = statSync(join(work, 'baseline.tif')).size;
    rmSync(join(work, 'baseline.tif'));

    const store = BlobStore.fromEnvironment({ AzureWebJobsStorage: azurite.connectionString });
    const uploadStart = performance.now();
    await store.uploadFile({ container: 'incoming', name: 'bench/large.tif' }, sourcePath, 'image/tiff');
    const uploadMs = performance.now() - uploadStart;

    const host = await startLocalHost({ storageConnectionString: azurite.connectionString, env: { INGEST_SCRATCH_DIR: join(work, 'scratch') } });
    try {
      const pipelineStart = performance.now();
      const response = await fetch(`${host.baseUrl}/api/jobs`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ source: 'incoming/bench/large.tif', collection: 'bench', options: { tileSize: Number(options.tileSize) } }),
      });
      const { id } = (await response.json()) as { id: string };
      const view = await waitForCompletion(host.baseUrl, id);
      const pipelineMs = performance.now() - pipelineStart;
      const peak = host.peakMemoryBytes();

      console.log('');
      console.log(`gdal_translate -of COG (baseline)   ${seconds(baselineMs).padStart(8)}   → 1 COG, ${mib(baselineBytes)}`);
      console.log(`pipeline via local host             ${seconds(pipelineMs).padStart(8)}   → ${view.output!.tiles.length} COG tiles + STAC, ${mib(view.output!.bytesOut)}`);
      console.log(`ratio pipeline / baseline           ${(pipelineMs / baselineMs).toFixed(2).padStart(8)}   (target ≤ 1.25)`);
      console.log(`host peak memory (VmHWM)            ${(peak ? mib(peak) : 'n/a').padStart(8)}   (target ≤ 1536 MiB)`);
      console.log(`upload to Azurite (not in the ratio) ${seconds(uploadMs).padStart(7)}`);
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
