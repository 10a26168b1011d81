/**
 * The collection mosaic (issue 11, section 3; section 7: "the mosaic VRT's pixels equal the
 * sources'"; issue 22: incremental): a few small sources ingested through the real activities,
 * the collection finalized, then the mosaic activity run; the VRT (a VRT of cell VRTs) is read back
 * with its cells and tiles mirrored locally (its paths are relative) and compared pixel for pixel
 * with the sources, and with a full rebuild; the work one added source causes is counted in
 * storage calls and does not grow with the collection.
 */
import { join } from 'node:path';
import gdal from 'gdal-async';
import { describe, expect, it, vi } from 'vitest';
import { createFinalizeCollection } from '../../src/activities/collection.finalize.js';
import { createBuildCollectionMosaic, overviewMaxSide } from '../../src/activities/collection.mosaic.js';
import { cellPixels } from '../../src/raster/mosaic.cells.js';
import { createCreateTileCog } from '../../src/activities/tile.cog.create.js';
import { createRegisterTileItem } from '../../src/activities/tile.item.register.js';
import { createValidateRaster } from '../../src/activities/validate.raster.js';
import { containers } from '../../src/config.js';
import type { SourcePublication } from '../../src/pipeline/contracts.js';
import { deriveItemId } from '../../src/pipeline/ids.js';
import { ingestOptionsSchema } from '../../src/pipeline/options.js';
import { planTiles } from '../../src/raster/tile.plan.js';
import { collectionBlob, collectionMosaicBlob, collectionOverviewBlob } from '../../src/stac/catalog.layout.js';
import type { StacCollection } from '../../src/stac/stac.types.js';
import { writeFloat32NanDem, writeRgbUint8 } from '../support/fixtures.js';
import { StacValidator } from '../support/stac.validator.js';
import { expectSamePixels, mirrorMosaic, samePixels, useActivityHarness } from './activity.harness.js';

const env = useActivityHarness('collection-mosaic-');
const validator = new StacValidator();
const datetime = '2026-11-25T17:00:00.000Z';
const options = ingestOptionsSchema.parse({ blockSize: 128 });

/** validate → tiles → items through the real activities, then finalize: one published source. */
async function ingest(localPath: string, collection: string, tileSize: number, blobName?: string): Promise<SourcePublication> {
  const source = await env.harness.upload(localPath, blobName);
  const info = await createValidateRaster(env.harness.deps)({ source });
  const { outputs, order } = env.harness.job(source, collection, { options, tileSize });
  const items = await Promise.all(
    planTiles(info.width, info.height, tileSize).map(async (window) => {
      const tile = await createCreateTileCog(env.harness.deps)({ source, outputs, itemId: deriveItemId(outputs.sourceKey, window), window, options });
      return createRegisterTileItem(env.harness.deps)({ outputs, source, tile, datetime, order });
    }),
  );
  const publication = { outputs, source, items, order, options };
  await createFinalizeCollection(env.harness.deps)({ collection, publications: [publication], datetime });
  return publication;
}

