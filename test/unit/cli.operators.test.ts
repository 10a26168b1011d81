/**
 * The CLI for operators (issue 19, item 8), in process through a fake transport: `job <id>
 * --watch`, `--version`, global options in every subcommand's help, JSON for errors with `--json`,
 * the `upload` command (and `--watch` finding the job its upload trigger started), option and
 * container errors caught before anything is uploaded, and `jobs --source`.
 */
import { describe, expect, it } from 'vitest';
import { dryRunAccepted, json, problem, route, sampleJob, type FakeHandler } from '../cli/fake.job.api.js';
import { runFakeCli, type CliOutcome } from '../cli/fake.job.api.js';


const cli = (argv: string[], handlers: FakeHandler[] = [], options: { files?: string[]; onUpload?: () => void } = {}): Promise<CliOutcome> => runFakeCli(argv, handlers, { ...options, version: '1.2.3' });

const checked = dryRunAccepted;

/** `GET /api/jobs/<id>` answering each view in turn, then the last one again. */
function views(id: string, sequence: ReturnType<typeof sampleJob>[]): FakeHandler {
  return route('GET', `/api/jobs/${id}`, () => json(200, sequence.length > 1 ? sequence.shift() : sequence[0]));
}

describe('raster-ingest job <id> --watch', () => {
  it('follows a job until it ends, one line per change, and exits 1 when it failed', async () => {
    const id = 'ingest-watched';
    const result = await cli(['job', id, '--watch'], [
      views(id, [
        // The first read checks that the job exists; the watch reads it again.
        sampleJob(id, 'Pending', { done: 0, failed: 0, total: 0, stage: 'validating' }),
        sampleJob(id, 'Pending', { done: 0, failed: 0, total: 0, stage: 'validating' }),
        sampleJob(id, 'Running', { done: 1, failed: 0, total: 3 }),
        sampleJob(id, 'Running', { done: 2, failed: 0, total: 3 }),
        sampleJob(id, 'Failed', { done: 2, failed: 1, total: 3 }),
      ]),
    ]);
    expect(result.exitCode).toBe(1);
    expect(result.progress.split('\n').filter(Boolean)).toEqual([
      `${id}: validating, tiles 0/0 done`,
      `${id}: creating-cogs, tiles 1/3 done`,
      `${id}: creating-cogs, tiles 2/3 done`,
      `${id}: FAILED, tiles 2/3 done, 1 failed`,
    ]);
    expect(result.out).toContain('status      Failed (failed)');
  });

  it('prints the finished job as JSON, exits 0 when it completed, and gives up after --timeout with exit code 6', async () => {
    const id = 'ingest-ok';
    const done = await cli(['job', id, '--watch', '--json'], [views(id, [sampleJob(id, 'Running', { done: 0, failed: 0, total: 2 }), sampleJob(id, 'Completed', { done: 2, failed: 0, total: 2 })])]);
    expect(done.exitCode).toBe(0);
    expect(JSON.parse(done.out)).toMatchObject({ id, status: 'Completed', tiles: { done: 2, total: 2 } });
    const endless = await cli(['job', id, '--watch', '--timeout', '1'], [views(id, [sampleJob(id, 'Running', { done: 0, failed: 0, total: 2 })])]);
    expect(endless.exitCode).toBe(6);
    expect(endless.err).toContain(`follow it with raster-ingest job ${id}`);
  });

  it('reports an unknown job at once instead of waiting for it', async () => {
    const result = await cli(['job', 'ingest-none', '--watch'], [route('GET', '/api/jobs/ingest-none', () => problem(404, 'Job not found', 'No job has id "ingest-none"'))]);
    expect(result.exitCode).toBe(3);
    expect(result.requests).toHaveLength(1);
  });
});

