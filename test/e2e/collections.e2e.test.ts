/**
 * Collections as resources (issue 24, step 1) through the local host's HTTP API: a definition is
 * created, read with its ETag, replaced only with If-Match of the current version (428 without,
 * 412 when stale), and earlier versions stay readable; a derivation naming an unknown collection
 * or closing a cycle is refused with the path at fault; the upload trigger routes an upload by the
 * collections' source prefixes (the default `rasters` when none matches), and the job records
 * the definition version it ran and takes the collection's default options. Every hostile
 * definition of the corpus (test/support/hostile.collections.ts) is refused with a 4xx naming its
 * path, no stack trace or local path in the answer, and nothing stored.
 */
import { join } from 'node:path';
import gdal from 'gdal-async';
import { describe, expect, it } from 'vitest';
import { JobsClient } from '../../cli/jobs.client.js';
import type { CollectionView, JobView } from '../../cli/jobs.api.js';
import { writeRgbUint8 } from '../support/fixtures.js';
import { hostileDefinitions, hostileWebhookPolicy } from '../support/hostile.collections.js';
import { jobOfUpload, useHostOnOwnAzurite, waitForJob } from '../support/local.host.js';

const env = useHostOnOwnAzurite('collections', {
  INGEST_SOURCE_CONTAINERS: 'uploads,incoming',
  INGEST_WEBHOOK_ALLOWLIST: hostileWebhookPolicy.allowlist.join(','),
});

interface Answer {
  status: number;
  etag: string | null;
  json: unknown;
  text: string;
}

async function send(method: 'GET' | 'PUT', path: string, body?: string, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await fetch(`${env.host.baseUrl}${path}`, { method, headers: { 'Content-Type': 'application/json', ...headers }, ...(body === undefined ? {} : { body }) });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, etag: response.headers.get('etag'), json, text };
}

const put = (id: string, definition: unknown, ifMatch?: string) => send('PUT', `/api/collections/${encodeURIComponent(id)}`, JSON.stringify(definition), ifMatch === undefined ? {} : { 'If-Match': ifMatch });
const fieldsOf = (answer: Answer): unknown => (answer.json as { fields?: unknown } | undefined)?.fields;

/** The first COG of a completed job: its compression and block width, read with GDAL. */
async function cogCompression(job: JobView): Promise<{ compression: string | undefined; blockWidth: number }> {
  const tile = job.output && 'tiles' in job.output ? job.output.tiles[0] : undefined;
  if (!tile) throw new Error(`job ${job.id} has no tile`);
  const [container, ...name] = new URL(tile.cogUrl).pathname.split('/').filter(Boolean).slice(1);
  const path = join(env.fixtures.path, `${job.id}.tif`);
  await env.store.downloadToFile({ container: container!, name: name.map(decodeURIComponent).join('/') }, path);
  const dataset = gdal.open(path);
  try {
    return { compression: dataset.getMetadata('IMAGE_STRUCTURE')['COMPRESSION'], blockWidth: dataset.bands.get(1).blockSize.x };
  } finally {
    dataset.close();
  }
}

