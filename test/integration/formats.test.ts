/**
 * Inputs in GDAL formats other than GeoTIFF, and CRSs in other units, go through validation,
 * COG creation and item registration like GeoTIFFs do.
 */
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import gdal from 'gdal-async';
import { createCreateTileCog } from '../../src/activities/tile.cog.create.js';
import { createRegisterTileItem } from '../../src/activities/tile.item.register.js';
import { createValidateRaster } from '../../src/activities/validate.raster.js';
import { planJobTiles } from '../../src/orchestrations/ingest.orchestrator.js';
import { deriveItemId } from '../../src/pipeline/ids.js';
import { ingestOptionsSchema } from '../../src/pipeline/options.js';
import { planTiles } from '../../src/raster/tile.plan.js';
import { itemBlob } from '../../src/stac/catalog.layout.js';
import type { StacItem } from '../../src/stac/stac.types.js';
import { validateCog } from '../support/cog.validator.js';
import { convertRaster, writeComplexInt16, writeInt16Dem, writeRaster, writeRgbUint8, writeUsFeet } from '../support/fixtures.js';
import { StacValidator } from '../support/stac.validator.js';
import { encodeGtx, writeHdf5Files } from '../support/hostile.hdf5.js';
import { createActivityHarness, downloadBlob, samePixels, useActivityHarness, type ActivityHarness } from './activity.harness.js';

const env = useActivityHarness();
const validator = new StacValidator();

/** Ingests a single-tile raster end to end and returns its item and local COG path. */
async function ingestOne(path: string, harness: ActivityHarness = env.harness): Promise<{ item: StacItem; cogPath: string }> {
  const source = await harness.upload(path);
  const info = await createValidateRaster(harness.deps)({ source });
  const [window] = planTiles(info.width, info.height, 4096);
  const collection = `formats-${harness.runId}`;
  const { outputs, order } = harness.job(source, collection);
  const itemId = source.name.split('/').pop()!.replace(/\./g, '-');
  const tile = await createCreateTileCog(harness.deps)({ source, outputs, itemId, window: window!, options: ingestOptionsSchema.parse({ blockSize: 128 }) });
  await createRegisterTileItem(harness.deps)({ outputs, source, tile, datetime: '2026-11-25T17:00:00.000Z', order });
  const item = (await harness.store.readJson<StacItem>(itemBlob(collection, itemId)))!.value;
  expect((await validator.validate(item)).errors).toEqual([]);
  const cogPath = await downloadBlob(harness.store, tile.blob.container, tile.blob.name, env.fixtures.path);
  expect((await validateCog(cogPath)).errors).toEqual([]);
  return { item, cogPath };
}

/** The same harness with every source read in place (`/vsicurl/` on a signed URL), never copied. */
async function withInPlaceHarness(run: (harness: ActivityHarness) => Promise<void>): Promise<void> {
  const harness = createActivityHarness({ sourceRead: 'in-place' });
  try {
    await run(harness);
    expect(harness.deps.sources.cachedBytes).toBe(0);
  } finally {
    harness.close();
  }
}

function expectSamePixels(aPath: string, bPath: string): void {
  const a = gdal.open(aPath);
  const b = gdal.open(bPath);
  const { x, y } = a.rasterSize;
  for (let band = 1; band <= a.bands.count(); band++) {
    expect(samePixels(a.bands.get(band).pixels.read(0, 0, x, y), b.bands.get(band).pixels.read(0, 0, x, y))).toBe(true);
  }
}

