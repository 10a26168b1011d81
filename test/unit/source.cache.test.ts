import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SourceCache } from '../../src/activities/source.cache.js';
import type { SourceBlob } from '../../src/pipeline/contracts.js';
import { MemoryBlobStore } from '../support/memory.blob.store.js';

let cacheDir: string;
beforeAll(() => {
  cacheDir = mkdtempSync(join(tmpdir(), 'source-cache-'));
});
afterAll(() => {
  rmSync(cacheDir, { recursive: true, force: true });
});

/** A store holding one source of `size` random bytes (the cache never looks inside). */
async function storeWith(name: string, size: number, store = new MemoryBlobStore()): Promise<{ store: MemoryBlobStore; source: SourceBlob }> {
  const ref = { container: 'uploads', name };
  const { etag } = await store.uploadBytes(ref, randomBytes(size), 'image/tiff');
  return { store, source: { ...ref, etag, size, lastModified: new Date(0).toISOString() } };
}

describe('SourceCache (on the in-memory store)', () => {
  it('downloads once for concurrent users and pins the copy to the ETag', async () => {
    const { store, source } = await storeWith('shared.tif', 60_000);
    const cache = new SourceCache(store, join(cacheDir, 'a'));
    const paths = await Promise.all(Array.from({ length: 5 }, () => cache.withLocalCopy(source, async (path) => path)));
    expect(new Set(paths).size).toBe(1);
    expect(store.callCount('downloadToFile')).toBe(1);
    expect(statSync(paths[0]!).size).toBe(source.size);
    // A new cache on the same folder (a restart that kept it) reuses the complete copy.
    const again = new SourceCache(store, join(cacheDir, 'a'));
    await again.withLocalCopy(source, async () => undefined);
    expect(store.callCount('downloadToFile')).toBe(1);
  });

  it('trims idle copies beyond its cap, least recently used first, never one in use', async () => {
    const { store, source: first } = await storeWith('lru-1.tif', 180_000);
    const { source: second } = await storeWith('lru-2.tif', 180_000, store);
    const cache = new SourceCache(store, join(cacheDir, 'b'), first.size + 1);
    const firstPath = await cache.withLocalCopy(first, async (path) => path);
    await cache.withLocalCopy(first, async (path) => {
      // While the first copy is in use, fetching the second must not delete it.
      await cache.withLocalCopy(second, async () => undefined);
      expect(existsSync(path)).toBe(true);
    });
    // Now idle and over the cap: the next use trims the least recently used (the second).
    const secondPath = await cache.withLocalCopy(first, async () => cache.withLocalCopy(second, async (path) => path));
    await cache.withLocalCopy(second, async () => undefined);
    expect(existsSync(secondPath)).toBe(true);
    expect(existsSync(firstPath)).toBe(false);
    expect(cache.cachedBytes).toBeLessThanOrEqual(first.size + 1);
  });

  it('frees a copy on evict, and a failed download leaves nothing behind', async () => {
    const { store, source } = await storeWith('evict.tif', 30_000);
    const cache = new SourceCache(store, join(cacheDir, 'c'));
    const path = await cache.withLocalCopy(source, async (p) => p);
    await cache.evict(source);
    expect(existsSync(path)).toBe(false);
    await expect(cache.withLocalCopy({ ...source, name: `${source.name}.missing` }, async () => undefined)).rejects.toThrow(/no longer exists/);
    expect(cache.cachedBytes).toBe(0);
  });

  it('fetches a copy again when it vanished, before a read or during one', async () => {
    const { store, source } = await storeWith('vanish.tif', 28_800);
    const cache = new SourceCache(store, join(cacheDir, 'd'));
    const path = await cache.withLocalCopy(source, async (p) => p);
    // Removed between two reads (by hand, a temp cleaner): the next read downloads it again.
    await rm(path);
    expect(await cache.withLocalCopy(source, async (p) => statSync(p).size)).toBe(source.size);
    expect(store.callCount('downloadToFile')).toBe(2);
    // Removed while a read had it (the read fails with ENOENT): fetched again, and the read runs once more.
    let reads = 0;
    const size = await cache.withLocalCopy(source, async (p) => {
      reads++;
      if (reads === 1) {
        await rm(p);
        statSync(p);
      }
      return statSync(p).size;
    });
    expect({ reads, size, downloads: store.callCount('downloadToFile') }).toEqual({ reads: 2, size: source.size, downloads: 3 });
  });

  it("keeps a copy one job evicts while another job that read it has not: several jobs on one source", async () => {
    const { store, source } = await storeWith('two-jobs.tif', 18_000);
    const cache = new SourceCache(store, join(cacheDir, 'e'));
    const path = await cache.withLocalCopy(source, async (p) => p, 'collection-a/src/v1');
    await cache.withLocalCopy(source, async () => undefined, 'collection-b/src/v2');
    await cache.evict(source, 'collection-a/src/v1');
    expect(existsSync(path)).toBe(true);
    // Validation refusing the source (no job named) leaves it to the job still holding it.
    await cache.evict(source);
    expect(existsSync(path)).toBe(true);
    await cache.withLocalCopy(source, async () => undefined, 'collection-b/src/v2');
    expect(store.callCount('downloadToFile')).toBe(1);
    await cache.evict(source, 'collection-b/src/v2');
    expect(existsSync(path)).toBe(false);
  });

  it('tells a replaced source from a deleted one (the store reports which)', async () => {
    const { store, source } = await storeWith('moving.tif', 1_000);
    const cache = new SourceCache(store, join(cacheDir, 'f'));
    await store.uploadBytes(source, randomBytes(10), 'image/tiff');
    await expect(cache.withLocalCopy(source, async () => undefined)).rejects.toMatchObject({ failure: { code: 'SOURCE_CHANGED' } });
    await store.delete(source);
    await expect(cache.withLocalCopy(source, async () => undefined)).rejects.toMatchObject({ failure: { code: 'SOURCE_MISSING' } });
    expect(cache.cachedBytes).toBe(0);
  });
});
