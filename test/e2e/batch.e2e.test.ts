/**
 * Batches through the local host's HTTP API: a prefix of generated rasters ingested as one DAG in
 * chunks (continueAsNew between them), the collection finalized once per chunk and holding every
 * item exactly once; submitting the same batch again skips everything; a manifest that names
 * missing blobs reports them; a manifest dropped in uploads/batches/ starts a batch by itself.
 */
import { describe, expect, it, vi } from 'vitest';
import { JobsClient } from '../../cli/jobs.client.js';
import type { BatchView } from '../../src/jobs/batch.view.js';
import type { JobView } from '../../src/jobs/job.view.js';
import type { StacCollection } from '../../src/stac/stac.types.js';
import { writeRgbUint8 } from '../support/fixtures.js';
import { useHostOnOwnAzurite, waitForJob } from '../support/local.host.js';
import { collectionBlob } from '../../src/stac/catalog.layout.js';
import { walkStoredCatalog } from '../../src/stac/catalog.walk.js';

const env = useHostOnOwnAzurite('batch', {
  INGEST_SOURCE_CONTAINERS: 'uploads,incoming',
  INGEST_BATCH_CHUNK_SIZE: '5',
  INGEST_BATCH_WINDOW: '3',
});

const sourceCount = 12;

async function api<T>(path: string, init: RequestInit = {}): Promise<{ status: number; json: T }> {
  const response = await fetch(`${env.host.baseUrl}${path}`, { ...init, headers: { 'Content-Type': 'application/json', ...(init.headers ?? {}) } });
  const text = await response.text();
  return { status: response.status, json: (text ? JSON.parse(text) : undefined) as T };
}

/** Polls the batch until it has finished (observable state, not a fixed wait). */
async function waitForBatch(id: string, timeoutMs = 240_000): Promise<BatchView> {
  return vi.waitFor(
    async () => {
      const { json } = await api<BatchView>(`/api/batches/${id}`);
      if (!['Completed', 'Failed', 'Terminated'].includes(json.status)) throw new Error(`batch ${id} did not finish: ${JSON.stringify(json)}`);
      return json;
    },
    { timeout: timeoutMs, interval: 500 },
  );
}

