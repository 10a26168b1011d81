/**
 * The container-worker route end to end, through the local host and the worker process it runs
 * (the Storage-queue stand-in of Service Bus): with a low threshold the job takes the worker route
 * and its tile mosaic equals the source pixels; a tile that fails on every delivery is
 * dead-lettered and fails its job with the reason; and a source larger than the scratch cap
 * (simulated small) is read in place and never lands in the scratch folder. (SIGKILL of a worker mid-tile is in test/worker/worker.e2e.test.ts.)
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import gdal from 'gdal-async';
import { afterAll, describe, expect, it } from 'vitest';
import { deriveOutputLocation } from '../../src/jobs/job.id.js';
import type { TileLedgerPage } from '../../src/jobs/tile.ledger.js';
import { deriveItemId } from '../../src/pipeline/ids.js';
import { ingestOptionsSchema } from '../../src/pipeline/options.js';
import { cogBlob } from '../../src/stac/catalog.layout.js';
import { createStorageWorkQueue } from '../../src/queue/queue.factory.js';
import { writeFloat32Nodata, writeRgbUint8 } from '../support/fixtures.js';
import { useHostOnOwnAzurite, waitForJob } from '../support/local.host.js';
import { watchTree } from '../support/tree.watch.js';

const scratchDir = mkdtempSync(join(tmpdir(), 'worker-route-scratch-'));
const env = useHostOnOwnAzurite('worker-route', {
  INGEST_SOURCE_CONTAINERS: 'uploads,incoming',
  // Every raster over 1 MB uncompressed goes to the worker.
  INGEST_WORKER_THRESHOLD_MB: '1',
  INGEST_WORKER_MAX_DELIVERIES: '2',
  // The poison tile's retries wait 1 s, then 2 s (not the default 10 s doubling).
  INGEST_WORKER_RETRY_DELAY_SECONDS: '1',
  // A scratch cap of 1 MB stands in for a replica's disk (8 GiB in Azure): under the default
  // INGEST_SOURCE_READ=auto every source here is over half of it, so tiles read their windows
  // from storage and no copy of a source lands on disk.
  INGEST_SCRATCH_MAX_MB: '1',
  INGEST_SCRATCH_DIR: scratchDir,
});

async function submit(body: unknown): Promise<{ status: number; json: { id: string } }> {
  const response = await fetch(`${env.host.baseUrl}/api/jobs`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, json: (await response.json()) as { id: string } };
}

afterAll(() => rmSync(scratchDir, { recursive: true, force: true }));

describe('the container-worker route', () => {
  it('takes the worker route for a large raster, reads it in place as it is over the scratch cap, and its tiles mosaic to the source pixels', async () => {
    // Anything created under a `sources/` folder of the scratch root (each process has its own) would be a whole copy of a source.
    const watcher = watchTree(scratchDir);
    try {
      const path = writeFloat32Nodata(env.fixtures.path, 1100, 700, 'big.tif'); // 3 MB uncompressed
      await env.store.uploadFile({ container: 'incoming', name: 'worker/big.tif' }, path, 'image/tiff');
      const submitted = await submit({ source: 'incoming/worker/big.tif', collection: 'worker', options: { tileSize: 512, blockSize: 256 } });
      expect(submitted.status).toBe(202);
      const view = await waitForJob(env.host.baseUrl, submitted.json.id);
      expect(view).toMatchObject({ status: 'Completed', route: 'worker', layout: 'fan-out', tiles: { done: 6, failed: 0, total: 6 } });
      expect(view.routeReason).toMatch(/over the worker threshold of 1 MB/);

      const ledger = (await (await fetch(`${env.host.baseUrl}/api/jobs/${view.id}/tiles`)).json()) as TileLedgerPage;
      expect(ledger.tiles.every((tile) => tile.route === 'worker' && tile.state === 'done')).toBe(true);

      const source = gdal.open(path);
      const workDir = mkdtempSync(join(tmpdir(), 'worker-route-cogs-'));
      try {
        for (const tile of ledger.tiles) {
          const local = join(workDir, `${tile.itemId}.tif`);
          await env.store.downloadToFile({ container: 'cogs', name: decodeURIComponent(tile.cogHref!.replace('/api/cogs/', '')) }, local);
          const cog = gdal.open(local);
          const expected = source.bands.get(1).pixels.read(tile.window.x, tile.window.y, tile.window.width, tile.window.height);
          const actual = cog.bands.get(1).pixels.read(0, 0, tile.window.width, tile.window.height);
          expect(actual.length).toBe(expected.length);
          for (let i = 0; i < actual.length; i++) {
            if (actual[i] !== expected[i] && !(Number.isNaN(actual[i]) && Number.isNaN(expected[i]))) throw new Error(`${tile.itemId}: pixel ${i} differs`);
          }
          cog.close();
        }
      } finally {
        rmSync(workDir, { recursive: true, force: true });
      }
    } finally {
      watcher.close();
    }
    // The watch saw the tiles' own scratch folders, so an empty list below means something.
    expect(watcher.created.some((name) => /^processes\/[^/]+\/tile-/.test(name))).toBe(true);
    expect(watcher.created.filter((name) => /(^|\/)sources(\/|$)/.test(name))).toEqual([]);
    const processes = existsSync(join(scratchDir, 'processes')) ? readdirSync(join(scratchDir, 'processes')) : [];
    expect(processes.length).toBeGreaterThan(0);
    for (const folder of processes) expect(existsSync(join(scratchDir, 'processes', folder, 'sources')) ? readdirSync(join(scratchDir, 'processes', folder, 'sources')) : []).toEqual([]);
  });

  it('dead-letters a tile that fails on every delivery, and fails its job with the reason', async () => {
    const name = 'worker/poison.tif';
    const path = writeRgbUint8(env.fixtures.path, 900, 700, 'poison.tif'); // 1.8 MB uncompressed: the worker route
    await env.store.uploadFile({ container: 'incoming', name }, path, 'image/tiff');
    const stat = (await env.store.stat({ container: 'incoming', name }))!;
    // A lease on the tile's COG blob makes every upload of it fail (a retryable storage refusal).
    const options = ingestOptionsSchema.parse({ tileSize: 4096 });
    const outputs = deriveOutputLocation({ container: 'incoming', name, etag: stat.etag, collection: 'poison', options, tileSize: 4096 });
    const ref = cogBlob(outputs, deriveItemId(outputs.sourceKey, { row: 0, col: 0 }));
    const blobs = BlobServiceClient.fromConnectionString(env.azurite.connectionString);
    await blobs.getContainerClient('cogs').createIfNotExists();
    const blob = blobs.getContainerClient('cogs').getBlockBlobClient(ref.name);
    await blob.upload('held', 4);
    await blob.getBlobLeaseClient().acquireLease(-1);

    const submitted = await submit({ source: `incoming/${name}`, collection: 'poison', options: { tileSize: 4096 } });
    const view = await waitForJob(env.host.baseUrl, submitted.json.id);
    expect(view).toMatchObject({ status: 'Failed', route: 'worker', layout: 'single-tile' });
    expect(view.errors[0]).toMatchObject({ code: 'STORAGE_REFUSED', message: expect.stringMatching(/^dead-lettered after 2 deliveries: storage refused the request with HTTP 412 \(LeaseIdMissing\)/) });
    const deadLetters = await createStorageWorkQueue({ AzureWebJobsStorage: env.azurite.connectionString }).readDeadLetters();
    expect(deadLetters.some((letter) => letter.reason === 'MaxDeliveriesExceeded' && /LeaseIdMissing/.test(letter.description))).toBe(true);
  });
});
