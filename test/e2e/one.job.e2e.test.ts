/**
 * Operators, through the local host's HTTP API (issue 19, items 1 and 2):
 * - one job per upload version, collection and options, whatever starts it: a submission and the
 *   upload trigger for the same blob agree on one job, even a failed one; a batch takes it as it
 *   is; another collection is another job; only `force` starts a new attempt;
 * - retries that can help: a permanent failure is refused with the reason and what to do, in
 *   single and bulk retry and its dry run; a job whose upload was replaced is superseded; a job
 *   with no failed tile re-runs its finalize step; bulk retry twice starts one attempt;
 * - a job whose output a newer version replaced says by which job, and its COGs stay readable.
 */
import { BlobServiceClient } from '@azure/storage-blob';
import { describe, expect, it, vi } from 'vitest';
import type { BulkRetryResult } from '../../src/jobs/job.retry.js';
import { deriveJobInstanceId } from '../../src/jobs/job.id.js';
import type { JobView } from '../../src/jobs/job.view.js';
import type { TileLedgerPage } from '../../src/jobs/tile.ledger.js';
import type { BatchView } from '../../src/jobs/batch.view.js';
import { ingestOptionsSchema } from '../../src/pipeline/options.js';
import { writeRgbUint8, writeUngeoreferenced } from '../support/fixtures.js';
import { useHostOnOwnAzurite, waitForJob } from '../support/local.host.js';

const env = useHostOnOwnAzurite('one-job', { INGEST_SOURCE_CONTAINERS: 'uploads,incoming' });

async function api<T = Record<string, unknown>>(path: string, init: RequestInit = {}): Promise<{ status: number; json: T }> {
  const response = await fetch(`${env.host.baseUrl}${path}`, { ...init, headers: { 'Content-Type': 'application/json', ...(init.headers ?? {}) } });
  const text = await response.text();
  return { status: response.status, json: (text ? JSON.parse(text) : undefined) as T };
}

const post = <T = Record<string, unknown>>(path: string, body?: unknown) => api<T>(path, { method: 'POST', ...(body === undefined ? {} : { body: JSON.stringify(body) }) });

/** Whether the Durable instance exists at all (an attempt that must never have been started). */
async function instanceExists(id: string): Promise<boolean> {
  const response = await fetch(`${env.host.baseUrl}/runtime/webhooks/durabletask/instances/${encodeURIComponent(id)}`);
  await response.body?.cancel();
  return response.status !== 404;
}

async function waitForBatch(id: string): Promise<BatchView> {
  return vi.waitFor(
    async () => {
      const { json } = await api<BatchView>(`/api/batches/${id}`);
      expect(['Completed', 'Failed', 'Terminated']).toContain(json.status);
      return json;
    },
    { timeout: 180_000, interval: 500 },
  );
}

