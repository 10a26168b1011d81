import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlobServiceClient } from '@azure/storage-blob';
import { SourceCache } from '../../src/activities/source.cache.js';
import type { BlobRef } from '../../src/storage/blob.store.js';
import { BlobStore } from '../../src/storage/blob.store.js';
import { inject } from 'vitest';
import { createFixtureDir, writeRgbUint8, type FixtureDir } from '../support/fixtures.js';
import { createActivityHarness, type ActivityHarness } from './activity.harness.js';

/** The real Azurite-backed store, counting downloads so sharing is visible. */
class CountingStore extends BlobStore {
  downloads = 0;
  override async downloadToFile(ref: BlobRef, path: string, etag?: string): Promise<void> {
    this.downloads++;
    await super.downloadToFile(ref, path, etag);
  }
}

let harness: ActivityHarness;
let fixtures: FixtureDir;
let cacheDir: string;
beforeAll(() => {
  harness = createActivityHarness();
  fixtures = createFixtureDir();
  cacheDir = mkdtempSync(join(tmpdir(), 'source-cache-'));
});
afterAll(() => {
  harness.close();
  fixtures.remove();
  rmSync(cacheDir, { recursive: true, force: true });
});

const countingStore = (): CountingStore => new CountingStore(BlobServiceClient.fromConnectionString(inject('storageConnectionString')));

describe('SourceCache (real Azurite)', () => {
  it('downloads once for concurrent users and pins the copy to the ETag', async () => {
    const source = await harness.upload(writeRgbUint8(fixtures.path, 200, 100, 'shared.tif'));
    const store = countingStore();
    const cache = new SourceCache(store, join(cacheDir, 'a'));
    const paths = await Promise.all(Array.from({ length: 5 }, () => cache.withLocalCopy(source, async (path) => path)));
    expect(new Set(paths).size).toBe(1);
    expect(store.downloads).toBe(1);
    expect(statSync(paths[0]!).size).toBe(source.size);
    // A new cache on the same folder (a restart that kept it) reuses the complete copy.
    const again = new SourceCache(store, join(cacheDir, 'a'));
    await again.withLocalCopy(source, async () => undefined);
    expect(store.downloads).toBe(1);
  });

  it('trims idle copies beyond its cap, least recently used first, never one in use', async () => {
    const first = await harness.upload(writeRgbUint8(fixtures.path, 300, 200, 'lru-1.tif'));
    const second = await harness.upload(writeRgbUint8(fixtures.path, 300, 200, 'lru-2.tif'));
    const cache = new SourceCache(countingStore(), join(cacheDir, 'b'), first.size + 1);
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
    const source = await harness.upload(writeRgbUint8(fixtures.path, 100, 100, 'evict.tif'));
    const cache = new SourceCache(countingStore(), join(cacheDir, 'c'));
    const path = await cache.withLocalCopy(source, async (p) => p);
    await cache.evict(source);
    expect(existsSync(path)).toBe(false);
    await expect(cache.withLocalCopy({ ...source, name: `${source.name}.missing` }, async () => undefined)).rejects.toThrow(/no longer exists/);
    expect(cache.cachedBytes).toBe(0);
  });

  it('fetches a copy again when it vanished, before a read or during one', async () => {
    const source = await harness.upload(writeRgbUint8(fixtures.path, 120, 80, 'vanish.tif'));
    const store = countingStore();
    const cache = new SourceCache(store, join(cacheDir, 'd'));
    const path = await cache.withLocalCopy(source, async (p) => p);
    // Removed between two reads (by hand, a temp cleaner): the next read downloads it again.
    await rm(path);
    expect(await cache.withLocalCopy(source, async (p) => statSync(p).size)).toBe(source.size);
    expect(store.downloads).toBe(2);
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
    expect({ reads, size, downloads: store.downloads }).toEqual({ reads: 2, size: source.size, downloads: 3 });
  });

  it("keeps a copy one job evicts while another job that read it has not: several jobs on one source", async () => {
    const source = await harness.upload(writeRgbUint8(fixtures.path, 100, 60, 'two-jobs.tif'));
    const store = countingStore();
    const cache = new SourceCache(store, join(cacheDir, 'e'));
    const path = await cache.withLocalCopy(source, async (p) => p, 'collection-a/src/v1');
    await cache.withLocalCopy(source, async () => undefined, 'collection-b/src/v2');
    await cache.evict(source, 'collection-a/src/v1');
    expect(existsSync(path)).toBe(true);
    // Validation refusing the source (no job named) leaves it to the job still holding it.
    await cache.evict(source);
    expect(existsSync(path)).toBe(true);
    await cache.withLocalCopy(source, async () => undefined, 'collection-b/src/v2');
    expect(store.downloads).toBe(1);
    await cache.evict(source, 'collection-b/src/v2');
    expect(existsSync(path)).toBe(false);
  });
});
