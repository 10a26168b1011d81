/**
 * BigTIFF: tiles whose COG could pass 4 GiB must be written as BigTIFF. `BIGTIFF=IF_SAFER` makes
 * GDAL choose BigTIFF when the uncompressed image plus overviews exceeds 2e9 bytes (measured with
 * GDAL 3.6: a 38,000² uint8 COG stays classic, 39,000² becomes BigTIFF), so every COG that could
 * need 64-bit offsets gets them whatever the compression achieves.
 *
 * Writing a COG that really is over 4 GiB (incompressible data) takes ~107 s for the COG driver
 * alone on 2 cores (measured: 65,536² random uint8 with ZSTD level 1 → 5.6 GB), before upload,
 * hashing and download; too slow for the suite. These tests prove the decision instead, on a
 * sparse source just over (and just under) the threshold, through the real activities.
 */
import { openSync, readSync, closeSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import gdal from 'gdal-async';
import { createCreateTileCog } from '../../src/activities/tile.cog.create.js';
import { createValidateRaster } from '../../src/activities/validate.raster.js';
import { ingestOptionsSchema } from '../../src/pipeline/options.js';
import { planTiles } from '../../src/raster/tile.plan.js';
import { validateCog } from '../support/cog.validator.js';
import { writeSparseLarge, type PixelWindow } from '../support/fixtures.js';
import { downloadBlob, readWindow, samePixels, useActivityHarness } from './activity.harness.js';

const env = useActivityHarness('bigtiff-fixtures-');

function firstBytes(path: string, count: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(count);
    readSync(fd, buffer, 0, count, 0);
    return buffer;
  } finally {
    closeSync(fd);
  }
}

/** Patterned windows: the top-left corner, one straddling block edges mid-raster, the bottom-right corner (partial blocks). */
function patternedWindows(size: number): PixelWindow[] {
  return [
    [0, 0, 700, 600],
    [Math.floor(size / 2) - 300, Math.floor(size / 2) - 250, 900, 700],
    [size - 650, size - 610, 650, 610],
  ];
}

describe('tiles that need BigTIFF (real GDAL, real Azurite)', () => {
  it.each([
    { size: 39_000, magic: 'II+\0', format: 'BigTIFF' },
    { size: 38_000, magic: 'II*\0', format: 'classic TIFF' },
  ])('a $size² uint8 tile becomes $format, valid, with the source pixels', async ({ size, magic }) => {
    const windows = patternedWindows(size);
    const path = writeSparseLarge(env.fixtures.path, size, windows);
    const source = await env.harness.upload(path);
    const info = await createValidateRaster(env.harness.deps)({ source });
    // Production defaults (DEFLATE, 512-pixel blocks); one tile covers the whole raster.
    const tiles = planTiles(info.width, info.height, size);
    expect(tiles).toHaveLength(1);
    const tile = await createCreateTileCog(env.harness.deps)({
      source,
      outputs: env.harness.job(source, `bigtiff-${env.harness.runId}`).outputs,
      itemId: `sparse-${size}`,
      window: tiles[0]!,
      options: ingestOptionsSchema.parse({ tileSize: size }),
    });
    expect([tile.width, tile.height]).toEqual([size, size]);
    expect(tile.bands[0]!.statistics?.approximate).toBe(true);

    const cogPath = await downloadBlob(env.harness.store, tile.blob.container, tile.blob.name, env.fixtures.path);
    expect(firstBytes(cogPath, 4).toString('latin1')).toBe(magic);
    const validation = await validateCog(cogPath);
    expect(validation.errors, validation.output).toEqual([]);
    expect(validation.valid).toBe(true);

    const sourceDataset = gdal.open(path);
    const cog = gdal.open(cogPath);
    try {
      expect(cog.bands.get(1).overviews.count()).toBeGreaterThan(0);
      // Spot checks: every patterned window, plus an all-zero stretch between them.
      const checks: PixelWindow[] = [...windows, [size - 2000, 1000, 1500, 500]];
      for (const [x, y, width, height] of checks) {
        const expected = readWindow(sourceDataset, 1, x, y, width, height);
        expect(samePixels(expected, readWindow(cog, 1, x, y, width, height)), `pixels at ${x},${y}`).toBe(true);
      }
      expect(readWindow(cog, 1, 350, 300, 1, 1)[0]).toBeGreaterThan(0);
      expect(readWindow(cog, 1, size - 2000, 1000, 1, 1)[0]).toBe(0);
    } finally {
      cog.close();
      sourceDataset.close();
    }
  });
});
