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
import { BlobStore } from '../../src/storage/blob.store.js';
import { createFixtureDir, writeFloat32Nodata, type FixtureDir } from '../support/fixtures.js';
import { startLocalHost, waitForJob, type LocalHost } from '../support/local.host.js';

let azurite: RunningAzurite;
let azuriteDir: string;
let fixtures: FixtureDir;
let store: BlobStore;
const hosts: LocalHost[] = [];

beforeAll(async () => {
  azuriteDir = mkdtempSync(join(tmpdir(), 'e2e-restart-azurite-'));
  azurite = await startAzurite({ location: azuriteDir });
  store = BlobStore.fromEnvironment({ AzureWebJobsStorage: azurite.connectionString });
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
    // 48 tiles of 512² float32, made one at a time: slow enough (seconds) that the kill lands mid-job.
    const path = writeFloat32Nodata(fixtures.path, 4096, 3072, 'restart.tif');
    await store.uploadFile({ container: 'incoming', name: 'restart/restart.tif' }, path, 'image/tiff');
    // One activity at a time, so the job is still fanned out when the host dies.
    const env = { DURABLE_MAX_CONCURRENT_ACTIVITIES: '1' };
    const first = await startLocalHost({ storageConnectionString: azurite.connectionString, env });
    hosts.push(first);

    const response = await fetch(`${first.baseUrl}/api/jobs`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ source: 'incoming/restart/restart.tif', collection: 'restart', options: { tileSize: 512, blockSize: 256 } }),
    });
    expect(response.status).toBe(202);
    const { id } = (await response.json()) as { id: string };

    // Wait until some tiles have registered, but not all (48 tiles, one at a time).
    let view = await getJob(first, id);
    const deadline = Date.now() + 120_000;
    while (view.tiles.done < 3 && view.status === 'Running' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      view = await getJob(first, id);
    }
    expect(view.status).toBe('Running');
    expect(view.tiles.total).toBe(48);
    expect(view.tiles.done).toBeLessThan(48);
    await first.stop('SIGKILL');

    const second = await startLocalHost({ storageConnectionString: azurite.connectionString });
    hosts.push(second);
    const done = await waitForJob<JobView>(second.baseUrl, id);
    expect(done.errors).toEqual([]);
    expect(done.status).toBe('Completed');
    expect(done.tiles).toEqual({ done: 48, total: 48 });
    const itemIds = done.output!.tiles.map((tile) => tile.itemId);
    expect(new Set(itemIds).size).toBe(48);

    // Deterministic names: a tile re-run after the crash overwrote its COG rather than adding one.
    const cogs = (await store.list('cogs', 'restart/')).filter((name) => name.endsWith('.tif'));
    expect(cogs).toHaveLength(48);
    const collection = (await store.readJson<{ links: Array<{ rel: string }> }>({ container: 'stac', name: 'restart/collection.json' }))!.value;
    expect(collection.links.filter((link) => link.rel === 'item')).toHaveLength(48);
    // The first host died before the fan-in; the second one picked the job up from storage and
    // finished it (the same instance, not a new submission).
    expect(first.output()).not.toContain(`Executed 'Functions.finalizeCollection'`);
    expect(second.output()).toMatch(new RegExp(`Executed 'Functions\\.finalizeCollection' \\(Succeeded, InstanceId=${id}`));
  });
});