describe('other input formats (real GDAL, real Azurite)', () => {
  it.each([['netCDF', 'dem.nc', []]])('ingests %s (classic)', async (format, name, options) => {
    const tif = writeInt16Dem(env.fixtures.path, 300, 200, `${name}.tif`);
    const converted = convertRaster(tif, format, name, options);
    const { item, cogPath } = await ingestOne(converted);
    expect(item.assets['data']!.bands![0]).toMatchObject({ data_type: 'int16', nodata: -9999 });
    expect(item.properties['proj:code']).toBe('EPSG:4326');
    expectSamePixels(tif, cogPath);
  });

  it.each([
    ['NC4', []],
    ['NC4C', ['-co', 'COMPRESS=DEFLATE', '-co', 'ZLEVEL=6']],
  ])('ingests netCDF-4 (%s, %j) written by GDAL, with the same pixels, from a copy and in place', async (format, extra) => {
    const tif = writeInt16Dem(env.fixtures.path, 300, 200, `dem-${format}.tif`);
    const nc = convertRaster(tif, 'netCDF', `dem-${format}.nc`, ['-co', `FORMAT=${format}`, ...extra]);
    const { item, cogPath } = await ingestOne(nc);
    expect(item.assets['data']!.bands![0]).toMatchObject({ data_type: 'int16', nodata: -9999 });
    expect(item.properties['proj:code']).toBe('EPSG:4326');
    expectSamePixels(tif, cogPath);
    await withInPlaceHarness(async (inPlace) => expectSamePixels(tif, (await ingestOne(nc, inPlace)).cogPath));
  });

  it('ingests an HDF5 file written by h5py (a CF grid on lat/lon dimension scales, deflated chunks) with the same pixels, EPSG:4326 assumed', async () => {
    const path = join(env.fixtures.path, 'grid.h5');
    writeHdf5Files([{ path, chunked: true }], []);
    const { item, cogPath } = await ingestOne(path);
    expect(item.properties['proj:code']).toBe('EPSG:4326');
    expect(item.properties['raster-ingest:notes']).toEqual([expect.stringMatching(/EPSG:4326 assumed/)]);
    expect(item.assets['data']!.bands![0]).toMatchObject({ data_type: 'float32' });
    const cog = gdal.open(cogPath);
    const values = Array.from(cog.bands.get(1).pixels.read(0, 0, 50, 40) as Float32Array);
    expect(values).toEqual(Array.from({ length: 2000 }, (_, i) => i % 97));
  });

  it('ingests an HDF5 file of two datasets written by h5py: each its own COG and item, with the same pixels', async () => {
    const path = join(env.fixtures.path, 'two.h5');
    writeHdf5Files([{ path, chunked: true, second: true }], []);
    const source = await env.harness.upload(path);
    const options = ingestOptionsSchema.parse({ blockSize: 128 });
    const info = await createValidateRaster(env.harness.deps)({ source, options, tileSize: 4096 });
    expect(info.variables?.map((variable) => variable.name).sort()).toEqual(['t', 'z']);
    const collection = `formats-two-${env.harness.runId}`;
    const { outputs, order } = env.harness.job(source, collection, { options, tileSize: 4096 });
    const planned = planJobTiles(info, 4096);
    expect(planned.map(({ window }) => window.slice?.variable).sort()).toEqual(['t', 'z']);
    const expected: Record<string, number[]> = { z: Array.from({ length: 2000 }, (_, i) => i % 97), t: Array.from({ length: 2000 }, (_, i) => i % 89) };
    for (const { window, assumedCrs } of planned) {
      const itemId = deriveItemId(outputs.sourceKey, window);
      const tile = await createCreateTileCog(env.harness.deps)({ source, outputs, itemId, window, options, assumedCrs });
      const cogPath = await downloadBlob(env.harness.store, tile.blob.container, tile.blob.name, env.fixtures.path);
      expect((await validateCog(cogPath)).errors, itemId).toEqual([]);
      const cog = gdal.open(cogPath);
      try {
        expect(cog.bands.count()).toBe(1);
        expect(Array.from(cog.bands.get(1).pixels.read(0, 0, 50, 40) as ArrayLike<number>), itemId).toEqual(expected[window.slice!.variable!]);
      } finally {
        cog.close();
      }
      await createRegisterTileItem(env.harness.deps)({ outputs, source, tile, datetime: '2026-12-06T08:00:00.000Z', order });
      const item = (await env.harness.store.readJson<StacItem>(itemBlob(collection, itemId)))!.value;
      expect((await validator.validate(item)).errors, itemId).toEqual([]);
      expect(item.properties['proj:code']).toBe('EPSG:4326');
    }
  });

  it('reads a plain HDF5 dataset (no dimension scales) with the HDF5 driver, and refuses it for having no georeferencing', async () => {
    const path = join(env.fixtures.path, 'bare.h5');
    writeHdf5Files([{ path, bare: true }], []);
    await expect(createValidateRaster(env.harness.deps)({ source: await env.harness.upload(path) })).rejects.toMatchObject({
      failure: { code: 'INVALID_INPUT', message: expect.stringMatching(/georeferenc|coordinate reference system/i) },
    });
  });

  it('refuses HDF5 that points outside itself (external link, external storage, plugin filter) and a GTX that lies about its grid, saying why', async () => {
    const jobs = [
      { path: join(env.fixtures.path, 'linked.h5'), externalLink: { name: 'x', file: '/etc/passwd', path: '/a' } },
      { path: join(env.fixtures.path, 'stored.h5'), externalStorage: { file: '/etc/passwd', bytes: 2000 } },
      { path: join(env.fixtures.path, 'plugin.h5'), filter: 32015 },
    ];
    writeHdf5Files(jobs, []);
    for (const [job, reason] of [[jobs[0]!, /external link/], [jobs[1]!, /external storage/], [jobs[2]!, /filter 32015 \(a plugin\)/]] as const) {
      const rejection = createValidateRaster(env.harness.deps)({ source: await env.harness.upload(job.path) });
      await expect(rejection).rejects.toMatchObject({ failure: { code: 'INVALID_INPUT', message: expect.stringMatching(reason) } });
      await expect(rejection).rejects.toSatisfy((error: { failure: { message: string } }) => !error.failure.message.includes('/etc/passwd'));
    }
    const lying = join(env.fixtures.path, 'lying.gtx');
    writeFileSync(lying, encodeGtx({ south: 40, west: 10, latStep: 0.25, lonStep: 0.25, rows: 5000, columns: 5000 }, 100));
    await expect(createValidateRaster(env.harness.deps)({ source: await env.harness.upload(lying) })).rejects.toMatchObject({ failure: { code: 'UNSUPPORTED_FORMAT', message: expect.stringMatching(/GTX grid header, they declare 5000×5000 samples/) } });
  });

  it('ingests a GTX grid (no signature, an extension GDAL needs) with the same pixels, from a copy and in place', async () => {
    const path = join(env.fixtures.path, 'geoid.bin');
    writeFileSync(path, encodeGtx({ south: 40, west: 10, latStep: 0.25, lonStep: 0.5, rows: 24, columns: 32 }));
    const reference = join(env.fixtures.path, 'geoid-reference.gtx');
    writeFileSync(reference, readFileSync(path));
    const { item, cogPath } = await ingestOne(path);
    expect(item.properties['proj:code']).toBe('EPSG:4326');
    expect(item.properties['proj:transform']).toEqual([0.5, 0, 9.75, 0, -0.25, 45.875]);
    expectSamePixels(reference, cogPath);
    await withInPlaceHarness(async (inPlace) => expectSamePixels(reference, (await ingestOne(path, inPlace)).cogPath));
  });

  it('ingests a Sentinel-2-like JPEG 2000 (15-bit uint16, tiled, several resolutions, GMLJP2 and GeoJP2 boxes) with the same pixels', async () => {
    // Lossless JP2 of a generated 15-bit raster; debian.rasters.test.ts does the same with the Landsat sample.
    const tif = writeRaster(join(env.fixtures.path, 's2-like.tif'), {
      width: 700,
      height: 600,
      bands: 1,
      dataType: gdal.GDT_UInt16,
      srs: gdal.SpatialReference.fromEPSG(32633),
      geoTransform: [499980, 10, 0, 5900040, 0, -10],
      value: (x, y) => (x * 37 + y * 101) % 32767,
    });
    const jp2 = convertRaster(tif, 'JP2OpenJPEG', 's2-like.jp2', ['-co', 'QUALITY=100', '-co', 'REVERSIBLE=YES', '-co', 'NBITS=15', '-co', 'RESOLUTIONS=4', '-co', 'BLOCKXSIZE=256', '-co', 'BLOCKYSIZE=256', '-co', 'GMLJP2=YES', '-co', 'GeoJP2=YES']);
    const { item, cogPath } = await ingestOne(jp2);
    expect(item.assets['data']!.bands![0]).toMatchObject({ data_type: 'uint16' });
    expect(item.properties['proj:code']).toBe('EPSG:32633');
    expectSamePixels(tif, cogPath);
  });

  it('refuses a JPEG 2000 whose GML box links to another document, and one whose codestream declares far more pixels than it holds', async () => {
    const tif = writeRgbUint8(env.fixtures.path, 300, 200, 'jp2-base.tif');
    const jp2 = readFileSync(convertRaster(tif, 'JP2OpenJPEG', 'jp2-base.jp2', ['-co', 'QUALITY=100', '-co', 'REVERSIBLE=YES']));
    const xml = Buffer.from('<gml:FeatureCollection xmlns:gml="http://www.opengis.net/gml" xmlns:xlink="http://www.w3.org/1999/xlink"><gml:featureMember xlink:href="http://127.0.0.1:9/remote.gml"/></gml:FeatureCollection>');
    const box = Buffer.alloc(8);
    box.writeUInt32BE(8 + xml.length, 0);
    box.write('xml ', 4, 'latin1');
    const linked = join(env.fixtures.path, 'linked.jp2');
    writeFileSync(linked, Buffer.concat([jp2, box, xml]));
    const linkedSource = await env.harness.upload(linked);
    await expect(createValidateRaster(env.harness.deps)({ source: linkedSource })).rejects.toMatchObject({ failure: { code: 'INVALID_INPUT', message: expect.stringMatching(/links to another document/) } });
    const inflated = Buffer.from(jp2);
    const siz = inflated.indexOf(Buffer.from([0xff, 0x4f, 0xff, 0x51]));
    inflated.writeUInt32BE(150_000, siz + 8);
    inflated.writeUInt32BE(150_000, siz + 12);
    const bomb = join(env.fixtures.path, 'inflated.jp2');
    writeFileSync(bomb, inflated);
    const bombSource = await env.harness.upload(bomb);
    await expect(createValidateRaster(env.harness.deps)({ source: bombSource })).rejects.toMatchObject({ failure: { code: 'INPUT_LIMIT', message: expect.stringMatching(/150000×150000.*bytes per stored byte/) } });
  });

  it('assumes EPSG:4326 for a netCDF grid on CF longitude/latitude without a grid_mapping (0–360°), says so in the item, and keeps the grid', async () => {
    const path = cfLonLatNetcdf(join(env.fixtures.path, 'cf-lonlat.nc'));
    const { item, cogPath } = await ingestOne(path);
    expect(item.properties['proj:code']).toBe('EPSG:4326');
    expect(item.properties['raster-ingest:notes']).toEqual([expect.stringMatching(/EPSG:4326 assumed.*CF longitude and latitude/)]);
    // The COG keeps the source's 0–360° grid; the footprint is split at the antimeridian.
    expect(item.properties['proj:transform']).toEqual([2, 0, -1, 0, -2, 90]);
    expect(item.geometry.type).toBe('MultiPolygon');
    expect(item.bbox).toEqual([-180, -90, 180, 90]);
    expectSamePixels(path, cogPath);
  });

  it("tiles take the CRS validation assumed (RasterInfo.crsAssumed), not their own process's setting or a new look at the header", async () => {
    const path = cfLonLatNetcdf(join(env.fixtures.path, 'cf-lonlat-passed.nc'));
    const source = await env.harness.upload(path);
    const info = await createValidateRaster(env.harness.deps)({ source });
    expect(info.crsAssumed).toBe('EPSG:4326');
    const collection = `formats-${env.harness.runId}`;
    const { outputs } = env.harness.job(source, collection);
    const [window] = planTiles(info.width, info.height, 4096);
    const options = ingestOptionsSchema.parse({ blockSize: 128 });
    // A tile process with the assumption switched off still follows validation's decision…
    const strict = { ...env.harness.deps, settings: { ...env.harness.deps.settings, assumeCfLonLat: false } };
    const tile = await createCreateTileCog(strict)({ source, outputs, itemId: 'passed-crs', window: window!, options, assumedCrs: info.crsAssumed ?? null });
    expect(tile.crs?.code).toBe('EPSG:4326');
    expect(tile.notes).toEqual([expect.stringMatching(/EPSG:4326 assumed/)]);
    // …and one told that none was assumed assumes none, whatever the header says.
    await expect(createCreateTileCog(env.harness.deps)({ source, outputs, itemId: 'no-crs', window: window!, options, assumedCrs: null })).rejects.toThrow();
  });

  it('refuses the same grid as having no CRS when INGEST_ASSUME_CF_LONLAT is off, and a grid that names a grid_mapping is never assumed', async () => {
    const path = cfLonLatNetcdf(join(env.fixtures.path, 'cf-lonlat-off.nc'));
    const source = await env.harness.upload(path);
    const strict = { ...env.harness.deps, settings: { ...env.harness.deps.settings, assumeCfLonLat: false } };
    await expect(createValidateRaster(strict)({ source })).rejects.toMatchObject({ failure: { code: 'INVALID_INPUT', message: expect.stringMatching(/no coordinate reference system/) } });
    const mapped = await env.harness.upload(cfLonLatNetcdf(join(env.fixtures.path, 'cf-mapped.nc'), 'v:grid_mapping = "nowhere" ;'));
    await expect(createValidateRaster(env.harness.deps)({ source: mapped })).rejects.toMatchObject({ failure: { code: 'INVALID_INPUT' } });
  });

  it('ingests an Erdas Imagine (.img) file with the same pixels, and refuses one whose pixels live in a spill file or whose datum names a grid by path', async () => {
    const tif = writeInt16Dem(env.fixtures.path, 300, 200, 'hfa-base.tif');
    const { item, cogPath } = await ingestOne(convertRaster(tif, 'HFA', 'dem.img'));
    expect(item.assets['data']!.bands![0]).toMatchObject({ data_type: 'int16' });
    expectSamePixels(tif, cogPath);
    const spilled = await env.harness.upload(convertRaster(tif, 'HFA', 'spilled.img', ['-co', 'USE_SPILL=YES']));
    await expect(createValidateRaster(env.harness.deps)({ source: spilled })).rejects.toMatchObject({ failure: { code: 'UNSUPPORTED_FORMAT', message: expect.stringMatching(/Erdas Imagine.*spill or dependent file.*GeoTIFF/) } });
    // GDAL writes the datum grid into the .img (and complains that it cannot find it while writing: that is this test's process, not the service).
    const gridded = await env.harness.upload(convertRaster(tif, 'HFA', 'gridded.img', ['-a_srs', `+proj=longlat +ellps=GRS80 +nadgrids=${join(env.fixtures.path, 'absent.gsb')} +no_defs`]));
    await expect(createValidateRaster(env.harness.deps)({ source: gridded })).rejects.toMatchObject({ failure: { code: 'INVALID_INPUT', message: expect.stringMatching(/names a path or URL through (PROJ4_GRIDS|\+nadgrids)/) } });
  });

  it('ingests a CRS in US survey feet and places it in New York', async () => {
    const { item } = await ingestOne(writeUsFeet(env.fixtures.path));
    expect(item.properties['proj:code']).toBe('EPSG:2263');
    expect(item.properties['proj:transform']).toEqual([20, 0, 980000, 0, -20, 200000]);
    const [w, s, e, n] = item.bbox;
    expect(w).toBeGreaterThan(-74.1);
    expect(e).toBeLessThan(-73.9);
    expect(s).toBeGreaterThan(40.6);
    expect(n).toBeLessThan(40.8);
  });

  it('ingests complex samples (cint16) without a predictor or a thumbnail', async () => {
    const path = writeComplexInt16(env.fixtures.path);
    const { item, cogPath } = await ingestOne(path);
    expect(item.assets['data']!.bands![0]).toMatchObject({ data_type: 'cint16' });
    expect(item.assets['thumbnail']).toBeUndefined();
    // gdal-async cannot read complex pixels into arrays; GDAL's checksum covers both parts.
    expect(gdal.checksumImage(gdal.open(cogPath).bands.get(1))).toBe(gdal.checksumImage(gdal.open(path).bands.get(1)));
  });

  it('refuses a VRT even when the file it points at exists on this machine', async () => {
    const tif = writeRgbUint8(env.fixtures.path, 300, 200, 'vrt-base.tif');
    const vrt = convertRaster(tif, 'VRT', 'mosaic.vrt');
    const source = await env.harness.upload(vrt);
    await expect(createValidateRaster(env.harness.deps)({ source })).rejects.toMatchObject({
      failure: { code: 'UNSUPPORTED_FORMAT', message: expect.stringMatching(/^VRT files cannot be ingested.*upload the raster itself/) },
    });
  });

  it.each([
    ['AAIGrid', 'grid.asc', /ASCII grids \(AAIGrid\)/],
    ['PNG', 'image.png', /PNG images/],
    ['GPKG', 'tiles.gpkg', /SQLite containers/],
  ])('refuses %s, naming the format and what to upload instead', async (format, name, reason) => {
    const tif = writeInt16Dem(env.fixtures.path, 100, 80, `${name}.tif`);
    const converted = convertRaster(tif, format, name, format === 'PNG' || format === 'GPKG' ? ['-ot', 'Byte'] : []);
    const rejection = createValidateRaster(env.harness.deps)({ source: await env.harness.upload(converted) });
    await expect(rejection).rejects.toMatchObject({ failure: { code: 'UNSUPPORTED_FORMAT', message: expect.stringMatching(reason) } });
    await expect(rejection).rejects.toMatchObject({ failure: { message: expect.stringMatching(/GeoTIFF/) } });
  });

  it('takes a netCDF file of several variables as a source of variables, each its own items (no longer refused)', async () => {
    const tif = writeRgbUint8(env.fixtures.path, 120, 80, 'three-vars.tif');
    const nc = convertRaster(tif, 'netCDF', 'three-vars.nc');
    const source = await env.harness.upload(nc);
    const info = await createValidateRaster(env.harness.deps)({ source });
    expect(info.variables?.map(({ name, key, subdataset, steps, stepLabel, width, height }) => ({ name, key, subdataset, steps, stepLabel, width, height }))).toEqual(
      ['Band1', 'Band2', 'Band3'].map((name) => ({ name, key: name.toLowerCase(), subdataset: true, steps: 1, stepLabel: null, width: 120, height: 80 })),
    );
    const picked = await createValidateRaster(env.harness.deps)({ source, options: ingestOptionsSchema.parse({ variable: 'Band2' }) });
    expect(picked.variables?.map((variable) => variable.name)).toEqual(['Band2']);
    const rejection = createValidateRaster(env.harness.deps)({ source, options: ingestOptionsSchema.parse({ variable: 'Band4' }) });
    await expect(rejection).rejects.toMatchObject({ failure: { code: 'INVALID_INPUT', message: expect.stringMatching(/no variable "Band4"; its variables are "Band1", "Band2", "Band3"/) } });
    await expect(rejection).rejects.toSatisfy((error: { failure: { message: string } }) => !error.failure.message.includes(env.harness.deps.scratchDir));
  });

  it('refuses the variable option on a source that is not netCDF', async () => {
    const tif = writeRgbUint8(env.fixtures.path, 60, 40, 'not-nc.tif');
    const rejection = createValidateRaster(env.harness.deps)({ source: await env.harness.upload(tif), options: ingestOptionsSchema.parse({ variable: 'tas' }) });
    await expect(rejection).rejects.toMatchObject({ failure: { code: 'INVALID_INPUT', message: expect.stringMatching(/variable option is for netCDF sources.*without a variable/) } });
  });
});

/** A netCDF classic grid of 180 × 90 two-degree cells on CF longitude 0–358° and latitude, with no grid_mapping (as ferret's etopo5.cdf is). */
function cfLonLatNetcdf(path: string, extra = ''): string {
  const lon = Array.from({ length: 180 }, (_, i) => i * 2);
  const lat = Array.from({ length: 90 }, (_, i) => 89 - i * 2);
  const values = Array.from({ length: 180 * 90 }, (_, i) => (i * 37) % 1000);
  const cdl = `netcdf cf {
dimensions:
  lat = 90 ; lon = 180 ;
variables:
  double lat(lat) ; lat:units = "degrees_north" ;
  double lon(lon) ; lon:units = "degrees_east" ;
  short v(lat, lon) ; v:long_name = "relief" ; ${extra}
data:
  lat = ${lat.join(', ')} ;
  lon = ${lon.join(', ')} ;
  v = ${values.join(', ')} ;
}
`;
  writeFileSync(`${path}.cdl`, cdl);
  execFileSync('ncgen', ['-k', 'classic', '-o', path, `${path}.cdl`]);
  return path;
}
