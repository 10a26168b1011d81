/**
 * Batches and lists against untrusted input, through the local host's HTTP API on its own Azurite
 * (issue 18): a prefix of files named at Azure's 1,024-character limit and a manifest whose
 * missing entries are that long and longer complete, ingesting the good sources and listing the
 * junk bounded, with the custom status under Azure's 16 KB; globs that would stall a backtracking
 * engine are refused or answered; garbage continuation tokens are 400s naming the field; the
 * dashboard serves no source maps.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import type { BatchView } from '../../src/jobs/batch.view.js';
import { encodeBatchesToken, encodeJobsToken } from '../../src/jobs/continuation.token.js';
import { batchStatusBounds } from '../../src/pipeline/batch.status.js';
import { writeRgbUint8 } from '../support/fixtures.js';
import { garbageTokens } from '../support/garbage.tokens.js';
import { projectRoot, useHostOnOwnAzurite } from '../support/local.host.js';

const env = useHostOnOwnAzurite('untrusted-batch', {
  INGEST_SOURCE_CONTAINERS: 'uploads,incoming',
  INGEST_BATCH_CHUNK_SIZE: '40',
  INGEST_BATCH_WINDOW: '8',
});

/** Azure's limit on a custom status: 16 KB of UTF-16 JSON. */
const customStatusLimitBytes = 16 * 1024;
const junkCount = 24;

async function api<T>(path: string, init: RequestInit = {}): Promise<{ status: number; json: T; contentType: string | null }> {
  const response = await fetch(`${env.host.baseUrl}${path}`, { ...init, headers: { 'Content-Type': 'application/json', ...(init.headers ?? {}) } });
  const text = await response.text();
  return { status: response.status, json: (text ? JSON.parse(text) : undefined) as T, contentType: response.headers.get('content-type') };
}

/** The batch once it has finished, polled on its own status. */
async function finishedBatch(id: string): Promise<BatchView> {
  return vi.waitFor(
    async () => {
      const { json } = await api<BatchView>(`/api/batches/${id}`);
      expect(['Completed', 'Failed', 'Terminated']).toContain(json.status);
      return json;
    },
    { timeout: 300_000, interval: 500 },
  );
}

/** The raw custom status, as the task hub holds it, and its size as Azure measures it. */
async function customStatusOf(id: string): Promise<{ status: unknown; utf16Bytes: number }> {
  const { json } = await api<{ customStatus: unknown }>(`/runtime/webhooks/durabletask/instances/${id}`);
  return { status: json.customStatus, utf16Bytes: JSON.stringify(json.customStatus).length * 2 };
}

/** A blob name of exactly `length` characters under `folder`, told apart by `i` at its end. */
function longName(folder: string, i: number, length = 1024, extension = '.tif'): string {
  const tail = `-${String(i).padStart(3, '0')}${extension}`;
  return `${folder}${'n'.repeat(length - folder.length - tail.length)}${tail}`;
}

function expectBoundedView(view: BatchView): void {
  expect(view.failures.length).toBeLessThanOrEqual(batchStatusBounds.listed);
  expect(view.missing.length).toBeLessThanOrEqual(batchStatusBounds.listed);
  for (const failure of view.failures) expect(failure.source.length).toBeLessThanOrEqual(batchStatusBounds.source);
  expect(new Set(view.failures.map((failure) => failure.source)).size).toBe(view.failures.length);
  expect(new Set(view.missing).size).toBe(view.missing.length);
}