describe('one job per upload version, collection and options', () => {
  const name = 'one/borked_no_crs.tif';
  const source = `uploads/${name}`;
  let jobId = '';

  it('a submission and the upload trigger for the same blob agree on one job, and a failed one is not started again', async () => {
    // An upload to uploads/ fires the trigger; the submission races it, as `raster-ingest submit` does.
    await env.store.uploadFile({ container: 'uploads', name }, writeUngeoreferenced(env.fixtures.path, 'borked_no_crs.tif'), 'image/tiff');
    const submitted = await post<{ id: string }>('/api/jobs', { source });
    expect([200, 202], JSON.stringify(submitted.json)).toContain(submitted.status);
    jobId = submitted.json.id;
    const failed = await waitForJob(env.host.baseUrl, jobId);
    expect(failed).toMatchObject({ status: 'Failed', attempt: 1, errors: [{ code: 'INVALID_INPUT' }] });
    expect(failed.retry).toEqual({ offered: false, reason: expect.stringContaining(`Upload a new version of ${source}`) });

    // The trigger saw the same blob version: it answers with that job (or started it), and starts nothing else.
    const triggerLine = await vi.waitFor(
      () => {
        const line = env.host.output().split('\n').find((candidate) => candidate.includes(`Upload ${source} → `));
        expect(line).toBeDefined();
        return line!;
      },
      { timeout: 60_000, interval: 250 },
    );
    // No collection claims its prefix: the default collection, which the submission used too.
    expect(triggerLine).toMatch(new RegExp(`Upload ${source} → collection rasters \\(no source rule matched: the default\\): (existing|started) ${jobId}$`));
    const again = await post<{ id: string; existing: boolean; job: JobView }>('/api/jobs', { source });
    expect(again).toMatchObject({ status: 200, json: { id: jobId, existing: true, job: { status: 'Failed', retry: { offered: false } } } });
    expect(await instanceExists(`${jobId}-a2`)).toBe(false);
    const listed = await api<{ jobs: JobView[] }>('/api/jobs?collection=rasters&top=100');
    expect(listed.json.jobs.filter((job) => job.source === source).map((job) => job.id)).toEqual([jobId]);
  });

  it('a batch over the same upload takes that job as it is; another collection is another job', async () => {
    await env.store.uploadBytes({ container: 'incoming', name: 'one/manifest.txt' }, Buffer.from(`${source}\n`), 'text/plain');
    const batch = await post<{ id: string }>('/api/batches', { manifest: 'incoming/one/manifest.txt' });
    expect(batch.status).toBe(202);
    const view = await waitForBatch(batch.json.id);
    expect(view).toMatchObject({ status: 'Completed', counts: { total: 1, done: 0, failed: 1 } });
    expect(view.failures).toEqual([expect.objectContaining({ code: 'INVALID_INPUT', source, jobId })]);
    expect(await instanceExists(`${jobId}-a2`)).toBe(false);

    const elsewhere = await post<{ id: string }>('/api/jobs', { source, collection: 'elsewhere' });
    expect(elsewhere.status).toBe(202);
    expect(elsewhere.json.id).not.toBe(jobId);
    await waitForJob(env.host.baseUrl, elsewhere.json.id);
  });

  it('refuses to retry a permanent failure, saying why and what to do; force re-runs it anyway', async () => {
    const refused = await post<{ outcome: string; codes: string[]; detail: string }>(`/api/jobs/${jobId}/retry`);
    expect(refused.status).toBe(409);
    expect(refused.json).toMatchObject({ outcome: 'permanent', codes: ['INVALID_INPUT'] });
    expect(refused.json.detail).toMatch(/INVALID_INPUT is a permanent failure[^]*Upload a new version of uploads\/one\/borked_no_crs\.tif[^]*"force": true/);

    // Bulk retry and its dry run skip it, per job with the reason, and start nothing.
    for (const dryRun of [true, false]) {
      const bulk = await post<BulkRetryResult>('/api/jobs/retry', { collection: 'rasters', dryRun });
      expect(bulk.status).toBe(200);
      expect(bulk.json.jobs.find((job) => job.id === jobId)).toMatchObject({ outcome: 'permanent', retriedAs: null, reason: expect.stringMatching(/permanent failure/) });
    }
    expect(await instanceExists(`${jobId}-a2`)).toBe(false);
    expect((await post('/api/jobs/retry', { top: 101 })).status).toBe(400);

    const forced = await post<{ id: string; reruns: string }>(`/api/jobs/${jobId}/retry`, { force: true });
    expect(forced).toMatchObject({ status: 202, json: { id: `${jobId}-a2`, reruns: 'job' } });
    expect(await waitForJob(env.host.baseUrl, forced.json.id)).toMatchObject({ status: 'Failed', attempt: 2, previousAttempt: jobId });
  });

  it('a new upload of the source supersedes the failed job: its retry is refused, naming the new job', async () => {
    await env.store.uploadFile({ container: 'uploads', name }, writeRgbUint8(env.fixtures.path, 120, 80, 'fixed.tif'), 'image/tiff');
    const stat = await env.store.stat({ container: 'uploads', name });
    const newJob = deriveJobInstanceId({ container: 'uploads', name, etag: stat!.etag, collection: 'rasters', options: ingestOptionsSchema.parse({}), tileSize: 4096 });
    // The trigger starts it by itself.
    await vi.waitFor(async () => expect(await instanceExists(newJob)).toBe(true), { timeout: 60_000, interval: 250 });
    expect(await waitForJob(env.host.baseUrl, newJob)).toMatchObject({ status: 'Completed' });

    const refused = await post<{ outcome: string; supersededBy: string | null }>(`/api/jobs/${jobId}-a2/retry`, { force: true });
    expect(refused).toMatchObject({ status: 409, json: { outcome: 'superseded', supersededBy: newJob } });
    const { json: view } = await api<JobView>(`/api/jobs/${jobId}-a2`);
    expect(view).toMatchObject({ superseded: { by: newJob }, retry: { offered: false } });
  });
});

