import { describe, expect, it } from 'vitest';
import { canonicalJson, deriveJobInstanceId, type JobIdentity } from '../../src/jobs/job.id.js';
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
    expect(slugifyBlobName('dem.v2.tif')).toBe('dem.v2');
    expect(slugifyBlobName('###.tif')).toBe('raster');
  });

  it('name each tile by row and column, and each tile branch by its index', () => {
    expect(deriveItemId('dem/alps.tif', { row: 2, col: 3 })).toBe('dem-alps-r2-c3');
    expect(deriveTileInstanceId('ingest-abc', { index: 7 })).toBe('ingest-abc-tile-7');
  });
});
