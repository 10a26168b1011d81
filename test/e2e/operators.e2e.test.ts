/**
 * Operators through the local host's HTTP API: a job whose tiles fail through a realistic fault
 * (leases held on their item blobs) ends Failed with partial output and a tile ledger that says
 * why; once the fault clears, retry re-runs only those tiles (the others' blobs are untouched)
 * and the job completes. Also: paged and filtered job lists, bulk retry (and dryRun) skipping
 * permanent failures, and the read-only COG endpoint with Range requests.
 */
import { BlobServiceClient } from '@azure/storage-blob';
import { beforeAll, describe, expect, it } from 'vitest';
import { deriveSourceKey } from '../../src/jobs/job.id.js';
import type { JobView } from '../../src/jobs/job.view.js';
import type { TileLedgerPage } from '../../src/jobs/tile.ledger.js';
import { writeRgbUint8, writeTextAsTif } from '../support/fixtures.js';
import { useHostOnOwnAzurite, waitForJob } from '../support/local.host.js';
import { collectionBlob } from '../../src/stac/catalog.layout.js';
import { walkStoredCatalog } from '../../src/stac/catalog.walk.js';

const env = useHostOnOwnAzurite('ops', { INGEST_SOURCE_CONTAINERS: 'uploads,incoming' });
let blobs: BlobServiceClient;

const collection = 'ops';
const options = { tileSize: 256, blockSize: 128 };

async function api<T>(path: string, init: RequestInit = {}): Promise<{ status: number; json: T }> {
  const response = await fetch(`${env.host.baseUrl}${path}`, { ...init, headers: { 'Content-Type': 'application/json', ...(init.headers ?? {}) } });
  const text = await response.text();
  return { status: response.status, json: (text ? JSON.parse(text) : undefined) as T };
}

beforeAll(() => {
  blobs = BlobServiceClient.fromConnectionString(env.azurite.connectionString);
});

