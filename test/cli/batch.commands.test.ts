/**
 * The batch commands in process, through a fake transport: `batches`, `batch <id>` (and
 * `--watch` with its exit codes), `batch submit`, `retry --batch` and `jobs --batch` become the
 * API requests the contract describes; answers become text or JSON, errors (404, 400 with the
 * API's message, a service that is not there) become messages and the documented exit codes.
 */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../cli/cli.program.js';
import { batchViewSchema } from '../../cli/jobs.api.js';
import { fakeJobApi, json, problem, route, sampleBatch, sampleJob, type FakeHandler } from './fake.job.api.js';

interface Outcome {
  exitCode: number;
  out: string;
  err: string;
  progress: string;
  requests: ReturnType<typeof fakeJobApi>['requests'];
}

async function cli(argv: string[], handlers: FakeHandler[] = [], options: { fetch?: typeof fetch; tty?: boolean } = {}): Promise<Outcome> {
  const api = fakeJobApi(handlers);
  const out: string[] = [];
  const err: string[] = [];
  const progressStream = Object.assign(new PassThrough(), options.tty ? { isTTY: true, columns: 120, cursorTo: () => true, clearLine: () => true, moveCursor: () => true } : {});
  let progress = '';
  progressStream.on('data', (chunk: Buffer) => (progress += chunk.toString()));
  const exitCode = await runCli(argv, {
    env: {},
    out: (text) => out.push(text),
    err: (text) => err.push(text),
    progressStream,
    fetch: options.fetch ?? api.fetch,
    isLocalFile: () => false,
    upload: async () => {
      throw new Error('no upload expected');
    },
    pollIntervalMs: 1,
  });
  return { exitCode, out: out.join('\n'), err: err.join('\n'), progress, requests: api.requests };
}

const batchId = 'batch-0123456789abcdef0123456789abcdef';
const failure = { code: 'UNSUPPORTED_FORMAT' as const, message: 'the file is not a raster GDAL can read', source: 'incoming/scenes/bad.tif', jobId: 'ingest-bad' };

describe('raster-ingest batches', () => {
  it('lists one page of batches, newest first, as a table', async () => {
    const older = { ...sampleBatch('batch-a', 'Completed', { total: 3, done: 3 }), createdTime: '2026-11-29T08:00:00.000Z' };
    const newer = sampleBatch('batch-b', 'Running', { total: 12, done: 5, failed: 1, skipped: 1, running: 3 });
    const result = await cli(['batches', '--top', '10'], [route('GET', '/api/batches', () => json(200, { batches: [older, newer], continuationToken: null }))]);
    expect(result.exitCode, result.err).toBe(0);
    expect(Object.fromEntries(result.requests[0]!.url.searchParams)).toEqual({ top: '10' });
    const lines = result.out.split('\n');
    expect(lines[0]).toMatch(/^ID\s+STATUS\s+STAGE\s+TOTAL\s+DONE\s+FAILED\s+SKIPPED\s+RUNNING\s+RATE\/MIN\s+LEFT\s+CREATED\s+SELECTION$/);
    expect(lines[1]).toMatch(/^batch-b\s+Running\s+ingesting\s+12\s+5\s+1\s+1\s+3\s+3.5\s+\d+ min \d+ s\s+2026-11-30 08:00:00Z\s+incoming\/scenes\/$/);
    expect(lines[2]).toMatch(/^batch-a\s+Completed\s+completed\s+3\s+3\s+0\s+0\s+0\s/);
  });

  it('filters by status here, reading pages until --top match, and prints JSON', async () => {
    const pages: Record<string, unknown> = {
      '': { batches: [sampleBatch('batch-a', 'Completed', { total: 1, done: 1 }), sampleBatch('batch-b', 'Failed', { total: 2, done: 0 }, { reason: 'the manifest could not be read' })], continuationToken: 'p2' },
      p2: { batches: [sampleBatch('batch-c', 'Failed', { total: 1, done: 0 })], continuationToken: null },
    };
    const result = await cli(['batches', '--status', 'failed', '--top', '2', '--json'], [route('GET', '/api/batches', (request) => json(200, pages[request.url.searchParams.get('continuationToken') ?? '']))]);
    expect(result.exitCode, result.err).toBe(0);
    const printed = JSON.parse(result.out) as { batches: unknown[]; continuationToken: string | null };
    expect(printed.batches.map((batch) => batchViewSchema.parse(batch).id).sort()).toEqual(['batch-b', 'batch-c']);
    expect(printed.continuationToken).toBeNull();
    expect(result.requests).toHaveLength(2);
    const bad = await cli(['batches', '--status', 'finished']);
    expect(bad.exitCode).toBe(2);
    expect(bad.err).toContain('--status takes a comma list');
  });
});

