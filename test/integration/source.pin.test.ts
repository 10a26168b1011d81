/**
 * Sources read in place are pinned to the version the job was submitted with (issue 21): every
 * request GDAL and the format sniffer make carries If-Match with its ETag, so a blob swapped
 * mid-read is refused by storage (real Azurite here: the in-memory store has no URL to read).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import gdal from 'gdal-async';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SourceCache } from '../../src/activities/source.cache.js';
import { openUntrustedSource } from '../../src/raster/source.open.js';
import type { BlobRef } from '../../src/storage/blob.store.js';
import { createFixtureDir, writeRgbUint8, type FixtureDir } from '../support/fixtures.js';
import { createActivityHarness, type ActivityHarness } from './activity.harness.js';

let harness: ActivityHarness;
let fixtures: FixtureDir;
let cacheDir: string;
beforeAll(() => {
  harness = createActivityHarness();
  fixtures = createFixtureDir();
  cacheDir = mkdtempSync(join(tmpdir(), 'source-pin-'));
});
afterAll(() => {
  harness.close();
  fixtures.remove();
  rmSync(cacheDir, { recursive: true, force: true });
});

async function pixelsOf(path: string): Promise<number[]> {
  const dataset = await openUntrustedSource(path, 'the source');
  try {
    return [...dataset.bands.get(1).pixels.read(0, 0, 4, 1)];
  } finally {
    dataset.close();
  }
}

describe('reads in place, pinned to the ETag the job was submitted with (If-Match on every request)', () => {
  it('reads the version it was given, and nothing lands in the copies folder', async () => {
    const local = writeRgbUint8(fixtures.path, 64, 32, 'pinned.tif');
    const source = await harness.upload(local);
    const cache = new SourceCache(harness.store, join(cacheDir, 'pinned'));
    const expected = [...gdal.open(local).bands.get(1).pixels.read(0, 0, 4, 1)];
    const seen = await cache.withGdalPath(source, 'in-place', async (path) => {
      expect(path).toMatch(/^\/vsicurl\?header_file=/);
      return pixelsOf(path);
    });
    expect(seen).toEqual(expected);
    expect(cache.downloads).toBe(0);
    expect(existsSync(join(cacheDir, 'pinned'))).toBe(false);
  });

  // Hostile: the uploader swaps the blob while a tile reads it, to have bytes read that
  // validation never saw (a VRT over a local file, another raster, or nothing at all).
  const swaps: Array<{ name: string; swap: (ref: BlobRef) => Promise<void>; code: RegExp }> = [
    {
      name: 'a VRT over /etc/passwd',
      swap: async (ref) =>
        void (await harness.store.uploadBytes(
          ref,
          Buffer.from('<VRTDataset rasterXSize="8" rasterYSize="1"><VRTRasterBand dataType="Byte" band="1" subClass="VRTRawRasterBand"><SourceFilename relativetoVRT="0">/etc/passwd</SourceFilename></VRTRasterBand></VRTDataset>'),
          'application/xml',
        )),
      code: /replaced after this job was submitted/,
    },
    { name: 'another GeoTIFF of another size', swap: async (ref) => void (await harness.store.uploadFile(ref, writeRgbUint8(fixtures.path, 80, 40, 'other.tif'), 'image/tiff')), code: /replaced after this job was submitted/ },
    { name: 'nothing (deleted)', swap: (ref) => harness.store.delete(ref), code: /no longer exists/ },
  ];
  for (const { name, swap, code } of swaps) {
    it(`refuses a source swapped for ${name} between the version check and the read: storage answers 412, nothing new is read`, async () => {
      const source = await harness.upload(writeRgbUint8(fixtures.path, 64, 32, 'swapped.tif'), `swapped-${name.replace(/\W+/g, '-')}.tif`);
      const cache = new SourceCache(harness.store, join(cacheDir, 'swapped'));
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
      expect(String(readError)).toMatch(/replaced after this job was submitted|412/);
    });
  }
});
