import { describe, expect, it } from 'vitest';
import { buildJobQuery, jobIndexKey, prefixUpperBound, type JobQuery } from '../../src/jobs/job.index.js';
import { buildJobViewFromIndex, parseSince } from '../../src/jobs/job.view.js';
import { buildTileEntry, cogsHref, type LedgerJob } from '../../src/jobs/tile.ledger.js';
import type { IngestInput, RegisteredItem } from '../../src/pipeline/contracts.js';
import { FailureError } from '../../src/pipeline/failure.js';
import { ingestOptionsSchema } from '../../src/pipeline/options.js';
import { odataFilter } from '../../src/storage/azure.table.store.js';
import { resolveRange } from '../../src/storage/byte.range.js';

/** The filter Table Storage is asked for a jobs query. */
const buildJobFilter = (query: Omit<JobQuery, 'top' | 'continuationToken'>): string | undefined => odataFilter(buildJobQuery(query));

describe('byte ranges', () => {
  it.each([
    [null, 100, { kind: 'whole' }],
    ['bytes=0-15', 100, { kind: 'range', start: 0, end: 15 }],
    ['bytes=90-', 100, { kind: 'range', start: 90, end: 99 }],
    ['bytes=90-200', 100, { kind: 'range', start: 90, end: 99 }],
    ['bytes=-10', 100, { kind: 'range', start: 90, end: 99 }],
    ['bytes=-500', 100, { kind: 'range', start: 0, end: 99 }],
    ['bytes=100-', 100, { kind: 'unsatisfiable' }],
    ['bytes=5-1', 100, { kind: 'unsatisfiable' }],
    ['bytes=0-1,5-6', 100, { kind: 'whole' }],
    ['items=0-1', 100, { kind: 'whole' }],
  ] as const)('%s of %d bytes', (header, size, expected) => {
    expect(resolveRange(header, size)).toEqual(expected);
  });
});

describe('jobs index', () => {
  it('sorts newer jobs first by key', () => {
    const older = jobIndexKey(new Date('2026-01-01T00:00:00Z'), 'ingest-b');
    const newer = jobIndexKey(new Date('2026-06-01T00:00:00Z'), 'ingest-a');
    expect(newer < older).toBe(true);
  });

  it('sorts the jobs a batch prepares at once in the order it starts them, newest first: -0-10 after -0-9, not as text', () => {
    const now = new Date('2026-06-01T00:00:00Z');
    const keys = [0, 1, 2, 9, 10, 11].map((index) => ({ id: `ingest-bx-0-${index}`, key: jobIndexKey(now, `ingest-bx-0-${index}`, index) }));
    expect([...keys].sort((a, b) => (a.key < b.key ? -1 : 1)).map((entry) => entry.id)).toEqual(['ingest-bx-0-11', 'ingest-bx-0-10', 'ingest-bx-0-9', 'ingest-bx-0-2', 'ingest-bx-0-1', 'ingest-bx-0-0']);
    // A later chunk comes before all of them.
    expect(jobIndexKey(new Date('2026-06-01T00:00:01Z'), 'ingest-bx-1-0', 0) < keys[5]!.key).toBe(true);
  });

  it('filters by source prefix on the server, in any of several containers', () => {
    expect(prefixUpperBound('uploads/scene')).toBe('uploads/scenf');
    const filter = buildJobFilter({ sourcePrefixes: ['uploads/scene', "incoming/o'brien/"] });
    expect(filter).toContain("((source ge 'uploads/scene' and source lt 'uploads/scenf') or (source ge 'incoming/o''brien/' and source lt 'incoming/o''brien0'))");
    expect(buildJobFilter({ sourcePrefixes: [] })).toBe("PartitionKey eq 'job'");
  });

  it('filters on the server: status (Running includes Pending), collection, since and error code', () => {
    const filter = buildJobFilter({ statuses: ['Running', 'Failed'], collection: "o'brien", since: new Date('2026-01-01T00:00:00Z'), errorCode: 'OUTPUT_CONFLICT' });
    expect(filter).toContain("PartitionKey eq 'job'");
    expect(filter).toContain("(status eq 'Running' or status eq 'Pending' or status eq 'Failed')");
    // OData strings are quoted and escaped.
    expect(filter).toContain("collection eq 'o''brien'");
    expect(filter).toContain('code_OUTPUT_CONFLICT eq true');
    expect(filter).toMatch(/RowKey lt '\d{13}-~'/);
    expect(buildJobFilter({})).toBe("PartitionKey eq 'job'");
  });

  it('shows an indexed job as a list entry', () => {
    const view = buildJobViewFromIndex({
      key: 'k',
      id: 'ingest-1',
      source: 'uploads/a.tif',
      collection: 'c',
      status: 'Failed',
      createdTime: '2026-01-01T00:00:00.000Z',
      lastUpdatedTime: '2026-01-01T00:01:00.000Z',
      attempt: 2,
      previousAttempt: 'ingest-0',
      tilesDone: 3,
      tilesFailed: 1,
      tilesTotal: 4,
      errors: [{ code: 'DISK_FULL', message: 'full', itemId: 'a-r0-c0' }],
      errorCodes: ['DISK_FULL'],
    });
    expect(view).toMatchObject({ id: 'ingest-1', stage: 'failed', tiles: { done: 3, failed: 1, total: 4 }, attempt: 2, previousAttempt: 'ingest-0', output: null });
  });

  it('reads since as an age or a time', () => {
    const now = new Date('2026-11-30T12:00:00Z');
    expect(parseSince('1d', now)?.toISOString()).toBe('2026-11-29T12:00:00.000Z');
    expect(parseSince('30m', now)?.toISOString()).toBe('2026-11-30T11:30:00.000Z');
    expect(parseSince('2026-11-01T00:00:00Z', now)?.toISOString()).toBe('2026-11-01T00:00:00.000Z');
    expect(parseSince('soon', now)).toBeUndefined();
  });
});