describe('raster-ingest batch <id>', () => {
  it('shows counts, throughput, failures with code and message, missing entries, and the commands that follow', async () => {
    const batch = sampleBatch(batchId, 'Completed', { total: 4, done: 2, failed: 1, missing: 1 }, { failures: [failure], missing: ['incoming/scenes/gone.tif: no such blob'] });
    const result = await cli(['batch', batchId], [route('GET', `/api/batches/${batchId}`, () => json(200, batch))]);
    expect(result.exitCode, result.err).toBe(0);
    expect(result.out).toContain(`Batch ${batchId}`);
    expect(result.out).toContain('status      Completed (completed)');
    expect(result.out).toContain('sources     4 in all: 2 done, 1 failed, 0 skipped, 0 running; 1 manifest entries missing');
    expect(result.out).toContain('throughput  1.5 sources/min');
    expect(result.out).toContain('    UNSUPPORTED_FORMAT incoming/scenes/bad.tif (ingest-bad): the file is not a raster GDAL can read');
    expect(result.out).toContain('    incoming/scenes/gone.tif: no such blob');
    expect(result.out).toContain(`Its jobs: raster-ingest jobs --batch ${batchId}`);
    expect(result.out).toContain(`Re-run its failed sources: raster-ingest retry --batch ${batchId}`);
  });

  it('reports an unknown batch with the API detail and exit code 3', async () => {
    const result = await cli(['batch', 'batch-nope'], [route('GET', '/api/batches/batch-nope', () => problem(404, 'Batch not found', 'No batch has that id'))]);
    expect(result.exitCode).toBe(3);
    expect(result.err).toBe('error: GET /api/batches/batch-nope answered 404 Batch not found\n  No batch has that id');
  });

  it('watches to the end with one line per change and exits 0 when every source was ingested or skipped', async () => {
    const views = [
      sampleBatch(batchId, 'Running', { total: 0, done: 0 }, { stage: 'listing' }),
      sampleBatch(batchId, 'Running', { total: 3, done: 1, running: 2 }),
      sampleBatch(batchId, 'Running', { total: 3, done: 1, running: 2 }),
      sampleBatch(batchId, 'Completed', { total: 3, done: 2, skipped: 1 }),
    ];
    const result = await cli(['batch', batchId, '--watch'], [route('GET', `/api/batches/${batchId}`, () => json(200, views.shift()))]);
    expect(result.exitCode, result.err).toBe(0);
    expect(result.progress).toBe(
      [`${batchId}: listing, sources 0/0 ended: 0 done, 0 failed, 0 skipped`, `${batchId}: ingesting, sources 1/3 ended: 1 done, 0 failed, 0 skipped`, `${batchId}: completed, sources 3/3 ended: 2 done, 0 failed, 1 skipped`, ''].join('\n'),
    );
    expect(result.out).toContain('status      Completed (completed)');
  });

  it('exits 1 when the watched batch completed with failed sources, and when it failed', async () => {
    const withFailures = await cli(['batch', batchId, '--watch', '--json'], [route('GET', `/api/batches/${batchId}`, () => json(200, sampleBatch(batchId, 'Completed', { total: 2, done: 1, failed: 1 }, { failures: [failure] })))]);
    expect(withFailures.exitCode).toBe(1);
    expect(batchViewSchema.parse(JSON.parse(withFailures.out))).toMatchObject({ status: 'Completed', counts: { failed: 1 } });
    expect(withFailures.progress).toContain('completed with failed sources');
    const failed = await cli(['batch', batchId, '--watch'], [route('GET', `/api/batches/${batchId}`, () => json(200, sampleBatch(batchId, 'Failed', { total: 0, done: 0 }, { reason: 'the manifest is not valid CSV' })))]);
    expect(failed.exitCode).toBe(1);
    expect(failed.out).toContain('reason      the manifest is not valid CSV');
  });

  it('draws a cli-progress bar over ended sources on a terminal', async () => {
    const views = [sampleBatch(batchId, 'Running', { total: 4, done: 1, running: 3 }), sampleBatch(batchId, 'Completed', { total: 4, done: 4 })];
    const result = await cli(['batch', batchId, '--watch'], [route('GET', `/api/batches/${batchId}`, () => json(200, views.shift()))], { tty: true });
    expect(result.exitCode, result.err).toBe(0);
    expect(result.progress).toContain('4/4 ended: 4 done, 0 failed, 0 skipped | completed');
    expect(result.progress).toContain('█'.repeat(24));
  });

  it('gives up after --timeout with exit code 6 and says how to follow the batch', async () => {
    const result = await cli(['batch', batchId, '--watch', '--timeout', '1'], [route('GET', `/api/batches/${batchId}`, () => json(200, sampleBatch(batchId, 'Running', { total: 3, done: 1 })))]);
    expect(result.exitCode).toBe(6);
    expect(result.err).toContain(`follow it with raster-ingest batch ${batchId}`);
  });

  it('reports a service that is not there with exit code 4', async () => {
    const refused: typeof fetch = () => Promise.reject(new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) }));
    const result = await cli(['--url', 'http://127.0.0.1:9', 'batch', batchId], [], { fetch: refused });
    expect(result.exitCode).toBe(4);
    expect(result.err).toBe('error: cannot reach http://127.0.0.1:9: ECONNREFUSED');
    const list = await cli(['--url', 'http://127.0.0.1:9', 'batches'], [], { fetch: refused });
    expect(list.exitCode).toBe(4);
  });
});

