import { describe, expect, it } from 'vitest';
import { createSourceFilter, parseManifest } from '../../src/batches/manifest.js';
import { buildBatchView } from '../../src/jobs/batch.view.js';

describe('batch manifests', () => {
  it('reads a plain list, skipping blank lines and comments', () => {
    expect(parseManifest('# scenes\nuploads/a.tif\n\n  uploads/b c.tif  \r\n', 'list.txt')).toEqual({ ok: true, entries: ['uploads/a.tif', 'uploads/b c.tif'] });
  });

  it('reads a CSV by its source column, or its first column', () => {
    expect(parseManifest('id,source,note\n1,uploads/a.tif,x\n2,"uploads/b,1.tif",y', 'm.csv')).toEqual({ ok: true, entries: ['uploads/a.tif', 'uploads/b,1.tif'] });
    expect(parseManifest('uploads/a.tif,2024\nuploads/b.tif,2025', 'm.csv')).toEqual({ ok: true, entries: ['uploads/a.tif', 'uploads/b.tif'] });
  });

  it('reads a JSON array of strings or objects', () => {
    expect(parseManifest('["uploads/a.tif", {"source": "uploads/b.tif"}, {"href": "incoming/c.tif"}]', 'm.json')).toEqual({ ok: true, entries: ['uploads/a.tif', 'uploads/b.tif', 'incoming/c.tif'] });
  });

  it.each([
    ['', 'list.txt', /empty/],
    ['[1, 2', 'm.json', /not valid JSON/],
    ['{"source": "uploads/a.tif"}', 'm.json', /must be an array/],
    ['[{"name": "a"}]', 'm.json', /entry 1 .* names no source/],
    ['source\n', 'm.csv', /lists no sources/],
  ])('refuses a bad manifest with what is wrong: %j', (text, name, problem) => {
    const parsed = parseManifest(text, name);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.problem).toMatch(problem);
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
});