/** Mirrors a group's mosaic locally (see mirrorMosaic); stored mosaics name their cells and tiles relatively: never a signed URL, never a local path. */
async function mirrorCheckedMosaic(collection: string, group: string, into: string): Promise<string> {
  const { path, xml } = await mirrorMosaic(env.harness.store, collection, group, into);
  expect(xml).not.toMatch(/vsicurl|sig=|relativeToVRT="0"|\/tmp\//);
  return path;
}

/** The mosaic holds each source's pixels at the source's place on its grid. */
function expectSourceInMosaic(mosaic: gdal.Dataset, sourcePath: string): void {
  const source = gdal.open(sourcePath);
  try {
    const [mx, mpx, , my, , mpy] = mosaic.geoTransform!;
    const [sx, , , sy] = source.geoTransform!;
    const xOff = Math.round((sx - mx) / mpx);
    const yOff = Math.round((sy - my) / mpy);
    const { x, y } = source.rasterSize;
    for (let b = 1; b <= source.bands.count(); b++) {
      expect(samePixels(mosaic.bands.get(b).pixels.read(xOff, yOff, x, y), source.bands.get(b).pixels.read(0, 0, x, y)), `band ${b} of ${sourcePath}`).toBe(true);
    }
  } finally {
    source.close();
  }
}

describe('the collection mosaic (real GDAL, real Azurite)', () => {
  it('mosaics every tile of every source per CRS and band types, pixel for pixel, with an overview, and rebuilds when sources are added', async () => {
    const collection = `mosaic-${env.harness.runId}`;
    const build = createBuildCollectionMosaic(env.harness.deps);
    // Two RGB sources side by side on one UTM grid (3 km apart: 300 px of 10 m), in tiles of 128 px.
    const west = writeRgbUint8(env.fixtures.path, 300, 200, 'west.tif', { originX: 500000 });
    const east = writeRgbUint8(env.fixtures.path, 250, 200, 'east.tif', { originX: 503000 });
    await ingest(west, collection, 128);
    await ingest(east, collection, 128);

    const first = await build({ collection });
    expect(first.skipped).toEqual([]);
    expect(first.mosaics).toEqual([{ group: 'epsg-32633-3xbyte', url: env.harness.store.url(collectionMosaicBlob(collection, 'epsg-32633-3xbyte')), sources: 2, tiles: 6 + 4 }]);
    const local = join(env.fixtures.path, `${collection}-1`);
    const mosaicPath = await mirrorCheckedMosaic(collection, 'epsg-32633-3xbyte', local);
    const mosaic = gdal.open(mosaicPath);
    expect([mosaic.rasterSize.x, mosaic.rasterSize.y]).toEqual([550, 200]);
    expect(mosaic.geoTransform).toEqual([500000, 10, 0, 6000000, 0, -10]);
    // Virtual overviews (OverviewList), so zoomed-out reads take the tiles' own overviews.
    expect(mosaic.bands.get(1).overviews.count()).toBe(1);
    expectSourceInMosaic(mosaic, west);
    expectSourceInMosaic(mosaic, east);
    mosaic.close();

    // The overview: a COG in EPSG:4326, no larger than the limit, covering both sources.
    expect(first.overview).toMatchObject({ url: env.harness.store.url(collectionOverviewBlob(collection)), groups: ['epsg-32633-3xbyte'] });
    expect(Math.max(first.overview!.width, first.overview!.height)).toBeLessThanOrEqual(overviewMaxSide);
    const overviewPath = join(local, 'overview.tif');
    await env.harness.store.downloadToFile(collectionOverviewBlob(collection), overviewPath);
    const overview = gdal.open(overviewPath);
    expect(overview.driver.description).toBe('GTiff');
    expect(overview.getMetadata('IMAGE_STRUCTURE')['LAYOUT']).toBe('COG');
    expect(overview.srs!.getAuthorityCode()).toBe('4326');
    expect(overview.bands.count()).toBe(3);
    const { x: ow, y: oh } = overview.rasterSize;
    expect(overview.bands.get(1).pixels.read(0, 0, ow, oh).some((value) => value > 0)).toBe(true);
    // Its pixels are the mosaic's, warped to the same grid from full resolution: on average within a
    // few grey levels (the overview is warped from the cells' overviews, at most 256 px across each
    // cell, so this speckled fixture's finest detail is smoothed; the warp from full resolution keeps it).
    const gt = overview.geoTransform!;
    const source = gdal.open(mosaicPath);
    const reference = gdal.warp(join(local, 'reference.tif'), null, [source], ['-of', 'GTiff', '-t_srs', 'EPSG:4326', '-te', String(gt[0]), String(gt[3] + oh * gt[5]), String(gt[0] + ow * gt[1]), String(gt[3]), '-ts', String(ow), String(oh), '-r', 'average']);
    for (let band = 1; band <= 3; band++) {
      const expected = reference.bands.get(band).pixels.read(0, 0, ow, oh);
      const actual = overview.bands.get(band).pixels.read(0, 0, ow, oh);
      const differences = Array.from(actual as ArrayLike<number>, (value, index) => Math.abs(value - Number(expected[index])));
      expect(differences.reduce((sum, value) => sum + value, 0) / differences.length, `band ${band}: mean difference`).toBeLessThan(4);
    }
    reference.close();
    source.close();
    overview.close();

    let stored = (await env.harness.store.readJson<StacCollection>(collectionBlob(collection)))!.value;
    expect(stored.assets?.['mosaic']).toMatchObject({ href: first.mosaics[0]!.url, roles: ['data', 'mosaic'] });
    expect(stored.assets?.['overview']).toMatchObject({ href: first.overview!.url, type: 'image/tiff; application=geotiff; profile=cloud-optimized' });
    expect((await validator.validate(stored)).errors).toEqual([]);

    // A later job adds a float32 DEM (another band type: its own mosaic). A third RGB source is
    // published while that run works (as the DEM's mosaic is uploaded): the run leaves its mark
    // alone, and the next run adds it.
    const dem = writeFloat32NanDem(env.fixtures.path, 200, 150, 'dem.tif');
    const south = writeRgbUint8(env.fixtures.path, 100, 100, 'third.tif', { originX: 506000 });
    await ingest(dem, collection, 128);
    const uploadBytes = env.harness.store.uploadBytes.bind(env.harness.store);
    let published = false;
    const uploads = vi.spyOn(env.harness.store, 'uploadBytes').mockImplementation(async (ref, bytes, contentType, condition) => {
      if (!published && ref.name === collectionMosaicBlob(collection, 'epsg-32633-1xfloat32').name) {
        published = true;
        await ingest(south, collection, 4096);
      }
      return uploadBytes(ref, bytes, contentType, condition);
    });
    const second = await build({ collection });
    uploads.mockRestore();
    expect(published).toBe(true);
    expect(second.mosaics.map((m) => [m.group, m.sources])).toEqual([
      ['epsg-32633-3xbyte', 2],
      ['epsg-32633-1xfloat32', 1],
    ]);
    const third = await build({ collection });
    expect(third.mosaics.map((m) => [m.group, m.sources])).toEqual([
      ['epsg-32633-3xbyte', 3],
      ['epsg-32633-1xfloat32', 1],
    ]);
    stored = (await env.harness.store.readJson<StacCollection>(collectionBlob(collection)))!.value;
    expect(Object.keys(stored.assets ?? {}).sort()).toEqual(['mosaic', 'mosaic_epsg-32633-1xfloat32', 'overview']);
    const local2 = join(env.fixtures.path, `${collection}-2`);
    const rebuilt = gdal.open(await mirrorCheckedMosaic(collection, 'epsg-32633-3xbyte', local2));
    expect(rebuilt.rasterSize.x).toBe(700);
    for (const path of [west, east, south]) expectSourceInMosaic(rebuilt, path);
    rebuilt.close();
    const demMosaic = gdal.open(await mirrorCheckedMosaic(collection, 'epsg-32633-1xfloat32', local2));
    expectSourceInMosaic(demMosaic, dem);
    demMosaic.close();
    expect((await validator.validate(stored)).errors).toEqual([]);
  }, 300_000);

  it('moves only the changed sources, with work that does not grow with the collection; a replaced source drops out; pixels equal a full rebuild', async () => {
    const collection = `cells-${env.harness.runId}`;
    const build = createBuildCollectionMosaic(env.harness.deps);
    const cellMetres = cellPixels * 10;
    // 64 px sources of 10 m on one UTM row, each alone in its cell (cells of 2048 px), two cells apart.
    const sourceAt = (cell: number, size: { width?: number; height?: number; offset?: number } = {}, name = `cell-${cell}.tif`): string =>
      writeRgbUint8(env.fixtures.path, size.width ?? 64, size.height ?? 64, name, { originX: 500000 + cell * cellMetres + (size.offset ?? 0) });
    await ingest(sourceAt(0), collection, 128);
    await ingest(sourceAt(16), collection, 128);
    expect((await build({ collection })).mosaics).toMatchObject([{ sources: 2, tiles: 2 }]);

    /** The storage calls one run makes, by kind. */
    const counted = async (): Promise<Record<string, number>> => {
      const kinds = ['readJson', 'readBytes', 'uploadBytes', 'uploadFile', 'downloadToFile', 'readUrl', 'delete', 'list'] as const;
      const spies = kinds.map((kind) => vi.spyOn(env.harness.store, kind));
      try {
        await build({ collection });
        return Object.fromEntries(kinds.map((kind, index) => [kind, spies[index]!.mock.calls.length]));
      } finally {
        for (const spy of spies) spy.mockRestore();
      }
    };
    await ingest(sourceAt(2), collection, 128);
    const addedToThree = await counted();
    for (const cell of [4, 6, 8, 10, 12]) await ingest(sourceAt(cell), collection, 128);
    // A second source in cell 2, east of the first, 40 px wide: the cell's extent reaches further east.
    await ingest(sourceAt(2, { width: 40, offset: 1280 }, 'cell-2-east.tif'), collection, 128);
    expect((await build({ collection })).mosaics).toMatchObject([{ sources: 9 }]);
    await ingest(sourceAt(14), collection, 128);
    const addedToNine = await counted();
    // The same calls for the 3rd source as for the 9th: the run reads one source, writes its cell
    // and repaints its part of the overview, whatever else the collection holds.
    expect(addedToNine).toEqual(addedToThree);
    expect(addedToNine['readUrl']).toBeLessThanOrEqual(4);

    // A new version of the source in cell 2, 16 rows shorter: its old tiles leave the cell, whose
    // extent stays (its other source is as tall), so only that part of its overview is painted again.
    const replacement = sourceAt(2, { height: 48 }, 'cell-2-v2.tif');
    const replaced = await ingest(replacement, collection, 128, 'cell-2.tif');
    const afterReplace = await build({ collection });
    expect(afterReplace.mosaics).toMatchObject([{ sources: 10, tiles: 10 }]);
    const cellVrts = (await env.harness.store.list(containers.cogs, `${collection}/`)).filter((name) => name.includes('.cell.') && name.endsWith('.vrt'));
    expect(cellVrts).toHaveLength(9);
    const vrtOfCell2 = (await Promise.all(cellVrts.map(async (name) => (await env.harness.store.readBytes({ container: containers.cogs, name }))!.toString('utf8')))).find((xml) => xml.includes(replaced.outputs.sourceKey))!;
    expect(vrtOfCell2).toContain(`/${replaced.outputs.version}/`);
    const pathsOfReplaced = [...vrtOfCell2.matchAll(/<SourceFilename[^>]*>([^<]+)</g)].map((match) => match[1]!).filter((path) => path.startsWith(`${replaced.outputs.sourceKey}/`));
    expect(pathsOfReplaced.length).toBeGreaterThan(0);
    expect(pathsOfReplaced.filter((path) => !path.includes(`/${replaced.outputs.version}/`))).toEqual([]);

    const incremental = await mirrorCheckedMosaic(collection, 'epsg-32633-3xbyte', join(env.fixtures.path, `${collection}-incremental`));
    const mosaic = gdal.open(incremental);
    expectSourceInMosaic(mosaic, replacement);
    expectSourceInMosaic(mosaic, join(env.fixtures.path, 'cell-14.tif'));
    mosaic.close();

    const incrementalOverview = join(env.fixtures.path, `${collection}-incremental`, 'overview.tif');
    await env.harness.store.downloadToFile(collectionOverviewBlob(collection), incrementalOverview);

    // A full rebuild: the mosaic's bookkeeping gone, the next run builds from every published source.
    const state = `${collection}/${collection}.mosaic-state/`;
    for (const name of await env.harness.store.list(containers.cogs, state)) await env.harness.store.delete({ container: containers.cogs, name });
    expect((await build({ collection })).mosaics).toMatchObject([{ sources: 10, tiles: 10 }]);
    const rebuilt = await mirrorCheckedMosaic(collection, 'epsg-32633-3xbyte', join(env.fixtures.path, `${collection}-rebuilt`));
    expectSamePixels(incremental, rebuilt);
    // The overview, painted in parts over eight runs, is the one painted whole (the collection kept
    // its extent, so its grid too), up to a few pixels on the edge of the data that the warper,
    // warping a part, counts in or out differently (here 22–28 of the 92,160).
    const rebuiltOverview = join(env.fixtures.path, `${collection}-rebuilt`, 'overview.tif');
    await env.harness.store.downloadToFile(collectionOverviewBlob(collection), rebuiltOverview);
    expectSamePixels(incrementalOverview, rebuiltOverview, 92);
  }, 300_000);
});
