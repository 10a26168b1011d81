/**
 * A batch survives its host dying mid-batch: SIGKILL the local host once some of the batch's
 * COGs exist, start a new host on the same storage, and the batch completes with every source
 * ingested once and every item linked exactly once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startAzurite, type RunningAzurite } from '../../host/azurite.js';
import type { BatchView } from '../../src/jobs/batch.view.js';
import type { BlobStore } from '../../src/storage/blob.store.js';
import { AzureBlobStore } from '../../src/storage/azure.blob.store.js';
import { collectionBlob } from '../../src/stac/catalog.layout.js';
import { walkStoredCatalog } from '../../src/stac/catalog.walk.js';
import { createFixtureDir, writeRgbUint8, type FixtureDir } from '../support/fixtures.js';
import { startLocalHost, type LocalHost } from '../support/local.host.js';
import { isTileCog } from '../support/tile.cogs.js';

let azurite: RunningAzurite;
let azuriteDir: string;
let fixtures: FixtureDir;
let store: BlobStore;
const hosts: LocalHost[] = [];
const sourceCount = 24;
// Small chunks and one source at a time, so the batch is mid-way when its host dies.
const env = { INGEST_SOURCE_CONTAINERS: 'uploads,incoming', INGEST_BATCH_CHUNK_SIZE: '8', INGEST_BATCH_WINDOW: '1', DURABLE_MAX_CONCURRENT_ACTIVITIES: '1' };

beforeAll(async () => {
  azuriteDir = mkdtempSync(join(tmpdir(), 'e2e-batch-restart-azurite-'));
  azurite = await startAzurite({ location: azuriteDir });
  store = AzureBlobStore.fromEnvironment({ AzureWebJobsStorage: azurite.connectionString });
  fixtures = createFixtureDir('e2e-batch-restart-');
});

afterAll(async () => {
  for (const host of hosts) await host.stop();
  await azurite?.stop();
  fixtures?.remove();
  rmSync(azuriteDir, { recursive: true, force: true });
});

describe('a host killed mid-batch', () => {
  it('resumes the batch after a restart and completes it with every source once', async () => {
    for (let i = 0; i < sourceCount; i++) {
      await store.uploadFile({ container: 'incoming', name: `restart/scene-${i}.tif` }, writeRgbUint8(fixtures.path, 96, 64, `scene-${i}.tif`, { originX: 500_000 + i * 2_000 }), 'image/tiff');
    }
    const first = await startLocalHost({ storageConnectionString: azurite.connectionString, env });
    hosts.push(first);
    const response = await fetch(`${first.baseUrl}/api/batches`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ source: 'incoming/restart/', collection: 'restart' }),
    });
    expect(response.status).toBe(202);
    const { id } = (await response.json()) as { id: string };

    // Kill once a few COGs exist, watched in storage itself.
    // Tile COGs only: the collection's overview COG sits beside them.
    const countCogs = async (): Promise<number> => (await store.list('cogs', 'restart/')).filter((name) => isTileCog('restart', name)).length;
    await expect.poll(countCogs, { timeout: 120_000, interval: 50 }).toBeGreaterThanOrEqual(4);
    expect(await countCogs()).toBeLessThan(sourceCount);
    await first.stop('SIGKILL');

    const second = await startLocalHost({ storageConnectionString: azurite.connectionString, env });
    hosts.push(second);
    const view = await vi.waitFor(
      async () => {
        const current = (await (await fetch(`${second.baseUrl}/api/batches/${id}`)).json()) as BatchView;
        if (!['Completed', 'Failed'].includes(current.status)) throw new Error(`batch ${id} has not finished: ${JSON.stringify(current)}`);
        return current;
      },
      { timeout: 240_000, interval: 500 },
    );
    expect(view).toMatchObject({ status: 'Completed', counts: { total: sourceCount, done: sourceCount, failed: 0 } });
    expect(view.output).toMatchObject({ chunks: 3 });
    // Every source once: one COG per source, and one item link per item.
    expect(await countCogs()).toBe(sourceCount);
    // From the collection down through its shard and source catalogs, as a STAC client walks it.
    const links = (await walkStoredCatalog(store, store.url(collectionBlob('restart')))).itemUrls;
    expect(links).toHaveLength(sourceCount);
    expect(new Set(links).size).toBe(sourceCount);
  });
});