describe('re-running only what failed', () => {
  let failedJob: JobView;
  const name = 'ops/scene.tif';
  const sourceKey = deriveSourceKey('incoming', name);
  // 600×500 in 256-pixel tiles: 3 columns, 2 rows.
  const leasedItems = [`${sourceKey}-r0-c1`, `${sourceKey}-r1-c2`];
  const leaseIds = new Map<string, string>();

  it('fails the tiles whose item blobs are leased, keeps the others, and says why', async () => {
    for (const itemId of leasedItems) {
      const blob = blobs.getContainerClient('stac').getBlockBlobClient(`${collection}/${itemId}/${itemId}.json`);
      await blobs.getContainerClient('stac').createIfNotExists();
      await blob.upload('{}', 2);
      const lease = await blob.getBlobLeaseClient().acquireLease(-1);
      leaseIds.set(itemId, lease.leaseId!);
    }
    await env.store.uploadFile({ container: 'incoming', name }, writeRgbUint8(env.fixtures.path, 600, 500, 'scene.tif'), 'image/tiff');
    const submitted = await api<{ id: string }>('/api/jobs', { method: 'POST', body: JSON.stringify({ source: `incoming/${name}`, collection, options }) });
    expect(submitted.status).toBe(202);
    failedJob = await waitForJob(env.host.baseUrl, submitted.json.id);
    expect(failedJob.status).toBe('Failed');
    expect(failedJob.tiles).toEqual({ done: 4, failed: 2, total: 6 });
    expect(failedJob.errors.map((error) => [error.itemId, error.code])).toEqual(expect.arrayContaining(leasedItems.map((itemId) => [itemId, 'STORAGE_REFUSED'])));
    // Partial output: the registered tiles, and every failed tile with its code.
    expect(failedJob.output).toMatchObject({ partial: true, failedTiles: expect.arrayContaining(leasedItems.map((itemId) => expect.objectContaining({ itemId, code: 'STORAGE_REFUSED' }))) });
    expect(failedJob.output!.tiles).toHaveLength(4);
  });

  it('lists every tile in the ledger with its state, attempts, error and URLs', async () => {
    const { status, json: ledger } = await api<TileLedgerPage>(`/api/jobs/${failedJob.id}/tiles`);
    expect(status).toBe(200);
    expect(ledger).toMatchObject({ jobId: failedJob.id, total: 6, continuationToken: null });
    expect(ledger.tiles.map((tile) => tile.index)).toEqual([0, 1, 2, 3, 4, 5]);
    for (const tile of ledger.tiles) {
      if (leasedItems.includes(tile.itemId)) {
        expect(tile).toMatchObject({ state: 'failed', attempts: 4, error: { code: 'STORAGE_REFUSED', message: expect.stringMatching(/HTTP 412 \(LeaseIdMissing\)/) }, cogUrl: null });
      } else {
        expect(tile).toMatchObject({ state: 'done', attempts: 1, error: null, route: 'functions', cogHref: expect.stringMatching(/^\/api\/cogs\//), thumbnailHref: expect.stringMatching(/\.png$/) });
        expect(tile.bbox).toHaveLength(4);
      }
      expect(Date.parse(tile.endedAt!)).toBeGreaterThanOrEqual(Date.parse(tile.startedAt!));
    }
  });

  it('serves a tile COG to browsers with Range requests', async () => {
    const { json: ledger } = await api<TileLedgerPage>(`/api/jobs/${failedJob.id}/tiles`);
    const done = ledger.tiles.find((tile) => tile.state === 'done')!;
    const head = await fetch(`${env.host.baseUrl}${done.cogHref}`, { headers: { Range: 'bytes=0-15' } });
    expect(head.status).toBe(206);
    expect(head.headers.get('content-range')).toMatch(/^bytes 0-15\/\d+$/);
    expect(Buffer.from(await head.arrayBuffer()).subarray(0, 4).toString('latin1')).toBe('II*\0');
    expect((await fetch(`${env.host.baseUrl}/api/cogs/${collection}/nothing-here.tif`)).status).toBe(404);
    expect((await fetch(`${env.host.baseUrl}${done.cogHref}`, { headers: { Range: 'bytes=99999999-' } })).status).toBe(416);
  });

  it('re-runs only the failed tiles once the fault clears: the others keep their blobs', async () => {
    const { json: ledger } = await api<TileLedgerPage>(`/api/jobs/${failedJob.id}/tiles`);
    const cogsBefore = new Map<string, string>();
    for (const tile of ledger.tiles.filter((t) => t.state === 'done')) {
      const blobName = decodeURIComponent(tile.cogHref!.replace('/api/cogs/', ''));
      cogsBefore.set(blobName, (await env.store.stat({ container: 'cogs', name: blobName }))!.lastModified!.toISOString());
    }
    for (const [itemId, leaseId] of leaseIds) {
      await blobs.getContainerClient('stac').getBlockBlobClient(`${collection}/${itemId}/${itemId}.json`).getBlobLeaseClient(leaseId).releaseLease();
    }
    const retried = await api<{ id: string; previousAttempt: string; retriedTiles: number; reusedTiles: number }>(`/api/jobs/${failedJob.id}/retry`, { method: 'POST' });
    expect(retried.status).toBe(202);
    expect(retried.json).toMatchObject({ id: `${failedJob.id}-a2`, previousAttempt: failedJob.id, retriedTiles: 2, reusedTiles: 4 });
    // The failed attempt is retried once: asking again points at the new attempt.
    const again = await api<{ latest: string }>(`/api/jobs/${failedJob.id}/retry`, { method: 'POST' });
    expect(again).toMatchObject({ status: 409, json: { latest: retried.json.id } });

    const done = await waitForJob(env.host.baseUrl, retried.json.id);
    expect(done).toMatchObject({ status: 'Completed', attempt: 2, previousAttempt: failedJob.id, tiles: { done: 6, failed: 0, total: 6 } });
    for (const [blobName, lastModified] of cogsBefore) {
      expect((await env.store.stat({ container: 'cogs', name: blobName }))!.lastModified!.toISOString(), blobName).toBe(lastModified);
    }
    const { json: newLedger } = await api<TileLedgerPage>(`/api/jobs/${retried.json.id}/tiles`);
    expect(newLedger.tiles.filter((tile) => tile.reused)).toHaveLength(4);
    expect(newLedger.tiles.every((tile) => tile.state === 'done')).toBe(true);
    expect((await walkStoredCatalog(env.store, env.store.url(collectionBlob(collection)))).itemUrls).toHaveLength(6);

    expect((await api(`/api/jobs/${retried.json.id}/retry`, { method: 'POST' })).status).toBe(409);
    expect((await api('/api/jobs/ingest-00000000000000000000000000000000/retry', { method: 'POST' })).status).toBe(404);
  });
});

describe('finding jobs: paged, filtered lists and bulk retry', () => {
  const invalid: string[] = [];

  it('lists jobs newest first, in pages, filtered on the server', async () => {
    for (const n of [1, 2, 3]) {
      const name = `ops/bad-${n}.tif`;
      await env.store.uploadFile({ container: 'incoming', name }, writeTextAsTif(env.fixtures.path, `bad-${n}.tif`), 'image/tiff');
      const submitted = await api<{ id: string }>('/api/jobs', { method: 'POST', body: JSON.stringify({ source: `incoming/${name}`, collection: 'bad' }) });
      invalid.push(submitted.json.id);
      await waitForJob(env.host.baseUrl, submitted.json.id);
    }
    const first = await api<{ jobs: JobView[]; continuationToken: string | null }>('/api/jobs?top=2');
    expect(first.status).toBe(200);
    expect(first.json.jobs).toHaveLength(2);
    expect(first.json.jobs.map((job) => job.id)).toEqual([invalid[2], invalid[1]]);
    expect(first.json.continuationToken).toEqual(expect.any(String));
    const second = await api<{ jobs: JobView[] }>(`/api/jobs?top=2&continuationToken=${encodeURIComponent(first.json.continuationToken!)}`);
    expect(second.json.jobs[0]!.id).toBe(invalid[0]);

    const failedBad = await api<{ jobs: JobView[] }>('/api/jobs?status=Failed&collection=bad&since=1h&top=50');
    expect(failedBad.json.jobs.map((job) => job.id).sort()).toEqual([...invalid].sort());
    expect(failedBad.json.jobs.every((job) => job.errors[0]?.code === 'UNSUPPORTED_FORMAT')).toBe(true);
    const byCode = await api<{ jobs: JobView[] }>('/api/jobs?errorCode=UNSUPPORTED_FORMAT');
    expect(byCode.json.jobs.map((job) => job.id).sort()).toEqual([...invalid].sort());
    const completed = await api<{ jobs: JobView[] }>('/api/jobs?status=Completed');
    expect(completed.json.jobs.every((job) => job.status === 'Completed')).toBe(true);
    expect(completed.json.jobs.some((job) => job.collection === collection)).toBe(true);
    // Tile branches are never listed as jobs.
    const all = await api<{ jobs: JobView[] }>('/api/jobs?top=500');
    expect(all.json.jobs.some((job) => job.id.includes('-tile-'))).toBe(false);

    const badFilter = await api<{ fields: string[] }>('/api/jobs?status=Sleeping');
    expect(badFilter).toMatchObject({ status: 400, json: { fields: ['status'] } });
    expect((await api('/api/jobs?since=yesterday-ish')).status).toBe(400);
  });

  it('bulk retry and its dry run skip permanent failures, per job with the reason, a page at a time', async () => {
    const dry = await api<{ dryRun: boolean; jobs: Array<{ id: string; outcome: string; errorCodes: string[]; reason: string | null }>; continuationToken: string | null }>('/api/jobs/retry', {
      method: 'POST',
      body: JSON.stringify({ dryRun: true, collection: 'bad', since: '1d', errorCode: 'UNSUPPORTED_FORMAT' }),
    });
    expect(dry.status).toBe(200);
    expect(dry.json.dryRun).toBe(true);
    expect(dry.json.jobs.map((job) => job.id).sort()).toEqual([...invalid].sort());
    // UNSUPPORTED_FORMAT is permanent: the same file fails the same way, so none would run again.
    expect(dry.json.jobs.every((job) => job.outcome === 'permanent' && job.errorCodes.includes('UNSUPPORTED_FORMAT') && /Upload a new version/.test(job.reason ?? ''))).toBe(true);

    const real = await api<{ jobs: Array<{ id: string; retriedAs: string | null; outcome: string }>; continuationToken: string | null }>('/api/jobs/retry', {
      method: 'POST',
      body: JSON.stringify({ collection: 'bad', top: 2 }),
    });
    expect(real.json.jobs).toHaveLength(2);
    expect(real.json.jobs.every((job) => job.outcome === 'permanent' && job.retriedAs === null)).toBe(true);
    expect(real.json.continuationToken).toEqual(expect.any(String));
    for (const job of real.json.jobs) expect((await fetch(`${env.host.baseUrl}/runtime/webhooks/durabletask/instances/${job.id}-a2`)).status).toBe(404);
    const invalidBody = await api('/api/jobs/retry', { method: 'POST', body: JSON.stringify({ dryRun: 'yes' }) });
    expect(invalidBody.status).toBe(400);
  });
});
