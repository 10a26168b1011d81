import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlobServiceClient } from '@azure/storage-blob';
import gdal from 'gdal-async';
import { SourceCache } from '../../src/activities/source.cache.js';
import { openUntrustedSource } from '../../src/raster/source.open.js';
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

  describe('reads in place, pinned to the ETag the job was submitted with (If-Match on every request)', () => {
    const pixelsOf = async (path: string): Promise<number[]> => {
      const dataset = await openUntrustedSource(path, 'the source');
      try {
        return [...dataset.bands.get(1).pixels.read(0, 0, 4, 1)];
      } finally {
        dataset.close();
      }
    };

    it('reads the version it was given, nothing lands in the copies folder, and no path or signature shows in the path it hands out beyond the call', async () => {
      const local = writeRgbUint8(fixtures.path, 64, 32, 'pinned.tif');
      const source = await harness.upload(local);
      const store = countingStore();
      const cache = new SourceCache(store, join(cacheDir, 'pinned'));
      const expected = [...gdal.open(local).bands.get(1).pixels.read(0, 0, 4, 1)];
      const seen = await cache.withGdalPath(source, 'in-place', async (path) => {
        expect(path).toMatch(/^\/vsicurl\?header_file=/);
        return pixelsOf(path);
      });
      expect(seen).toEqual(expected);
      expect(store.downloads).toBe(0);
      expect(existsSync(join(cacheDir, 'pinned'))).toBe(false);
    });

    // Hostile: the uploader swaps the blob while a tile reads it, to have bytes read that
    // validation never saw (a VRT over a local file, another raster, or nothing at all).
    const swaps: Array<{ name: string; swap: (ref: BlobRef) => Promise<void>; code: RegExp }> = [
      { name: 'a VRT over /etc/passwd', swap: (ref) => uploadText(ref, '<VRTDataset rasterXSize="8" rasterYSize="1"><VRTRasterBand dataType="Byte" band="1" subClass="VRTRawRasterBand"><SourceFilename relativetoVRT="0">/etc/passwd</SourceFilename></VRTRasterBand></VRTDataset>'), code: /replaced after this job was submitted/ },
      { name: 'another GeoTIFF of another size', swap: async (ref) => void (await harness.store.uploadFile(ref, writeRgbUint8(fixtures.path, 80, 40, 'other.tif'), 'image/tiff')), code: /replaced after this job was submitted/ },
      { name: 'nothing (deleted)', swap: (ref) => harness.store.delete(ref), code: /no longer exists/ },
    ];
    for (const { name, swap, code } of swaps) {
      it(`refuses a source swapped for ${name} between the version check and the read: storage answers 412, nothing new is read`, async () => {
        const source = await harness.upload(writeRgbUint8(fixtures.path, 64, 32, 'swapped.tif'), `swapped-${name.replace(/\W+/g, '-')}.tif`);
        const cache = new SourceCache(countingStore(), join(cacheDir, 'swapped'));
        let readError: unknown;
        await expect(
          cache.withGdalPath(source, 'in-place', async (path) => {
            await swap({ container: source.container, name: source.name });
            try {
              return await pixelsOf(path);
            } catch (error) {
              readError = error;
              throw error;
            }
          }),
        ).rejects.toThrow(code);
        // The read itself was refused (the pin), not merely found out afterwards.
        expect(String(readError)).toMatch(/replaced after this job was submitted|412|HTTP/);
      });
    }
  });
});

async function uploadText(ref: BlobRef, text: string): Promise<void> {
  await harness.store.uploadBytes(ref, Buffer.from(text), 'application/xml');
}
