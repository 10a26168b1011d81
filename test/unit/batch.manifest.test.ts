import { describe, expect, it } from 'vitest';
import { createSourceFilter, parseManifest, readManifest } from '../../src/batches/manifest.js';
import { buildBatchView } from '../../src/jobs/batch.view.js';
import { batchStatusBounds } from '../../src/pipeline/batch.status.js';

describe('batch manifests', () => {
  it('reads a plain list, skipping blank lines and comments', async () => {
    expect(await parseManifest('# scenes\nuploads/a.tif\n\n  uploads/b c.tif  \r\n  # indented comment\n', 'list.txt')).toEqual({ ok: true, entries: ['uploads/a.tif', 'uploads/b c.tif'] });
    // A plain list has no quotes or fields: a line is one source whatever it holds.
    expect(await parseManifest('uploads/"quoted".tif\nuploads/a#1.tif\n', 'list.txt')).toEqual({ ok: true, entries: ['uploads/"quoted".tif', 'uploads/a#1.tif'] });
  });

  it('reads a CSV by its source column, or its first column', async () => {
    expect(await parseManifest('id,source,note\n1,uploads/a.tif,x\n2,"uploads/b,1.tif",y', 'm.csv')).toEqual({ ok: true, entries: ['uploads/a.tif', 'uploads/b,1.tif'] });
    expect(await parseManifest('uploads/a.tif,2024\nuploads/b.tif,2025', 'm.csv')).toEqual({ ok: true, entries: ['uploads/a.tif', 'uploads/b.tif'] });
  });

  it('reads quoted fields that hold newlines (and quotes) as one record', async () => {
    const csv = ['\uFEFFsource,note', 'uploads/a.tif,"first line', 'second line, with a comma"', '"uploads/b ""x"".tif","one\r\ntwo"', 'uploads/c.tif,plain'].join('\n');
    expect(await parseManifest(csv, 'scenes.csv')).toEqual({ ok: true, entries: ['uploads/a.tif', 'uploads/b "x".tif', 'uploads/c.tif'] });
    // The newline may be in the source column itself: one entry (which no blob path allows), not two.
    expect(await parseManifest('source\n"uploads/a\nb.tif"\nuploads/c.tif', 'm.csv')).toEqual({ ok: true, entries: ['uploads/a\nb.tif', 'uploads/c.tif'] });
  });

  it('reads a manifest as it streams in, however its chunks are cut', async () => {
    const csv = 'id,source\n1,"uploads/a\n.tif"\n2,uploads/b.tif\n';
    const bytes = Buffer.from(csv);
    const oneByteChunks = Array.from(bytes, (byte) => Buffer.from([byte]));
    expect(await readManifest(oneByteChunks, 'm.txt')).toEqual(await parseManifest(csv, 'm.txt'));
    expect(await readManifest(oneByteChunks, 'm.txt')).toEqual({ ok: true, entries: ['uploads/a\n.tif', 'uploads/b.tif'] });
  });

  it('reads a JSON array of strings or objects', async () => {
    expect(await parseManifest('["uploads/a.tif", {"source": "uploads/b.tif"}, {"href": "incoming/c.tif"}]', 'm.json')).toEqual({ ok: true, entries: ['uploads/a.tif', 'uploads/b.tif', 'incoming/c.tif'] });
  });

  it.each([
    ['', 'list.txt', /empty/],
    ['# only a comment\n\n', 'list.txt', /empty/],
    ['[1, 2', 'm.json', /not valid JSON/],
    ['{"source": "uploads/a.tif"}', 'm.json', /must be an array/],
    ['[{"name": "a"}]', 'm.json', /entry 1 .* names no source/],
    ['source\n', 'm.csv', /lists no sources/],
    ['source\n"uploads/a.tif\nuploads/b.tif\n', 'm.csv', /quoted field near line \d+ is never closed/],
  ])('refuses a bad manifest with what is wrong: %j', async (text, name, problem) => {
    const parsed = await parseManifest(text, name);
    expect(parsed).toEqual({ ok: false, failure: { code: 'INVALID_INPUT', message: expect.stringMatching(problem) } });
  });

  it('refuses a manifest beyond its limits with INPUT_LIMIT, saying which, without quoting it', async () => {
    const limits = { maxBytes: 1000, maxEntries: 5, maxEntryLength: 50, maxRecordLength: 200 };
    const refused = async (text: string | Buffer[], name: string) => {
      const parsed = typeof text === 'string' ? await parseManifest(text, name, limits) : await readManifest(text, name, limits);
      if (parsed.ok) throw new Error(`accepted ${name}`);
      expect(parsed.failure.code).toBe('INPUT_LIMIT');
      expect(parsed.failure.message).not.toContain('xxxxxxxx');
      return parsed.failure.message;
    };
    // Bytes are counted as they stream, whatever the blob's size said.
    expect(await refused(Array.from({ length: 20 }, () => Buffer.from('uploads/x.tif\n'.repeat(5))), 'list.txt')).toMatch(/over the limit of 1000 bytes/);
    expect(await refused('uploads/a.tif\n'.repeat(6), 'list.txt')).toMatch(/more than 5 sources/);
    expect(await refused(JSON.stringify(Array.from({ length: 6 }, () => 'uploads/a.tif')), 'm.json')).toMatch(/lists 6 sources; at most 5/);
    expect(await refused(`uploads/a.tif\nuploads/${'x'.repeat(60)}.tif\n`, 'list.txt')).toMatch(/entry 2 is 72 characters long; .* at most 50/);
    expect(await refused(`id,source\n1,"uploads/${'x'.repeat(300)}`, 'm.csv')).toMatch(/longer than .* characters/);
    expect(await refused(JSON.stringify(['uploads/a.tif', `uploads/${'x'.repeat(60)}`]), 'm.json')).toMatch(/entry 2 is 68 characters long/);
  });

  it('filters by an include glob and a time', () => {
    const accept = createSourceFilter({ include: '**/*.tif', since: '2026-01-01T00:00:00Z' });
    expect(accept('a/b/c.tif', new Date('2026-02-01'))).toBe(true);
    expect(accept('a/b/c.png', new Date('2026-02-01'))).toBe(false);
    expect(accept('a/b/c.tif', new Date('2025-12-31'))).toBe(false);
    expect(createSourceFilter({})('anything', undefined)).toBe(true);
  });
});

