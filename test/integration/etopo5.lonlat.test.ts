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
import { createBuildCollectionMosaic, markMosaicChanges, type MosaicIndex } from '../../src/activities/collection.mosaic.js';
import { createCreateTileCog } from '../../src/activities/tile.cog.create.js';
import { createRegisterTileItem } from '../../src/activities/tile.item.register.js';
import { createValidateRaster } from '../../src/activities/validate.raster.js';
import { containers } from '../../src/config.js';
import { planJobTiles } from '../../src/orchestrations/ingest.orchestrator.js';
import type { RegisteredItem } from '../../src/pipeline/contracts.js';
import type { MosaicGroupManifest, SourcePlacement } from '../../src/raster/mosaic.cells.js';
import { deriveItemId } from '../../src/pipeline/ids.js';
import { ingestOptionsSchema } from '../../src/pipeline/options.js';
import { collectionOverviewBlob, itemBlob } from '../../src/stac/catalog.layout.js';
import type { StacItem } from '../../src/stac/stac.types.js';
import { validateCog } from '../support/cog.validator.js';
import { fetchDebianRasters } from '../support/debian.rasters.js';
import { StacValidator } from '../support/stac.validator.js';
import { downloadBlob, samePixels, useActivityHarness } from './activity.harness.js';

const fetched = await fetchDebianRasters();
// Outside CI an offline machine skips with the reason; in CI (which reaches Debian's mirror) a missing package fails the tests.
const unavailable = 'unavailable' in fetched && process.env['CI'] !== 'true' ? fetched.unavailable : undefined;
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
    // Each cell's EPSG:4326 extent is its own (0–360, cut at the poles), never the −180…180 the warper suggests for a cell past a pole.
    const manifest = (await env.harness.store.readJson<MosaicGroupManifest>({ container: containers.cogs, name: `${collection}/${collection}.mosaic-state/groups/${built.mosaics[0]!.group}.json` }))!.value;
    expect(Object.keys(manifest.cells)).toHaveLength(6);
    for (const cell of Object.values(manifest.cells)) expect(cell.lonLat).toEqual([cell.bounds[0], Math.max(-90, cell.bounds[1]), cell.bounds[2], Math.min(90, cell.bounds[3])]);
    expect(built.mosaics).toHaveLength(1);
    expect(built.skipped).toEqual([]);
    const state = (path: string) => ({ container: containers.cogs, name: `${collection}/${collection}.mosaic-state/${path}` });
    expect((await env.harness.store.readJson<MosaicIndex>(state('index.json')))!.value.overview).toMatchObject({ extent: [-180, -90, 180, 90], lonWrap: true });
    await expectWrappedRelief(collection, 'overview.tif');

    // A run with nothing to move leaves the overview alone.
    expect((await createBuildCollectionMosaic(env.harness.deps)({ collection })).overview).toBeUndefined();
    // A later run that moves the source again (its placement made stale, as a newer publication would) paints its cells
    // again where they changed, and the overview whole, wrapped as before: never a −180…180 window of 0–360 cells.
    const placement = (await env.harness.store.readJson<SourcePlacement>(state(`sources/${outputs.sourceKey}.json`)))!.value;
    await env.harness.store.uploadBytes(state(`sources/${outputs.sourceKey}.json`), Buffer.from(JSON.stringify({ ...placement, version: 'older' })), 'application/json');
    await markMosaicChanges(env.harness.store, collection, [{ sourceKey: outputs.sourceKey, version: placement.version }]);
    const again = await createBuildCollectionMosaic(env.harness.deps)({ collection });
    expect(again.overview).toMatchObject({ width: 2048, height: 1024 });
    await expectWrappedRelief(collection, 'overview.again.tif');
  });
});

/** The collection's overview spans −180…180, with relief west of Greenwich taken from the source's 0–360 columns. */
async function expectWrappedRelief(collection: string, name: string): Promise<void> {
  const overviewPath = join(env.fixtures.path, name);
  await env.harness.store.downloadToFile(collectionOverviewBlob(collection), overviewPath);
  const overview = gdal.open(overviewPath);
  try {
    const [west, pixelWidth, , north, , pixelHeight] = overview.geoTransform!;
    const { x: width, y: height } = overview.rasterSize;
    expect(west).toBeCloseTo(-180, 6);
    expect(west + width * pixelWidth).toBeCloseTo(180, 6);
    expect(north + height * pixelHeight).toBeCloseTo(-90, 6);
    // The Andes (70° W, 15° S) are high, the Pacific west of them deep.
    const at = (lon: number, lat: number): number => overview.bands.get(1).pixels.get(Math.floor((lon - west) / pixelWidth), Math.floor((lat - north) / pixelHeight));
    expect(at(-70, -15)).toBeGreaterThan(2000);
    expect(at(-120, -15)).toBeLessThan(-2000);
    // Tibet (88° E, 32° N) is high, east of Greenwich as it was.
    expect(at(88, 32)).toBeGreaterThan(3000);
  } finally {
    overview.close();
  }
}
