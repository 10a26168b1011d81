/**
 * The CLI's argument parsing, end to end in process: command lines become the API requests the
 * contract describes (through a fake transport), answers become text or JSON, errors become
 * messages and the documented exit codes.
 */
import { describe, expect, it } from 'vitest';
import { dryRunAccepted, json, problem, route, sampleJob, sampleTile, type FakeHandler } from '../cli/fake.job.api.js';
import { runFakeCli } from '../cli/fake.job.api.js';


const cli = runFakeCli;

const accepted = (id: string): FakeHandler => route('POST', '/api/jobs', () => json(202, { id, statusQueryGetUri: `http://h/api/jobs/${id}`, attempt: 1, previousAttempt: null }));
const checked = dryRunAccepted;

describe('raster-ingest command line', () => {
  it('uploads a local file to uploads/ and submits it with the trigger defaults', async () => {
    const result = await cli(['submit', 'data/scene.tif'], [checked, accepted('ingest-1')], { files: ['data/scene.tif'], env: { AzureWebJobsStorage: 'UseDevelopmentStorage=true' } });
    expect(result.exitCode).toBe(0);
    expect(result.uploads).toEqual([
      { path: 'data/scene.tif', container: 'uploads', name: 'scene.tif', contentType: 'image/tiff', connectionString: 'UseDevelopmentStorage=true', accountUrl: undefined, apiUrl: 'http://localhost:7071' },
    ]);
    // Checked by the service before the upload, then submitted.
    expect(result.requests.map((request) => request.body)).toEqual([{ source: 'uploads/scene.tif', dryRun: true }, { source: 'uploads/scene.tif' }]);
    expect(result.out).toContain('uploads/scene.tif started job (attempt 1) ingest-1');
  });

  it('refuses a collection or options for an upload to uploads/, whose trigger would start a second job', async () => {
    const result = await cli(['submit', 'scene.tif', '--collection', 'demo'], [], { files: ['scene.tif'] });
    expect(result.exitCode).toBe(2);
    expect(result.err).toContain('--container incoming');
    expect(result.uploads).toEqual([]);
    expect(result.requests).toEqual([]);
  });

  it('submits a blob with collection, typed options and force, to --url with --key', async () => {
    const result = await cli(
      ['--url', 'https://app.example.net', '--key', 'k1', 'submit', 'incoming/a/scene.tif', '--collection', 'demo', '--option', 'tileSize=1024', '--option', 'compression=ZSTD', '--force'],
      [accepted('ingest-2')],
    );
    expect(result.exitCode).toBe(0);
    expect(result.uploads).toEqual([]);
    const [request] = result.requests;
    expect(request!.url.origin).toBe('https://app.example.net');
    expect(request!.headers.get('x-functions-key')).toBe('k1');
    expect(request!.body).toEqual({ source: 'incoming/a/scene.tif', collection: 'demo', options: { tileSize: 1024, compression: 'ZSTD' }, force: true });
  });

  it('watches a submitted job to its end and exits 1 when it failed', async () => {
    const views = [sampleJob('ingest-3', 'Running', { done: 1, failed: 0, total: 3 }), sampleJob('ingest-3', 'Failed', { done: 2, failed: 1, total: 3 })];
    const result = await cli(['submit', 'incoming/scene.tif', '--watch', '--json'], [accepted('ingest-3'), route('GET', '/api/jobs/ingest-3', () => json(200, views.shift() ?? sampleJob('ingest-3', 'Failed', { done: 2, failed: 1, total: 3 })))]);
    expect(result.exitCode).toBe(1);
    expect(JSON.parse(result.out)).toMatchObject({ source: 'incoming/scene.tif', submitted: { id: 'ingest-3' }, job: { status: 'Failed', tiles: { done: 2, failed: 1, total: 3 } } });
    // Not a terminal: one line per change, on the progress stream (stdout keeps the JSON alone).
    expect(result.progress).toBe('scene.tif: creating-cogs, tiles 1/3 done\nscene.tif: FAILED, tiles 2/3 done, 1 failed\n');
  });

  it('reads RASTER_INGEST_URL and RASTER_INGEST_KEY, and never prints the key in help', async () => {
    const env = { RASTER_INGEST_URL: 'https://env.example.net', RASTER_INGEST_KEY: 'env-secret' };
    const result = await cli(['job', 'ingest-1'], [route('GET', '/api/jobs/ingest-1', () => json(200, sampleJob('ingest-1', 'Completed', { done: 2, failed: 0, total: 2 })))], { env });
    expect(result.requests[0]!.url.origin).toBe('https://env.example.net');
    expect(result.requests[0]!.headers.get('x-functions-key')).toBe('env-secret');
    expect(result.out).toContain('status      Completed (completed)');
    const help = await cli(['--help'], [], { env });
    expect(help.exitCode).toBe(0);
    expect(help.out).toContain('--key <key>');
    expect(help.out).not.toContain('env-secret');
  });

  it('lists jobs with filters, one page, and points at the next', async () => {
    const result = await cli(['jobs', '--status', 'failed,running', '--since', '1d', '--collection', 'demo', '--error-code', 'timeout', '--top', '2'], [
      route('GET', '/api/jobs', () => json(200, { jobs: [sampleJob('ingest-1', 'Failed', { done: 1, failed: 1, total: 2 })], continuationToken: 'tok' })),
    ]);
    expect(result.exitCode).toBe(0);
    expect(Object.fromEntries(result.requests[0]!.url.searchParams)).toEqual({ status: 'Failed,Running', since: '1d', collection: 'demo', errorCode: 'TIMEOUT', top: '2' });
    expect(result.out).toMatch(/^ID\s+STATUS/);
    expect(result.err).toContain("--continuation-token 'tok'");
  });

  it('follows every page with --all and prints JSON for scripts', async () => {
    const result = await cli(['--json', 'jobs', '--all'], [
      route('GET', '/api/jobs', (request) =>
        request.url.searchParams.get('continuationToken')
          ? json(200, { jobs: [sampleJob('ingest-2', 'Completed', { done: 1, failed: 0, total: 1 })], continuationToken: null })
          : json(200, { jobs: [sampleJob('ingest-1', 'Completed', { done: 1, failed: 0, total: 1 })], continuationToken: 'p2' }),
      ),
    ]);
    const printed: unknown = JSON.parse(result.out);
    expect(printed).toMatchObject({ jobs: [{ id: 'ingest-1' }, { id: 'ingest-2' }], continuationToken: null });
  });

  it('lists tiles, optionally only those in one state', async () => {
    const tiles = [sampleTile(0, 'done'), sampleTile(1, 'failed', { code: 'STORAGE_REFUSED', message: 'leased' })];
    const handler = route('GET', '/api/jobs/ingest-1/tiles', () => json(200, { jobId: 'ingest-1', total: 2, tiles, continuationToken: null }));
    const failedOnly = await cli(['tiles', 'ingest-1', '--state', 'failed', '--json'], [handler]);
    expect(JSON.parse(failedOnly.out)).toEqual({ jobId: 'ingest-1', tiles: [tiles[1]] });
    const all = await cli(['tiles', 'ingest-1'], [handler]);
    expect(all.out.split('\n')).toHaveLength(3);
  });

  it('retries one job, or every failed job of a filter page by page, with --dry-run', async () => {
    const one = await cli(['retry', 'ingest-1'], [route('POST', '/api/jobs/ingest-1/retry', () => json(202, { id: 'ingest-1-a2', previousAttempt: 'ingest-1', statusQueryGetUri: 'http://h/api/jobs/ingest-1-a2', retriedTiles: 2, reusedTiles: 5 }))]);
    expect(one.out).toBe('Retrying 2 failed tiles of ingest-1 as ingest-1-a2; 5 done tiles kept as they are');
    // No failed tile: never "Retrying 0 failed tiles", but what runs again.
    const finalize = await cli(['retry', 'ingest-3'], [route('POST', '/api/jobs/ingest-3/retry', () => json(202, { id: 'ingest-3-a2', previousAttempt: 'ingest-3', statusQueryGetUri: 'http://h/api/jobs/ingest-3-a2', retriedTiles: 0, reusedTiles: 4, reruns: 'finalize' }))]);
    expect(finalize.out).toBe('No tile of ingest-3 failed: re-running its finalize step as ingest-3-a2; 4 done tiles kept as they are');
    const whole = await cli(['retry', 'ingest-4'], [route('POST', '/api/jobs/ingest-4/retry', () => json(202, { id: 'ingest-4-a2', previousAttempt: 'ingest-4', statusQueryGetUri: 'http://h/api/jobs/ingest-4-a2', retriedTiles: 0, reusedTiles: 0, reruns: 'job' }))]);
    expect(whole.out).toBe('ingest-4 failed before making any tile: re-running the whole job as ingest-4-a2');
    // --force retries a permanent failure anyway; without it the service's 409 says why not.
    const forced = await cli(['retry', 'ingest-5', '--force'], [route('POST', '/api/jobs/ingest-5/retry', (request) => (request.body && (request.body as { force?: boolean }).force ? json(202, { id: 'ingest-5-a2', previousAttempt: 'ingest-5', statusQueryGetUri: 'h', retriedTiles: 0, reusedTiles: 0, reruns: 'job' }) : problem(409, 'A retry cannot help', 'INVALID_INPUT is a permanent failure')))]);
    expect(forced.out).toContain('re-running the whole job as ingest-5-a2');

    const bulk = await cli(['retry', '--failed', '--since', '1d', '--error-code', 'STORAGE_REFUSED', '--dry-run', '--json'], [
      route('POST', '/api/jobs/retry', (request) => {
        const next = request.body && typeof request.body === 'object' && 'continuationToken' in request.body;
        return json(200, { dryRun: true, jobs: [{ id: next ? 'ingest-b' : 'ingest-a', source: 'incoming/x.tif', errorCodes: ['STORAGE_REFUSED'], retriedAs: null }], continuationToken: next ? null : 'n' });
      }),
    ]);
    expect(bulk.exitCode).toBe(0);
    expect(bulk.requests.map((request) => request.body)).toEqual([
      { since: '1d', errorCode: 'STORAGE_REFUSED', dryRun: true, top: 100 },
      { since: '1d', errorCode: 'STORAGE_REFUSED', dryRun: true, top: 100, continuationToken: 'n' },
    ]);
    expect(JSON.parse(bulk.out)).toMatchObject({ dryRun: true, jobs: [{ id: 'ingest-a' }, { id: 'ingest-b' }] });
  });

  it('rejects contradictory retry arguments before calling the service', async () => {
    for (const argv of [['retry'], ['retry', 'ingest-1', '--failed'], ['retry', 'ingest-1', '--since', '1d'], ['retry', '--failed', '--watch']]) {
      const result = await cli(argv);
      expect(result.exitCode, argv.join(' ')).toBe(2);
      expect(result.requests).toEqual([]);
    }
  });

  it('shows the problem detail of an error answer and exits 3', async () => {
    const result = await cli(['retry', 'ingest-1'], [route('POST', '/api/jobs/ingest-1/retry', () => problem(409, 'Job is running', 'Wait until it ends; only failed jobs are retried'))]);
    expect(result.exitCode).toBe(3);
    expect(result.err).toBe('error: POST /api/jobs/ingest-1/retry answered 409 Job is running\n  Wait until it ends; only failed jobs are retried');
  });

  it('exits 2 on unknown commands and bad values, naming them', async () => {
    expect((await cli(['frobnicate'])).exitCode).toBe(2);
    const badSince = await cli(['jobs', '--since', 'last week']);
    expect(badSince.exitCode).toBe(2);
    expect(badSince.err).toContain('"last week"');
    const badTop = await cli(['jobs', '--top', '0']);
    expect(badTop.err).toContain('--top takes a whole number from 1 to 500');
  });

  it('prints the dashboard URL of --url', async () => {
    expect((await cli(['dashboard', '--url', 'https://app.example.net/'])).out).toBe('https://app.example.net/api/dashboard/');
    expect(JSON.parse((await cli(['--json', 'dashboard'])).out)).toEqual({ url: 'http://localhost:7071/api/dashboard/' });
  });
});
