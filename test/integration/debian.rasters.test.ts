/**
 * Real rasters from Debian packages through validate → COG → item: real-world quirks (striped
 * layouts, odd block sizes, no EPSG code, palettes, rotation, nodata outside the type's range).
 */
import { describe, expect, it } from 'vitest';
import gdal from 'gdal-async';
import { createCreateTileCog } from '../../src/activities/tile.cog.create.js';
import { createRegisterTileItem } from '../../src/activities/tile.item.register.js';
import { createValidateRaster } from '../../src/activities/validate.raster.js';
import { ingestOptionsSchema } from '../../src/pipeline/options.js';
import { planTiles } from '../../src/raster/tile.plan.js';
import { itemBlob } from '../../src/stac/catalog.layout.js';
import type { StacItem } from '../../src/stac/stac.types.js';
import { validateCog } from '../support/cog.validator.js';
import { fetchDebianRasters, type DebianRaster } from '../support/debian.rasters.js';
import { StacValidator } from '../support/stac.validator.js';
import { downloadBlob, samePixels, useActivityHarness } from './activity.harness.js';

const fetched = await fetchDebianRasters();
// Outside CI an offline machine skips with the reason; in CI (which reaches Debian's mirror) a missing package fails the tests.
const unavailable = 'unavailable' in fetched && process.env['CI'] !== 'true' ? fetched.unavailable : undefined;
if (unavailable) console.warn(`Debian raster tests skipped: ${unavailable}. The generated fixtures still cover every raster kind.`);
const validator = new StacValidator();

const env = useActivityHarness();

function pathOf(name: DebianRaster): string {
  if ('unavailable' in fetched) throw new Error(fetched.unavailable);
  return fetched.paths[name];
}

/** Tile size 128 so even these small rasters become several tiles. */
async function ingest(name: DebianRaster, tileSize = 128, blobName = `${name}.tif`): Promise<StacItem[]> {
  const path = pathOf(name);
  const source = await env.harness.upload(path, blobName);
  const info = await createValidateRaster(env.harness.deps)({ source });
  const collection = `debian-${env.harness.runId}`;
  const { outputs, order } = env.harness.job(source, collection);
  const original = gdal.open(path);
  const items: StacItem[] = [];
  for (const window of planTiles(info.width, info.height, tileSize)) {
    const itemId = `${name}-r${window.row}-c${window.col}`;
    const tile = await createCreateTileCog(env.harness.deps)({ source, outputs, itemId, window, options: ingestOptionsSchema.parse({ blockSize: 128 }) });
    const cogPath = await downloadBlob(env.harness.store, tile.blob.container, tile.blob.name, env.fixtures.path);
    expect((await validateCog(cogPath)).errors, `${itemId} COG`).toEqual([]);
    const cog = gdal.open(cogPath);
    for (let b = 1; b <= original.bands.count(); b++) {
      const expected = original.bands.get(b).pixels.read(window.x, window.y, window.width, window.height);
      const actual = cog.bands.get(b).pixels.read(0, 0, window.width, window.height);
      expect(samePixels(expected, actual), `${itemId} band ${b}`).toBe(true);
    }
    await createRegisterTileItem(env.harness.deps)({ outputs, source, tile, datetime: '2026-11-25T17:00:00.000Z', order });
    const item = (await env.harness.store.readJson<StacItem>(itemBlob(collection, itemId)))!.value;
    expect((await validator.validate(item)).errors, `${itemId} STAC`).toEqual([]);
    items.push(item);
  }
  return items;
}

// Without apt access the packages cannot be fetched: say so as a skipped test, with the reason.
if (unavailable !== undefined) it.skip(`Debian rasters unavailable: ${unavailable}`, () => {});

describe.skipIf(unavailable !== undefined)('rasters from Debian packages (real GDAL, real Azurite)', () => {
  it('elev.tif: int16 DEM in EPSG:4326 with nodata', async () => {
    const [item] = await ingest('elev');
    expect(item!.properties['proj:code']).toBe('EPSG:4326');
    expect(item!.assets['data']!.bands![0]).toMatchObject({ data_type: 'int16', nodata: -32768 });
  });

  it('meuse.tif: projected CRS without an EPSG code', async () => {
    const [item] = await ingest('meuse');
    expect(item!.properties['proj:code']).toBeNull();
    expect(item!.properties['proj:wkt2']).toMatch(/^PROJCRS\[/);
    expect(item!.properties['proj:projjson']).toMatchObject({ type: 'ProjectedCRS' });
  });

  it('L7_ETMs.tif: six-band striped Landsat excerpt in UTM 25S', async () => {
    const items = await ingest('landsat');
    expect(items.length).toBeGreaterThan(1);
    expect(items[0]!.assets['data']!.bands).toHaveLength(6);
    expect(items[0]!.bbox[0]).toBeLessThan(-34);
    expect(items[0]!.bbox[1]).toBeLessThan(-7);
  });

  it('lc.tif: paletted land cover keeps its colour table', async () => {
    const items = await ingest('landcover');
    expect(items[0]!.assets['data']!.bands![0]!.description).toMatch(/palette/);
  });

  it('geomatrix.tif and olinda_dem_utm25s.tif ingest', async () => {
    expect((await ingest('geomatrix')).length).toBeGreaterThan(0);
    expect((await ingest('olinda')).length).toBeGreaterThan(0);
  });

  it('lcc_km.nc: netCDF-4 (deflated chunks, Lambert conformal conic grid_mapping) ingests with the same pixels', async () => {
    // The blob name says .tif: the format is decided from the bytes, never from the name.
    const items = await ingest('lccKm', 256);
    expect(items.length).toBeGreaterThan(1);
    expect(items[0]!.properties['proj:wkt2']).toMatch(/Lambert Conic Conformal/i);
    expect(items[0]!.assets['data']!.bands![0]).toMatchObject({ data_type: 'float32' });
    expect(items[0]!.properties['raster-ingest:notes'] ?? []).not.toContainEqual(expect.stringMatching(/assumed/));
  });

  it('egm96_15.gtx: a GTX geoid grid (no signature; GDAL needs its extension) ingests with the same pixels', async () => {
    const items = await ingest('egm96', 1024, 'geoid/egm96.grid');
    expect(items).toHaveLength(2);
    expect(items[0]!.properties['proj:code']).toBe('EPSG:4326');
    expect(items[0]!.assets['data']!.bands![0]).toMatchObject({ data_type: 'float32' });
  });

  it('logo.tif: a local engineering CRS, so rejected with what to do', async () => {
    const source = await env.harness.upload(pathOf('logo'), 'logo.tif');
    await expect(createValidateRaster(env.harness.deps)({ source })).rejects.toMatchObject({
      failure: { code: 'INVALID_INPUT', message: expect.stringMatching(/local engineering CRS.*cannot be placed on the Earth.*gdal_edit/) },
    });
  });
});
