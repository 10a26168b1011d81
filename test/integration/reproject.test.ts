/** The `targetCrs` option: tiles are cut from the source warped to the target CRS. */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import gdal from 'gdal-async';
import { createFinalizeCollection } from '../../src/activities/collection.finalize.js';
import { createCreateTileCog } from '../../src/activities/tile.cog.create.js';
import { createRegisterTileItem } from '../../src/activities/tile.item.register.js';
import { createValidateRaster } from '../../src/activities/validate.raster.js';
import { ingestOptionsSchema, type IngestOptions } from '../../src/pipeline/options.js';
import type { RegisteredItem } from '../../src/pipeline/contracts.js';
import { planTiles } from '../../src/raster/tile.plan.js';
import { buildWarpVrtArgs } from '../../src/raster/warp.command.js';
import { readBandInfo } from '../../src/raster/raster.inspect.js';
import { cogBlob, itemBlob, mosaicBlob } from '../../src/stac/catalog.layout.js';
import type { StacItem } from '../../src/stac/stac.types.js';
import { validateCog } from '../support/cog.validator.js';
import { writeFloat32Nodata, writeRgbUint8 } from '../support/fixtures.js';
import { StacValidator } from '../support/stac.validator.js';
import { downloadBlob, samePixels, useActivityHarness } from './activity.harness.js';

const env = useActivityHarness();
const validator = new StacValidator();

/** The whole source warped independently (gdalwarp to a VRT with the same arguments). */
const openSources: gdal.Dataset[] = [];

function warpWhole(path: string, options: IngestOptions): gdal.Dataset {
  const source = gdal.open(path);
  openSources.push(source); // the warped VRT reads through it: keep it from being collected
  const bands = [];
  for (let i = 1; i <= source.bands.count(); i++) bands.push(readBandInfo(source.bands.get(i)));
  return gdal.warp(join(env.fixtures.path, `whole-${Date.now()}-${Math.random()}.vrt`), null, [source], buildWarpVrtArgs(options.targetCrs!, options, bands));
}

describe('reprojection to a target CRS (real GDAL, real Azurite)', () => {
  it.each([
    ['RGB uint8 from UTM 33N to EPSG:4326', () => writeRgbUint8(env.fixtures.path, 500, 400, 'to-4326.tif'), 'EPSG:4326'],
    ['float32 DEM with nodata from UTM 33N to EPSG:3857', () => writeFloat32Nodata(env.fixtures.path, 450, 380, 'to-3857.tif'), 'EPSG:3857'],
  ])('%s', async (_name, make, targetCrs) => {
    const path = make();
    const options = ingestOptionsSchema.parse({ blockSize: 128, targetCrs });
    const source = await env.harness.upload(path);
    const info = await createValidateRaster(env.harness.deps)({ source, options });
    expect(info.crs?.code).toBe(targetCrs);
    expect(info.driver).toBe('GTiff');
    const whole = warpWhole(path, options);
    expect([info.width, info.height]).toEqual([whole.rasterSize.x, whole.rasterSize.y]);
    expect(info.geoTransform).toEqual(whole.geoTransform);

    const collection = `warp-${env.harness.runId}`;
    const { outputs, order } = env.harness.job(source, collection, { options });
    const items: RegisteredItem[] = [];
    for (const window of planTiles(info.width, info.height, 256)) {
      const itemId = `${targetCrs.replace(':', '')}-r${window.row}-c${window.col}`;
      const tile = await createCreateTileCog(env.harness.deps)({ source, outputs, itemId, window, options });
      expect(tile.crs?.code).toBe(targetCrs);
      const cogPath = await downloadBlob(env.harness.store, tile.blob.container, tile.blob.name, env.fixtures.path);
      expect((await validateCog(cogPath)).errors).toEqual([]);
      const cog = gdal.open(cogPath);
      expect(cog.bands.count()).toBe(whole.bands.count());
      for (let b = 1; b <= whole.bands.count(); b++) {
        const expected = whole.bands.get(b).pixels.read(window.x, window.y, window.width, window.height);
        expect(samePixels(expected, cog.bands.get(b).pixels.read(0, 0, window.width, window.height)), `${itemId} band ${b}`).toBe(true);
      }
      items.push(await createRegisterTileItem(env.harness.deps)({ outputs, source, tile, datetime: '2026-11-25T17:00:00.000Z', order }));
      const item = (await env.harness.store.readJson<StacItem>(itemBlob(collection, itemId)))!.value;
      expect(item.properties['proj:code']).toBe(targetCrs);
      expect((await validator.validate(item)).errors).toEqual([]);
    }

    await createFinalizeCollection(env.harness.deps)({ collection, publications: [{ outputs, source, items, options, order }], datetime: '2026-11-25T17:00:00.000Z' });
    const folder = join(env.fixtures.path, `mosaic-${targetCrs.replace(':', '')}`);
    mkdirSync(folder, { recursive: true });
    const vrtRef = mosaicBlob(outputs);
    await env.harness.store.downloadToFile(vrtRef, join(folder, 'mosaic.vrt'));
    for (const item of items) {
      const ref = cogBlob(outputs, item.itemId);
      await env.harness.store.downloadToFile(ref, join(folder, ref.name.split('/').pop()!));
    }
    const mosaic = gdal.open(join(folder, 'mosaic.vrt'));
    expect(mosaic.geoTransform).toEqual(whole.geoTransform);
    const { x, y } = whole.rasterSize;
    expect(samePixels(mosaic.bands.get(1).pixels.read(0, 0, x, y), whole.bands.get(1).pixels.read(0, 0, x, y))).toBe(true);
  });

  it('rejects a target CRS PROJ does not know', async () => {
    const source = await env.harness.upload(writeRgbUint8(env.fixtures.path, 100, 100, 'bad-target.tif'));
    await expect(createValidateRaster(env.harness.deps)({ source, options: ingestOptionsSchema.parse({ targetCrs: 'EPSG:999999' }) })).rejects.toMatchObject({
      failure: { code: 'INVALID_INPUT', message: expect.stringMatching(/cannot be reprojected to EPSG:999999/) },
    });
  });
});
