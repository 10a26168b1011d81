/**
 * The deletion path's pure parts: the BlobDeleted trigger's parsing and filtering (with every
 * hostile event of the corpus, test/support/hostile.deletions.ts), the removal's deterministic
 * instance id, the removal record the jobs' views read, the catalog helpers that unlink a source,
 * and the view of a removed source's job.
 */
import { describe, expect, it } from 'vitest';
import { parseBlobDeletedEvent, removalInstanceId, type BlobEventLike } from '../../src/jobs/source.removal.js';
import { buildJobView, withSupersession } from '../../src/jobs/job.view.js';
import { mergeCollection, mergeShardCatalog, shardHasSources, summarizeShard, withoutShardSource } from '../../src/stac/collection.build.js';
import { keptRemovals, recordRemoval, removalOf } from '../../src/stac/removed.source.js';
import { collectionShardsProperty, shardSourcesProperty } from '../../src/stac/stac.types.js';
import { hostileDeletions } from '../support/hostile.deletions.js';

const containers = ['uploads', 'incoming'];
const base = 'http://127.0.0.1:10000/devstoreaccount1';
const live = 'run1/live.tif';

function event(overrides: Partial<BlobEventLike> = {}, data: Record<string, unknown> = {}): BlobEventLike {
  return {
    id: 'a1b2c3d4-0000-4000-8000-000000000001',
    eventType: 'Microsoft.Storage.BlobDeleted',
    subject: '/blobServices/default/containers/uploads/blobs/drop/a b%.tif',
    eventTime: '2026-12-06T10:00:00Z',
    data: { api: 'DeleteBlob', url: `${base}/uploads/drop/a%20b%25.tif`, sequencer: '00000000000000000000000000000A0F', ...data },
    ...overrides,
  };
}

