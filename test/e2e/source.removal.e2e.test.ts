/**
 * The deletion path end to end through the local host (issue 24): a raster dropped in `uploads/`
 * is ingested by the upload trigger; the blob is deleted; the host's Event Grid stand-in raises
 * BlobDeleted, the deletion trigger starts the removal, and its COGs, thumbnails and items go:
 * observed through the cogs proxy (`GET /api/cogs/...` answers 404), the job API (the job says
 * "source removed" and lists no COGs) and the catalog in storage. Uploading it again ingests it
 * again. Every wait is on observable state.
 */
import { describe, expect, it, vi } from 'vitest';
import { JobsClient } from '../../cli/jobs.client.js';
import type { JobView } from '../../cli/jobs.api.js';
import { containers } from '../../src/config.js';
import { deriveSourceKey } from '../../src/jobs/job.id.js';
import { collectionBlob, sourceRecordBlob } from '../../src/stac/catalog.layout.js';
import { collectionItemCount } from '../../src/stac/collection.build.js';
import type { StacCollection } from '../../src/stac/stac.types.js';
import { writeRgbUint8 } from '../support/fixtures.js';
import { useHostOnOwnAzurite, waitForJob } from '../support/local.host.js';

const env = useHostOnOwnAzurite('source-removal', { INGEST_TILE_SIZE: '256' });
const name = 'removal/scene.tif';
const source = `${containers.uploads}/${name}`;

/** The jobs the upload trigger started for the source, newest first. */
async function jobsOfSource(): Promise<JobView[]> {
  const { jobs } = await new JobsClient({ baseUrl: env.host.baseUrl }).listJobs({ source });
  return jobs.filter((job) => job.source === source);
}

async function newJobOfUpload(known: readonly string[]): Promise<JobView> {
  const job = await vi.waitFor(
    async () => {
      const found = (await jobsOfSource()).find((candidate) => !known.includes(candidate.id));
      if (!found) throw new Error(`no new job for ${source} yet`);
      return found;
    },
    { timeout: 90_000, interval: 500 },
  );
  return waitForJob(env.host.baseUrl, job.id);
}

async function readJob(id: string): Promise<JobView> {
  return new JobsClient({ baseUrl: env.host.baseUrl }).getJob(id);
}

/** `GET /api/cogs/<path>` of a COG URL in storage: the status the proxy answers. */
async function proxyStatus(cogUrl: string): Promise<number> {
  const path = decodeURIComponent(new URL(cogUrl).pathname).split(`/${containers.cogs}/`)[1]!;
  const response = await fetch(`${env.host.baseUrl}/api/cogs/${path.split('/').map(encodeURIComponent).join('/')}`, { headers: { Range: 'bytes=0-15' } });
  await response.arrayBuffer();
  return response.status;
}

const itemCount = async (): Promise<number> => {
  const stored = await env.store.readJson<StacCollection>(collectionBlob('rasters'));
  return stored ? collectionItemCount(stored.value) : 0;
};

describe('deleting an ingested source (local host, Event Grid stand-in)', () => {
  it('removes its COGs and items once the blob is deleted, says so in the job view, and ingests it again when uploaded again', async () => {
    const raster = writeRgbUint8(env.fixtures.path, 600, 400, 'scene.tif');
    await env.store.uploadFile({ container: containers.uploads, name }, raster, 'image/tiff');
    const first = await newJobOfUpload([]);
    expect(first.status).toBe('Completed');
    const tiles = first.output && 'tiles' in first.output ? first.output.tiles : [];
    expect(tiles).toHaveLength(6);
    for (const tile of tiles) expect(await proxyStatus(tile.cogUrl), tile.itemId).toBe(206);
    expect(await itemCount()).toBe(6);

    await env.store.delete({ container: containers.uploads, name });

    // The job view says what happened, and lists none of the deleted COGs.
    const removed = await vi.waitFor(
      async () => {
        const view = await readJob(first.id);
        if (!view.superseded?.removed) throw new Error('the job does not say "source removed" yet');
        return view;
      },
      { timeout: 90_000, interval: 500 },
    );
    expect(removed.superseded?.message).toMatch(/^source removed: uploads\/removal\/scene\.tif was deleted/);
    expect(removed.superseded?.removed?.removal).toMatch(/^remove-[0-9a-f]{32}$/);
    expect(removed.output && 'tiles' in removed.output ? removed.output.tiles : undefined).toEqual([]);
    // The COGs are gone from the proxy, the items and record from the catalog (the removal may still be finishing: poll).
    await expect.poll(async () => Promise.all(tiles.map((tile) => proxyStatus(tile.cogUrl))), { timeout: 60_000, interval: 500 }).toEqual(tiles.map(() => 404));
    await expect.poll(itemCount, { timeout: 60_000, interval: 500 }).toBe(0);
    expect(await env.store.readJson(sourceRecordBlob('rasters', deriveSourceKey(containers.uploads, name)))).toBeUndefined();
    expect((await env.store.list(containers.stac, 'rasters/')).filter((blob) => blob.includes(deriveSourceKey(containers.uploads, name)) && !blob.startsWith('rasters/removed/'))).toEqual([]);
    // The removal orchestration, found by its name, says what it removed once it ends (its last steps may still run: poll).
    const removalUrl = `${env.host.baseUrl}/runtime/webhooks/durabletask/instances/${removed.superseded!.removed!.removal}`;
    const removal = await vi.waitFor(
      async () => {
        const status = (await (await fetch(removalUrl)).json()) as { runtimeStatus: string; output: unknown };
        if (status.runtimeStatus === 'Running' || status.runtimeStatus === 'Pending') throw new Error(`the removal is still ${status.runtimeStatus}`);
        return status;
      },
      { timeout: 90_000, interval: 500 },
    );
    expect(removal).toMatchObject({ runtimeStatus: 'Completed', output: { source, outcome: 'removed', collections: [{ collection: 'rasters', unpublished: true, items: 6 }] } });

    // Uploaded again: the trigger ingests it again, and its COGs are readable.
    await env.store.uploadFile({ container: containers.uploads, name }, raster, 'image/tiff');
    const second = await newJobOfUpload([first.id]);
    expect(second.status).toBe('Completed');
    const again = second.output && 'tiles' in second.output ? second.output.tiles : [];
    expect(again).toHaveLength(6);
    for (const tile of again) expect(await proxyStatus(tile.cogUrl), tile.itemId).toBe(206);
    expect(await itemCount()).toBe(6);
    expect((await readJob(second.id)).superseded).toBeNull();
  }, 400_000);
});
