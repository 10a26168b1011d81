import { describe, expect, it } from 'vitest';
import { JobApiError, JobApiShapeError, JobApiUnreachableError, JobsClient, JobWaitTimeoutError } from '../../cli/jobs.client.js';
import { fakeJobApi, json, problem, route, sampleJob, sampleTile } from '../cli/fake.job.api.js';

const baseUrl = 'http://service.test/';

describe('job API client', () => {
  it('sends the function key as x-functions-key, never in the URL', async () => {
    const api = fakeJobApi([route('GET', '/api/jobs/ingest-1', () => json(200, sampleJob('ingest-1', 'Running', { done: 1, failed: 0, total: 4 })))]);
    const client = new JobsClient({ baseUrl, key: 'secret-key', fetch: api.fetch });
    const view = await client.getJob('ingest-1');
    expect(view.tiles).toEqual({ done: 1, failed: 0, total: 4 });
    expect(api.requests[0]!.headers.get('x-functions-key')).toBe('secret-key');
    expect(api.requests[0]!.url.href).toBe('http://service.test/api/jobs/ingest-1');
  });

  it('puts the filter and the page in the list query', async () => {
    const api = fakeJobApi([route('GET', '/api/jobs', () => json(200, { jobs: [], continuationToken: null }))]);
    await new JobsClient({ baseUrl, fetch: api.fetch }).listJobs({ status: ['Failed', 'Running'], collection: 'demo', since: '1d', errorCode: 'TIMEOUT' }, { top: 20, continuationToken: 'abc' });
    expect(Object.fromEntries(api.requests[0]!.url.searchParams)).toEqual({ status: 'Failed,Running', collection: 'demo', since: '1d', errorCode: 'TIMEOUT', top: '20', continuationToken: 'abc' });
  });

  it('follows continuation tokens through every page of jobs and tiles', async () => {
    const api = fakeJobApi([
      route('GET', '/api/jobs', (request) =>
        request.url.searchParams.get('continuationToken') === 'p2'
          ? json(200, { jobs: [sampleJob('ingest-3', 'Failed', { done: 1, failed: 1, total: 2 })], continuationToken: null })
          : json(200, { jobs: [sampleJob('ingest-1', 'Completed', { done: 2, failed: 0, total: 2 }), sampleJob('ingest-2', 'Running', { done: 0, failed: 0, total: 2 })], continuationToken: 'p2' }),
      ),
      route('GET', '/api/jobs/ingest-3/tiles', (request) =>
        request.url.searchParams.get('continuationToken') === 't2'
          ? json(200, { jobId: 'ingest-3', total: 2, tiles: [sampleTile(1, 'failed', { code: 'STORAGE_REFUSED', message: 'leased' })], continuationToken: null })
          : json(200, { jobId: 'ingest-3', total: 2, tiles: [sampleTile(0, 'done')], continuationToken: 't2' }),
      ),
    ]);
    const client = new JobsClient({ baseUrl, fetch: api.fetch });
    const ids: string[] = [];
    for await (const job of client.allJobs({}, 2)) ids.push(job.id);
    expect(ids).toEqual(['ingest-1', 'ingest-2', 'ingest-3']);
    const tiles = await client.allTiles('ingest-3');
    expect(tiles.map((tile) => tile.state)).toEqual(['done', 'failed']);
  });

  it('sends the bulk retry filter in the body and loops over its pages', async () => {
    const api = fakeJobApi([
      route('POST', '/api/jobs/retry', (request) =>
        json(200, {
          dryRun: true,
          jobs: [{ id: request.body && typeof request.body === 'object' && 'continuationToken' in request.body ? 'ingest-b' : 'ingest-a', source: 'incoming/a.tif', errorCodes: ['TIMEOUT'], retriedAs: null }],
          continuationToken: request.body && typeof request.body === 'object' && 'continuationToken' in request.body ? null : 'next',
        }),
      ),
    ]);
    const pages = [];
    for await (const page of new JobsClient({ baseUrl, fetch: api.fetch }).bulkRetryAll({ since: '1d', dryRun: true }, 100)) pages.push(page);
    expect(pages.flatMap((page) => page.jobs.map((job) => job.id))).toEqual(['ingest-a', 'ingest-b']);
    expect(api.requests.map((request) => request.body)).toEqual([
      { since: '1d', dryRun: true, top: 100 },
      { since: '1d', dryRun: true, top: 100, continuationToken: 'next' },
    ]);
  });

  it('turns a problem+json answer into an error carrying its title, detail and fields', async () => {
    const api = fakeJobApi([route('POST', '/api/jobs', () => problem(400, 'Invalid job request', 'options.tileSize: Too small', ['options.tileSize']))]);
    const error = await new JobsClient({ baseUrl, fetch: api.fetch }).submit({ source: 'incoming/a.tif', options: { tileSize: 1 } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JobApiError);
    expect(error).toMatchObject({ status: 400, problem: { detail: 'options.tileSize: Too small', fields: ['options.tileSize'] }, request: 'POST /api/jobs' });
  });

  it('reports an answer of another shape, and a service that cannot be reached', async () => {
    const api = fakeJobApi([route('GET', '/api/jobs/ingest-1', () => json(200, { hello: 'world' }))]);
    await expect(new JobsClient({ baseUrl, fetch: api.fetch }).getJob('ingest-1')).rejects.toBeInstanceOf(JobApiShapeError);
    const refused: typeof fetch = () => Promise.reject(new TypeError('fetch failed', { cause: Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }) }));
    const error = await new JobsClient({ baseUrl, fetch: refused }).getJob('ingest-1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JobApiUnreachableError);
    expect(String(error)).toContain('ECONNREFUSED');
  });

  it('waits through "not visible yet" and passing faults, reports each view, and returns the finished one', async () => {
    const answers = [
      problem(404, 'Job not found', 'No job has that id'),
      json(200, sampleJob('ingest-1', 'Running', { done: 1, failed: 0, total: 3 })),
      problem(503, 'Unavailable', 'busy'),
      json(200, sampleJob('ingest-1', 'Running', { done: 1, failed: 1, total: 3 })),
      json(200, sampleJob('ingest-1', 'Failed', { done: 2, failed: 1, total: 3 })),
    ];
    const api = fakeJobApi([route('GET', '/api/jobs/ingest-1', () => answers.shift() ?? problem(500, 'Exhausted', 'no more answers'))]);
    const seen: string[] = [];
    const view = await new JobsClient({ baseUrl, fetch: api.fetch }).waitForJob('ingest-1', { intervalMs: 1, onProgress: (v) => seen.push(`${v.status} ${v.tiles.done}/${v.tiles.failed}`) });
    expect(view.status).toBe('Failed');
    expect(seen).toEqual(['Running 1/0', 'Running 1/1', 'Failed 2/1']);
  });

  it('stops waiting at a client error or at its timeout', async () => {
    const forbidden = fakeJobApi([route('GET', '/api/jobs/ingest-1', () => problem(401, 'Unauthorized', 'a function key is required'))]);
    await expect(new JobsClient({ baseUrl, fetch: forbidden.fetch }).waitForJob('ingest-1', { intervalMs: 1 })).rejects.toMatchObject({ status: 401 });
    const running = fakeJobApi([route('GET', '/api/jobs/ingest-1', () => json(200, sampleJob('ingest-1', 'Running', { done: 0, failed: 0, total: 3 })))]);
    const error = await new JobsClient({ baseUrl, fetch: running.fetch }).waitForJob('ingest-1', { intervalMs: 5, timeoutMs: 20 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JobWaitTimeoutError);
    expect(error).toMatchObject({ id: 'ingest-1', lastView: { status: 'Running' } });
  });
});
