/**
 * End to end through the local host's HTTP API, with the unchanged app, real GDAL and a real
 * Azurite: submit → Completed; every COG passes GDAL's validator; the tiles' mosaic equals the
 * source pixels; the STAC validates; bad input fails its own job while the host keeps serving.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import gdal from 'gdal-async';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startAzurite, type RunningAzurite } from '../../host/azurite.js';
import type { JobView } from '../../src/jobs/job.view.js';
import type { BlobStore } from '../../src/storage/blob.store.js';
import { AzureBlobStore } from '../../src/storage/azure.blob.store.js';
import { validateCog } from '../support/cog.validator.js';
import { createFixtureDir, writeFloat32Nodata, writeRgbUint8, writeTextAsTif, writeTruncated, writeZeroByte, type FixtureDir } from '../support/fixtures.js';
import { startLocalHost, waitForJob, type LocalHost } from '../support/local.host.js';
import { StacValidator } from '../support/stac.validator.js';
import { collectionBlob, collectionMosaicBlob } from '../../src/stac/catalog.layout.js';
import type { StacCollection } from '../../src/stac/stac.types.js';
import { walkStoredCatalog } from '../../src/stac/catalog.walk.js';

let azurite: RunningAzurite;
let azuriteDir: string;
let host: LocalHost;
let store: BlobStore;
let fixtures: FixtureDir;

const inbox = 'incoming';
const e2eOptions = { tileSize: 768, blockSize: 256 }; // not `uploads`, so HTTP-submitted sources don't also fire the blob trigger

async function upload(path: string, name: string, container = inbox): Promise<void> {
  await store.uploadFile({ container, name }, path, 'image/tiff');
}

async function submit(body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${host.baseUrl}/api/jobs`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

/** Reads a whole band window into a typed array. */
function readWindow(dataset: gdal.Dataset, band: number, x: number, y: number, width: number, height: number): gdal.TypedArray {
  return dataset.bands.get(band).pixels.read(x, y, width, height);
}

/** Compares two pixel arrays, NaN equal to NaN. Returns the first differing index or -1. */
function firstDifference(a: gdal.TypedArray, b: gdal.TypedArray): number {
  if (a.length !== b.length) return 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x !== y && !(Number.isNaN(x) && Number.isNaN(y))) return i;
  }
  return -1;
}

beforeAll(async () => {
  // Its own Azurite, so this host's task hub shares storage with no other test file.
  azuriteDir = mkdtempSync(join(tmpdir(), 'e2e-azurite-'));
  azurite = await startAzurite({ location: azuriteDir });
  store = AzureBlobStore.fromEnvironment({ AzureWebJobsStorage: azurite.connectionString });
  host = await startLocalHost({ storageConnectionString: azurite.connectionString, env: { INGEST_TILE_SIZE: '512', INGEST_SOURCE_CONTAINERS: `uploads,${inbox}` } });
  fixtures = createFixtureDir('e2e-');
});

afterAll(async () => {
  await host?.stop();
  await azurite?.stop();
  fixtures?.remove();
  rmSync(azuriteDir, { recursive: true, force: true });
});

/** Jobs that completed in the first describe block, by source file name (later blocks build on them). */
const completed = new Map<string, JobView>();