describe('raster-ingest batch submit', () => {
  const started = route('POST', '/api/batches', () => json(202, { id: batchId, statusQueryGetUri: `http://h/api/batches/${batchId}`, attempt: 1, previousAttempt: null }));

  it('submits a prefix with collection, include, since (an age counted back from now) and limit', async () => {
    const before = Date.now();
    const result = await cli(['batch', 'submit', '--source', 'uploads/2026/scenes/', '--collection', 'demo', '--include', '**/*.tif', '--since', '1d', '--limit', '20'], [started]);
    expect(result.exitCode, result.err).toBe(0);
    const body = result.requests[0]!.body as Record<string, unknown>;
    expect(body).toMatchObject({ source: 'uploads/2026/scenes/', collection: 'demo', include: '**/*.tif', limit: 20 });
    const since = Date.parse(String(body['since']));
    expect(since).toBeLessThanOrEqual(before - 86_400_000 + 1000);
    expect(since).toBeGreaterThan(before - 86_400_000 - 60_000);
    expect(result.out).toBe(`uploads/2026/scenes/ started batch (attempt 1) ${batchId}\nFollow it: raster-ingest batch ${batchId} --watch`);
  });

  it('submits a manifest and watches the batch to its end (--watch after submit)', async () => {
    const views = [sampleBatch(batchId, 'Running', { total: 2, done: 1 }), sampleBatch(batchId, 'Completed', { total: 2, done: 2 })];
    const result = await cli(['--json', 'batch', 'submit', '--manifest', 'incoming/lists/today.csv', '--watch'], [started, route('GET', `/api/batches/${batchId}`, () => json(200, views.shift()))]);
    expect(result.exitCode, result.err).toBe(0);
    expect(result.requests[0]!.body).toEqual({ manifest: 'incoming/lists/today.csv' });
    expect(JSON.parse(result.out)).toMatchObject({ submitted: { id: batchId, attempt: 1 }, batch: { id: batchId, status: 'Completed', counts: { total: 2, done: 2 } } });
  });

  it('says when the same batch is still running', async () => {
    const existing = route('POST', '/api/batches', () => json(200, { id: batchId, statusQueryGetUri: `http://h/api/batches/${batchId}`, existing: true, batch: sampleBatch(batchId, 'Running', { total: 5, done: 1 }) }));
    const result = await cli(['batch', 'submit', '--source', 'incoming/scenes/'], [existing]);
    expect(result.exitCode, result.err).toBe(0);
    expect(result.out).toContain(`incoming/scenes/ already has running batch ${batchId}`);
  });

  it('refuses both or neither of --source and --manifest, and a bad --since or --limit, before any request', async () => {
    for (const argv of [
      ['batch', 'submit'],
      ['batch', 'submit', '--source', 'incoming/a/', '--manifest', 'incoming/m.csv'],
      ['batch', 'submit', '--source', 'incoming/a/', '--since', 'yesterday'],
      ['batch', 'submit', '--source', 'incoming/a/', '--limit', '0'],
    ]) {
      const result = await cli(argv, [started]);
      expect(result.exitCode, argv.join(' ')).toBe(2);
      expect(result.err).toMatch(/^error: /);
      expect(result.requests).toEqual([]);
    }
  });

  it('shows a 400 with the API message and the field at fault, exit code 3', async () => {
    const refused = route('POST', '/api/batches', () => problem(400, 'Invalid batch request', 'source: container "secrets" is not an allowed source container', ['source']));
    const result = await cli(['batch', 'submit', '--source', 'secrets/x/'], [refused]);
    expect(result.exitCode).toBe(3);
    expect(result.err).toBe('error: POST /api/batches answered 400 Invalid batch request\n  source: container "secrets" is not an allowed source container\n  fields: source');
  });

  it('shows a 404 for a prefix with nothing under it', async () => {
    const missing = route('POST', '/api/batches', () => problem(404, 'Nothing to ingest', 'source: no blobs under "incoming/empty/"', ['source']));
    const result = await cli(['batch', 'submit', '--source', 'incoming/empty/'], [missing]);
    expect(result.exitCode).toBe(3);
    expect(result.err).toContain('no blobs under "incoming/empty/"');
  });
});