describe('collection definitions over HTTP', () => {
  it('creates, reads with its ETag, and replaces only the current version', async () => {
    const created = await put('versioned', { title: 'Versioned', gates: { maxBytes: 1000 } });
    expect(created.status, created.text).toBe(201);
    expect(created.etag).toBe('"1"');
    expect(created.json).toMatchObject({ id: 'versioned', version: 1, definition: { title: 'Versioned', gates: { maxBytes: 1000 }, sources: [], schedules: [] }, jobs: '/api/jobs?collection=versioned' });

    const read = await send('GET', '/api/collections/versioned');
    expect(read.status).toBe(200);
    expect(read.etag).toBe('"1"');

    const withoutIfMatch = await put('versioned', { title: 'Lost update' });
    expect(withoutIfMatch.status, withoutIfMatch.text).toBe(428);
    expect(withoutIfMatch.json).toMatchObject({ currentVersion: 1 });

    const replaced = await put('versioned', { title: 'Second' }, read.etag!);
    expect(replaced.status, replaced.text).toBe(200);
    expect(replaced.etag).toBe('"2"');

    const stale = await put('versioned', { title: 'Stale' }, '"1"');
    expect(stale.status, stale.text).toBe(412);
    expect(stale.json).toMatchObject({ currentVersion: 2 });

    const first = await new JobsClient({ baseUrl: env.host.baseUrl }).getCollection('versioned', 1);
    expect(first.definition.title).toBe('Versioned');
    expect((await send('GET', '/api/collections/versioned?version=9')).status).toBe(404);
    expect((await send('GET', '/api/collections/nothing-here')).status).toBe(404);
    const list = await new JobsClient({ baseUrl: env.host.baseUrl }).listCollections();
    expect(list.defaultCollection).toBe('rasters');
    expect(list.collections.find((collection: CollectionView) => collection.id === 'versioned')).toMatchObject({ version: 2, definition: { title: 'Second' } });
  });

  it('refuses a derivation naming an unknown collection, and one that closes a cycle, with the path at fault', async () => {
    const unknown = await put('slope', { derivedFrom: { collection: 'dem-unknown', product: 'slope' } });
    expect(unknown.status, unknown.text).toBe(400);
    expect(fieldsOf(unknown)).toEqual(['derivedFrom.collection']);

    expect((await put('chain-a', {})).status).toBe(201);
    expect((await put('chain-b', { derivedFrom: { collection: 'chain-a', product: 'hillshade' } })).status).toBe(201);
    expect((await put('chain-c', { derivedFrom: { collection: 'chain-b', product: 'slope' } })).status).toBe(201);
    const cycle = await put('chain-a', { derivedFrom: { collection: 'chain-c', product: 'slope' } }, '"1"');
    expect(cycle.status, cycle.text).toBe(400);
    expect(fieldsOf(cycle)).toEqual(['derivedFrom.collection']);
    expect((cycle.json as { detail: string }).detail).toContain('chain-a → chain-c → chain-b → chain-a');
    expect((await send('GET', '/api/collections/chain-a')).etag).toBe('"1"');
  });

  it('routes uploads by source prefix, and jobs run the version and default options of their collection', async () => {
    const dem = await put('dem', { sources: [{ container: 'uploads', prefix: 'dem/' }], options: { compression: 'ZSTD', blockSize: 256 } });
    expect(dem.status, dem.text).toBe(201);
    expect((await put('dem', { sources: [{ container: 'uploads', prefix: 'dem/' }], options: { compression: 'ZSTD', blockSize: 256 }, gates: {} }, '"1"')).status).toBe(200);

    await env.store.uploadFile({ container: 'uploads', name: 'dem/scene.tif' }, writeRgbUint8(env.fixtures.path, 200, 150, 'dem.tif'), 'image/tiff');
    await env.store.uploadFile({ container: 'uploads', name: 'elsewhere/scene.tif' }, writeRgbUint8(env.fixtures.path, 200, 150, 'elsewhere.tif'), 'image/tiff');
    const routed = await jobOfUpload(env.host.baseUrl, 'uploads/dem/scene.tif');
    const fallback = await jobOfUpload(env.host.baseUrl, 'uploads/elsewhere/scene.tif');
    expect(routed.collection).toBe('dem');
    expect(fallback.collection).toBe('rasters');

    const routedDone = await waitForJob(env.host.baseUrl, routed.id);
    expect(routedDone.status, JSON.stringify(routedDone.errors)).toBe('Completed');
    expect(routedDone.definitionVersion).toBe(2);
    const fallbackDone = await waitForJob(env.host.baseUrl, fallback.id);
    expect(fallbackDone.status).toBe('Completed');
    expect(fallbackDone.definitionVersion).toBeNull();

    // The collection's default options: its COG is ZSTD with 256-pixel blocks; the default job's is DEFLATE.
    expect(await cogCompression(routedDone)).toEqual({ compression: 'ZSTD', blockWidth: 256 });
    expect(await cogCompression(fallbackDone)).toEqual({ compression: 'DEFLATE', blockWidth: 512 });
    // A submission's own options win over the collection's defaults.
    const client = new JobsClient({ baseUrl: env.host.baseUrl });
    await env.store.uploadFile({ container: 'incoming', name: 'dem/own-options.tif' }, writeRgbUint8(env.fixtures.path, 120, 80, 'own.tif'), 'image/tiff');
    const own = await client.submit({ source: 'incoming/dem/own-options.tif', collection: 'dem', options: { compression: 'LZW' } });
    const ownDone = await waitForJob(env.host.baseUrl, own.id);
    expect(await cogCompression(ownDone)).toEqual({ compression: 'LZW', blockWidth: 256 });
    expect(ownDone.definitionVersion).toBe(2);
    const listed = await client.listJobs({ collection: 'dem' });
    expect(listed.jobs.find((job) => job.id === routed.id)?.definitionVersion).toBe(2);
  }, 240_000);

  it('describes the collection routes in the OpenAPI document', async () => {
    const document = (await send('GET', '/api/openapi.json')).json as { paths: Record<string, Record<string, { operationId: string }>> };
    expect(document.paths['/api/collections/{id}']?.['put']?.operationId).toBe('putCollection');
    expect(document.paths['/api/collections']?.['get']?.operationId).toBe('listCollections');
  });
});

describe('hostile collection definitions are refused with 4xx naming the path, never stored', () => {
  it.each(hostileDefinitions.map((entry) => [entry.name, entry] as const))('%s', async (_, entry) => {
    const answer = await send('PUT', `/api/collections/${encodeURIComponent(entry.id)}`, entry.body);
    const context = `${entry.attack}: ${answer.status} ${answer.text.slice(0, 300)}`;
    expect(entry.statuses ?? [400], context).toContain(answer.status);
    if (answer.status === 400) {
      expect(answer.json, context).toMatchObject({ title: expect.any(String), detail: expect.any(String) });
      expect(fieldsOf(answer), context).toEqual(expect.arrayContaining(entry.fields));
    }
    // No stack trace, local path or secret; answers stay bounded.
    expect(answer.text, context).not.toMatch(/\n\s+at |\/tmp\/|node_modules|AccountKey=/);
    expect(answer.text.length, context).toBeLessThan(20_000);
    const stored = await send('GET', `/api/collections/${encodeURIComponent(entry.id)}`);
    expect([400, 404], context).toContain(stored.status);
  });

  it('keeps the host answering after them', async () => {
    expect((await send('GET', '/api/collections')).status).toBe(200);
  });
});