describe('batches', () => {
  let firstBatch: BatchView;

  it('ingests a prefix in chunks, finalizing once per chunk, every item exactly once', async () => {
    for (let i = 0; i < sourceCount; i++) {
      // Side by side, 10 km apart, so the collection's extent must cover all of them.
      const path = writeRgbUint8(env.fixtures.path, 64, 48, `scene-${i}.tif`, { originX: 500_000 + i * 10_000 });
      await env.store.uploadFile({ container: 'incoming', name: `batch/scenes/scene-${i}.tif` }, path, 'image/tiff');
    }
    await env.store.uploadFile({ container: 'incoming', name: 'batch/scenes/notes.txt' }, writeRgbUint8(env.fixtures.path, 8, 8, 'notes.tif'), 'text/plain');

    const submitted = await api<{ id: string; statusQueryGetUri: string }>('/api/batches', {
      method: 'POST',
      body: JSON.stringify({ source: 'incoming/batch/scenes/', collection: 'batch', include: '**/*.tif' }),
    });
    expect(submitted.status).toBe(202);
    expect(submitted.json.statusQueryGetUri).toBe(`${env.host.baseUrl}/api/batches/${submitted.json.id}/status`);
    firstBatch = await waitForBatch(submitted.json.id);
    expect(firstBatch, JSON.stringify(firstBatch.failures)).toMatchObject({ status: 'Completed', stage: 'completed', counts: { total: sourceCount, done: sourceCount, failed: 0, skipped: 0, missing: 0 } });
    // 12 sources in chunks of 5: three chunks, the batch continued as new between them.
    expect(firstBatch.output).toMatchObject({ chunks: 3 });
    expect(firstBatch.throughputPerMinute).toBeGreaterThan(0);

    // After the last chunk the batch asked a collectionMosaic run for the mosaic and overview over
    // every tile; it builds them once the batch has completed.
    expect(firstBatch.output).toMatchObject({ mosaic: { requested: expect.any(String) } });
    const mosaicRun = (firstBatch.output!.mosaic as { requested: string }).requested;
    const run = await vi.waitFor(
      async () => {
        const status = (await api<{ runtimeStatus: string; output: unknown }>(`/runtime/webhooks/durabletask/instances/${mosaicRun}`)).json;
        expect(status.runtimeStatus).toBe('Completed');
        return status.output as { outcome: string; mosaic?: { mosaics: Array<{ url: string; tiles: number }>; skipped: unknown[] } };
      },
      { timeout: 120_000, interval: 500 },
    );
    expect(run).toMatchObject({ outcome: 'built', mosaic: { mosaics: [{ tiles: sourceCount }], skipped: [] } });

    const collection = (await env.store.readJson<StacCollection>({ container: 'stac', name: 'batch/collection.json' }))!.value;
    // Items are reached from the collection through its shard and source catalogs.
    const itemLinks = (await walkStoredCatalog(env.store, env.store.url(collectionBlob('batch')))).itemUrls;
    expect(itemLinks).toHaveLength(sourceCount);
    expect(new Set(itemLinks).size).toBe(sourceCount);
    const [west, , east] = collection.extent.spatial.bbox[0]!;
    expect(east - west).toBeGreaterThan(0.9); // 11 × 10 km at 60°N is about 2° of longitude
    // The collection links that mosaic and its overview.
    expect(collection.assets?.['mosaic']).toMatchObject({ href: run.mosaic!.mosaics[0]!.url, roles: ['data', 'mosaic'] });
    expect(collection.assets?.['overview']).toMatchObject({ type: 'image/tiff; application=geotiff; profile=cloud-optimized' });

    const jobs = await api<{ jobs: JobView[] }>(`/api/jobs?batch=${firstBatch.id}&top=50`);
    expect(jobs.json.jobs).toHaveLength(sourceCount);
    expect(jobs.json.jobs.every((job) => job.status === 'Completed')).toBe(true);
  });

  it('skips everything when the same batch is submitted again', async () => {
    const again = await api<{ id: string; previousAttempt: string }>('/api/batches', {
      method: 'POST',
      body: JSON.stringify({ source: 'incoming/batch/scenes/', collection: 'batch', include: '**/*.tif' }),
    });
    expect(again.status).toBe(202);
    expect(again.json.previousAttempt).toBe(firstBatch.id);
    const view = await waitForBatch(again.json.id);
    expect(view.counts).toMatchObject({ total: sourceCount, done: 0, skipped: sourceCount, failed: 0 });
    expect((await walkStoredCatalog(env.store, env.store.url(collectionBlob('batch')))).itemUrls).toHaveLength(sourceCount);
  });

  it('reports the entries of a manifest that name no blob, and ingests the others', async () => {
    await env.store.uploadBytes({ container: 'incoming', name: 'batch/bad.tif' }, Buffer.from('not a raster at all'), 'image/tiff');
    const manifest = ['source', 'incoming/batch/scenes/scene-0.tif', 'incoming/batch/missing.tif', 'cogs/batch/secret.tif', 'incoming/batch/scenes/scene-1.tif', 'incoming/batch/bad.tif'].join('\n');
    await env.store.uploadBytes({ container: 'incoming', name: 'batch/manifest.csv' }, Buffer.from(manifest), 'text/csv');
    const submitted = await api<{ id: string }>('/api/batches', { method: 'POST', body: JSON.stringify({ manifest: 'incoming/batch/manifest.csv', collection: 'manifested' }) });
    expect(submitted.status).toBe(202);
    const view = await waitForBatch(submitted.json.id);
    expect(view).toMatchObject({ status: 'Completed', counts: { total: 3, done: 2, failed: 1, missing: 2 } });
    // A failed source is listed with its code and its job (which the retry API re-runs).
    expect(view.failures).toEqual([expect.objectContaining({ code: 'UNSUPPORTED_FORMAT', source: 'incoming/batch/bad.tif', jobId: expect.stringMatching(/^ingest-[0-9a-f]{32}$/) })]);
    expect(view.missing).toEqual(expect.arrayContaining([expect.stringMatching(/^incoming\/batch\/missing\.tif: no such blob/), expect.stringMatching(/"cogs" is not a source container/)]));
  });

  it('answers bad batch requests with 400 or 404 naming the field', async () => {
    expect(await api('/api/batches', { method: 'POST', body: JSON.stringify({ source: 'stac/' }) })).toMatchObject({ status: 400, json: { fields: ['source'] } });
    expect(await api('/api/batches', { method: 'POST', body: JSON.stringify({ source: 'incoming/../x/' }) })).toMatchObject({ status: 400, json: { fields: ['source'] } });
    expect(await api('/api/batches', { method: 'POST', body: JSON.stringify({ source: 'incoming/nothing-here/' }) })).toMatchObject({ status: 404, json: { fields: ['source'] } });
    expect(await api('/api/batches', { method: 'POST', body: JSON.stringify({ manifest: 'incoming/no-such.csv' }) })).toMatchObject({ status: 404, json: { fields: ['manifest'] } });
    expect((await api('/api/batches', { method: 'POST', body: JSON.stringify({ source: 'incoming/batch/', manifest: 'incoming/batch/manifest.csv' }) })).status).toBe(400);
    await env.store.uploadBytes({ container: 'incoming', name: 'batch/broken.json' }, Buffer.from('{"not": "a list"}'), 'application/json');
    const broken = await api<{ id: string }>('/api/batches', { method: 'POST', body: JSON.stringify({ manifest: 'incoming/batch/broken.json' }) });
    const failed = await waitForBatch(broken.json.id);
    expect(failed).toMatchObject({ status: 'Failed', stage: 'failed', reason: expect.stringMatching(/must be an array/) });
  });

  it('starts a batch when a manifest is dropped in uploads/batches/, once per version', async () => {
    await env.store.uploadBytes({ container: 'uploads', name: 'batches/nightly.txt' }, Buffer.from('incoming/batch/scenes/scene-2.tif\n'), 'text/plain');
    const batch = await vi.waitFor(
      async () => {
        const { json } = await api<{ batches: BatchView[] }>('/api/batches?top=50');
        const found = json.batches.find((candidate) => candidate.selection === 'manifest uploads/batches/nightly.txt');
        if (!found) throw new Error('no batch started for uploads/batches/nightly.txt');
        return found;
      },
      { timeout: 60_000, interval: 500 },
    );
    const done = await waitForBatch(batch.id);
    expect(done).toMatchObject({ status: 'Completed', collection: 'rasters', counts: { total: 1, done: 1 } });
    const job = await waitForJob(env.host.baseUrl, (await api<{ jobs: JobView[] }>(`/api/jobs?batch=${done.id}`)).json.jobs[0]!.id);
    expect(job.status).toBe('Completed');
  });
});