describe('retries that can help', () => {
  const collection = 'flaky';

  it('re-runs only the finalize step of a job whose tiles were all made, and bulk retry twice starts one attempt', async () => {
    // The root catalog is leased by someone else: finalize fails linking the new collection
    // (STORAGE_REFUSED, retryable) after every tile was made.
    const blobs = BlobServiceClient.fromConnectionString(env.azurite.connectionString);
    const stac = blobs.getContainerClient('stac');
    await stac.createIfNotExists();
    const rootCatalog = stac.getBlockBlobClient('catalog.json');
    if (!(await rootCatalog.exists())) {
      const catalog = JSON.stringify({ type: 'Catalog', stac_version: '1.1.0', id: 'root', description: 'root', links: [] });
      await rootCatalog.upload(catalog, Buffer.byteLength(catalog));
    }
    const leaseClient = rootCatalog.getBlobLeaseClient();
    await leaseClient.acquireLease(-1);
    await env.store.uploadFile({ container: 'incoming', name: 'flaky/scene.tif' }, writeRgbUint8(env.fixtures.path, 300, 200, 'flaky.tif'), 'image/tiff');
    const submitted = await post<{ id: string }>('/api/jobs', { source: 'incoming/flaky/scene.tif', collection });
    const failed = await waitForJob(env.host.baseUrl, submitted.json.id);
    expect(failed, JSON.stringify(failed)).toMatchObject({ status: 'Failed', tiles: { done: 1, failed: 0, total: 1 }, errors: [{ code: 'STORAGE_REFUSED' }], retry: { offered: true, reason: null } });

    const dry = await post<BulkRetryResult>('/api/jobs/retry', { collection, dryRun: true });
    expect(dry.json.jobs).toEqual([expect.objectContaining({ id: failed.id, outcome: 'dry-run', retriedAs: null, reason: expect.stringMatching(/re-runs only the finalize step/) })]);
    expect(await instanceExists(`${failed.id}-a2`)).toBe(false);

    await leaseClient.releaseLease();
    const first = await post<BulkRetryResult>('/api/jobs/retry', { collection });
    expect(first.json.jobs).toEqual([expect.objectContaining({ id: failed.id, outcome: 'started', retriedAs: `${failed.id}-a2` })]);
    // Idempotent: asking again names the attempt it started, and starts no other.
    const second = await post<BulkRetryResult>('/api/jobs/retry', { collection });
    expect(second.json.jobs).toEqual([expect.objectContaining({ id: failed.id, outcome: 'already-retried', retriedAs: `${failed.id}-a2` })]);
    expect(await instanceExists(`${failed.id}-a3`)).toBe(false);
    const single = await post<{ latest: string }>(`/api/jobs/${failed.id}/retry`);
    expect(single).toMatchObject({ status: 409, json: { latest: `${failed.id}-a2` } });

    const done = await waitForJob(env.host.baseUrl, `${failed.id}-a2`);
    expect(done).toMatchObject({ status: 'Completed', attempt: 2, tiles: { done: 1, failed: 0, total: 1 } });
    const { json: ledger } = await api<TileLedgerPage>(`/api/jobs/${done.id}/tiles`);
    expect(ledger.tiles.map((tile) => tile.reused)).toEqual([true]);
  });
});

describe('a job whose output a newer version replaced', () => {
  it('says by which job, and its COGs stay readable for the grace period', async () => {
    const name = 'sup/scene.tif';
    const submit = async (): Promise<JobView> => {
      const submitted = await post<{ id: string }>('/api/jobs', { source: `incoming/${name}`, collection: 'sup' });
      expect(submitted.status).toBe(202);
      return waitForJob(env.host.baseUrl, submitted.json.id);
    };
    await env.store.uploadFile({ container: 'incoming', name }, writeRgbUint8(env.fixtures.path, 300, 200, 'sup-v1.tif'), 'image/tiff');
    const v1 = await submit();
    expect(v1.status).toBe('Completed');
    const { json: ledger } = await api<TileLedgerPage>(`/api/jobs/${v1.id}/tiles`);
    const cogHref = ledger.tiles[0]!.cogHref!;
    expect((await api<JobView>(`/api/jobs/${v1.id}`)).json.superseded).toBeNull();

    await env.store.uploadFile({ container: 'incoming', name }, writeRgbUint8(env.fixtures.path, 320, 200, 'sup-v2.tif'), 'image/tiff');
    const v2 = await submit();
    expect(v2.status).toBe('Completed');
    expect(v2.id).not.toBe(v1.id);

    const { json: replaced } = await api<JobView>(`/api/jobs/${v1.id}`);
    expect(replaced.superseded).toEqual({ by: v2.id, message: expect.stringMatching(new RegExp(`^superseded by ${v2.id}: a newer version of incoming/sup/scene\\.tif replaced[^]*stay readable until \\d{4}-`)) });
    expect((await api<JobView>(`/api/jobs/${v2.id}`)).json.superseded).toBeNull();
    // Its COG is no longer in the catalog, but still readable where its view says it is.
    const cog = await fetch(`${env.host.baseUrl}${cogHref}`, { headers: { Range: 'bytes=0-3' } });
    expect(cog.status).toBe(206);
    expect(Buffer.from(await cog.arrayBuffer()).toString('latin1')).toBe('II*\0');
  });
});