describe('BlobDeleted events (the deletion trigger\'s parsing)', () => {
  it('reads the blob, the deletion time and the sequencer of a well-formed event, on Azurite\'s and Azure\'s URLs alike', () => {
    expect(parseBlobDeletedEvent(event(), containers)).toEqual({
      ok: true,
      input: { source: { container: 'uploads', name: 'drop/a b%.tif' }, deletion: { eventId: 'a1b2c3d4-0000-4000-8000-000000000001', eventTime: '2026-12-06T10:00:00.000Z', sequencer: '00000000000000000000000000000A0F' } },
    });
    const azure = parseBlobDeletedEvent(event({}, { url: 'https://acct.blob.core.windows.net/uploads/drop/a%20b%25.tif' }), containers);
    expect(azure.ok).toBe(true);
    const incoming = parseBlobDeletedEvent(event({ subject: '/blobServices/default/containers/incoming/blobs/x.tif' }, { url: `${base}/incoming/x.tif` }), containers);
    expect(incoming).toMatchObject({ ok: true, input: { source: { container: 'incoming', name: 'x.tif' } } });
  });

  it('derives one removal instance id per blob and deletion: a redelivery (same sequencer, any event id) finds the same removal, another deletion gets its own', () => {
    const first = parseBlobDeletedEvent(event(), containers);
    const redelivered = parseBlobDeletedEvent(event({ id: 'another-delivery-id', eventTime: '2026-12-06T10:05:00Z' }), containers);
    const again = parseBlobDeletedEvent(event({}, { sequencer: '00000000000000000000000000000B00' }), containers);
    const otherBlob = parseBlobDeletedEvent(event({ subject: '/blobServices/default/containers/uploads/blobs/other.tif' }, { url: `${base}/uploads/other.tif` }), containers);
    if (!first.ok || !redelivered.ok || !again.ok || !otherBlob.ok) throw new Error('expected all four to parse');
    expect(removalInstanceId(first.input)).toMatch(/^remove-[0-9a-f]{32}$/);
    expect(removalInstanceId(redelivered.input)).toBe(removalInstanceId(first.input));
    // Storage spells the sequencer in either case: the same deletion.
    expect(removalInstanceId({ ...first.input, deletion: { ...first.input.deletion, sequencer: first.input.deletion.sequencer.toLowerCase() } })).toBe(removalInstanceId(first.input));
    expect(removalInstanceId(again.input)).not.toBe(removalInstanceId(first.input));
    expect(removalInstanceId(otherBlob.input)).not.toBe(removalInstanceId(first.input));
    // Without a sequencer the event id names the deletion.
    const noSequencer = parseBlobDeletedEvent(event({}, { sequencer: undefined }), containers);
    if (!noSequencer.ok) throw new Error('expected it to parse');
    expect(noSequencer.input.deletion.sequencer).toBe('');
    expect(removalInstanceId(noSequencer.input)).not.toBe(removalInstanceId(first.input));
    expect(removalInstanceId({ ...noSequencer.input, deletion: { ...noSequencer.input.deletion, eventId: 'x' } })).not.toBe(removalInstanceId(noSequencer.input));
  });

  describe('hostile events (test/support/hostile.deletions.ts)', () => {
    it('has several variants of each class', () => {
      const classes = new Map<string, number>();
      for (const entry of hostileDeletions) classes.set(entry.category, (classes.get(entry.category) ?? 0) + 1);
      for (const [category, count] of classes) expect(count, category).toBeGreaterThanOrEqual(3);
      expect(new Set(hostileDeletions.map((entry) => entry.name)).size).toBe(hostileDeletions.length);
    });

    it.each(hostileDeletions.map((entry) => [entry.name, entry] as const))('%s', (_, entry) => {
      const parsed = parseBlobDeletedEvent(entry.event(live, base), ['uploads']);
      if (entry.expected.outcome === 'refused') {
        expect(parsed.ok).toBe(false);
        if (!parsed.ok) {
          expect(parsed.problem).toMatch(entry.expected.problem);
          // The problem is logged: bounded, and it repeats nothing of the path.
          expect(parsed.problem.length).toBeLessThan(200);
          expect(parsed.problem).not.toMatch(/\n|\u001b|etc\/passwd|nnnnnnnnnn/);
        }
      } else {
        // Parsed: only the removal's look at storage can tell (and a live blob is never removed).
        expect(parsed.ok).toBe(true);
      }
    });
  });
});

describe('the removal record (what the jobs\' views read)', () => {
  const removal = (removedBy: string, versions: string[]) => ({ versions, deletedAt: '2026-12-06T10:00:00.000Z', removedBy });

  it('adds each removal once, keeps the latest ones, and finds the removal of a version', () => {
    const first = recordRemoval(undefined, 'uploads/a.tif', 'a-1', removal('remove-1', ['v1', 'v2']))!;
    expect(recordRemoval(first, 'uploads/a.tif', 'a-1', removal('remove-1', ['v1', 'v2']))).toBeUndefined();
    const second = recordRemoval(first, 'uploads/a.tif', 'a-1', removal('remove-2', ['v3']))!;
    expect(removalOf(second, 'v2')?.removedBy).toBe('remove-1');
    expect(removalOf(second, 'v3')?.removedBy).toBe('remove-2');
    expect(removalOf(second, 'v4')).toBeUndefined();
    let many = second;
    for (let index = 3; index < 40; index++) many = recordRemoval(many, 'uploads/a.tif', 'a-1', removal(`remove-${index}`, [`v${index + 1}`]))!;
    expect(many.removals).toHaveLength(keptRemovals);
    expect(many.removals.at(-1)?.removedBy).toBe('remove-39');
  });
});