describe('tile ledger entries', () => {
  const input: IngestInput = {
    source: { container: 'uploads', name: 'a.tif', etag: 'e', size: 1, lastModified: '2026-01-01T00:00:00Z' },
    collection: 'c',
    options: ingestOptionsSchema.parse({}),
    tileSize: 256,
    outputs: { collection: 'c', sourceKey: 'a-0123456789ab', version: 'vfedcba987654' },
    attempt: 1,
    index: { key: 'k', createdTime: '2026-01-01T00:00:00Z' },
    worker: { thresholdBytes: 1, tileTimeoutSeconds: 1 },
  };
  const job: LedgerJob = { id: 'ingest-1', input, progress: undefined };
  const window = { index: 4, row: 1, col: 1, x: 256, y: 256, width: 44, height: 100 };
  const blobUrl = (ref: { container: string; name: string }): string => `http://blob/${ref.container}/${ref.name}`;
  const item: RegisteredItem = { itemId: 'a-0123456789ab-r1-c1', itemUrl: 'http://stac/i.json', cogUrl: 'http://cogs/x.tif', cogBytes: 9, bbox: [1, 2, 3, 4], thumbnailUrl: 'http://cogs/x.png' };
  const instance = (runtimeStatus: string, extra: Record<string, unknown> = {}) => ({
    instanceId: 'ingest-1-tile-000004',
    name: 'ingestTile',
    runtimeStatus,
    createdTime: '2026-01-01T00:00:10Z',
    lastUpdatedTime: '2026-01-01T00:00:20Z',
    ...extra,
  });

  it('is pending until its branch exists', () => {
    expect(buildTileEntry(job, window, { jobEnded: false }, blobUrl)).toMatchObject({ itemId: 'a-0123456789ab-r1-c1', state: 'pending', attempts: 0, bbox: null, cogHref: null });
  });

  it('follows the branch: stage and attempts from its status, item and links when done', () => {
    const running = buildTileEntry(job, window, { jobEnded: false, instance: instance('Running', { customStatus: { itemId: item.itemId, stage: 'registering', attempts: 2, startedAt: '2026-01-01T00:00:11Z' } }) }, blobUrl);
    expect(running).toMatchObject({ state: 'registering', attempts: 2, startedAt: '2026-01-01T00:00:11Z' });
    const done = buildTileEntry(job, window, { jobEnded: true, instance: instance('Completed', { output: item }) }, blobUrl);
    expect(done).toMatchObject({ state: 'done', bbox: [1, 2, 3, 4], cogUrl: item.cogUrl, thumbnailUrl: item.thumbnailUrl, endedAt: '2026-01-01T00:00:20Z' });
    expect(done.cogHref).toBe('/api/cogs/c/a-0123456789ab/vfedcba987654/a-0123456789ab-r1-c1.tif');
    expect(done.thumbnailHref).toBe('/api/cogs/c/a-0123456789ab/vfedcba987654/a-0123456789ab-r1-c1.png');
  });

  it('reads a failed branch\'s code and message, and nothing of raw error text', () => {
    const coded = buildTileEntry(job, window, { jobEnded: true, instance: instance('Failed', { output: new FailureError({ code: 'DISK_FULL', message: 'full' }).message }) }, blobUrl);
    expect(coded).toMatchObject({ state: 'failed', error: { code: 'DISK_FULL', message: 'full' } });
    const raw = buildTileEntry(job, window, { jobEnded: true, instance: instance('Failed', { output: 'TypeError at /home/site/x.js' }) }, blobUrl);
    expect(raw.error?.code).toBe('INTERNAL');
    expect(JSON.stringify(raw)).not.toContain('/home/site');
  });

  it('marks reused tiles, and tiles a finished job never got to as failed', () => {
    expect(buildTileEntry(job, window, { jobEnded: false, reused: item }, blobUrl)).toMatchObject({ state: 'done', reused: true });
    expect(buildTileEntry(job, window, { jobEnded: true }, blobUrl)).toMatchObject({ state: 'failed', error: { code: 'INTERNAL' } });
  });

  it('encodes every segment of a cogs link', () => {
    expect(cogsHref({ container: 'cogs', name: 'c/a b/#x.tif' })).toBe('/api/cogs/c/a%20b/%23x.tif');
  });
});
