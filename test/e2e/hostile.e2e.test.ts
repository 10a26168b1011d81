/**
 * Issue 8's trust boundary, end to end through the local host's HTTP API: every case of the
 * hostile corpus (test/support/hostile.corpus.ts, listed in test/support/hostile.README.md) ends
 * in a clean 4xx or a Failed job with a reason a person can act on; sidecars never change what an
 * upload means; and afterwards the canary server saw no request, no output holds a byte of the
 * sentinels, /etc/passwd or the worker environment, the sentinel files were never opened, and the
 * host still ingests a good GeoTIFF.
 *
 * The host's GDAL is given `GDAL_HTTP_PROXY` = the canary, so any HTTP request GDAL makes, to any
 * address (169.254.169.254, a storage account), is counted, except the service's own storage
 * (reached as `localhost`, the one `NO_PROXY` name); and an Azure account for /vsiaz/, so
 * a /vsiaz/ read becomes such a request instead of a local configuration error.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import gdal from 'gdal-async';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzurite, type RunningAzurite } from '../../host/azurite.js';
import type { JobView } from '../../src/jobs/job.view.js';
import { BlobStore } from '../../src/storage/blob.store.js';
import { startCanaryServer, type CanaryServer } from '../support/canary.server.js';
import { writeRgbUint8 } from '../support/fixtures.js';
import {
  generateHostileCorpus,
  maskFlags,
  passwdMarker,
  sentinelMetadataToken,
  sentinelPixelValue,
  type FileCase,
  type HostileCorpus,
  type RequestCase,
} from '../support/hostile.corpus.js';
import { startLocalHost, waitForJob, type LocalHost } from '../support/local.host.js';

const collection = 'hostile';
const jobTimeoutMs = 150_000;

// Generated when the file is collected (it.each needs the cases then); the canary must exist
// first, since the hostile files name its URL. Both are removed in afterAll.
const canary: CanaryServer = await startCanaryServer();
const corpus: HostileCorpus = generateHostileCorpus({ canaryUrl: canary.baseUrl, blobFolder: 'hostile' });
const fileCases = corpus.cases.filter((entry): entry is FileCase => entry.kind === 'file');
const requestCases = corpus.cases.filter((entry): entry is RequestCase => entry.kind === 'request');

let watcher: AccessWatcher | undefined;
let azurite: RunningAzurite;
let azuriteDir: string;
let scratchDir: string;
let host: LocalHost;
let store: BlobStore;

interface HttpAnswer {
  status: number;
  contentType: string;
  location: string | null;
  text: string;
  json: unknown;
}

/** Submissions made in beforeAll, so every job runs while the cases before it are checked. */
const submissions = new Map<string, Promise<HttpAnswer>>();