describe('unlinking a removed source from its shard and collection', () => {
  const urls = { self: 'https://x/stac/c/catalogs/ab/catalog.json', parent: 'https://x/stac/c/collection.json', root: 'https://x/stac/catalog.json' };
  const summary = (west: number) => ({ items: 2, bbox: [west, 0, west + 1, 1] as [number, number, number, number], interval: ['2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z'] as [string, string], projCodes: ['EPSG:4326'] });
  const shard = mergeShardCatalog(undefined, {
    shard: 'ab',
    collectionId: 'c',
    urls,
    sources: [
      { sourceKey: 'a', title: 'uploads/a.tif', url: 'https://x/stac/c/catalogs/ab/a/catalog.json', summary: summary(10) },
      { sourceKey: 'b', title: 'uploads/b.tif', url: 'https://x/stac/c/catalogs/ab/b/catalog.json', summary: summary(20) },
    ],
  });

  it('drops the source\'s link and summary, and leaves a shard that links no source', () => {
    const withoutA = withoutShardSource(shard, 'a', 'https://x/stac/c/catalogs/ab/a/catalog.json')!;
    expect(withoutA.links.filter((link) => link.rel === 'child').map((link) => link.href)).toEqual(['https://x/stac/c/catalogs/ab/b/catalog.json']);
    expect(Object.keys(withoutA[shardSourcesProperty] ?? {})).toEqual(['b']);
    expect(summarizeShard(withoutA).bbox).toEqual([20, 0, 21, 1]);
    expect(shardHasSources(withoutA)).toBe(true);
    expect(withoutShardSource(withoutA, 'a', 'https://x/stac/c/catalogs/ab/a/catalog.json')).toBeUndefined();
    expect(shardHasSources(withoutShardSource(withoutA, 'b', 'https://x/stac/c/catalogs/ab/b/catalog.json')!)).toBe(false);
  });

  it('drops an emptied shard from the collection: its link, its summary, and the extent it held', () => {
    const input = { collectionId: 'c', datetime: '2026-12-06T10:00:00.000Z', urls: { collection: urls.parent, catalog: urls.root } };
    const collection = mergeCollection(undefined, { ...input, shards: [{ shard: 'ab', url: urls.self, summary: summary(10) }, { shard: 'cd', url: 'https://x/stac/c/catalogs/cd/catalog.json', summary: summary(50) }] });
    expect(collection.extent.spatial.bbox[0]).toEqual([10, 0, 51, 1]);
    const dropped = mergeCollection(collection, { ...input, shards: [], removedShards: [{ shard: 'ab', url: urls.self }] });
    expect(Object.keys(dropped[collectionShardsProperty] ?? {})).toEqual(['cd']);
    expect(dropped.links.filter((link) => link.rel === 'child').map((link) => link.href)).toEqual(['https://x/stac/c/catalogs/cd/catalog.json']);
    expect(dropped.extent.spatial.bbox[0]).toEqual([50, 0, 51, 1]);
  });
});

describe('the view of a removed source\'s job', () => {
  it('says "source removed" and lists none of the deleted COGs', () => {
    const view = buildJobView({
      instanceId: 'ingest-1',
      name: 'ingestRaster',
      runtimeStatus: 'Completed',
      createdTime: '2026-12-06T09:00:00Z',
      lastUpdatedTime: '2026-12-06T09:01:00Z',
      input: { source: { container: 'uploads', name: 'a.tif' }, collection: 'rasters' },
      output: { collection: null, tiles: [{ itemId: 'a-r0-c0', cogUrl: 'https://x/cogs/a.tif', itemUrl: 'https://x/stac/a.json', cogBytes: 10 }], bytesIn: 1, bytesOut: 10 },
    });
    expect(view.output && 'tiles' in view.output ? view.output.tiles : []).toHaveLength(1);
    const removed = withSupersession(view, { by: null, message: 'source removed: uploads/a.tif was deleted', removed: { deletedAt: '2026-12-06T10:00:00.000Z', removal: 'remove-1' } });
    expect(removed.superseded?.message).toMatch(/^source removed/);
    expect(removed.output && 'tiles' in removed.output ? removed.output.tiles : undefined).toEqual([]);
    // A replaced (not removed) job keeps listing its COGs: they stay readable for the grace period.
    expect(withSupersession(view, { by: 'ingest-2', message: 'superseded' }).output).toEqual(view.output);
  });
});