describe('the scheduled batch', () => {
  const scheduled = useHostOnOwnAzurite('scheduled-batch', {
    INGEST_SOURCE_CONTAINERS: 'uploads,incoming',
    // Every 2 seconds, so the test sees two runs; in Azure e.g. `0 0 3 * * *`.
    INGEST_BATCH_SCHEDULE: '*/2 * * * * *',
    INGEST_BATCH_SCHEDULE_PREFIX: 'incoming/nightly/',
  });

  async function batches(): Promise<BatchView[]> {
    const response = await fetch(`${scheduled.host.baseUrl}/api/batches?top=200`);
    return ((await response.json()) as { batches: BatchView[] }).batches;
  }

  /** Waits for a finished scheduled batch that ingested sources (a source seen again is skipped, not done), other than `seen`. */
  async function nextBatchWithWork(seen: Set<string>): Promise<BatchView> {
    return vi.waitFor(
      async () => {
        const all = await batches();
        const found = all.find((batch) => !seen.has(batch.id) && batch.status === 'Completed' && batch.counts.done > 0);
        if (!found) throw new Error(`no scheduled batch with work: ${JSON.stringify(all)}\n${scheduled.host.output().slice(-6000)}`);
        return found;
      },
      { timeout: 50_000, interval: 500 },
    );
  }

  it('takes what arrived under its prefix since its last run', async () => {
    for (const n of [1, 2]) {
      await scheduled.store.uploadFile({ container: 'incoming', name: `nightly/a-${n}.tif` }, writeRgbUint8(scheduled.fixtures.path, 32, 32, `a-${n}.tif`), 'image/tiff');
    }
    const first = await nextBatchWithWork(new Set());
    expect(first.counts).toMatchObject({ total: 2, done: 2 });
    expect(first.selection).toBe('incoming/nightly/');

    await scheduled.store.uploadFile({ container: 'incoming', name: 'nightly/b-1.tif' }, writeRgbUint8(scheduled.fixtures.path, 32, 32, 'b-1.tif'), 'image/tiff');
    const second = await nextBatchWithWork(new Set([first.id]));
    // Only the newcomer: the earlier two arrived before the last run.
    expect(second.counts).toMatchObject({ total: 1, done: 1 });

    // The default collection's schedule view shows it, with its last run (docs/collections.md, "Schedules").
    const view = await new JobsClient({ baseUrl: scheduled.host.baseUrl }).getCollectionSchedules('rasters');
    expect(view.settingsSchedule).toMatchObject({ cron: '*/2 * * * * *', timeZone: 'UTC', source: 'incoming/nightly/', lastRun: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
  });
});