async function post(body: string, endpoint: RequestCase['endpoint'] = '/api/jobs'): Promise<HttpAnswer> {
  const response = await fetch(`${host.baseUrl}${endpoint}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
  const text = await response.text();
  let json: unknown = undefined;
  try {
    json = JSON.parse(text);
  } catch {
    // not JSON: checked by the caller
  }
  return { status: response.status, contentType: response.headers.get('content-type') ?? '', location: response.headers.get('location'), text, json };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Every string inside a JSON value. */
function stringsIn(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(stringsIn);
  if (isRecord(value)) return Object.values(value).flatMap(stringsIn);
  return [];
}

/** What no answer and no job view may contain: stack traces, local paths, secrets, foreign bytes. */
function expectNoLeaks(label: string, text: string, parsed: unknown): void {
  for (const value of stringsIn(parsed)) expect.soft(value, `${label}: stack trace`).not.toMatch(/\n\s+at /);
  const forbidden = ['/tmp/', scratchDir, corpus.root, '/etc/', '/proc/', 'node_modules', 'Eby8vdM02x', 'AccountKey=', 'sig=', passwdMarker, sentinelMetadataToken];
  for (const needle of forbidden) expect.soft(text, `${label}: contains ${needle}`).not.toContain(needle);
}

/** `inotifywait` on the sentinel folder: any open or read of a file (or listing of a folder) in it, by any process, is recorded. */
interface AccessWatcher {
  events(): string[];
  stop(): Promise<void>;
}

async function watchAccess(folder: string): Promise<AccessWatcher | undefined> {
  const child: ChildProcess = spawn('inotifywait', ['-m', '-r', '-e', 'open', '-e', 'access', '--format', '%w%f %e', folder], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const started = await new Promise<boolean>((resolve) => {
    child.once('error', () => resolve(false)); // not installed
    child.once('exit', () => resolve(false));
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (stderr.includes('Watches established')) resolve(true);
    });
  });
  if (!started) return undefined;
  return {
    events: () => stdout.split('\n').filter((line) => line.trim() !== ''),
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

async function uploadCase(fileCase: FileCase): Promise<void> {
  const folder = fileCase.source.slice(0, fileCase.source.lastIndexOf('/') + 1);
  // Sidecars first: a job started by the upload trigger for the source must already find them.
  for (const file of [...fileCase.files.slice(1), fileCase.files[0]!]) {
    await store.uploadFile({ container: fileCase.container, name: `${folder}${file.blobName}` }, file.localPath, 'application/octet-stream');
  }
}

function submitBody(fileCase: FileCase): string {
  return JSON.stringify({ source: `${fileCase.container}/${fileCase.source}`, collection, ...(fileCase.options ? { options: fileCase.options } : {}) });
}

/** The job the upload trigger started for a blob in uploads/, found in `GET /api/jobs`. */
async function findTriggeredJob(source: string): Promise<string> {
  const deadline = Date.now() + 90_000;
  for (;;) {
    const response = await fetch(`${host.baseUrl}/api/jobs?top=500`);
    if (response.ok) {
      const { jobs } = (await response.json()) as { jobs: JobView[] };
      const job = jobs.find((candidate) => candidate.source === source);
      if (job) return job.id;
    }
    if (Date.now() > deadline) throw new Error(`the upload trigger started no job for ${source}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

async function jobIdFor(fileCase: FileCase): Promise<string> {
  if (fileCase.container === 'uploads') return findTriggeredJob(`uploads/${fileCase.source}`);
  const answer = await submissions.get(fileCase.id)!;
  expect(answer.status, answer.text).toBe(202);
  expect(isRecord(answer.json) && typeof answer.json['id'] === 'string', answer.text).toBe(true);
  return (answer.json as { id: string }).id;
}

/** Bytes that mark foreign content in a COG's pixels. */
const foreignPixelMarkers = [passwdMarker, 'AccountKey=', 'AzureWebJobsStorage', 'PATH=/'].map((marker) => Buffer.from(marker));

/** Findings of sentinel content in one output blob (empty when clean). */
async function inspectOutput(container: string, name: string, bytes: Buffer, workDir: string): Promise<string[]> {
  const findings: string[] = [];
  const where = `${container}/${name}`;
  for (const marker of [passwdMarker, sentinelMetadataToken, 'AccountKey=', 'AzureWebJobsStorage', String(sentinelPixelValue)]) {
    if (bytes.includes(marker)) findings.push(`${where} contains "${marker}"`);
  }
  const tiffMagic = ['49492a00', '4d4d002a', '49492b00', '4d4d002b'];
  if (!tiffMagic.includes(bytes.subarray(0, 4).toString('hex'))) return findings;
  // Pixels are compressed: decode every band and overview.
  const local = join(workDir, `${findings.length}-${Math.random().toString(36).slice(2)}.tif`);
  writeFileSync(local, bytes);
  const dataset = gdal.open(local);
  try {
    const metadata = JSON.stringify(dataset.getMetadata());
    if (metadata.includes(sentinelMetadataToken)) findings.push(`${where} metadata carries the sidecar's token`);
    for (let b = 1; b <= dataset.bands.count(); b++) {
      const band = dataset.bands.get(b);
      const levels = [band, ...Array.from({ length: band.overviews.count() }, (_, i) => band.overviews.get(i))];
      for (const level of levels) {
        const { x, y } = level.size;
        const values = level.pixels.read(0, 0, x, y, undefined, { data_type: gdal.GDT_Float64 });
        if (values.some((value) => value === sentinelPixelValue)) findings.push(`${where} band ${b} (${x}×${y}) holds sentinel pixels`);
        const native = level.pixels.read(0, 0, x, y);
        const raw = Buffer.from(native.buffer, native.byteOffset, native.byteLength);
        for (const marker of foreignPixelMarkers) if (raw.includes(marker)) findings.push(`${where} band ${b} pixels spell "${marker.toString()}"`);
      }
      if (JSON.stringify(band.getMetadata()).includes(sentinelMetadataToken) || band.description.includes(sentinelMetadataToken)) {
        findings.push(`${where} band ${b} metadata carries the sidecar's token`);
      }
    }
  } finally {
    dataset.close();
  }
  return findings;
}

beforeAll(async () => {
  for (const note of corpus.notes) console.warn(`hostile corpus: ${note}`);
  // Watch before the host exists: from here on, nothing may open a sentinel file.
  watcher = await watchAccess(corpus.sentinel.root);
  scratchDir = join(corpus.root, 'scratch');
  mkdirSync(scratchDir);
  azuriteDir = mkdtempSync(join(tmpdir(), 'hostile-azurite-'));
  azurite = await startAzurite({ location: azuriteDir });
  store = BlobStore.fromEnvironment({ AzureWebJobsStorage: azurite.connectionString });
  host = await startLocalHost({
    // The host reaches its own storage as `localhost`, and only that name bypasses the canary proxy
    // (NO_PROXY below): the service's own signed reads of uploads (validation reads in place) are
    // not counted, while every other address GDAL could be made to reach, 127.0.0.1 included, is.
    storageConnectionString: azurite.connectionString.replaceAll('127.0.0.1', 'localhost'),
    env: {
      NO_PROXY: 'localhost',
      INGEST_SOURCE_CONTAINERS: 'uploads,incoming',
      INGEST_TILE_SIZE: '512',
      INGEST_SCRATCH_DIR: scratchDir,
      // Any HTTP request GDAL makes, to any address, goes through the canary and is counted.
      GDAL_HTTP_PROXY: canary.hostPort,
      // /vsiaz/ gets an account, so a /vsiaz/ read becomes a request (to the canary) rather than a configuration error.
      AZURE_STORAGE_ACCOUNT: 'hostilecanary',
      AZURE_NO_SIGN_REQUEST: 'YES',
    },
  });
  for (const fileCase of fileCases) {
    await uploadCase(fileCase);
    if (fileCase.container === 'incoming') {
      const answer = post(submitBody(fileCase));
      answer.catch(() => undefined); // awaited (and reported) by the case's own test
      submissions.set(fileCase.id, answer);
    }
  }
});

afterAll(async () => {
  await host?.stop();
  await azurite?.stop();
  await watcher?.stop();
  await canary.close();
  corpus.remove();
  if (azuriteDir) rmSync(azuriteDir, { recursive: true, force: true });
});

describe('hostile corpus', () => {
  it('has at least 30 cases across the categories of issue 8', () => {
    expect(corpus.cases.length).toBeGreaterThanOrEqual(30);
    const categories = new Set(corpus.cases.map((entry) => entry.category));
    for (const category of ['VRT, local file', 'VRT, network', 'GDAL XML service', 'HDF5 / netCDF-4', 'sidecar', 'request']) expect(categories).toContain(category);
  });
});

describe('hostile files end in a clean refusal (or, for sidecars, a clean ingestion)', () => {
  it.each(fileCases.map((fileCase) => [fileCase.id, fileCase] as const))('%s', async (id, fileCase) => {
    const jobId = await jobIdFor(fileCase);
    const view = await waitForJob(host.baseUrl, jobId, jobTimeoutMs);
    const viewText = JSON.stringify(view);
    // The reason is matched without the source's own name, which spells the case id ("hdf5-...") and
    // the extension ("scene.gpkg"): the reason has to name the format itself.
    const errors = JSON.stringify(view.errors).replaceAll(fileCase.source, '<source>').replaceAll(fileCase.files[0]!.blobName, '<name>');
    expect(Array.isArray(view.errors)).toBe(true);
    // Soft: a case reports every way it went wrong (status, reason, requests, opened files, leaks).
    if (fileCase.expect.outcome === 'job-failed') {
      expect.soft(view.status, `${fileCase.attack}\n${viewText.slice(0, 2000)}`).toBe('Failed');
      expect.soft(errors, 'reason').toMatch(fileCase.expect.reason);
      if (fileCase.category.startsWith('VRT')) expect.soft(errors, 'advice').toMatch(/upload the raster itself/i);
    } else if (fileCase.expect.outcome === 'job-completed-clean') {
      expect(view.status, `${fileCase.attack}\n${viewText.slice(0, 2000)}`).toBe('Completed');
      expect(view.errors).toEqual([]);
      const workDir = mkdtempSync(join(tmpdir(), 'hostile-clean-'));
      try {
        const tiles = view.output?.tiles ?? [];
        expect(tiles.length).toBeGreaterThan(0);
        for (const tile of tiles) {
          const cogName = decodeURIComponent(new URL(tile.cogUrl).pathname.split('/cogs/')[1]!);
          const itemName = decodeURIComponent(new URL(tile.itemUrl).pathname.split('/stac/')[1]!);
          const cog = (await store.readBytes({ container: 'cogs', name: cogName }))!;
          const item = (await store.readBytes({ container: 'stac', name: itemName }))!;
          expect(await inspectOutput('cogs', cogName, cog, workDir)).toEqual([]);
          expect(await inspectOutput('stac', itemName, item, workDir)).toEqual([]);
          // The .aux.xml's TIFFTAG_DATETIME would have become the item's datetime.
          expect(item.toString('utf8')).not.toContain('1999-01-01');
          if (fileCase.expect.noMask) {
            const local = join(workDir, 'mask-check.tif');
            writeFileSync(local, cog);
            const dataset = gdal.open(local);
            // The .msk would have given every band a per-dataset mask (nodata may set GMF_NODATA; that is the COG's own).
            expect(dataset.bands.get(1).getMaskFlags() & maskFlags.perDataset).toBe(0);
            dataset.close();
          }
        }
      } finally {
        rmSync(workDir, { recursive: true, force: true });
      }
    }
    // What this case's own URLs and sentinel files saw (the checks afterwards cover all cases together).
    expect.soft(canary.requests().filter((request) => request.target.includes(id)).map((request) => `${request.method} ${request.target}`), 'canary requests').toEqual([]);
    const sentinelFolder = corpus.sentinel.folderOf(id);
    const touched = [...new Set(watcher?.events() ?? [])].filter((event) => event.startsWith(`${sentinelFolder}/`) || event.startsWith(`${sentinelFolder} `));
    expect.soft(touched, 'sentinel files opened').toEqual([]);
    expectNoLeaks(`job view of ${id}`, viewText, view);
  }, jobTimeoutMs + 100_000);

  // In Azure every /runtime/webhooks/durabletask link carries the extension's system key (code=);
  // locally there are no keys, so the absence of those links is what proves none is handed out.
  it('answers accepted and repeated submissions with links to the app\'s own job API and no system key', async () => {
    const accepted: Array<{ id: string; answer: HttpAnswer }> = [];
    for (const [id, pending] of submissions) {
      const answer = await pending;
      if (answer.status === 202) accepted.push({ id, answer });
    }
    expect(accepted.length).toBeGreaterThan(0);
    // The same upload again (its job has completed by now): answered as existing, under the same rules.
    const completedCase = fileCases.find((entry) => entry.id === 'sidecar-aux-xml-metadata')!;
    const repeated = await post(submitBody(completedCase));
    expect(repeated.status, repeated.text).toBe(200);
    accepted.push({ id: `${completedCase.id} (repeated)`, answer: repeated });
    for (const { id, answer } of accepted) {
      const body = answer.json as Record<string, unknown>;
      const jobId = String(body['id']);
      const statusUri = String(body['statusQueryGetUri']);
      expect(new URL(statusUri, host.baseUrl).pathname, `${id}: ${answer.text}`).toBe(`/api/jobs/${encodeURIComponent(jobId)}`);
      expect(answer.location && new URL(answer.location, host.baseUrl).pathname, `${id}: Location`).toBe(`/api/jobs/${encodeURIComponent(jobId)}`);
      expect(answer.text, `${id}: system key in the answer`).not.toMatch(/[?&]code=/);
      expect(answer.text).not.toContain('/runtime/webhooks/durabletask');
    }
  });
});

describe('hostile requests are refused with 4xx, never 500', () => {
  it.each(requestCases.map((requestCase) => [requestCase.id, requestCase] as const))('%s', async (id, requestCase) => {
    const answer = await post(requestCase.body, requestCase.endpoint);
    const context = `${requestCase.attack}: ${answer.status} ${answer.text.slice(0, 500)}`;
    expect(answer.status, context).not.toBeGreaterThanOrEqual(500);
    const expectation = requestCase.expect;
    if (expectation.outcome === 'http-404') {
      expect(answer.status, context).toBe(404);
    } else if (expectation.outcome === 'http-400') {
      expect(expectation.statuses ?? [400], context).toContain(answer.status);
      if (answer.status === 400) {
        expect(answer.contentType, context).toContain('application/problem+json');
        expect(isRecord(answer.json), context).toBe(true);
        const problem = answer.json as Record<string, unknown>;
        expect(typeof problem['title'], context).toBe('string');
        expect(typeof problem['detail'], context).toBe('string');
        for (const field of expectation.fields ?? []) expect(problem['fields'], context).toEqual(expect.arrayContaining([field]));
        for (const mention of expectation.detailMentions ?? []) expect(String(problem['detail']), context).toContain(mention);
      }
    }
    expectNoLeaks(`answer to ${id}`, answer.text, answer.json);
  });
});

describe('a hostile manifest', () => {
  it('reports every entry that names nothing it may read, refuses hostile files in it, and fetches nothing', async () => {
    const vrtCase = fileCases.find((fileCase) => fileCase.id === 'vrt-raw-etc-passwd' && fileCase.container === 'incoming') ?? fileCases.find((fileCase) => fileCase.category.startsWith('VRT') && fileCase.container === 'incoming')!;
    const entries = [
      '/etc/passwd',
      'stac/catalog.json',
      'azure-webjobs-hosts/locks/x',
      'incoming/../etc/passwd',
      `/vsicurl/${canary.baseUrl}/manifest-entry.tif`,
      `${canary.baseUrl}/manifest-entry.tif`,
      `${vrtCase.container}/${vrtCase.source}`,
    ];
    const name = 'hostile/manifest.txt';
    const blobs = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient('incoming');
    await blobs.getBlockBlobClient(name).upload(entries.join('\n'), Buffer.byteLength(entries.join('\n')));
    const answer = await post(JSON.stringify({ manifest: `incoming/${name}`, collection: 'hostile-batch' }), '/api/batches');
    expect(answer.status, answer.text).toBe(202);
    const id = (answer.json as { id: string }).id;
    let view: Record<string, unknown> = {};
    const deadline = Date.now() + jobTimeoutMs;
    while (Date.now() < deadline) {
      view = (await (await fetch(`${host.baseUrl}/api/batches/${id}`)).json()) as Record<string, unknown>;
      if (['Completed', 'Failed'].includes(String(view['status']))) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expect(view).toMatchObject({ status: 'Completed', counts: { total: 1, failed: 1, missing: 6 } });
    expect(view['failures']).toEqual([expect.objectContaining({ code: 'UNSUPPORTED_FORMAT' })]);
    const text = JSON.stringify(view);
    expect(text).not.toMatch(/\n\s+at |sig=|AccountKey/);
  });
});

describe('afterwards', () => {
  it('the canary saw no request: nothing was fetched on an uploader\'s say-so', () => {
    expect(canary.requests().map((request) => `${request.method} ${request.target}`)).toEqual([]);
    expect(canary.connections()).toBe(0);
  });

  it('no COG, thumbnail, VRT or STAC document holds sentinel data, /etc/passwd or the environment', async () => {
    const workDir = mkdtempSync(join(tmpdir(), 'hostile-outputs-'));
    const findings: string[] = [];
    try {
      for (const container of ['cogs', 'stac']) {
        for (const name of await store.list(container, '')) {
          const bytes = await store.readBytes({ container, name });
          if (bytes) findings.push(...(await inspectOutput(container, name, bytes, workDir)));
        }
      }
    } finally {
      rmSync(workDir, { recursive: true, force: true });
    }
    expect(findings).toEqual([]);
  });

  it('the sentinel files were never opened', (context) => {
    if (!watcher) {
      context.skip('inotifywait is not installed (Debian package inotify-tools; scripts/setup.sh installs it): the sentinel files were not watched');
    }
    // One line per distinct file and event, so a failure reads as which sentinel was touched how.
    expect([...new Set(watcher!.events())].sort()).toEqual([]);
  });

  it('the host still ingests a good GeoTIFF', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hostile-good-'));
    try {
      const path = writeRgbUint8(dir, 300, 200, 'good.tif');
      await store.uploadFile({ container: 'incoming', name: 'hostile/good/good.tif' }, path, 'image/tiff');
      const answer = await post(JSON.stringify({ source: 'incoming/hostile/good/good.tif', collection }));
      expect(answer.status, answer.text).toBe(202);
      const view = await waitForJob(host.baseUrl, (answer.json as { id: string }).id, jobTimeoutMs);
      expect(view.errors).toEqual([]);
      expect(view.status).toBe('Completed');
      expect(view.output?.tiles.length).toBeGreaterThan(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
