/**
 * The trust boundary of issues 8 and 18, end to end through local hosts' HTTP APIs: every case of
 * the hostile corpus (test/support/hostile.corpus.ts and the class modules beside it, listed in
 * test/support/hostile.README.md) ends in a clean 4xx, a Failed job with a reason and code a
 * person can act on, or a clean ingestion; and afterwards the canary server saw no request (HTTP,
 * proxied, or a TLS handshake), no output holds a byte of the sentinels, /etc/passwd or the worker
 * environment, the sentinel files were never opened, and the host still ingests a good GeoTIFF.
 *
 * Most cases share one host, whose environment switches PROJ's network on (pointed at the canary)
 * and puts HOME and XDG_DATA_HOME inside the watched sentinel folder. Cases that need other
 * settings, or that could stop the host they run on before their fix, get hosts of their own
 * (`HostRole`): a memory-capped one for declared sizes and bombs, two with inspection limits, one
 * for explosive globs; cases naming a named pipe run alone on the shared host, after the others.
 * While hostile work is in progress a probe keeps asking the jobs API, and every answer must be a
 * 200: the tests assert on answers, never on times (bench/hostile.latency.bench.ts has the times).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import gdal from 'gdal-async';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { JobView } from '../../src/jobs/job.view.js';
import type { BlobStore } from '../../src/storage/blob.store.js';
import { startCanaryServer, type CanaryServer } from '../support/canary.server.js';
import { writeRgbUint8 } from '../support/fixtures.js';
import {
  generateHostileCorpus,
  maskFlags,
  passwdMarker,
  sentinelMetadataToken,
  sentinelPixelValue,
  type BatchCase,
  type FileCase,
  type HostileCorpus,
  type HostRole,
  type QueryCase,
  type RequestCase,
} from '../support/hostile.corpus.js';
import {
  overlongStrings,
  probeResponsiveness,
  request,
  startHostUnderTest,
  stringsWithKeys,
  unansweredOf,
  waitUntilFinished,
  watchAccess,
  type AccessWatcher,
  type HttpAnswer,
  type HostUnderTest,
  type ProbeAnswer,
  type ResponsivenessProbe,
} from '../support/hostile.harness.js';

const collection = 'hostile';
const jobTimeoutMs = 150_000;

// Generated when the file is collected (it.each needs the cases then); the canary must exist
// first, since the hostile files name its URL. Both are removed in afterAll.
const canary: CanaryServer = await startCanaryServer();
const corpus: HostileCorpus = generateHostileCorpus({ canaryUrl: canary.baseUrl, blobFolder: 'hostile' });
const fileCases = corpus.cases.filter((entry): entry is FileCase => entry.kind === 'file');
const requestCases = corpus.cases.filter((entry): entry is RequestCase => entry.kind === 'request');
const queryCases = corpus.cases.filter((entry): entry is QueryCase => entry.kind === 'query');
const batchCases = corpus.cases.filter((entry): entry is BatchCase => entry.kind === 'batch');
const roleOf = (entry: { host?: HostRole }): HostRole => entry.host ?? 'shared';
/** File cases submitted together at the start; pipes run one at a time at the end. */
const concurrentFileCases = fileCases.filter((entry) => roleOf(entry) !== 'blocking');
const blockingFileCases = fileCases.filter((entry) => roleOf(entry) === 'blocking');
/** Roles whose hosts run file cases concurrently, each watched by a probe while they are in progress. */
const probedRoles: HostRole[] = ['shared', 'memory-capped', 'inspect-timeout', 'inspect-memory'];

let watcher: AccessWatcher | undefined;
let scratchRoot: string;
const hosts = new Map<HostRole, HostUnderTest>();
const probes = new Map<HostRole, ResponsivenessProbe>();

function hostFor(role: HostRole): HostUnderTest {
  const host = hosts.get(role === 'blocking' ? 'shared' : role);
  if (!host) throw new Error(`no host for ${role}`);
  return host;
}
const shared = (): HostUnderTest => hostFor('shared');

/** Submissions made in beforeAll, so every job runs while the cases before it are checked. */
const submissions = new Map<string, Promise<HttpAnswer>>();

