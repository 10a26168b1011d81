/**
 * Uploads whose metadata is out of range (issue 18 item 5), made with GDAL's own drivers and
 * ingested through the real activities on Azurite: each is still ingested, its item validates,
 * carries `raster-ingest:notes` saying what was left out, and holds no out-of-range time.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import gdal from 'gdal-async';
import { beforeAll, describe, expect, it } from 'vitest';
import { createFinalizeCollection } from '../../src/activities/collection.finalize.js';
import { createCreateAndRegisterTile } from '../../src/activities/tile.create.register.js';
import { createCreateTileCog } from '../../src/activities/tile.cog.create.js';
import { createRegisterTileItem } from '../../src/activities/tile.item.register.js';
import { createValidateRaster } from '../../src/activities/validate.raster.js';
import type { RegisteredItem } from '../../src/pipeline/contracts.js';
import { deriveItemId } from '../../src/pipeline/ids.js';
import { ingestOptionsSchema } from '../../src/pipeline/options.js';
import { isWritableTimestamp } from '../../src/raster/acquisition.time.js';
import { writeTileCog } from '../../src/raster/cog.create.js';
import { planTiles } from '../../src/raster/tile.plan.js';
import { collectionBlob, itemBlob } from '../../src/stac/catalog.layout.js';
import { datetimeSourceProperty, notesProperty } from '../../src/stac/item.build.js';
import type { StacCollection, StacItem } from '../../src/stac/stac.types.js';
import { validateCog } from '../support/cog.validator.js';
import { StacValidator } from '../support/stac.validator.js';
import { convertRaster, writeRaster } from '../support/fixtures.js';
import { downloadBlob, readWindow, samePixels, useActivityHarness } from './activity.harness.js';

const env = useActivityHarness('metadata-bounds-');
const ingestedAt = '2026-11-25T17:00:00.000Z';
const options = ingestOptionsSchema.parse({ blockSize: 128 });

// Unconditional: the point is that these items stay valid, and the schemas are in the repository (test/support/stac-schemas).
let validator: StacValidator;
beforeAll(() => {
  validator = new StacValidator();
});

async function expectValidStac(document: unknown): Promise<void> {
  expect((await validator.validate(document)).errors).toEqual([]);
}

/** A netCDF classic file (GDAL's netCDF driver) with one time step of `value` `units`. */
function writeNetcdfTimed(dir: string, value: string, units: string, name: string): string {
  const tiff = writeRaster(join(dir, `${name}.tif`), {
    width: 120,
    height: 80,
    bands: 1,
    dataType: gdal.GDT_Float32,
    srs: gdal.SpatialReference.fromEPSG(4326),
    geoTransform: [10, 0.05, 0, 50, 0, -0.05],
    nodata: -9999,
    metadata: {
      NETCDF_DIM_EXTRA: '{time}',
      NETCDF_DIM_time_DEF: '{1,6}',
      NETCDF_DIM_time_VALUES: `{${value}}`,
      'time#units': units,
      'time#standard_name': 'time',
      'time#calendar': 'gregorian',
      'time#axis': 'T',
    },
    value: (x, y) => 280 + x / 10 + y / 20,
  });
  return convertRaster(tiff, 'netCDF', name, ['-co', 'FORMAT=NC']);
}

const escapeXml = (text: string): string => text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');

interface BandValues {
  description?: string;
  unit?: string;
  scale?: string;
  offset?: string;
  nodata?: string;
}

/**
 * A GeoTIFF (GDAL's GTiff driver, through a VRT that sets what gdal-async cannot: band
 * descriptions) of float32 pixels, with dataset metadata and band values as given.
 */
function writeGeoTiffWith(dir: string, name: string, metadata: Record<string, string>, band: BandValues, value: (x: number, y: number) => number, size = { width: 300, height: 200 }): string {
  const base = writeRaster(join(dir, `${name}.base.tif`), {
    ...size,
    bands: 1,
    dataType: gdal.GDT_Float32,
    srs: gdal.SpatialReference.fromEPSG(32633),
    geoTransform: [500000, 10, 0, 6000000, 0, -10],
    value,
  });
  const element = (tag: string, text: string | undefined): string => (text === undefined ? '' : `<${tag}>${escapeXml(text)}</${tag}>`);
  const vrt = join(dir, `${name}.vrt`);
  writeFileSync(
    vrt,
    `<VRTDataset rasterXSize="${size.width}" rasterYSize="${size.height}">` +
      `<SRS>EPSG:32633</SRS><GeoTransform>500000, 10, 0, 6000000, 0, -10</GeoTransform>` +
      `<Metadata>${Object.entries(metadata).map(([key, text]) => `<MDI key="${escapeXml(key)}">${escapeXml(text)}</MDI>`).join('')}</Metadata>` +
      `<VRTRasterBand dataType="Float32" band="1">` +
      element('Description', band.description) +
      element('UnitType', band.unit) +
      element('Offset', band.offset) +
      element('Scale', band.scale) +
      element('NoDataValue', band.nodata) +
      `<SimpleSource><SourceFilename relativeToVRT="0">${escapeXml(base)}</SourceFilename><SourceBand>1</SourceBand></SimpleSource>` +
      `</VRTRasterBand></VRTDataset>`,
  );
  return convertRaster(vrt, 'GTiff', name, ['-co', 'COMPRESS=DEFLATE']);
}

