import { describe, expect, it } from 'vitest';
import gdal from 'gdal-async';
import { createCreateTileCog } from '../../src/activities/tile.cog.create.js';
import { createValidateRaster } from '../../src/activities/validate.raster.js';
import type { SourceBlob, TileCog } from '../../src/pipeline/contracts.js';
import { ingestOptionsSchema, type IngestOptions } from '../../src/pipeline/options.js';
import { hashFile } from '../../src/raster/checksum.js';
import { deriveItemId } from '../../src/pipeline/ids.js';
import { planTiles } from '../../src/raster/tile.plan.js';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FailureError } from '../../src/pipeline/failure.js';
import { buildCogTranslateArgs, cogOverviewFactors, tileFitsInMemory } from '../../src/raster/cog.command.js';
import { writeTileCog } from '../../src/raster/cog.create.js';
import { readBandInfo } from '../../src/raster/raster.inspect.js';
import { validateCog } from '../support/cog.validator.js';
import {
  writeAntimeridian,
  writeFloat32NanDem,
  writeFloat32NanUndeclared,
  writeGlobal0To360,
  writeInt16Dem,
  writeNoEpsgProjected,
  writeNorthPolar,
  writePaletted,
  writeRgbUint8,
  writeRotated,
  writeRaster,
  writeUsFeet,
} from '../support/fixtures.js';
import { downloadBlob, readWindow, samePixels, useActivityHarness } from './activity.harness.js';

const env = useActivityHarness();

/** Small blocks so small fixtures still get overviews, as real 4096-pixel tiles do with 512 blocks. */
const testOptions = (overrides: Partial<IngestOptions> = {}): IngestOptions => ingestOptionsSchema.parse({ blockSize: 128, ...overrides });

/** Validates, plans, creates every tile COG; returns the tiles and the local source path. */
async function ingestTiles(localPath: string, tileSize: number, options = testOptions()): Promise<{ source: SourceBlob; tiles: TileCog[] }> {
  const source = await env.harness.upload(localPath);
  const info = await createValidateRaster(env.harness.deps)({ source });
  const createTileCog = createCreateTileCog(env.harness.deps);
  const { outputs } = env.harness.job(source, `it-${env.harness.runId}`, { options, tileSize });
  const tiles = await Promise.all(
    planTiles(info.width, info.height, tileSize).map((window) =>
      createTileCog({ source, outputs, itemId: deriveItemId(outputs.sourceKey, window), window, options }),
    ),
  );
  return { source, tiles };
}

/** Downloads each tile COG, checks it with GDAL's validator, and compares its pixels with the source window. */
async function expectLosslessValidCogs(localPath: string, tiles: TileCog[], expectOverviews: boolean, nodataDeclaredByUs = false): Promise<void> {
  const sourceDataset = gdal.open(localPath);
  for (const tile of tiles) {
    const cogPath = await downloadBlob(env.harness.store, tile.blob.container, tile.blob.name, env.fixtures.path);
    const validation = await validateCog(cogPath);
    expect(validation.errors, validation.output).toEqual([]);
    expect(validation.valid).toBe(true);
    expect(await hashFile(cogPath)).toEqual({ size: tile.size, checksum: tile.checksum });
    const cog = gdal.open(cogPath);
    if (expectOverviews) expect(cog.bands.get(1).overviews.count(), `${tile.itemId} overviews`).toBeGreaterThan(0);
    expect(cog.driver.description).toBe('GTiff');
    expect(cog.getMetadata('IMAGE_STRUCTURE')).toMatchObject({ LAYOUT: 'COG' });
    const { x, y, width, height } = tile.window;
    expect([cog.rasterSize.x, cog.rasterSize.y]).toEqual([width, height]);
    for (let b = 1; b <= sourceDataset.bands.count(); b++) {
      const expected = readWindow(sourceDataset, b, x, y, width, height);
      const actual = readWindow(cog, b, 0, 0, width, height);
      expect(samePixels(expected, actual), `${tile.itemId} band ${b} pixels`).toBe(true);
      if (!nodataDeclaredByUs) expect(cog.bands.get(b).noDataValue).toEqual(sourceDataset.bands.get(b).noDataValue);
    }
    cog.close();
  }
  sourceDataset.close();
}

