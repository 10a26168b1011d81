/**
 * A real 0–360° CF longitude/latitude grid without a grid_mapping (issue 20, points 3 and 4):
 * ferret's etopo5.cdf (Debian's ferret-datasets), 4320 × 2161 float32, cell centres from 0° to
 * 359.92° E. Validation assumes EPSG:4326 and says so; every tile is told that decision, keeps the
 * source's grid and pixels, and its footprint is split at the antimeridian where it crosses it; the
 * collection mosaic keeps the grid too, and its EPSG:4326 overview puts the western hemisphere west
 * of Greenwich (−180…180), where maps draw it.
 */
import { join } from 'node:path';
import gdal from 'gdal-async';
import { describe, expect, it } from 'vitest';
import { createFinalizeCollection } from '../../src/activities/collection.finalize.js';
import { createBuildCollectionMosaic } from '../../src/activities/collection.mosaic.js';
import { createCreateTileCog } from '../../src/activities/tile.cog.create.js';
import { createRegisterTileItem } from '../../src/activities/tile.item.register.js';
import { createValidateRaster } from '../../src/activities/validate.raster.js';
import { planJobTiles } from '../../src/orchestrations/ingest.orchestrator.js';
import type { RegisteredItem } from '../../src/pipeline/contracts.js';
import { deriveItemId } from '../../src/pipeline/ids.js';
import { ingestOptionsSchema } from '../../src/pipeline/options.js';
import { collectionOverviewBlob, itemBlob } from '../../src/stac/catalog.layout.js';
import type { StacItem } from '../../src/stac/stac.types.js';
import { validateCog } from '../support/cog.validator.js';
import { fetchDebianRasters } from '../support/debian.rasters.js';
import { StacValidator } from '../support/stac.validator.js';
import { downloadBlob, samePixels, useActivityHarness } from './activity.harness.js';

const fetched = await fetchDebianRasters();
const unavailable = 'unavailable' in fetched ? fetched.unavailable : undefined;
const validator = new StacValidator();
const env = useActivityHarness('etopo5-');
const tileSize = 2048;
const datetime = '2026-12-06T07:30:00.000Z';

if (unavailable !== undefined) it.skip(`Debian rasters unavailable: ${unavailable}`, () => {});

describe.skipIf(unavailable !== undefined)('etopo5.cdf: a real 0–360° CF lon/lat grid (real GDAL, real Azurite)', () => {
  it('is assumed EPSG:4326, keeps its grid and pixels in every tile, and its collection overview places it at −180…180', async () => {
    if ('unavailable' in fetched) throw new Error(fetched.unavailable);
    const path = fetched.paths.etopo5;
    const source = await env.harness.upload(path, 'etopo5.cdf');
    const options = ingestOptionsSchema.parse({});
    const info = await createValidateRaster(env.harness.deps)({ source, options, tileSize });
    expect(info).toMatchObject({ driver: 'netCDF', width: 4320, height: 2161, crsAssumed: 'EPSG:4326' });
    // One 2-D variable: a raster as any other (no per-variable items).
    expect(info.variables).toBeUndefined();
    expect(info.geoTransform[0]).toBeCloseTo(-1 / 24, 6);

    const collection = `etopo5-${env.harness.runId}`;
    const { outputs, order } = env.harness.job(source, collection, { options, tileSize });
    const planned = planJobTiles(info, tileSize);
    expect(planned).toHaveLength(6);
    const original = gdal.open(path);
    const items: RegisteredItem[] = [];
    let crossing: StacItem | undefined;
    // A process whose setting is off still follows validation's decision (the tile is told it).
    const tileDeps = { ...env.harness.deps, settings: { ...env.harness.deps.settings, assumeCfLonLat: false } };
    for (const { window, assumedCrs } of planned) {
      expect(assumedCrs).toBe('EPSG:4326');
      const itemId = deriveItemId(outputs.sourceKey, window);
      const tile = await createCreateTileCog(tileDeps)({ source, outputs, itemId, window, options, assumedCrs });
      const cogPath = await downloadBlob(env.harness.store, tile.blob.container, tile.blob.name, env.fixtures.path);
      expect((await validateCog(cogPath)).errors, itemId).toEqual([]);
      const cog = gdal.open(cogPath);
      expect(samePixels(original.bands.get(1).pixels.read(window.x, window.y, window.width, window.height), cog.bands.get(1).pixels.read(0, 0, window.width, window.height)), itemId).toBe(true);
      // The source's grid, 0–360 as it is.
      expect(cog.geoTransform![0]).toBeCloseTo(info.geoTransform[0] + window.x * info.geoTransform[1], 6);
      cog.close();
      const registered = await createRegisterTileItem(env.harness.deps)({ outputs, source, tile, datetime, order });
      items.push(registered);
      const item = (await env.harness.store.readJson<StacItem>(itemBlob(collection, itemId)))!.value;
      expect((await validator.validate(item)).errors, itemId).toEqual([]);
      expect(item.properties['proj:code']).toBe('EPSG:4326');
      expect(item.properties['raster-ingest:notes']).toContainEqual(expect.stringMatching(/EPSG:4326 assumed/));
      if (window.col === 1 && window.row === 0) crossing = item;
    }
    original.close();
    // The middle column runs from 170.6° to 341.3° E: split at the antimeridian, bbox west > east.
    expect(crossing!.geometry.type).toBe('MultiPolygon');
    expect(crossing!.bbox[0]).toBeGreaterThan(crossing!.bbox[2]);

    await createFinalizeCollection(env.harness.deps)({ collection, publications: [{ outputs, source, items, order, options, assumedCrs: info.crsAssumed ?? null }], datetime });
    const built = await createBuildCollectionMosaic(env.harness.deps)({ collection });
    expect(built.mosaics).toHaveLength(1);
    expect(built.skipped).toEqual([]);
    const overviewPath = join(env.fixtures.path, 'overview.tif');
    await env.harness.store.downloadToFile(collectionOverviewBlob(collection), overviewPath);
    const overview = gdal.open(overviewPath);
    try {
      const [west, pixelWidth, , north, , pixelHeight] = overview.geoTransform!;
      const { x: width, y: height } = overview.rasterSize;
      expect(west).toBeCloseTo(-180, 6);
      expect(west + width * pixelWidth).toBeCloseTo(180, 6);
      // Relief at a place west of Greenwich comes from the source's 0–360 columns: the Andes (70° W, 15° S) are high, the Pacific west of them deep.
      const at = (lon: number, lat: number): number => overview.bands.get(1).pixels.get(Math.floor((lon - west) / pixelWidth), Math.floor((lat - north) / pixelHeight));
      expect(at(-70, -15)).toBeGreaterThan(2000);
      expect(at(-120, -15)).toBeLessThan(-2000);
      // Tibet (88° E, 32° N) is high, east of Greenwich as it was.
      expect(at(88, 32)).toBeGreaterThan(3000);
      expect(height).toBeGreaterThan(0);
    } finally {
      overview.close();
    }
  });
});
