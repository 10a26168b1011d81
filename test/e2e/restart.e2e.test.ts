/**
 * The real app survives its host dying mid-job: SIGKILL the local host while an ingestion is
 * fanned out, start a new one on the same storage, and the job completes with every tile, each
 * COG made once per tile name and valid.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzurite, type RunningAzurite } from '../../host/azurite.js';
import type { JobView } from '../../src/jobs/job.view.js';
import type { BlobStore } from '../../src/storage/blob.store.js';
import { AzureBlobStore } from '../../src/storage/azure.blob.store.js';
import { createFixtureDir, writeFloat32Nodata, type FixtureDir } from '../support/fixtures.js';
import { startLocalHost, waitForJob, type LocalHost } from '../support/local.host.js';
import { collectionBlob } from '../../src/stac/catalog.layout.js';
import { walkStoredCatalog } from '../../src/stac/catalog.walk.js';
import { isTileCog } from '../support/tile.cogs.js';

let azurite: RunningAzurite;
let azuriteDir: string;
let fixtures: FixtureDir;
let store: BlobStore;
const hosts: LocalHost[] = [];
const tileCount = (4096 / 256) * (3072 / 256);

beforeAll(async () => {
  azuriteDir = mkdtempSync(join(tmpdir(), 'e2e-restart-azurite-'));
  azurite = await startAzurite({ location: azuriteDir });
  store = AzureBlobStore.fromEnvironment({ AzureWebJobsStorage: azurite.connectionString });
  fixtures = createFixtureDir('e2e-restart-');
});

afterAll(async () => {
  for (const host of hosts) await host.stop();
  await azurite?.stop();
  fixtures?.remove();
  rmSync(azuriteDir, { recursive: true, force: true });
});

async function getJob(host: LocalHost, id: string): Promise<JobView> {
  return (await (await fetch(`${host.baseUrl}/api/jobs/${id}`)).json()) as JobView;
}

describe('a host killed mid-job', () => {
  it('resumes the job after a restart and completes it with every tile', async () => {
    // 192 tiles of 256² float32, made one at a time: many seconds of work, so the kill lands mid-job.
    const path = writeFloat32Nodata(fixtures.path, 4096, 3072, 'restart.tif');
    await store.uploadFile({ container: 'incoming', name: 'restart/restart.tif' }, path, 'image/tiff');
    // One activity at a time, so the job is still fanned out when the host dies.
    const env = { DURABLE_MAX_CONCURRENT_ACTIVITIES: '1', INGEST_SOURCE_CONTAINERS: 'uploads,incoming' };
    const first = await startLocalHost({ storageConnectionString: azurite.connectionString, env });
    hosts.push(first);

    const response = await fetch(`${first.baseUrl}/api/jobs`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ source: 'incoming/restart/restart.tif', collection: 'restart', options: { tileSize: 256, blockSize: 128 } }),
    });
    expect(response.status).toBe(202);
    const { id } = (await response.json()) as { id: string };

    // Kill once a few COGs exist, watched in storage itself (status polling can lag under load).
    // Tile COGs only: the collection's overview COG sits beside them.
    const countCogs = async (): Promise<number> => (await store.list('cogs', 'restart/')).filter((name) => isTileCog('restart', name)).length;
    await expect.poll(countCogs, { timeout: 120_000, interval: 50 }).toBeGreaterThanOrEqual(3);
    const view = await getJob(first, id);
    expect(view.status).toBe('Running');
    expect(view.tiles.total).toBe(tileCount);
    expect(view.tiles.done).toBeLessThan(tileCount);
    await first.stop('SIGKILL');

    const second = await startLocalHost({ storageConnectionString: azurite.connectionString, env: { INGEST_SOURCE_CONTAINERS: 'uploads,incoming' } });
    hosts.push(second);
    const done = await waitForJob(second.baseUrl, id);
    expect(done.errors).toEqual([]);
    expect(done.status).toBe('Completed');
    expect(done.tiles).toEqual({ done: tileCount, failed: 0, total: tileCount });
    const itemIds = done.output!.tiles.map((tile) => tile.itemId);
    expect(new Set(itemIds).size).toBe(tileCount);

    // Deterministic names: a tile re-run after the crash overwrote its COG rather than adding one.
    expect(await countCogs()).toBe(tileCount);
    expect((await walkStoredCatalog(store, store.url(collectionBlob('restart')))).itemUrls).toHaveLength(tileCount);
    // The first host died before the fan-in; the second one picked the job up from storage and
    // finished it (the same instance, not a new submission).
    expect(first.output()).not.toContain(`Executed 'Functions.finalizeCollection'`);
    expect(second.output()).toMatch(new RegExp(`Executed 'Functions\\.finalizeCollection' \\(Succeeded, InstanceId=${id}`));
  });
});