describe('writeTileCog paths', () => {
  it('never reads a tile over the memory budget into memory: a tile declaring more than the budget goes straight from the source', async () => {
    // An odd width tells the paths apart: the COG driver halves rounding down (301 → 150 → 75),
    // our in-memory overviews round up as GDAL's BuildOverviews does (301 → 151 → 76).
    const local = writeFloat32NanDem(env.fixtures.path, 301, 200, 'budget.tif');
    const window = planTiles(301, 200, 512)[0]!;
    const options = testOptions();
    const bands = [readBandInfo(gdal.open(local).bands.get(1))];
    const overBudget = 301 * 200 * 4; // the pixels fit, their overviews do not
    expect(tileFitsInMemory(window, { bands }, overBudget)).toBe(false);
    expect(tileFitsInMemory(window, { bands }, 2 * overBudget)).toBe(true);
    const firstOverviewWidth = async (name: string, limit: number): Promise<number> => {
      const path = join(env.fixtures.path, name);
      await writeTileCog(local, 'budget.tif', path, window, options, limit);
      const cog = gdal.open(path);
      const width = cog.bands.get(1).overviews.get(0).size.x;
      cog.close();
      return width;
    };
    expect(await firstOverviewWidth('budget-direct.tif', overBudget)).toBe(150);
    expect(await firstOverviewWidth('budget-memory.tif', 2 * overBudget)).toBe(151);
  });


  it('writes the same pixels through memory as straight from the source, with overviews down to one block', async () => {
    // 700×450 float32 with NaN nodata, tiles of 300 with 128-pixel blocks: uneven last tiles.
    const local = writeFloat32NanDem(env.fixtures.path, 700, 450, 'paths.tif');
    const source = gdal.open(local);
    const options = testOptions();
    const bands = [readBandInfo(source.bands.get(1))];
    for (const window of planTiles(700, 450, 300)) {
      const viaMemory = join(env.fixtures.path, `mem-${window.index}.tif`);
      const direct = join(env.fixtures.path, `direct-${window.index}.tif`);
      expect(tileFitsInMemory(window, { bands })).toBe(true);
      await writeTileCog(local, 'paths.tif', viaMemory, window, options);
      (await gdal.translateAsync(direct, source, buildCogTranslateArgs(window, options, { bands }))).close();
      const validation = await validateCog(viaMemory);
      expect(validation.errors, validation.output).toEqual([]);
      const [a, b] = [gdal.open(viaMemory), gdal.open(direct)];
      expect(a.rasterSize).toEqual(b.rasterSize);
      expect(a.geoTransform).toEqual(b.geoTransform);
      // The fixture's unit survives the trip through memory (GDAL 3.6's MEM copy drops it; we restore it).
      expect(a.bands.get(1).unitType).toBe('metre');
      expect(Number.isNaN(a.bands.get(1).noDataValue) === Number.isNaN(b.bands.get(1).noDataValue)).toBe(true);
      expect(samePixels(readWindow(a, 1, 0, 0, window.width, window.height), readWindow(b, 1, 0, 0, window.width, window.height))).toBe(true);
      const overviews = a.bands.get(1).overviews;
      expect(overviews.count()).toBe(cogOverviewFactors(window.width, window.height, options.blockSize).length);
      if (overviews.count() > 0) {
        const smallest = overviews.get(overviews.count() - 1).size;
        expect(Math.max(smallest.x, smallest.y)).toBeLessThanOrEqual(options.blockSize);
      }
      a.close();
      b.close();
    }
    source.close();
  });
});