describe('batches of junk', () => {
  const batchIds: string[] = [];

  it('ingests the good sources of a prefix whose other files have 1,024-character names, listing the junk bounded', async () => {
    for (let i = 0; i < junkCount; i++) {
      const name = longName('junk/', i);
      expect(name).toHaveLength(1024);
      await env.store.uploadBytes({ container: 'incoming', name }, Buffer.from(`not a raster ${i}`), 'image/tiff');
    }
    for (const name of ['junk/good-1.tif', longName('junk/', 999)]) await env.store.uploadFile({ container: 'incoming', name }, writeRgbUint8(env.fixtures.path, 32, 32, `good-${name.length}.tif`), 'image/tiff');

    const submitted = await api<{ id: string }>('/api/batches', { method: 'POST', body: JSON.stringify({ source: 'incoming/junk/', collection: 'junk-prefix' }) });
    expect(submitted.status).toBe(202);
    batchIds.push(submitted.json.id);
    const view = await finishedBatch(submitted.json.id);
    expect(view, JSON.stringify(view).slice(0, 2000)).toMatchObject({ status: 'Completed', counts: { total: junkCount + 2, done: 2, failed: junkCount, missing: 0 } });
    expectBoundedView(view);
    expect(view.failures.length).toBeGreaterThan(0);
    for (const failure of view.failures) expect(failure.source).toMatch(/^incoming\/junk\/n+…#[0-9a-f]{8}$/);
    const { utf16Bytes } = await customStatusOf(submitted.json.id);
    expect(utf16Bytes).toBeLessThan(customStatusLimitBytes);
    // Both good sources were published, the long-named one too.
    const jobs = await api<{ jobs: Array<{ status: string; source: string }> }>(`/api/jobs?batch=${submitted.json.id}&top=100`);
    expect(jobs.json.jobs.filter((job) => job.status === 'Completed')).toHaveLength(2);
  });

  it('ingests the good entries of a manifest whose missing entries are 1,024 characters and longer, listing them bounded', async () => {
    const rows = ['source,note', 'incoming/junk/good-1.tif,"a note over', 'two lines, with a comma"'];
    for (let i = 0; i < junkCount; i++) rows.push(`incoming/${longName('missing/', i)}`);
    for (let i = 0; i < 6; i++) rows.push(`"incoming/${'x'.repeat(3000)}${i}","junk ""quoted"""`);
    rows.push(`incoming/${longName('junk/', 999)},second good one`);
    await env.store.uploadBytes({ container: 'incoming', name: 'manifests/junk.csv' }, Buffer.from(rows.join('\r\n')), 'text/csv');

    const submitted = await api<{ id: string }>('/api/batches', { method: 'POST', body: JSON.stringify({ manifest: 'incoming/manifests/junk.csv', collection: 'junk-manifest' }) });
    expect(submitted.status).toBe(202);
    batchIds.push(submitted.json.id);
    const view = await finishedBatch(submitted.json.id);
    expect(view, JSON.stringify(view).slice(0, 2000)).toMatchObject({ status: 'Completed', counts: { total: 2, done: 2, failed: 0, missing: junkCount + 6 } });
    expectBoundedView(view);
    expect(view.missing.length).toBeGreaterThan(0);
    for (const missing of view.missing) expect(missing).toMatch(/^incoming\/(missing\/n+|x+)…#[0-9a-f]{8}: /);
    expect((await customStatusOf(submitted.json.id)).utf16Bytes).toBeLessThan(customStatusLimitBytes);
  });

  it('refuses include globs beyond the limits as a 400 on "include", and answers the nested ones at once', async () => {
    for (const include of [`${'*a'.repeat(40)}b`, '{a,{b,{c,{d,{e,f}}}}}', '!(a).tif', 'x'.repeat(501), '[[:nothing:]]']) {
      const answer = await api<{ fields: string[]; detail: string }>('/api/batches', { method: 'POST', body: JSON.stringify({ source: 'incoming/junk/', include }) });
      expect(answer.status, include.slice(0, 40)).toBe(400);
      expect(answer.json.fields).toEqual(['include']);
      expect(answer.json.detail).not.toContain('aaaa');
    }
    // The pattern: 19.5 s on 24 characters before. On 1,024-character names, nothing matches, so the batch selects nothing.
    const nested = await api<{ id: string }>('/api/batches', { method: 'POST', body: JSON.stringify({ source: 'incoming/junk/', include: '{n,{n,{n,n*}*}*}*b', collection: 'junk-glob' }) });
    expect(nested.status).toBe(202);
    expect(await finishedBatch(nested.json.id)).toMatchObject({ status: 'Failed', reason: expect.stringMatching(/selects no blobs/) });
  });

  it('pages batches and jobs with its own tokens, and answers 400 naming continuationToken to any other', async () => {
    expect(batchIds).toHaveLength(2);
    const first = await api<{ batches: BatchView[]; continuationToken: string | null }>('/api/batches?top=1');
    expect(first.status).toBe(200);
    expect(first.json.continuationToken).toEqual(expect.any(String));
    const second = await api<{ batches: BatchView[] }>(`/api/batches?top=1&continuationToken=${encodeURIComponent(first.json.continuationToken!)}`);
    expect(second.status).toBe(200);
    expect(second.json.batches[0]!.id).not.toBe(first.json.batches[0]!.id);
    const jobsFirst = await api<{ continuationToken: string | null }>('/api/jobs?top=1');
    expect(jobsFirst.json.continuationToken).toEqual(expect.any(String));
    expect((await api(`/api/jobs?top=1&continuationToken=${encodeURIComponent(jobsFirst.json.continuationToken!)}`)).status).toBe(200);

    const forged: Array<readonly [string, string]> = [...garbageTokens, ['a batches wrapper around garbage (our shape, the task hub cannot read it)', encodeBatchesToken('garbage that is no task hub token')]];
    for (const [name, token] of forged) {
      const query = `continuationToken=${encodeURIComponent(token)}`;
      for (const answer of [
        await api<{ fields?: string[]; detail: string }>(`/api/jobs?${query}`),
        await api<{ fields?: string[]; detail: string }>(`/api/batches?${query}`),
        await api<{ fields?: string[]; detail: string }>('/api/jobs/retry', { method: 'POST', body: JSON.stringify({ dryRun: true, continuationToken: token }) }),
      ]) {
        expect(answer.status, name).toBe(400);
        expect(answer.contentType).toContain('application/problem+json');
        expect(answer.json.fields, name).toEqual(['continuationToken']);
        expect(answer.json.detail).not.toMatch(/at .*\.js|\/work\/|node_modules/);
      }
    }
    // Well formed, pointing at another partition: the jobs filter still holds, so it finds nothing; batches refuse its shape.
    const otherPartition = encodeURIComponent(encodeJobsToken({ nextPartitionKey: 'schedule', nextRowKey: '~' }));
    expect(await api(`/api/jobs?continuationToken=${otherPartition}`)).toMatchObject({ status: 200, json: { jobs: [], continuationToken: null } });
    expect(await api(`/api/batches?continuationToken=${otherPartition}`)).toMatchObject({ status: 400, json: { fields: ['continuationToken'] } });
  });
});

describe('the dashboard in production', () => {
  it('serves its script but no source map, and the build wrote none', async () => {
    expect((await fetch(`${env.host.baseUrl}/api/dashboard/app.js`)).status).toBe(200);
    for (const path of ['app.js.map', 'app.css.map']) {
      const response = await fetch(`${env.host.baseUrl}/api/dashboard/${path}`);
      expect(response.status, path).toBe(404);
      await response.body?.cancel();
    }
    expect(readdirSync(join(projectRoot, 'dist', 'web')).filter((file) => file.endsWith('.map'))).toEqual([]);
  });
});