describe('--version, help and --json errors', () => {
  it('prints the version', async () => {
    for (const flag of ['--version', '-V']) {
      const result = await cli([flag]);
      expect(result.exitCode).toBe(0);
      expect(result.out).toBe('1.2.3');
    }
  });

  it("lists the global options in every subcommand's help", async () => {
    for (const argv of [['submit', '--help'], ['upload', '--help'], ['job', '--help'], ['jobs', '--help'], ['tiles', '--help'], ['retry', '--help'], ['batches', '--help'], ['batch', '--help'], ['batch', 'submit', '--help'], ['dashboard', '--help']]) {
      const result = await cli(argv);
      expect(result.exitCode, argv.join(' ')).toBe(0);
      for (const option of ['--url <url>', '--key <key>', '--json']) expect(result.out, `${argv.join(' ')} lists ${option}`).toContain(option);
    }
  });

  it('prints an error answer as a JSON object on stdout with --json, and exits non-zero', async () => {
    const result = await cli(['job', 'nonexistent', '--json'], [route('GET', '/api/jobs/nonexistent', () => problem(404, 'Job not found', 'No job has that id'))]);
    expect(result.exitCode).toBe(3);
    expect(result.err).toBe('');
    expect(JSON.parse(result.out)).toEqual({
      error: { kind: 'api', message: 'GET /api/jobs/nonexistent answered 404 Job not found\n  No job has that id', exitCode: 3, request: 'GET /api/jobs/nonexistent', status: 404, title: 'Job not found', detail: 'No job has that id' },
    });
  });

  it('prints usage errors, bad values and an unreachable service as JSON too', async () => {
    const unknown = await cli(['--json', 'job', 'x', '--frobnicate']);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.err).toBe('');
    expect(JSON.parse(unknown.out)).toMatchObject({ error: { kind: 'usage', exitCode: 2, message: "unknown option '--frobnicate'" } });
    const badValue = await cli(['jobs', '--since', 'last week', '--json']);
    expect(JSON.parse(badValue.out)).toMatchObject({ error: { kind: 'usage', exitCode: 2 } });
    expect(JSON.parse(badValue.out).error.message).toContain('"last week"');
    const down = await cli(['jobs', '--json'], [() => Promise.reject(new TypeError('fetch failed')) as never]);
    expect(down.exitCode).toBe(4);
    expect(JSON.parse(down.out)).toMatchObject({ error: { kind: 'unreachable', exitCode: 4 } });
  });
});

describe('option errors before any upload', () => {
  it('refuses a tile size below 256 and unknown options without a request or an upload', async () => {
    for (const option of ['tileSize=100', 'colour=red', 'compression=GIF']) {
      const result = await cli(['submit', 'scene.tif', '--container', 'incoming', '--option', option], [checked], { files: ['scene.tif'] });
      expect(result.exitCode, option).toBe(2);
      expect(result.err, option).toContain(option.split('=')[0]!);
      expect(result.uploads, option).toEqual([]);
      expect(result.requests, option).toEqual([]);
    }
    const badCollection = await cli(['submit', 'scene.tif', '--container', 'incoming', '--collection', 'Not Valid'], [checked], { files: ['scene.tif'] });
    expect(badCollection.exitCode).toBe(2);
    expect(badCollection.uploads).toEqual([]);
  });

  it('asks the service before uploading: a container it does not read fails with its answer, and nothing is uploaded', async () => {
    const refuse = route('POST', '/api/jobs', () => problem(400, 'Invalid job request', 'source: container "incoming" is not one jobs may read (INGEST_SOURCE_CONTAINERS: uploads)', ['source']));
    const result = await cli(['submit', 'scene.tif', '--container', 'incoming', '--collection', 'dem'], [refuse], { files: ['scene.tif'] });
    expect(result.exitCode).toBe(3);
    expect(result.err).toContain('INGEST_SOURCE_CONTAINERS');
    expect(result.uploads).toEqual([]);
    expect(result.requests.map((request) => request.body)).toEqual([{ source: 'incoming/scene.tif', collection: 'dem', dryRun: true }]);
  });

  it('uploads and submits once the service has accepted the request', async () => {
    const result = await cli(['submit', 'scene.tif', '--container', 'incoming', '--option', 'tileSize=512'], [checked, route('POST', '/api/jobs', () => json(202, { id: 'ingest-1', statusQueryGetUri: 'u', attempt: 1, previousAttempt: null }))], { files: ['scene.tif'] });
    expect(result.exitCode).toBe(0);
    expect(result.uploads).toHaveLength(1);
    expect(result.requests.map((request) => request.body)).toEqual([
      { source: 'incoming/scene.tif', options: { tileSize: 512 }, dryRun: true },
      { source: 'incoming/scene.tif', options: { tileSize: 512 } },
    ]);
  });
});