describe('createTileCog (real GDAL, real Azurite)', () => {
  it('fails a tile whose stored pixels do not decode as INVALID_INPUT (the upload is corrupt), not as an internal error to retry', async () => {
    // A tiled DEFLATE GeoTIFF whose first tile is garbage: validation decodes only the last row of blocks.
    const path = writeRaster(join(env.fixtures.path, 'corrupt-middle.tif'), {
      width: 512,
      height: 512,
      bands: 1,
      dataType: gdal.GDT_Byte,
      srs: gdal.SpatialReference.fromEPSG(32633),
      geoTransform: [500000, 10, 0, 6000000, 0, -10],
      creationOptions: ['TILED=YES', 'COMPRESS=DEFLATE'],
      value: (x, y) => (x * 7 + y * 13) % 251,
    });
    // GDAL writes the four 256² tiles in order after the header: a quarter of the way in lies in the first row of tiles.
    const bytes = readFileSync(path);
    const offset = Math.floor(bytes.length * 0.25);
    bytes.fill(0xa5, offset, offset + 64);
    writeFileSync(path, bytes);
    const error = await ingestTiles(path, 512).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(FailureError);
    expect((error as FailureError).failure).toMatchObject({ code: 'INVALID_INPUT', message: expect.stringMatching(/cannot be decoded.*corrupt — upload it again/) });
    expect((error as FailureError).failure.message).not.toContain(env.fixtures.path);
  });

  it('turns a multi-band uint8 raster into valid lossless COG tiles that mosaic to the source', async () => {
    const path = writeRgbUint8(env.fixtures.path, 1100, 700);
    const { tiles } = await ingestTiles(path, 512);
    expect(tiles).toHaveLength(6);
    await expectLosslessValidCogs(path, tiles, true);
    const first = tiles[0]!;
    // <collection>/<source key>/<version>/<item id>.tif, the item id starting with the source key.
    expect(first.blob.name).toMatch(new RegExp(`^it-${env.harness.runId}/${env.harness.runId}-rgb-[0-9a-f]{12}/v[0-9a-f]{12}/${env.harness.runId}-rgb-[0-9a-f]{12}-r0-c0\\.tif$`));
    expect(first.checksum).toMatch(/^1220[0-9a-f]{64}$/);
    expect(first.geoTransform).toEqual([500000, 10, 0, 6000000, 0, -10]);
    expect(tiles[4]!.geoTransform).toEqual([505120, 10, 0, 5994880, 0, -10]);
    expect(first.nativeBbox).toEqual([500000, 5994880, 505120, 6000000]);
    expect(first.crs?.code).toBe('EPSG:32633');
    expect(first.bands.map((b) => b.colorInterpretation)).toEqual(['Red', 'Green', 'Blue']);
    expect(first.bands[0]!.statistics).toMatchObject({ valid_percent: 100, approximate: false });
    expect(first.thumbnail?.name).toBe(first.blob.name.replace(/\.tif$/, '.png'));
    const png = gdal.open(await downloadBlob(env.harness.store, first.thumbnail!.container, first.thumbnail!.name, env.fixtures.path));
    expect(png.driver.description).toBe('PNG');
    expect([png.rasterSize.x, png.rasterSize.y]).toEqual([256, 256]);
    expect(png.bands.count()).toBe(4);
  });

  it('reads uncompressed striped sources (GDAL direct I/O on local copies) pixel for pixel, uneven last tiles included', async () => {
    expect(gdal.config.get('GTIFF_DIRECT_IO')).toBe('YES');
    const striped = ['COMPRESS=NONE', 'TILED=NO'];
    const cases = [
      writeRaster(join(env.fixtures.path, 'striped-float.tif'), {
        width: 1100, height: 700, bands: 1, dataType: gdal.GDT_Float32, srs: gdal.SpatialReference.fromEPSG(32633), geoTransform: [500000, 10, 0, 6000000, 0, -10],
        creationOptions: striped, value: (x, y) => x * 0.25 - y * 1.5,
      }),
      writeRaster(join(env.fixtures.path, 'striped-pixel-interleaved.tif'), {
        width: 1100, height: 700, bands: 3, dataType: gdal.GDT_Byte, srs: gdal.SpatialReference.fromEPSG(32633), geoTransform: [500000, 10, 0, 6000000, 0, -10],
        creationOptions: [...striped, 'INTERLEAVE=PIXEL'], value: (x, y, b) => (x * b + y) % 251,
      }),
    ];
    for (const [index, path] of cases.entries()) {
      const { tiles } = await ingestTiles(path, 512);
      expect(tiles.map((tile) => tile.window.width)).toEqual([512, 512, 76, 512, 512, 76]);
      // Float without nodata gets NaN declared by us (see needsNanNodata).
      await expectLosslessValidCogs(path, tiles, true, index === 0);
    }
  });

  it('keeps NaN nodata through float32 tiles, and statistics skip it', async () => {
    const path = writeFloat32NanDem(env.fixtures.path, 900, 650);
    const { tiles } = await ingestTiles(path, 512);
    await expectLosslessValidCogs(path, tiles, true);
    const withHole = tiles.find((t) => t.window.x === 0 && t.window.y === 0)!;
    expect(withHole.bands[0]!.nodata).toBe('nan');
    const stats = withHole.bands[0]!.statistics!;
    expect(Number.isFinite(stats.mean)).toBe(true);
    expect(stats.valid_percent).toBeLessThan(100);
    expect(stats.valid_percent).toBeGreaterThan(90);
  });

  it('declares NaN nodata for float data with NaN pixels and none declared, so overviews stay clean', async () => {
    const path = writeFloat32NanUndeclared(env.fixtures.path);
    const { tiles } = await ingestTiles(path, 4096);
    await expectLosslessValidCogs(path, tiles, true, true);
    expect(tiles[0]!.bands[0]!.nodata).toBe('nan');
    const cog = gdal.open(await downloadBlob(env.harness.store, 'cogs', tiles[0]!.blob.name, env.fixtures.path));
    const overview = cog.bands.get(1).overviews.get(0);
    // Rows 0-199 are half NaN: their 2×2 averages must come from the valid half, not be NaN.
    const row = overview.pixels.read(0, 10, overview.size.x, 1);
    expect(Array.from(row).every((v) => Number.isFinite(v))).toBe(true);
  });

  it('keeps int16 nodata and uses ZSTD when asked', async () => {
    const path = writeInt16Dem(env.fixtures.path, 600, 500, 'dem-zstd.tif');
    const { tiles } = await ingestTiles(path, 300, testOptions({ compression: 'ZSTD' }));
    await expectLosslessValidCogs(path, tiles, true);
    const cog = gdal.open(await downloadBlob(env.harness.store, 'cogs', tiles[0]!.blob.name, env.fixtures.path));
    expect(cog.getMetadata('IMAGE_STRUCTURE')).toMatchObject({ COMPRESSION: 'ZSTD' });
    expect(tiles[0]!.bands[0]).toMatchObject({ nodata: -9999, gdalDataType: 'Int16' });
  });

  it('keeps the colour table of a paletted raster', async () => {
    const path = writePaletted(env.fixtures.path);
    const { tiles } = await ingestTiles(path, 4096);
    await expectLosslessValidCogs(path, tiles, true);
    const cog = gdal.open(await downloadBlob(env.harness.store, 'cogs', tiles[0]!.blob.name, env.fixtures.path));
    const table = cog.bands.get(1).colorTable!;
    expect(table.count()).toBeGreaterThanOrEqual(8);
    expect(table.get(3)).toMatchObject({ c1: 111, c2: 17, c3: 159 });
    expect(tiles[0]!.bands[0]!.hasColorTable).toBe(true);
    const png = gdal.open(await downloadBlob(env.harness.store, 'cogs', tiles[0]!.thumbnail!.name, env.fixtures.path));
    expect(png.bands.count()).toBe(4);
  });

  it('keeps a rotated geotransform, and the footprint follows the rotation', async () => {
    const path = writeRotated(env.fixtures.path);
    const { tiles } = await ingestTiles(path, 4096);
    await expectLosslessValidCogs(path, tiles, true);
    expect(tiles[0]!.geoTransform).toEqual(gdal.open(path).geoTransform);
    await expectFootprintMatchesCorners(tiles[0]!);
  });

  it('carries a CRS without an EPSG code as WKT2 and PROJJSON', async () => {
    const path = writeNoEpsgProjected(env.fixtures.path);
    const { tiles } = await ingestTiles(path, 4096);
    await expectLosslessValidCogs(path, tiles, true);
    expect(tiles[0]!.crs).toMatchObject({ code: null, projjson: { type: 'ProjectedCRS', name: 'Custom LCC' } });
    expect(tiles[0]!.crs!.wkt2).toMatch(/^PROJCRS\["Custom LCC"/);
    await expectFootprintMatchesCorners(tiles[0]!);
  });

  it.each([
    ['UTM 33N RGB', () => writeRgbUint8(env.fixtures.path, 600, 500, 'corners-rgb.tif')],
    ['EPSG:4326 DEM', () => writeInt16Dem(env.fixtures.path, 600, 500, 'corners-dem.tif')],
    ['US survey feet', () => writeUsFeet(env.fixtures.path)],
    ['custom LCC', () => writeNoEpsgProjected(env.fixtures.path, 400, 300, 'corners-lcc.tif')],
  ])('WGS84 bbox of every tile agrees with an independent transform of its corners (%s)', async (_name, make) => {
    const path = make();
    const { tiles } = await ingestTiles(path, 256);
    for (const tile of tiles) await expectFootprintMatchesCorners(tile);
  });

  it('overviews of paletted data use nearest resampling: only palette indices appear', async () => {
    const path = writePaletted(env.fixtures.path, 640, 480, 'checker.tif');
    const { tiles } = await ingestTiles(path, 4096);
    const cog = gdal.open(await downloadBlob(env.harness.store, 'cogs', tiles[0]!.blob.name, env.fixtures.path));
    const base = new Set(cog.bands.get(1).pixels.read(0, 0, 640, 480));
    const overview = cog.bands.get(1).overviews.get(0);
    for (const value of overview.pixels.read(0, 0, overview.size.x, overview.size.y)) expect(base.has(value)).toBe(true);
  });

  it('splits footprints at the antimeridian and maps 0–360 grids into ±180', async () => {
    const crossing = await ingestTiles(writeAntimeridian(env.fixtures.path), 4096);
    expect(crossing.tiles[0]!.geometry.type).toBe('MultiPolygon');
    expect(crossing.tiles[0]!.bbox).toEqual([170, -25, -170, -15]);
    const polar = await ingestTiles(writeNorthPolar(env.fixtures.path), 4096);
    expect(polar.tiles[0]!.bbox[0]).toBe(-180);
    expect(polar.tiles[0]!.bbox[2]).toBe(180);
    expect(polar.tiles[0]!.bbox[3]).toBe(90);
    expect(polar.tiles[0]!.bbox[1]).toBeGreaterThan(70);
    const global = await ingestTiles(writeGlobal0To360(env.fixtures.path), 360);
    const [west, east] = global.tiles;
    expect(west!.bbox).toEqual([0, -90, 180, 90]);
    expect(east!.bbox).toEqual([-180, -90, 0, 90]);
  });
});

/**
 * The WGS84 bbox must contain GDAL's own WGS84 corners of the tile (`gdalinfo -json`'s
 * wgs84Extent, computed by GDAL with its axis-order handling, independently of our code) and
 * be close to them (densified edges may bulge slightly past the corners).
 */
async function expectFootprintMatchesCorners(tile: TileCog): Promise<void> {
  const cog = gdal.open(await downloadBlob(env.harness.store, tile.blob.container, tile.blob.name, env.fixtures.path));
  const info = JSON.parse(gdal.info(cog, ['-json'])) as { wgs84Extent: { coordinates: number[][][] } };
  const corners = info.wgs84Extent.coordinates[0]!.map(([x, y]) => ({ x: x!, y: y! }));
  const [w, s, e, n] = tile.bbox;
  for (const corner of corners) {
    expect(corner.x).toBeGreaterThanOrEqual(w - 1e-6);
    expect(corner.x).toBeLessThanOrEqual(e + 1e-6);
    expect(corner.y).toBeGreaterThanOrEqual(s - 1e-6);
    expect(corner.y).toBeLessThanOrEqual(n + 1e-6);
  }
  const tolerance = 1e-3 * Math.max(e - w, n - s);
  expect(Math.abs(Math.min(...corners.map((c) => c.x)) - w)).toBeLessThanOrEqual(tolerance);
  expect(Math.abs(Math.max(...corners.map((c) => c.y)) - n)).toBeLessThanOrEqual(tolerance);
}