describe('batch view', () => {
  it('shows counts, throughput and time left', () => {
    const view = buildBatchView(
      {
        instanceId: 'batch-1',
        name: 'ingestBatch',
        runtimeStatus: 'Running',
        createdTime: '2026-01-01T00:00:00Z',
        lastUpdatedTime: '2026-01-01T00:01:00Z',
        customStatus: {
          stage: 'ingesting',
          collection: 'c',
          selection: 'uploads/scenes/',
          chunk: 1,
          counts: { total: 100, done: 20, failed: 5, skipped: 5, missing: 1 },
          running: 3,
          failures: [],
          missing: ['uploads/x.tif: no such blob'],
          startedAt: '2026-01-01T00:00:00Z',
          attempt: 1,
        },
      },
      new Date('2026-01-01T00:02:00Z'),
    );
    expect(view).toMatchObject({ stage: 'ingesting', counts: { total: 100, done: 20, running: 3 }, throughputPerMinute: 15, estimatedSecondsLeft: 280, jobs: '/api/jobs?batch=batch-1', reason: null });
  });

  it('bounds what a status written before the bounds lists: names keep a hash, lists their first entries', () => {
    const name = (i: number) => `uploads/${'n'.repeat(1010)}-${i}.tif`;
    const view = buildBatchView(
      {
        instanceId: 'batch-2',
        name: 'ingestBatch',
        runtimeStatus: 'Failed',
        createdTime: '2026-01-01T00:00:00Z',
        lastUpdatedTime: '2026-01-01T00:01:00Z',
        customStatus: {
          stage: 'failed',
          collection: 'c',
          selection: `uploads/${'p'.repeat(1050)}/`,
          chunk: 0,
          counts: { total: 20, done: 0, failed: 20, skipped: 0, missing: 20 },
          running: 0,
          failures: Array.from({ length: 20 }, (_, i) => ({ code: 'UNSUPPORTED_FORMAT', message: `${name(i)} is not a raster`, source: name(i), jobId: `ingest-b-0-${i}` })),
          missing: Array.from({ length: 20 }, (_, i) => `${name(i)}: no such blob`),
          startedAt: '2026-01-01T00:00:00Z',
          attempt: 1,
          reason: `the manifest ${'m'.repeat(2000)} is not valid`,
        },
      },
      new Date('2026-01-01T00:02:00Z'),
    );
    expect(view.failures).toHaveLength(batchStatusBounds.listed);
    expect(view.missing).toHaveLength(batchStatusBounds.listed);
    expect(new Set(view.failures.map((failure) => failure.source)).size).toBe(batchStatusBounds.listed);
    expect(view.failures[0]).toMatchObject({ source: expect.stringMatching(/^uploads\/n+…#[0-9a-f]{8}$/), jobId: 'ingest-b-0-0' });
    expect(view.selection!.length).toBe(batchStatusBounds.selection);
    expect(view.reason!.length).toBe(batchStatusBounds.reason);
    expect(JSON.stringify(view).length).toBeLessThan(8 * 1024);
  });
});