describe('a batch\'s jobs and failed sources', () => {
  it('lists the jobs of a batch', async () => {
    const result = await cli(['jobs', '--batch', batchId], [route('GET', '/api/jobs', () => json(200, { jobs: [sampleJob('ingest-1', 'Failed', { done: 0, failed: 1, total: 1 })], continuationToken: null }))]);
    expect(result.exitCode, result.err).toBe(0);
    expect(Object.fromEntries(result.requests[0]!.url.searchParams)).toEqual({ batch: batchId, top: '50' });
    expect(result.out).toContain('ingest-1');
  });

  it('re-runs the failed sources of a batch through the bulk retry API, every page', async () => {
    const pages: Record<string, unknown> = {
      '': { dryRun: false, jobs: [{ id: 'ingest-1', source: 'incoming/scenes/a.tif', errorCodes: ['TIMEOUT'], retriedAs: 'ingest-1-a2', outcome: 'started' }], continuationToken: 'p2' },
      p2: { dryRun: false, jobs: [{ id: 'ingest-2', source: 'incoming/scenes/b.tif', errorCodes: ['TIMEOUT'], retriedAs: 'ingest-2-a2', outcome: 'already-retried', reason: 'Job "ingest-2" was retried already as "ingest-2-a2"' }], continuationToken: null },
    };
    const result = await cli(['retry', '--batch', batchId], [route('POST', '/api/jobs/retry', (request) => json(200, pages[String((request.body as { continuationToken?: string }).continuationToken ?? '')]))]);
    expect(result.exitCode, result.err).toBe(0);
    expect(result.requests.map((request) => request.body)).toEqual([
      { batch: batchId, dryRun: false, top: 100 },
      { batch: batchId, dryRun: false, top: 100, continuationToken: 'p2' },
    ]);
    expect(result.out).toContain('1 job retried, 1 not (see OUTCOME and REASON).');
    expect(result.out).toMatch(/ingest-2\s+already-retried\s+ingest-2-a2\s+TIMEOUT\s+incoming\/scenes\/b.tif\s+Job "ingest-2" was retried already/);
  });

  it('refuses --batch together with a job id', async () => {
    const result = await cli(['retry', 'ingest-1', '--batch', batchId]);
    expect(result.exitCode).toBe(2);
    expect(result.err).toContain('--batch applies to retry --failed only');
  });
});