describe('ingestion through the local host', () => {
  it.each([
    ['a multi-band 8-bit image', 'rgb.tif', (dir: string) => writeRgbUint8(dir, 1100, 700)],
    ['a float32 DEM with nodata', 'dem.tif', (dir: string) => writeFloat32Nodata(dir, 1300, 900)],
  ])('turns %s into validated COG tiles and a valid STAC catalog', async (_label, name, write) => {
    const path = write(fixtures.path);
    await upload(path, `e2e/${name}`);
    // Tiles of 768 with 256-pixel blocks: several tiles per source, overviews in each.
    const submitted = await submit({ source: `${inbox}/e2e/${name}`, collection: 'e2e', options: e2eOptions });
    expect(submitted.status).toBe(202);
    const id = submitted.json['id'] as string;
    // Job submitters get the app's own status URL: never the Durable extension's webhook or its system key.
    expect(submitted.json).toMatchObject({ id: expect.stringMatching(/^ingest-/), statusQueryGetUri: `${host.baseUrl}/api/jobs/${id}/status`, attempt: 1 });
    expect(JSON.stringify(submitted.json)).not.toMatch(/runtime\/webhooks|code=/);

    // Durable's async HTTP pattern, as Logic Apps and Data Factory follow it: 202 with Location (itself) while running, then 200.
    const statusUri = submitted.json['statusQueryGetUri'] as string;
    const answers: Array<{ status: number; location: string | null; body: { runtimeStatus: string; instanceId: string; customStatus: unknown; output: unknown } }> = [];
    await expect
      .poll(
        async () => {
          const response = await fetch(statusUri);
          answers.push({ status: response.status, location: response.headers.get('location'), body: (await response.json()) as (typeof answers)[number]['body'] });
          return response.status;
        },
        { timeout: 240_000, interval: 250 },
      )
      .toBe(200);
    for (const running of answers.slice(0, -1)) expect(running).toMatchObject({ status: 202, location: statusUri, body: { instanceId: id, runtimeStatus: expect.stringMatching(/^(Pending|Running)$/) } });
    const ended = answers.at(-1)!;
    expect(ended.body).toMatchObject({ instanceId: id, runtimeStatus: 'Completed', customStatus: { stage: 'completed' }, output: { tiles: expect.any(Array) } });

    const view = await waitForJob(host.baseUrl, id);
    expect(view.errors).toEqual([]);
    expect(view.status).toBe('Completed');
    completed.set(name, view);

    const source = gdal.open(path);
    const expectedTiles = Math.ceil(source.rasterSize.x / e2eOptions.tileSize) * Math.ceil(source.rasterSize.y / e2eOptions.tileSize);
    expect(view.tiles).toEqual({ done: expectedTiles, failed: 0, total: expectedTiles });
    const output = view.output!;
    expect(output.tiles).toHaveLength(expectedTiles);
    expect(output.bytesIn).toBeGreaterThan(0);
    expect(output.bytesOut).toBe(output.tiles.reduce((sum, tile) => sum + tile.cogBytes, 0));

    // Every tile is a valid COG with overviews, and together they hold exactly the source pixels.
    const workDir = mkdtempSync(join(tmpdir(), 'e2e-cogs-'));
    try {
      const covered = new Set<string>();
      for (const tile of output.tiles) {
        const blobName = decodeURIComponent(new URL(tile.cogUrl).pathname.split('/cogs/')[1]!);
        const local = join(workDir, `${tile.itemId}.tif`);
        await store.downloadToFile({ container: 'cogs', name: blobName }, local);
        const validation = await validateCog(local);
        expect(validation.errors, validation.output).toEqual([]);
        expect(validation.valid).toBe(true);

        const cog = gdal.open(local);
        const [tx, ty] = [cog.geoTransform![0], cog.geoTransform![3]];
        const [sx, sy, pw, ph] = [source.geoTransform![0], source.geoTransform![3], source.geoTransform![1], source.geoTransform![5]];
        const x = Math.round((tx - sx) / pw);
        const y = Math.round((ty - sy) / ph);
        covered.add(`${x},${y}`);
        expect(cog.bands.count()).toBe(source.bands.count());
        for (let band = 1; band <= source.bands.count(); band++) {
          // The COG driver adds overview levels until one fits in a block.
          if (Math.max(cog.rasterSize.x, cog.rasterSize.y) > e2eOptions.blockSize) expect(cog.bands.get(band).overviews.count()).toBeGreaterThan(0);
          expect(cog.bands.get(band).noDataValue).toEqual(source.bands.get(band).noDataValue);
          const expected = readWindow(source, band, x, y, cog.rasterSize.x, cog.rasterSize.y);
          const actual = readWindow(cog, band, 0, 0, cog.rasterSize.x, cog.rasterSize.y);
          expect(firstDifference(actual, expected), `band ${band} of ${tile.itemId}`).toBe(-1);
        }
        cog.close();
      }
      expect(covered.size).toBe(expectedTiles);
    } finally {
      rmSync(workDir, { recursive: true, force: true });
    }
  });

  it('writes STAC that validates against the official schemas', async () => {
    expect(completed.size).toBe(2);
    const validator = new StacValidator();
    const documents: unknown[] = [];
    for (const view of completed.values()) {
      for (const tile of view.output!.tiles) {
        const name = decodeURIComponent(new URL(tile.itemUrl).pathname.split('/stac/')[1]!);
        documents.push((await store.readJson({ container: 'stac', name }))!.value);
      }
    }
    documents.push((await store.readJson({ container: 'stac', name: 'e2e/collection.json' }))!.value);
    documents.push((await store.readJson({ container: 'stac', name: 'catalog.json' }))!.value);
    for (const document of documents) {
      const result = await validator.validate(document);
      expect(result.errors, JSON.stringify(document).slice(0, 200)).toEqual([]);
    }
    // Both sources registered into one collection: the items reached from it by links are every tile.
    const tileCount = [...completed.values()].reduce((sum, view) => sum + view.output!.tiles.length, 0);
    expect((await walkStoredCatalog(store, store.url(collectionBlob('e2e')))).itemUrls).toHaveLength(tileCount);
  });

  it('answers a repeated submission of the same upload with the existing job', async () => {
    const first = completed.get('rgb.tif')!;
    const again = await submit({ source: `${inbox}/e2e/rgb.tif`, collection: 'e2e', options: e2eOptions });
    expect(again.status).toBe(200);
    expect(again.json).toMatchObject({ id: first.id, existing: true });
  });

  it('lists recent jobs, newest first', async () => {
    const response = await fetch(`${host.baseUrl}/api/jobs`);
    expect(response.status).toBe(200);
    const { jobs } = (await response.json()) as { jobs: JobView[] };
    const ids = jobs.map((job) => job.id);
    expect(ids).toEqual(expect.arrayContaining([...completed.values()].map((view) => view.id)));
    const times = jobs.map((job) => Date.parse(job.createdTime));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
  });
});