function post(baseUrl: string, body: string, endpoint: string = '/api/jobs'): Promise<HttpAnswer> {
  return request(`${baseUrl}${endpoint}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body }, 60_000);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** What no answer and no job view may contain: stack traces, local paths, secrets, foreign bytes. */
function expectNoLeaks(label: string, text: string, parsed: unknown): void {
  for (const { value } of stringsWithKeys(parsed)) expect.soft(value, `${label}: stack trace`).not.toMatch(/\n\s+at /);
  const forbidden = ['/tmp/', scratchRoot, corpus.root, '/etc/', '/proc/', 'node_modules', 'Eby8vdM02x', 'AccountKey=', 'sig=', passwdMarker, sentinelMetadataToken];
  for (const needle of forbidden) expect.soft(text, `${label}: contains ${needle}`).not.toContain(needle);
}

/** Upload-derived strings stay short in every view (a cut name keeps a hash of the whole). */
function expectBounded(label: string, view: unknown): void {
  expect.soft(overlongStrings(view), `${label}: strings over 500 characters`).toEqual([]);
}

async function uploadCase(fileCase: FileCase, store: BlobStore): Promise<void> {
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
async function findTriggeredJob(baseUrl: string, source: string): Promise<string> {
  return vi.waitFor(
    async () => {
      const answer = await request(`${baseUrl}/api/jobs?top=500`);
      const job = answer.status === 200 ? (answer.json as { jobs: JobView[] }).jobs.find((candidate) => candidate.source === source) : undefined;
      if (!job) throw new Error(`the upload trigger started no job for ${source}`);
      return job.id;
    },
    { timeout: 90_000, interval: 500 },
  );
}

async function jobIdFor(fileCase: FileCase): Promise<string> {
  const { host } = hostFor(roleOf(fileCase));
  if (fileCase.container === 'uploads') return findTriggeredJob(host.baseUrl, `uploads/${fileCase.source}`);
  const answer = await submissions.get(fileCase.id)!;
  expect(answer.status, answer.text || answer.error).toBe(202);
  expect(isRecord(answer.json) && typeof answer.json['id'] === 'string', answer.text).toBe(true);
  return (answer.json as { id: string }).id;
}

async function waitForJobView(baseUrl: string, id: string, timeoutMs = jobTimeoutMs): Promise<JobView> {
  const { view, finished } = await waitUntilFinished(baseUrl, `/api/jobs/${encodeURIComponent(id)}`, timeoutMs);
  if (!finished) throw new Error(`job ${id} did not finish in ${timeoutMs / 1000} s (or its host stopped answering): ${JSON.stringify(view)?.slice(0, 1500)}`);
  return view as unknown as JobView;
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

/** Requests the canary saw that name this case (its id in a path, or in a TLS server name `<id>.localhost`). */
function canaryRequestsOf(id: string): string[] {
  return canary
    .requests()
    .filter((seen) => seen.target.includes(`/${id}/`) || seen.target.includes(`${id}.`))
    .map((seen) => `${seen.method} ${seen.target}`);
}

/** Sentinel files this case's payloads point at that something opened (its sentinel folder, or a file named after it in HOME or PROJ's user folder). */
function sentinelOpensOf(id: string): string[] {
  const folder = corpus.sentinel.folderOf(id);
  return [...new Set(watcher?.events() ?? [])].filter((event) => event.startsWith(`${folder}/`) || event.startsWith(`${folder} `) || event.includes(`/${id}.gsb `));
}

/** The case's items, read from its host's storage. */
async function readOutputs(view: JobView, store: BlobStore): Promise<Array<{ cogName: string; cog: Buffer; itemName: string; item: Buffer }>> {
  const outputs = [];
  for (const tile of view.output?.tiles ?? []) {
    const cogName = decodeURIComponent(new URL(tile.cogUrl).pathname.split('/cogs/')[1]!);
    const itemName = decodeURIComponent(new URL(tile.itemUrl).pathname.split('/stac/')[1]!);
    outputs.push({ cogName, cog: (await store.readBytes({ container: 'cogs', name: cogName }))!, itemName, item: (await store.readBytes({ container: 'stac', name: itemName }))! });
  }
  return outputs;
}

async function expectCompletedClean(fileCase: FileCase, view: JobView, viewText: string, store: BlobStore): Promise<void> {
  expect(view.status, `${fileCase.attack}\n${viewText.slice(0, 2000)}`).toBe('Completed');
  expect(view.errors).toEqual([]);
  const workDir = mkdtempSync(join(tmpdir(), 'hostile-clean-'));
  try {
    const outputs = await readOutputs(view, store);
    expect(outputs.length).toBeGreaterThan(0);
    for (const { cogName, cog, itemName, item } of outputs) {
      expect(await inspectOutput('cogs', cogName, cog, workDir)).toEqual([]);
      expect(await inspectOutput('stac', itemName, item, workDir)).toEqual([]);
      // The .aux.xml's TIFFTAG_DATETIME would have become the item's datetime.
      expect(item.toString('utf8')).not.toContain('1999-01-01');
      const properties = (JSON.parse(item.toString('utf8')) as { properties: Record<string, unknown> }).properties;
      if (fileCase.expect.outcome === 'job-completed-clean' && fileCase.expect.notes) {
        // The out-of-range value is left out, with a note; the item's time is a real one (the ingestion's).
        const notes = properties['raster-ingest:notes'];
        expect(Array.isArray(notes) ? notes : [], `${itemName}: raster-ingest:notes`).toContainEqual(expect.stringMatching(fileCase.expect.notes));
        const year = new Date(String(properties['datetime'])).getUTCFullYear();
        expect(year, `${itemName}: datetime ${String(properties['datetime'])}`).toBeGreaterThanOrEqual(2000);
        expect(year).toBeLessThanOrEqual(2200);
        for (const note of Array.isArray(notes) ? notes : []) expect.soft(String(note).length, `${itemName}: note ${String(note).slice(0, 80)}`).toBeLessThanOrEqual(500);
      }
      if (fileCase.expect.outcome === 'job-completed-clean' && fileCase.expect.noMask) {
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

/** At least one failure, every one of them with one of `codes`. */
function expectCodes(view: JobView, codes: readonly string[]): void {
  const seen = view.errors.map((error) => error.code);
  expect.soft(seen.length, 'failures').toBeGreaterThan(0);
  expect.soft(seen.filter((code) => !codes.includes(code)), `codes other than ${codes.join(', ')}`).toEqual([]);
}

/** Checks one finished job against its case: status, code, reason, named parameter, tiles, attempts, and everything its payloads could have touched. */
async function expectCaseOutcome(fileCase: FileCase, view: JobView): Promise<void> {
  const { host, store } = hostFor(roleOf(fileCase));
  const viewText = JSON.stringify(view);
  // The reason is matched without the source's own name, which spells the case id ("hdf5-...") and
  // the extension ("scene.gpkg"): the reason has to name the format itself.
  const errors = JSON.stringify(view.errors).replaceAll(fileCase.source, '<source>').replaceAll(fileCase.files[0]!.blobName, '<name>');
  expect(Array.isArray(view.errors)).toBe(true);
  const context = `${fileCase.attack}\n${viewText.slice(0, 2000)}`;
  const expectation = fileCase.expect;
  // Soft: a case reports every way it went wrong (status, reason, requests, opened files, leaks).
  if (expectation.outcome === 'job-failed') {
    expect.soft(view.status, context).toBe('Failed');
    expect.soft(errors, 'reason').toMatch(expectation.reason);
    if (expectation.codes) expectCodes(view, expectation.codes);
    if (expectation.names) expect.soft(errors, 'the offending parameter').toMatch(expectation.names);
    if (expectation.tilesTotal !== undefined) expect.soft(view.tiles.total, 'tiles planned').toBe(expectation.tilesTotal);
    if (expectation.oneAttempt) {
      expect.soft(view.attempt, 'attempt').toBe(1);
      expect.soft((await request(`${host.baseUrl}/api/jobs/${encodeURIComponent(`${view.id}-a2`)}`)).status, 'a second attempt').toBe(404);
    }
    if (fileCase.category.startsWith('VRT')) expect.soft(errors, 'advice').toMatch(/upload the raster itself/i);
  } else if (expectation.outcome === 'job-completed-clean') {
    await expectCompletedClean(fileCase, view, viewText, store);
  } else if (expectation.outcome === 'job-completed-or-refused') {
    if (view.status === 'Completed') await expectCompletedClean(fileCase, view, viewText, store);
    else {
      expect.soft(view.status, context).toBe('Failed');
      expectCodes(view, expectation.codes);
      expect.soft(errors, 'reason').toMatch(expectation.reason);
    }
  }
  // What this case's own URLs and sentinel files saw (the checks afterwards cover all cases together).
  expect.soft(canaryRequestsOf(fileCase.id), 'canary requests').toEqual([]);
  expect.soft(sentinelOpensOf(fileCase.id), 'sentinel files opened').toEqual([]);
  expectNoLeaks(`job view of ${fileCase.id}`, viewText, view);
  expectBounded(`job view of ${fileCase.id}`, view);
}

beforeAll(async () => {
  for (const note of corpus.notes) console.warn(`hostile corpus: ${note}`);
  // Watch before any host exists: from here on, nothing may open a sentinel file.
  watcher = await watchAccess(corpus.sentinel.root);
  scratchRoot = join(corpus.root, 'scratch');
  const roles: HostRole[] = ['shared', 'memory-capped', 'inspect-timeout', 'inspect-memory', 'globs'];
  const started = await Promise.allSettled(roles.map((role) => startHostUnderTest(role, canary, corpus.hostEnvironment, scratchRoot)));
  started.forEach((result, i) => result.status === 'fulfilled' && hosts.set(roles[i]!, result.value));
  const failed = started.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failed) throw failed.reason;
  for (const role of probedRoles) probes.set(role, probeResponsiveness(hostFor(role).host.baseUrl));
  for (const fileCase of concurrentFileCases) {
    const { host, store } = hostFor(roleOf(fileCase));
    await uploadCase(fileCase, store);
    if (fileCase.container === 'incoming') {
      const answer = post(host.baseUrl, submitBody(fileCase));
      void answer.then((settled) => settled.status === 202 && isRecord(settled.json) && probes.get(roleOf(fileCase))?.track(String(settled.json['id'])));
      submissions.set(fileCase.id, answer);
    }
  }
}, 600_000);

afterAll(async () => {
  // A reader still blocked on a pipe would keep its host from stopping.
  corpus.releaseFifos();
  for (const probe of probes.values()) await probe.stop();
  await Promise.all([...hosts.values()].map((host) => host.stop()));
  await watcher?.stop();
  await canary.close();
  corpus.remove();
}, 120_000);

describe('hostile corpus', () => {
  it('has the cases of issues 8 and 18', () => {
    expect(corpus.cases.length).toBeGreaterThanOrEqual(150);
    const categories = new Set(corpus.cases.map((entry) => entry.category));
    for (const category of ['VRT, local file', 'VRT, network', 'GDAL XML service', 'HDF5 / netCDF-4', 'sidecar', 'request', 'CRS, GeoTIFF', 'CRS, netCDF', 'CRS, legitimate', 'declared size', 'decompression bomb', 'tiles per job', 'inspection limit', 'metadata range', 'request (list)', 'request (batch)']) {
      expect(categories).toContain(category);
    }
  });
});

describe('hostile files end in a clean refusal (or a clean ingestion)', () => {
  it.each(concurrentFileCases.map((fileCase) => [fileCase.id, fileCase] as const))('%s', async (_id, fileCase) => {
    const jobId = await jobIdFor(fileCase);
    const view = await waitForJobView(hostFor(roleOf(fileCase)).host.baseUrl, jobId);
    await expectCaseOutcome(fileCase, view);
  }, jobTimeoutMs + 100_000);

  // In Azure every /runtime/webhooks/durabletask link carries the extension's system key (code=);
  // locally there are no keys, so the absence of those links is what proves none is handed out.
  it("answers accepted and repeated submissions with links to the app's own job API and no system key", async () => {
    const accepted: Array<{ id: string; answer: HttpAnswer; baseUrl: string }> = [];
    for (const [id, pending] of submissions) {
      const answer = await pending;
      const fileCase = fileCases.find((entry) => entry.id === id)!;
      if (answer.status === 202) accepted.push({ id, answer, baseUrl: hostFor(roleOf(fileCase)).host.baseUrl });
    }
    expect(accepted.length).toBeGreaterThan(0);
    // The same upload again (its job has completed by now): answered as existing, under the same rules.
    const completedCase = fileCases.find((entry) => entry.id === 'sidecar-aux-xml-metadata')!;
    const repeated = await post(shared().host.baseUrl, submitBody(completedCase));
    expect(repeated.status, repeated.text).toBe(200);
    accepted.push({ id: `${completedCase.id} (repeated)`, answer: repeated, baseUrl: shared().host.baseUrl });
    for (const { id, answer, baseUrl } of accepted) {
      const body = answer.json as Record<string, unknown>;
      const jobId = String(body['id']);
      const statusUri = String(body['statusQueryGetUri']);
      // The app's own job API: the job's view, or its Durable-shaped status beside it.
      const ownLinks = [`/api/jobs/${encodeURIComponent(jobId)}`, `/api/jobs/${encodeURIComponent(jobId)}/status`];
      expect(ownLinks, `${id}: ${answer.text}`).toContain(new URL(statusUri, baseUrl).pathname);
      expect(ownLinks, `${id}: Location`).toContain(answer.location && new URL(answer.location, baseUrl).pathname);
      expect(answer.text, `${id}: system key in the answer`).not.toMatch(/[?&]code=/);
      expect(answer.text).not.toContain('/runtime/webhooks/durabletask');
    }
  });
});

describe('the jobs API keeps answering while hostile uploads are inspected', () => {
  // The file cases above have all finished by now; each host's probe asked throughout.
  it.each(probedRoles.map((role) => [role] as const))('%s host', async (role) => {
    const answers = await probes.get(role)!.stop();
    expect(unansweredOf(answers), `${role}: requests that got no 200`).toEqual([]);
    expect(answers.filter((answer) => answer.path.startsWith('/api/jobs/')).length, `${role}: job views asked for`).toBeGreaterThan(0);
  });
});

describe('a CRS naming a named pipe: the job fails and the API answers meanwhile', () => {
  it.each(blockingFileCases.map((fileCase) => [fileCase.id, fileCase] as const))('%s', async (_id, fileCase) => {
    const { host, store } = shared();
    await uploadCase(fileCase, store);
    const probe = probeResponsiveness(host.baseUrl);
    try {
      const answer = await post(host.baseUrl, submitBody(fileCase));
      expect(answer.status, answer.text || answer.error).toBe(202);
      const id = (answer.json as { id: string }).id;
      probe.track(id);
      const view = await waitForJobView(host.baseUrl, id, 90_000);
      const answers = await probe.stop();
      expect.soft(unansweredOf(answers), 'requests that got no 200 while the job ran').toEqual([]);
      expect.soft(answers.some((seen) => seen.path === `/api/jobs/${id}` && seen.status === 200)).toBe(true);
      await expectCaseOutcome(fileCase, view);
    } finally {
      await probe.stop();
      // Whoever opened the pipe is blocked until someone writes: let them go (a reader found is an open).
      const released = corpus.releaseFifos(fileCase.fifos ?? []);
      expect.soft(released, 'named pipes someone was blocked reading').toEqual([]);
      for (let i = 0; i < 20 && corpus.releaseFifos(fileCase.fifos ?? []).length > 0; i++) await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }, 200_000);
});

describe('hostile requests are refused with 4xx, never 500', () => {
  it.each(requestCases.map((requestCase) => [requestCase.id, requestCase] as const))('%s', async (id, requestCase) => {
    const answer = await post(shared().host.baseUrl, requestCase.body, requestCase.endpoint);
    expectHttpRefusal(id, requestCase, answer);
  });

  it.each(queryCases.map((queryCase) => [queryCase.id, queryCase] as const))('%s', async (id, queryCase) => {
    const answer = await request(`${shared().host.baseUrl}${queryCase.path}`);
    expectHttpRefusal(id, queryCase, answer);
  });

  it('serves no source map of the dashboard, for any of its scripts', async () => {
    const { baseUrl } = shared().host;
    const page = await request(`${baseUrl}/api/dashboard/index.html`);
    expect(page.status).toBe(200);
    const scripts = new Set<string>(['app.js', 'app.css']);
    const app = await request(`${baseUrl}/api/dashboard/app.js`);
    for (const match of app.text.matchAll(/chunk-[A-Z0-9]+\.js/g)) scripts.add(match[0]);
    expect(scripts.size).toBeGreaterThan(2);
    for (const script of scripts) {
      const map = await request(`${baseUrl}/api/dashboard/${script}.map`);
      expect.soft(map.status, `${script}.map`).toBe(404);
    }
  });
});

function expectHttpRefusal(id: string, entry: RequestCase | QueryCase, answer: HttpAnswer): void {
  const context = `${entry.attack}: ${answer.status} ${answer.text.slice(0, 500)}`;
  expect(answer.status, context).not.toBe(0);
  expect(answer.status, context).not.toBeGreaterThanOrEqual(500);
  const expectation = entry.expect;
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
  expectBounded(`answer to ${id}`, answer.json);
}

/** Uploads a batch case's blobs, submits it, and waits for it to end while a probe asks the jobs API. */
async function runBatch(batchCase: BatchCase, host: HostUnderTest, timeoutMs: number): Promise<{ answer: HttpAnswer; view: Record<string, unknown> | undefined; finished: boolean; answers: readonly ProbeAnswer[] }> {
  for (const blob of batchCase.blobs) await host.store.uploadFile({ container: blob.container, name: blob.name }, blob.localPath, 'application/octet-stream');
  const probe = probeResponsiveness(host.host.baseUrl);
  try {
    const answer = await post(host.host.baseUrl, JSON.stringify(batchCase.body), '/api/batches');
    if (answer.status !== 202 && answer.status !== 200) return { answer, view: undefined, finished: true, answers: await probe.stop() };
    const id = (answer.json as { id: string }).id;
    const { view, finished } = await waitUntilFinished(host.host.baseUrl, `/api/batches/${encodeURIComponent(id)}`, timeoutMs);
    return { answer, view, finished, answers: await probe.stop() };
  } finally {
    await probe.stop();
  }
}

/** The batch's custom status as Durable keeps it (Azure refuses one over 16 KB). */
async function customStatusBytes(baseUrl: string, id: string): Promise<number> {
  const status = await request(`${baseUrl}/runtime/webhooks/durabletask/instances/${encodeURIComponent(id)}`);
  return Buffer.byteLength(JSON.stringify((status.json as { customStatus?: unknown } | undefined)?.customStatus ?? null));
}

describe('batches over hostile selections end, ingest what is good and list the rest', () => {
  it.each(batchCases.filter((entry) => roleOf(entry) === 'shared').map((entry) => [entry.id, entry] as const))('%s', async (id, batchCase) => {
    const host = shared();
    const { answer, view, finished, answers } = await runBatch(batchCase, host, jobTimeoutMs);
    expect(answer.status, answer.text).toBe(202);
    expect(finished, `${batchCase.attack}\n${JSON.stringify(view)?.slice(0, 2000)}`).toBe(true);
    const text = JSON.stringify(view);
    expect(view?.['status'], text.slice(0, 2000)).toBe('Completed');
    const counts = view?.['counts'] as { total: number; done: number; failed: number; skipped: number; missing: number };
    if (batchCase.expect.counts) expect(counts, text.slice(0, 2000)).toMatchObject(batchCase.expect.counts);
    if (batchCase.expect.doneAtLeast !== undefined) expect(counts.done + counts.skipped).toBeGreaterThanOrEqual(batchCase.expect.doneAtLeast);
    if (batchCase.expect.junkAtLeast !== undefined) expect(counts.failed + counts.missing).toBeGreaterThanOrEqual(batchCase.expect.junkAtLeast);
    expect.soft(await customStatusBytes(host.host.baseUrl, String(view?.['id'])), 'custom status bytes').toBeLessThan(16 * 1024);
    expect.soft(unansweredOf(answers), 'requests that got no 200 while the batch ran').toEqual([]);
    expectNoLeaks(`batch view of ${id}`, text, view);
    expectBounded(`batch view of ${id}`, view);
  }, jobTimeoutMs + 60_000);

  it('a hostile manifest: reports every entry that names nothing it may read, refuses hostile files in it, and fetches nothing', async () => {
    const { host, azurite } = shared();
    const vrtCase = fileCases.find((fileCase) => fileCase.id === 'vrt-raw-proc-environ')!;
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
    const answer = await post(host.baseUrl, JSON.stringify({ manifest: `incoming/${name}`, collection: 'hostile-batch' }), '/api/batches');
    expect(answer.status, answer.text).toBe(202);
    const { view } = await waitUntilFinished(host.baseUrl, `/api/batches/${(answer.json as { id: string }).id}`, jobTimeoutMs);
    expect(view).toMatchObject({ status: 'Completed', counts: { total: 1, failed: 1, missing: 6 } });
    expect(view?.['failures']).toEqual([expect.objectContaining({ code: 'UNSUPPORTED_FORMAT' })]);
    expect(JSON.stringify(view)).not.toMatch(/\n\s+at |sig=|AccountKey/);
  }, jobTimeoutMs + 30_000);
});

describe('explosive include globs: refused or run in linear time, the host answering throughout', () => {
  const globCases = batchCases.filter((entry) => roleOf(entry) === 'globs');
  const outcomes = new Map<string, Promise<{ answer: HttpAnswer; view: Record<string, unknown> | undefined; finished: boolean }>>();
  let probe: ResponsivenessProbe;

  // All at once, so that a host frozen by one glob (before the fix) costs one wait, not seven.
  beforeAll(async () => {
    const host = hostFor('globs');
    const blobs = new Map(globCases.flatMap((entry) => entry.blobs).map((blob) => [`${blob.container}/${blob.name}`, blob]));
    for (const blob of blobs.values()) await host.store.uploadFile({ container: blob.container, name: blob.name }, blob.localPath, 'text/plain');
    probe = probeResponsiveness(host.host.baseUrl);
    for (const entry of globCases) {
      outcomes.set(
        entry.id,
        (async () => {
          const answer = await post(host.host.baseUrl, JSON.stringify(entry.body), '/api/batches');
          if (answer.status !== 202 && answer.status !== 200) return { answer, view: undefined, finished: true };
          const { view, finished } = await waitUntilFinished(host.host.baseUrl, `/api/batches/${encodeURIComponent((answer.json as { id: string }).id)}`, 60_000);
          return { answer, view, finished };
        })(),
      );
    }
  }, 120_000);

  it.each(globCases.map((entry) => [entry.id, entry] as const))('%s', async (id, batchCase) => {
    const { answer, view, finished } = await outcomes.get(id)!;
    const context = `${batchCase.attack}: ${answer.status} ${answer.error ?? answer.text.slice(0, 500)}`;
    expect([400, 404, 202, 200], context).toContain(answer.status);
    if (answer.status === 400) expect((answer.json as { fields?: string[] }).fields, context).toEqual(expect.arrayContaining(batchCase.expect.fields ?? []));
    if (answer.status === 202 || answer.status === 200) {
      const text = JSON.stringify(view)?.slice(0, 1000);
      expect(finished, `${context}\n${text}`).toBe(true);
      // Ended: completed, or failed for a reason of its own (nothing matched), never "unexpectedly".
      expect(['Completed', 'Failed'], text).toContain(view?.['status']);
      expect(String(view?.['reason'] ?? ''), text).not.toMatch(/unexpectedly/);
    }
    expectNoLeaks(`answer to ${id}`, answer.text, answer.json);
  }, 150_000);

  it('the jobs API answered throughout', async () => {
    await Promise.all(outcomes.values());
    const answers = await probe.stop();
    expect(unansweredOf(answers), 'requests that got no 200 while the globs ran').toEqual([]);
    expect(answers.length).toBeGreaterThan(0);
  });
});

describe('afterwards', () => {
  it("the canary saw no request: nothing was fetched on an uploader's say-so", () => {
    expect(canary.requests().map((seen) => `${seen.method} ${seen.target}`)).toEqual([]);
    expect(canary.connections()).toBe(0);
  });

  it('no COG, thumbnail, VRT or STAC document of any host holds sentinel data, /etc/passwd or the environment', async () => {
    const workDir = mkdtempSync(join(tmpdir(), 'hostile-outputs-'));
    const findings: string[] = [];
    try {
      for (const { store } of hosts.values()) {
        for (const container of ['cogs', 'stac']) {
          for (const name of await store.list(container, '')) {
            const bytes = await store.readBytes({ container, name });
            if (bytes) findings.push(...(await inspectOutput(container, name, bytes, workDir)));
          }
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

  it('the shared host still ingests a good GeoTIFF', async () => {
    const { host, store } = shared();
    const dir = mkdtempSync(join(tmpdir(), 'hostile-good-'));
    try {
      const path = writeRgbUint8(dir, 300, 200, 'good.tif');
      await store.uploadFile({ container: 'incoming', name: 'hostile/good/good.tif' }, path, 'image/tiff');
      const answer = await post(host.baseUrl, JSON.stringify({ source: 'incoming/hostile/good/good.tif', collection }));
      expect(answer.status, answer.text).toBe(202);
      const view = await waitForJobView(host.baseUrl, (answer.json as { id: string }).id);
      expect(view.errors).toEqual([]);
      expect(view.status).toBe('Completed');
      expect(view.output?.tiles.length).toBeGreaterThan(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