interface Ingested {
  items: StacItem[];
  registered: RegisteredItem[];
  collection: StacCollection;
}

/**
 * validate → one activity per tile (COG, then item) → finalize, as the orchestrator runs a job on
 * the Functions route. `grid` skips validation and plans the tiles on that grid instead.
 */
async function ingest(localPath: string, collection: string, grid?: { width: number; height: number }): Promise<Ingested> {
  const source = await env.harness.upload(localPath);
  const { width, height } = grid ?? (await createValidateRaster(env.harness.deps)({ source, options }));
  const { outputs, order } = env.harness.job(source, collection, { options, tileSize: 4096 });
  const createAndRegisterTile = createCreateAndRegisterTile({ createTileCog: createCreateTileCog(env.harness.deps), registerTileItem: createRegisterTileItem(env.harness.deps) });
  const registered = await Promise.all(
    planTiles(width, height, 4096).map((window) => createAndRegisterTile({ source, outputs, itemId: deriveItemId(outputs.sourceKey, window), window, options, datetime: ingestedAt, order })),
  );
  await createFinalizeCollection(env.harness.deps)({ collection, publications: [{ outputs, source, items: registered, order }], datetime: ingestedAt });
  const items: StacItem[] = [];
  for (const item of registered) {
    const stored = await env.harness.store.readJson<StacItem>({ container: 'stac', name: itemBlob(collection, item.itemId).name });
    expect(stored, `item ${item.itemId}`).toBeDefined();
    items.push(stored!.value);
  }
  const stored = await env.harness.store.readJson<StacCollection>(collectionBlob(collection));
  return { items, registered, collection: stored!.value };
}

/** The tile's COG, downloaded from its blob URL. */
function downloadCog(item: RegisteredItem): Promise<string> {
  const name = new URL(item.cogUrl).pathname.split('/').slice(3).map(decodeURIComponent).join('/');
  return downloadBlob(env.harness.store, 'cogs', name, env.fixtures.path);
}

/** What every such item must be: valid STAC, every time within 0001–9999, the same document after a JSON round trip. */
async function expectSoundItem(item: StacItem): Promise<void> {
  await expectValidStac(item);
  for (const key of ['datetime', 'start_datetime', 'end_datetime', 'created'] as const) {
    if (item.properties[key] !== undefined) expect(isWritableTimestamp(item.properties[key]), `${key} ${item.properties[key]}`).toBe(true);
  }
  expect(JSON.parse(JSON.stringify(item))).toEqual(item);
}