describe('the collection mosaic', () => {
  interface InstanceStatus {
    name: string;
    instanceId: string;
    runtimeStatus: string;
    input: unknown;
    output: unknown;
  }

  /** The `collectionMosaic` runs of `collection`, through the Durable management API. */
  async function mosaicRuns(collection: string): Promise<InstanceStatus[]> {
    const response = await fetch(`${host.baseUrl}/runtime/webhooks/durabletask/instances?top=1000&showInput=true`);
    expect(response.status).toBe(200);
    const all = (await response.json()) as InstanceStatus[];
    return all.filter((status) => status.name === 'collectionMosaic' && JSON.stringify(status.input) === JSON.stringify({ collection }));
  }

  it('is rebuilt after jobs complete, off their path, one build for a burst of jobs', async () => {
    const collection = 'e2e-mosaic';
    const names = ['m1.tif', 'm2.tif', 'm3.tif'];
    // Three sources side by side on one grid, submitted at once.
    const ids = await Promise.all(
      names.map(async (name, index) => {
        const path = writeRgbUint8(fixtures.path, 600, 400, name, { originX: 500000 + index * 6000 });
        await upload(path, `e2e-mosaic/${name}`);
        const submitted = await submit({ source: `${inbox}/e2e-mosaic/${name}`, collection, options: e2eOptions });
        expect(submitted.status).toBe(202);
        return submitted.json['id'] as string;
      }),
    );
    const views = await Promise.all(ids.map((id) => waitForJob(host.baseUrl, id)));
    expect(views.map((view) => view.status)).toEqual(['Completed', 'Completed', 'Completed']);
    const tileCount = views.reduce((sum, view) => sum + view.output!.tiles.length, 0);

    // Each job marked the mosaic out of date; a job starts a run only when no run another job
    // started is still to claim (1.7 on), so the three start one to three runs, all before they
    // complete. The runs take turns, and only a run that finds a request outstanding builds.
    const runs = await vi.waitFor(
      async () => {
        const found = await mosaicRuns(collection);
        expect(found.length).toBeGreaterThanOrEqual(1);
        expect(found.length).toBeLessThanOrEqual(names.length);
        expect(found.map((run) => run.runtimeStatus)).toEqual(found.map(() => 'Completed'));
        return found;
      },
      { timeout: 120_000, interval: 500 },
    );
    const outcomes = runs.map((run) => (run.output as { outcome: string }).outcome);
    expect(outcomes).not.toContain('failed');
    expect(outcomes.filter((outcome) => outcome === 'built').length).toBeGreaterThanOrEqual(1);

    // The last build has every tile of the three sources, and the collection links it.
    const stored = (await store.readJson<StacCollection>(collectionBlob(collection)))!.value;
    expect(stored.assets?.['mosaic']).toMatchObject({ href: store.url(collectionMosaicBlob(collection, 'epsg-32633-3xbyte')), roles: ['data', 'mosaic'] });
    expect(stored.assets?.['overview']).toMatchObject({ type: 'image/tiff; application=geotiff; profile=cloud-optimized' });
    // A VRT of cell VRTs (issue 22): its cells name every tile, each once.
    const mosaicVrt = collectionMosaicBlob(collection, 'epsg-32633-3xbyte');
    const namedIn = async (name: string): Promise<string[]> => [...(await store.readBytes({ container: mosaicVrt.container, name }))!.toString('utf8').matchAll(/<SourceFilename relativeToVRT="1">([^<]+)</g)].map((match) => match[1]!);
    const cells = [...new Set(await namedIn(mosaicVrt.name))];
    expect(cells.length).toBeGreaterThanOrEqual(1);
    const tiles = new Set((await Promise.all(cells.map((cell) => namedIn(`${collection}/${cell}`)))).flat());
    expect(tiles.size).toBe(tileCount);
  });
});

