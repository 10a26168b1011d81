import { describe, expect, it } from 'vitest';
import { attemptInstanceId, canonicalJson, deriveJobInstanceId, deriveOutputLocation, deriveSourceKey, type JobIdentity } from '../../src/jobs/job.id.js';
import { deriveItemId, deriveTileInstanceId, slugifyBlobName } from '../../src/pipeline/ids.js';
import { ingestOptionsSchema } from '../../src/pipeline/options.js';

const identity: JobIdentity = {
  container: 'uploads',
  name: 'scene.tif',
  etag: '"0x8DC"',
  collection: 'rasters',
  options: ingestOptionsSchema.parse({}),
  tileSize: 4096,
};

describe('job instance ids', () => {
  it('are stable for the same upload and options, whatever the key order', () => {
    const reordered = { ...identity, options: Object.fromEntries(Object.entries(identity.options).reverse()) as JobIdentity['options'] };
    expect(deriveJobInstanceId(reordered)).toBe(deriveJobInstanceId(identity));
    expect(deriveJobInstanceId(identity)).toMatch(/^ingest-[0-9a-f]{32}$/);
  });

  it('change when the blob changes (new ETag), the options change, or the target collection changes', () => {
    const base = deriveJobInstanceId(identity);
    expect(deriveJobInstanceId({ ...identity, etag: '"0x8DD"' })).not.toBe(base);
    expect(deriveJobInstanceId({ ...identity, options: { ...identity.options, compression: 'ZSTD' } })).not.toBe(base);
    expect(deriveJobInstanceId({ ...identity, collection: 'other' })).not.toBe(base);
    expect(deriveJobInstanceId({ ...identity, name: 'other.tif' })).not.toBe(base);
  });

  it('canonical JSON sorts keys at every depth and drops undefined fields', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { f: 2, e: 3 }], c: undefined } })).toBe('{"a":{"d":[1,{"e":3,"f":2}]},"b":1}');
  });
});

describe('item and tile ids', () => {
  it('slugify blob names into path- and URL-safe ids', () => {
    expect(slugifyBlobName('2024/Scene A (final).TIF')).toBe('2024-scene-a-final');
    expect(slugifyBlobName('dem.v2.tif')).toBe('dem-v2');
    expect(slugifyBlobName('###.tif')).toBe('raster');
    expect(slugifyBlobName(`${'a'.repeat(80)}.tif`)).toHaveLength(60);
  });

  it('name each tile by source key, row and column, and each tile branch by its index', () => {
    expect(deriveItemId('dem-alps-0123456789ab', { row: 2, col: 3 })).toBe('dem-alps-0123456789ab-r2-c3');
    expect(deriveTileInstanceId('ingest-abc', { index: 7 })).toBe('ingest-abc-tile-000007');
  });
});

describe('output identity (issue: distinct sources never overwrite each other)', () => {
  it('gives every distinct source its own key: container, exact path, case and extension all count', () => {
    const sources = [
      ['uploads', 'x.tif'],
      ['incoming', 'x.tif'],
      ['uploads', 'Scene.tif'],
      ['uploads', 'scene.tif'],
      ['uploads', 'x.img'],
      ['uploads', 'a-b.tif'],
      ['uploads', 'a/b.tif'],
      ['uploads', 'a b.tif'],
      ['uploads', 'a_b.tif'],
    ] as const;
    const keys = sources.map(([container, name]) => deriveSourceKey(container, name));
    expect(new Set(keys).size).toBe(sources.length);
    for (const key of keys) expect(key).toMatch(/^[a-z0-9-]+-[0-9a-f]{12}$/);
  });

  it('keeps keys readable and stable across submissions and versions', () => {
    expect(deriveSourceKey('uploads', '2024/Scene A.tif')).toMatch(/^2024-scene-a-[0-9a-f]{12}$/);
    expect(deriveSourceKey('uploads', '2024/Scene A.tif')).toBe(deriveSourceKey('uploads', '2024/Scene A.tif'));
    const v1 = deriveOutputLocation(identity);
    const v2 = deriveOutputLocation({ ...identity, etag: '"0x8DD"' });
    expect(v2.sourceKey).toBe(v1.sourceKey);
    expect(v2.version).not.toBe(v1.version);
    expect(deriveOutputLocation({ ...identity, tileSize: 512 }).version).not.toBe(v1.version);
    expect(v1).toEqual({ collection: 'rasters', sourceKey: v1.sourceKey, version: expect.stringMatching(/^v[0-9a-f]{12}$/) });
  });

  it('numbers attempts after the first', () => {
    expect(attemptInstanceId('ingest-abc', 1)).toBe('ingest-abc');
    expect(attemptInstanceId('ingest-abc', 2)).toBe('ingest-abc-a2');
  });
});