describe('uploads with out-of-range metadata are still ingested, with notes (real GDAL, real Azurite)', () => {
  it('a netCDF whose time coordinate is 1e300 days since 1970: dated by ingestion, noted, valid', async () => {
    const local = writeNetcdfTimed(env.fixtures.path, '1e300', 'days since 1970-01-01', 'time-1e300.nc');
    // GDAL's own reading of the file, so the test knows the coordinate really is 1e300 days.
    const dataset = gdal.open(local);
    expect(Number(dataset.bands.get(1).getMetadata()['NETCDF_DIM_time'])).toBe(1e300);
    dataset.close();
    const { items, collection } = await ingest(local, `nc-${env.harness.runId}`);
    expect(items).toHaveLength(1);
    const [item] = items;
    await expectSoundItem(item!);
    expect(item!.properties).toMatchObject({ datetime: ingestedAt, [datetimeSourceProperty]: 'ingestion' });
    expect(item!.properties).not.toHaveProperty('start_datetime');
    expect(item!.properties[notesProperty]).toEqual(['datetime: netCDF time value 1e+300 (days since 1970-01-01) is outside the years 0001–9999; not used']);
    await expectValidStac(collection);
    expect(collection.extent.temporal.interval).toEqual([[ingestedAt, ingestedAt]]);
  });

  it('a netCDF whose time units are "fortnights since 99999-01-01": dated by ingestion, noted, valid', async () => {
    const local = writeNetcdfTimed(env.fixtures.path, '3', 'fortnights since 99999-01-01', 'time-fortnights.nc');
    const { items } = await ingest(local, `nc2-${env.harness.runId}`);
    await expectSoundItem(items[0]!);
    expect(items[0]!.properties).toMatchObject({ datetime: ingestedAt, [notesProperty]: [expect.stringMatching(/^datetime: netCDF time units "fortnights since 99999-01-01" count "fortnights"/)] });
  });

  it('a GeoTIFF with a garbage TIFFTAG_DATETIME and a 100 kB band description: the name cut, both noted, valid', async () => {
    const description = `Band <1> & "reflectance" ${'d'.repeat(100_000)}`;
    const local = writeGeoTiffWith(env.fixtures.path, 'garbage-tags.tif', { TIFFTAG_DATETIME: '9999:99:99 99:99:99' }, { description }, (x, y) => x * 7 + y);
    const check = gdal.open(local);
    expect(check.bands.get(1).description).toBe(description);
    expect(check.getMetadata()['TIFFTAG_DATETIME']).toBe('9999:99:99 99:99:99');
    check.close();
    const { items, registered } = await ingest(local, `tags-${env.harness.runId}`);
    const [item] = items;
    await expectSoundItem(item!);
    const [band] = item!.assets['data']!.bands!;
    expect(band!.name).toHaveLength(200);
    expect(band!.name.startsWith('Band <1> & "reflectance" ddd')).toBe(true);
    expect(item!.properties).toMatchObject({ datetime: ingestedAt, [datetimeSourceProperty]: 'ingestion' });
    expect(item!.properties[notesProperty]).toEqual(['datetime: TIFFTAG_DATETIME "9999:99:99 99:99:99" is not a date; not used', `band 1 description: ${description.length} characters, cut to 200`]);
    // The tile's COG is a valid COG with the source's pixels.
    const cogPath = await downloadCog(registered[0]!);
    const validation = await validateCog(cogPath);
    expect(validation.errors, validation.output).toEqual([]);
  });

  it('a GeoTIFF with NaN scale, infinite offset, a 100 kB unit, infinite nodata and a -Infinity pixel: left out of item and COG, noted, valid', async () => {
    const band: BandValues = { unit: 'u'.repeat(100_000), scale: 'nan', offset: 'inf', nodata: 'inf' };
    const local = writeGeoTiffWith(env.fixtures.path, 'band-values.tif', {}, band, (x, y) => (x === 5 && y === 5 ? -Infinity : x + y));
    const check = gdal.open(local);
    const sourceBand = check.bands.get(1);
    expect([Number.isNaN(sourceBand.scale), sourceBand.offset, sourceBand.noDataValue, sourceBand.unitType?.length]).toEqual([true, Infinity, Infinity, 100_000]);
    check.close();
    // Validation reads this source too (GDAL 3.6 writes its `gdalinfo -json` with bare nan/inf).
    const { items, registered } = await ingest(local, `bands-${env.harness.runId}`);
    const [item] = items;
    await expectSoundItem(item!);
    const [stacBand] = item!.assets['data']!.bands!;
    expect(stacBand!.nodata).toBe('inf');
    expect(stacBand).not.toHaveProperty('unit');
    expect(stacBand).not.toHaveProperty('statistics');
    expect(item!.assets['thumbnail']).toBeDefined();
    expect(item!.properties[notesProperty]).toEqual([
      'band 1 unit: 100000 characters, over 100; left out',
      'band 1 scale: NaN is not a finite number; left out of the COG',
      'band 1 offset: Infinity is not a finite number; left out of the COG',
      'band 1 statistics: minimum -Infinity, mean NaN, stddev NaN (not finite numbers); left out',
    ]);
    const cogPath = await downloadCog(registered[0]!);
    expect((await validateCog(cogPath)).errors).toEqual([]);
    const cog = gdal.open(cogPath);
    const cogBand = cog.bands.get(1);
    expect([cogBand.scale ?? 1, cogBand.offset ?? 0, cogBand.unitType]).toEqual([1, 0, '']);
    expect(cogBand.noDataValue).toBe(Infinity);
    cog.close();
  });

  it('keeps NaN scale and a 100 kB unit out of a COG written straight from the source (a tile over the memory budget)', async () => {
    const local = writeGeoTiffWith(env.fixtures.path, 'direct.tif', {}, { unit: 'u'.repeat(100_000), scale: 'nan', offset: '-inf' }, (x, y) => x * 3 + y);
    const window = planTiles(300, 200, 4096)[0]!;
    const destination = join(env.fixtures.path, 'direct-cog.tif');
    const written = await writeTileCog(local, 'direct.tif', destination, window, options, 1);
    expect(written.notes).toEqual([
      'band 1 unit: 100000 characters, over 100; left out',
      'band 1 scale: NaN is not a finite number; left out of the COG',
      'band 1 offset: -Infinity is not a finite number; left out of the COG',
    ]);
    expect((await validateCog(destination)).errors).toEqual([]);
    const [source, cog] = [gdal.open(local), gdal.open(destination)];
    expect([cog.bands.get(1).scale ?? 1, cog.bands.get(1).offset ?? 0, cog.bands.get(1).unitType]).toEqual([1, 0, '']);
    expect(samePixels(readWindow(source, 1, 0, 0, 300, 200), readWindow(cog, 1, 0, 0, 300, 200))).toBe(true);
    source.close();
    cog.close();
  });
});