describe('bad requests and bad rasters', () => {
  it('answers 400 naming the field at fault, 404 for an unknown job and for a missing blob', async () => {
    const malformed = await submit({ source: 'no-container-here', options: { compression: 'GIF' } });
    expect(malformed.status).toBe(400);
    expect(malformed.json['fields']).toEqual(expect.arrayContaining(['source', 'options.compression']));
    const outside = await submit({ source: 'stac/catalog.json' });
    expect(outside).toMatchObject({ status: 400, json: { fields: ['source'], detail: expect.stringMatching(/"stac" is not a source container; jobs may read only from "uploads", "incoming"/) } });
    const escaping = await submit({ source: 'uploads/../../etc/passwd' });
    expect(escaping).toMatchObject({ status: 400, json: { fields: ['source'] } });
    const unknownJob = await fetch(`${host.baseUrl}/api/jobs/ingest-0000`);
    expect(unknownJob.status).toBe(404);
    expect(((await unknownJob.json()) as { detail: string }).detail).toContain('ingest-0000');
    expect((await fetch(`${host.baseUrl}/api/jobs/ingest-0000/status`)).status).toBe(404);
    expect((await fetch(`${host.baseUrl}/api/batches/batch-0000/status`)).status).toBe(404);
    const missing = await submit({ source: `${inbox}/does/not/exist.tif` });
    expect(missing.status).toBe(404);
    expect(String(missing.json['detail'])).toContain('does/not/exist.tif');
  });

  it.each([
    ['a truncated TIFF', 'truncated.tif', (dir: string) => writeTruncated(dir), /truncat|corrupt|could not read/i],
    ['a zero-byte file', 'empty.tif', (dir: string) => writeZeroByte(dir), /empty|zero|0 bytes/i],
    ['a text file named .tif', 'notes.tif', (dir: string) => writeTextAsTif(dir), /not a GeoTIFF, netCDF, HDF5, JPEG 2000, Erdas Imagine or GTX/i],
  ])('fails the job for %s with a reason a person can act on, and keeps serving', async (_label, name, write, reason) => {
    const path = write(fixtures.path);
    await upload(path, `bad/${name}`);
    const submitted = await submit({ source: `${inbox}/bad/${name}` });
    expect(submitted.status).toBe(202);
    const view = await waitForJob(host.baseUrl, submitted.json['id'] as string);
    expect(view.status).toBe('Failed');
    expect(view.source).toBe(`${inbox}/bad/${name}`);
    expect(view.errors.map((error) => error.message).join(' ')).toMatch(reason);
    expect(view.errors.every((error) => ['INVALID_INPUT', 'UNSUPPORTED_FORMAT'].includes(error.code))).toBe(true);
    expect(JSON.stringify(view)).not.toMatch(/\/tmp\/|\n\s+at /);
    // Durable's status shape: 200 once ended, runtimeStatus Failed, the output is the job's first failure (sanitized).
    const durable = await fetch(submitted.json['statusQueryGetUri'] as string);
    expect(durable.status).toBe(200);
    const durableBody = (await durable.json()) as { runtimeStatus: string; output: { error: { code: string; message: string } } };
    expect(durableBody).toMatchObject({ runtimeStatus: 'Failed', output: { error: { code: view.errors[0]!.code, message: view.errors[0]!.message } } });
    expect(JSON.stringify(durableBody)).not.toMatch(/\/tmp\/|\n\s+at |failure:/);
    // The host is still serving, and other jobs are unaffected.
    expect((await fetch(`${host.baseUrl}/api/jobs`)).status).toBe(200);
  });
});

