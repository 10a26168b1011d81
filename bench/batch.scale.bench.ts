/**
 * Batches at scale, the orchestration layer alone: the app's real batch, job and tile
 * orchestrators (bench/noop-app) with no-op activities, through the local host on Azurite, for
 * 1,000, 10,000 and 100,000 sources. Prints the time per source, the host's peak memory and the
 * largest orchestration history, which must stay flat as the batch grows (chunks continue as new).
 *
 *   npm run build && node dist/bench/batch.scale.bench.js [--sizes 1000,10000,100000]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { Command } from 'commander';
import { startAzurite } from '../host/azurite.js';
import { projectRoot, startLocalHost } from '../host/spawn.js';
import { cpuSecondsOf } from './bench.support.js';

const options = new Command()
  .option('--sizes <list>', 'batch sizes, comma separated', '1000,10000,100000')
  .option('--chunk <n>', 'sources per chunk (INGEST_BATCH_CHUNK_SIZE of the app)', '500')
  .option('--window <n>', 'sources at once (the batch window)', '8')
  .parse()
  .opts<{ sizes: string; chunk: string; window: string }>();

console.log(`load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
console.log('sources | time    | per source | host CPU per source | Azurite CPU per source | host peak | largest history | batch history');
for (const size of options.sizes.split(',').map(Number)) {
  const location = mkdtempSync(join(tmpdir(), 'batch-scale-azurite-'));
  const azurite = await startAzurite({ location });
  const host = await startLocalHost({ storageConnectionString: azurite.connectionString, appRoot: join(projectRoot, 'bench', 'noop-app'), env: { HOST_NO_WORKER: '1' } });
  try {
    const input = {
      batchId: 'batch-scale',
      selection: { kind: 'prefix', container: 'uploads', prefix: 'noop/' },
      collection: 'noop',
      options: { compression: 'DEFLATE', predictor: true, blockSize: 512 },
      tileSize: 4096,
      filters: { limit: size },
      window: Number(options.window),
      chunkSize: Number(options.chunk),
      worker: { thresholdBytes: 2 ** 40, tileTimeoutSeconds: 600 },
      attempt: 1,
    };
    const cpuBefore = { host: cpuSecondsOf(host.process.pid) ?? 0, azurite: cpuSecondsOf(azurite.process.pid) ?? 0 };
    const started = performance.now();
    const response = await fetch(`${host.baseUrl}/runtime/webhooks/durabletask/orchestrators/ingestBatch/batch-scale`, { method: 'POST', body: JSON.stringify(input) });
    if (response.status !== 202) throw new Error(`start answered ${response.status}: ${await response.text()}`);
    let output: { counts: { done: number } } | undefined;
    for (;;) {
      const status = (await (await fetch(`${host.baseUrl}/runtime/webhooks/durabletask/instances/batch-scale`)).json()) as { runtimeStatus: string; output: typeof output };
      if (status.runtimeStatus === 'Completed') {
        output = status.output;
        break;
      }
      if (['Failed', 'Terminated'].includes(status.runtimeStatus)) throw new Error(`batch ${status.runtimeStatus}: ${JSON.stringify(status.output)}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const seconds = (performance.now() - started) / 1000;
    // The host's own work (replays, history writes) apart from the emulator's: Azurite's in-memory
    // tables and blob index are not what Azure runs, and their cost per request grows with their size.
    const hostCpuMs = (((cpuSecondsOf(host.process.pid) ?? 0) - cpuBefore.host) * 1000) / size;
    const azuriteCpuMs = (((cpuSecondsOf(azurite.process.pid) ?? 0) - cpuBefore.azurite) * 1000) / size;
    if (output?.counts.done !== size) throw new Error(`batch finished with ${JSON.stringify(output)}`);
    // Histories are append blobs in `<hub>-history`: the batch's (continued as new per chunk) and every job's.
    const history = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient('noopbatchhub-history');
    let largest = 0;
    let batchHistory = 0;
    for await (const blob of history.listBlobsFlat()) {
      const bytes = blob.properties.contentLength ?? 0;
      largest = Math.max(largest, bytes);
      if (blob.name.startsWith('batch-scale')) batchHistory = Math.max(batchHistory, bytes);
    }
    const peak = (host.peakMemoryBytes() ?? 0) / 2 ** 20;
    console.log(
      `${String(size).padStart(7)} | ${seconds.toFixed(1).padStart(6)} s | ${((seconds * 1000) / size).toFixed(2).padStart(7)} ms | ${hostCpuMs.toFixed(2).padStart(16)} ms | ${azuriteCpuMs.toFixed(2).padStart(19)} ms | ${peak.toFixed(0).padStart(5)} MiB | ${(largest / 1024).toFixed(1).padStart(9)} KiB | ${(batchHistory / 1024).toFixed(1).padStart(7)} KiB`,
    );
  } finally {
    await host.stop();
    await azurite.stop();
    rmSync(location, { recursive: true, force: true });
  }
}
