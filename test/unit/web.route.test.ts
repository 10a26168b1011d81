import { describe, expect, it } from 'vitest';
import { batchHash, batchesHash, collectionHash, collectionsHash, jobHash, jobsHash, jobsQuery, noFilters, parseRoute } from '../../web/hash.route.js';

describe('dashboard routes in the URL fragment', () => {
  it('reads the jobs page with no fragment, "#" or "#/"', () => {
    for (const hash of ['', '#', '#/']) expect(parseRoute(hash)).toEqual({ page: 'jobs', filters: noFilters });
  });

  it('reads the filters of the jobs page', () => {
    expect(parseRoute('#/?status=Failed,Running&collection=dem&since=1d&source=uploads/2026/&batch=batch-1')).toEqual({
      page: 'jobs',
      filters: { status: ['Failed', 'Running'], collection: 'dem', since: '1d', source: 'uploads/2026/', batch: 'batch-1' },
    });
  });

  it('writes filters back into a fragment that reads the same', () => {
    const filters = { status: ['Failed'], collection: 'a b', since: '2026-11-30T00:00:00Z', source: 'scene&x.tif', batch: 'batch-1' };
    const route = parseRoute(jobsHash(filters));
    expect(route).toEqual({ page: 'jobs', filters });
    expect(jobsHash(noFilters)).toBe('#/');
  });

  it('reads a job page and round-trips ids with URL-special characters', () => {
    expect(parseRoute('#/jobs/ingest-abc-a2')).toEqual({ page: 'job', id: 'ingest-abc-a2' });
    expect(parseRoute(jobHash('odd/id?x'))).toEqual({ page: 'job', id: 'odd/id?x' });
  });

  it('reads the collections page and a collection page', () => {
    expect(parseRoute(collectionsHash())).toEqual({ page: 'collections' });
    expect(parseRoute('#/collections/')).toEqual({ page: 'collections' });
    expect(parseRoute(collectionHash('dem.v2'))).toEqual({ page: 'collection', id: 'dem.v2' });
    expect(parseRoute('#/collections/%E0%A4%A')).toEqual({ page: 'not-found', hash: '#/collections/%E0%A4%A' });
  });

  it('reads the batches page and a batch page', () => {
    expect(parseRoute(batchesHash())).toEqual({ page: 'batches' });
    expect(parseRoute('#/batches/')).toEqual({ page: 'batches' });
    expect(parseRoute(batchHash('batch-abc-a2'))).toEqual({ page: 'batch', id: 'batch-abc-a2' });
    expect(parseRoute('#/batches/%E0%A4%A')).toEqual({ page: 'not-found', hash: '#/batches/%E0%A4%A' });
  });

  it('answers not-found for anything else, malformed escapes included', () => {
    expect(parseRoute('#/nowhere')).toEqual({ page: 'not-found', hash: '#/nowhere' });
    expect(parseRoute('#/jobs/%E0%A4%A')).toEqual({ page: 'not-found', hash: '#/jobs/%E0%A4%A' });
  });

  it('builds the API query for one page of jobs', () => {
    const query = new URLSearchParams(jobsQuery({ status: ['Failed', 'Running'], collection: ' dem ', since: '', source: ' uploads/a ', batch: 'batch-1' }, 'token/+=', 25));
    expect(Object.fromEntries(query)).toEqual({ status: 'Failed,Running', collection: 'dem', source: 'uploads/a', batch: 'batch-1', top: '25', continuationToken: 'token/+=' });
    expect(jobsQuery(noFilters, null, 50)).toBe('top=50');
  });
});