describe('resubmission', () => {
  it('answers a second submission of a failed upload with the failed job; only "force" starts a new attempt, linked to it', async () => {
    await upload(writeTextAsTif(fixtures.path, 'retry-me.tif'), 'retry/retry-me.tif');
    const first = await submit({ source: `${inbox}/retry/retry-me.tif` });
    expect(first.status).toBe(202);
    const firstId = first.json['id'] as string;
    expect((await waitForJob(host.baseUrl, firstId)).status).toBe('Failed');

    // One job per upload version, collection and options: the same submission finds it, failed as it is.
    const second = await submit({ source: `${inbox}/retry/retry-me.tif` });
    expect(second).toMatchObject({ status: 200, json: { id: firstId, existing: true, job: { status: 'Failed' } } });
    const forced = await submit({ source: `${inbox}/retry/retry-me.tif`, force: true });
    expect(forced.status).toBe(202);
    expect(forced.json).toMatchObject({ id: `${firstId}-a2`, attempt: 2, previousAttempt: firstId });
    const view = await waitForJob(host.baseUrl, forced.json['id'] as string);
    expect(view).toMatchObject({ attempt: 2, previousAttempt: firstId, status: 'Failed' });
    // The newest attempt is the answer from then on.
    const third = await submit({ source: `${inbox}/retry/retry-me.tif` });
    expect(third).toMatchObject({ status: 200, json: { id: `${firstId}-a2`, existing: true } });
  });

  it('re-runs a completed job only with "force", replacing its items without duplicates', async () => {
    const first = completed.get('rgb.tif')!;
    const forced = await submit({ source: `${inbox}/e2e/rgb.tif`, collection: 'e2e', options: e2eOptions, force: true });
    expect(forced.status).toBe(202);
    expect(forced.json).toMatchObject({ id: `${first.id}-a2`, previousAttempt: first.id });
    const view = await waitForJob(host.baseUrl, forced.json['id'] as string);
    expect(view.status).toBe('Completed');
    expect(view.output!.tiles.map((tile) => tile.itemId)).toEqual(first.output!.tiles.map((tile) => tile.itemId));
    const itemLinks = (await walkStoredCatalog(store, store.url(collectionBlob('e2e')))).itemUrls;
    expect(new Set(itemLinks).size).toBe(itemLinks.length);
    for (const tile of first.output!.tiles) expect(itemLinks).toContain(tile.itemUrl);
  });
});

describe('upload trigger', () => {
  it('starts a job for a new blob in uploads/ once, with default options', async () => {
    const path = writeRgbUint8(fixtures.path, 300, 200, 'dropped.tif');
    await upload(path, 'drop/dropped.tif', 'uploads');
    const listJobs = async (): Promise<JobView[]> => ((await (await fetch(`${host.baseUrl}/api/jobs`)).json()) as { jobs: JobView[] }).jobs;
    const jobFor = async (source: string): Promise<JobView | undefined> => (await listJobs()).find((candidate) => candidate.source === source);
    const job = await vi.waitFor(
      async () => {
        const found = await jobFor('uploads/drop/dropped.tif');
        if (!found) throw new Error(`no job started for uploads/drop/dropped.tif; host output:\n${host.output().split('\n').filter((line) => !line.includes('listJobs')).join('\n').slice(-3000)}`);
        return found;
      },
      { timeout: 60_000, interval: 500 },
    );
    const done = await waitForJob(host.baseUrl, job.id);
    expect(done.status).toBe('Completed');
    expect(done.collection).toBe('rasters');
    // Polling again must not start a second job for the same blob version. A later upload, named to
    // list after it, is the proof a later poll ran: the poll that starts its job passed dropped.tif first.
    await upload(path, 'drop/zz-later.tif', 'uploads');
    await expect.poll(() => jobFor('uploads/drop/zz-later.tif'), { timeout: 60_000, interval: 500 }).toBeDefined();
    const jobs = await listJobs();
    expect(jobs.filter((candidate) => candidate.source === 'uploads/drop/dropped.tif')).toHaveLength(1);
  });
});