describe('raster-ingest upload', () => {
  it('uploads to uploads/ without submitting, after the service has checked the container', async () => {
    const result = await cli(['upload', 'data/scene.tif', '--name', 'in/scene.tif'], [checked], { files: ['data/scene.tif'] });
    expect(result.exitCode).toBe(0);
    expect(result.uploads).toMatchObject([{ path: 'data/scene.tif', container: 'uploads', name: 'in/scene.tif', contentType: 'image/tiff' }]);
    expect(result.requests.map((request) => [request.method, request.body])).toEqual([['POST', { source: 'uploads/in/scene.tif', dryRun: true }]]);
    expect(result.out).toContain('Uploaded data/scene.tif to uploads/in/scene.tif; the upload trigger starts its job');
  });

  it('with --watch, finds the job the upload trigger started and follows it to its end', async () => {
    const source = 'uploads/scene.tif';
    let uploaded = false;
    const older = { ...sampleJob('ingest-old', 'Completed', { done: 1, failed: 0, total: 1 }), source };
    const started = { ...sampleJob('ingest-new', 'Running', { done: 0, failed: 0, total: 2 }), source };
    let listed = 0;
    const list = route('GET', '/api/jobs', () => {
      listed++;
      // The trigger's job shows up on the second read after the upload.
      return json(200, { jobs: uploaded && listed > 2 ? [started, older] : [older], continuationToken: null });
    });
    const result = await cli(['upload', 'scene.tif', '--watch', '--json'], [checked, list, views('ingest-new', [started, { ...sampleJob('ingest-new', 'Completed', { done: 2, failed: 0, total: 2 }), source }])], {
      files: ['scene.tif'],
      onUpload: () => (uploaded = true),
    });
    expect(result.exitCode).toBe(0);
    expect(JSON.parse(result.out)).toMatchObject({ source, uploaded: true, job: { id: 'ingest-new', status: 'Completed' } });
    const listQueries = result.requests.filter((request) => request.method === 'GET' && request.url.pathname === '/api/jobs');
    expect(listQueries.every((request) => request.url.searchParams.get('source') === source)).toBe(true);
  });

  it('refuses --watch outside uploads/ and a path that is not a local file, before anything else', async () => {
    const elsewhere = await cli(['upload', 'scene.tif', '--container', 'incoming', '--watch'], [checked], { files: ['scene.tif'] });
    expect(elsewhere.exitCode).toBe(2);
    expect(elsewhere.uploads).toEqual([]);
    const missing = await cli(['upload', 'nothing.tif'], [checked]);
    expect(missing.exitCode).toBe(2);
    expect(missing.requests).toEqual([]);
  });

  it('says when no job appears (the trigger is off), with exit code 6', async () => {
    const result = await cli(['upload', 'scene.tif', '--watch', '--timeout', '1'], [checked, route('GET', '/api/jobs', () => json(200, { jobs: [], continuationToken: null }))], { files: ['scene.tif'] });
    expect(result.exitCode).toBe(6);
    expect(result.err).toContain('no job for uploads/scene.tif appeared within 1 s');
    expect(result.uploads).toHaveLength(1);
  });
});

describe('raster-ingest jobs --source', () => {
  it('filters by source on the server', async () => {
    const result = await cli(['jobs', '--source', 'uploads/2026/', '--json'], [route('GET', '/api/jobs', () => json(200, { jobs: [], continuationToken: null }))]);
    expect(result.exitCode).toBe(0);
    expect(result.requests[0]!.url.searchParams.get('source')).toBe('uploads/2026/');
  });
});
