/**
 * netCDF as users hold it (issue 20, point 2): several variables, a time dimension, CF packing
 * (scale_factor/add_offset, _FillValue) and a grid_mapping, in a file made from a real Landsat
 * excerpt (Debian's r-cran-stars) with GDAL's own netCDF driver. Each variable × time step ×
 * window becomes its own COG and item: each COG checked by the COG validator and pixel for pixel
 * (packed values) against the source band, each item by the STAC schemas.
 */
import { describe, expect, it } from 'vitest';
import gdal from 'gdal-async';
import { createCreateTileCog } from '../../src/activities/tile.cog.create.js';
import { createRegisterTileItem } from '../../src/activities/tile.item.register.js';
import { createValidateRaster } from '../../src/activities/validate.raster.js';
import { planJobTiles } from '../../src/orchestrations/ingest.orchestrator.js';
import type { RasterInfo } from '../../src/pipeline/contracts.js';
import { deriveItemId } from '../../src/pipeline/ids.js';
import { ingestOptionsSchema, type IngestOptions } from '../../src/pipeline/options.js';
import { itemBlob } from '../../src/stac/catalog.layout.js';
import type { StacItem } from '../../src/stac/stac.types.js';
import { validateCog } from '../support/cog.validator.js';
import { fetchDebianRasters } from '../support/debian.rasters.js';
import { sampleTimeAxis, sampleVariables, writeMultiVariableNetcdf } from '../support/netcdf.variables.js';
import { writeVariablesNetcdf } from '../support/hostile.variables.js';
import type { NetcdfAttributeValue } from '../support/hostile.netcdf.js';
import { StacValidator } from '../support/stac.validator.js';
import { downloadBlob, samePixels, useActivityHarness } from './activity.harness.js';

const fetched = await fetchDebianRasters();
// Outside CI an offline machine skips with the reason; in CI (which reaches Debian's mirror) a missing package fails the tests.
const unavailable = 'unavailable' in fetched && process.env['CI'] !== 'true' ? fetched.unavailable : undefined;
const validator = new StacValidator();
const env = useActivityHarness('netcdf-variables-');
const tileSize = 256;

function landsatPath(): string {
  if ('unavailable' in fetched) throw new Error(fetched.unavailable);
  return fetched.paths.landsat;
}

async function upload(name: string, format: 'NC' | 'NC4' = 'NC'): Promise<{ source: Awaited<ReturnType<typeof env.harness.upload>>; path: string }> {
  const path = writeMultiVariableNetcdf(landsatPath(), `${env.fixtures.path}/${name}`, sampleTimeAxis, format);
  return { source: await env.harness.upload(path, name), path };
}

if (unavailable !== undefined) it.skip(`Debian rasters unavailable: ${unavailable}`, () => {});

describe.skipIf(unavailable !== undefined)('netCDF of several variables and time steps (real GDAL, real Azurite)', () => {
  it.each(['NC', 'NC4'] as const)('validation describes each gridded variable of a %s file: grid, steps, CRS from its grid_mapping, packing', async (format) => {
    const { source } = await upload(`two-vars-${format}.nc`, format);
    const info = await createValidateRaster(env.harness.deps)({ source, options: ingestOptionsSchema.parse({}), tileSize });
    // The coordinates (time, x, y) and the grid_mapping container are not variables of their own.
    expect(info.variables?.map((variable) => variable.name).sort()).toEqual(['infrared', 'visible']);
    for (const variable of info.variables!) {
      expect(variable).toMatchObject({ width: 349, height: 352, steps: 3, stepLabel: 't', subdataset: true, crs: { code: 'EPSG:31985' } });
    }
    const visible = info.variables!.find((variable) => variable.name === 'visible')!;
    expect(visible.band).toMatchObject({ gdalDataType: 'Int16', nodata: 0, scale: 0.004, offset: 0.1 });
    const infrared = info.variables!.find((variable) => variable.name === 'infrared')!;
    expect(infrared.band).toMatchObject({ nodata: -1 });
    expect(infrared.band.scale).toBeUndefined();
  });

  it.each(['NC', 'NC4'] as const)('every variable × time step × window of a %s file becomes its own COG (packed pixels, scale/offset/nodata) and item (datetime of its step)', async (format) => {
    const { source } = await upload(`ingest-${format}.nc`, format);
    const options: IngestOptions = ingestOptionsSchema.parse({ blockSize: 128 });
    const info = await createValidateRaster(env.harness.deps)({ source, options, tileSize });
    const collection = `nc-vars-${format.toLowerCase()}-${env.harness.runId}`;
    const { outputs, order } = env.harness.job(source, collection, { options, tileSize });
    const planned = planJobTiles(info, tileSize);
    // 2 variables × 3 steps × 2×2 windows.
    expect(planned).toHaveLength(24);
    const itemIds = planned.map(({ window }) => deriveItemId(outputs.sourceKey, window));
    expect(new Set(itemIds).size).toBe(24);
    expect(itemIds).toContain(`${outputs.sourceKey}-visible-t2-r1-c1`);

    const landsat = gdal.open(landsatPath());
    const cogNames = new Set<string>();
    for (const [index, { window, assumedCrs }] of planned.entries()) {
      const itemId = itemIds[index]!;
      const tile = await createCreateTileCog(env.harness.deps)({ source, outputs, itemId, window, options, assumedCrs });
      cogNames.add(tile.blob.name);
      const cogPath = await downloadBlob(env.harness.store, tile.blob.container, tile.blob.name, env.fixtures.path);
      expect((await validateCog(cogPath)).errors, `${itemId} COG`).toEqual([]);
      const cog = gdal.open(cogPath);
      try {
        // One band: this step of this variable, packed values as the file stores them.
        expect(cog.bands.count()).toBe(1);
        const variable = sampleVariables[window.slice!.variable as keyof typeof sampleVariables];
        const step = window.slice!.band! - 1;
        const expected = new Int16Array(landsat.bands.get(variable.bands[step]!).pixels.read(window.x, window.y, window.width, window.height) as ArrayLike<number>);
        expect(samePixels(expected, cog.bands.get(1).pixels.read(0, 0, window.width, window.height)), `${itemId} pixels`).toBe(true);
        const band = cog.bands.get(1);
        expect(band.dataType).toBe('Int16');
        expect(band.noDataValue).toBe(variable.fill);
        expect(band.scale ?? 1).toBe(variable.scale ?? 1);
        expect(band.offset ?? 0).toBe(variable.offset ?? 0);
      } finally {
        cog.close();
      }
      await createRegisterTileItem(env.harness.deps)({ outputs, source, tile, datetime: '2026-12-06T07:00:00.000Z', order });
      const item = (await env.harness.store.readJson<StacItem>(itemBlob(collection, itemId)))!.value;
      expect((await validator.validate(item)).errors, `${itemId} STAC`).toEqual([]);
      const days = sampleTimeAxis.values[window.slice!.band! - 1]!;
      expect(item.properties.datetime).toBe(new Date(Date.UTC(2002, 0, 1 + days)).toISOString());
      expect(item.properties['start_datetime']).toBeUndefined();
      expect(item.properties['proj:code']).toBe('EPSG:31985');
      expect(item.properties['raster-ingest:variable']).toBe(window.slice!.variable);
      expect(item.properties['raster-ingest:step']).toBe(window.slice!.band! - 1);
      const stacBand = item.assets['data']!.bands![0]!;
      if (window.slice!.variable === 'visible') {
        expect(stacBand).toMatchObject({ data_type: 'int16', nodata: 0, 'raster:scale': 0.004, 'raster:offset': 0.1 });
        expect(item.stac_extensions).toContain('https://stac-extensions.github.io/raster/v2.0.0/schema.json');
      } else {
        expect(stacBand).toMatchObject({ data_type: 'int16', nodata: -1 });
        expect(stacBand['raster:scale']).toBeUndefined();
      }
    }
    landsat.close();
    // Distinct variables and steps never share a COG.
    expect(cogNames.size).toBe(24);
  });

  it('the variable option picks one variable: only its steps are planned', async () => {
    const { source } = await upload('pick.nc');
    const options = ingestOptionsSchema.parse({ variable: 'visible' });
    const info = await createValidateRaster(env.harness.deps)({ source, options, tileSize });
    expect(info.variables?.map((variable) => variable.name)).toEqual(['visible']);
    expect(planJobTiles(info, tileSize)).toHaveLength(12);
  });

  it('reprojects a variable with targetCrs: each step warped from that variable alone, one band, packing kept', async () => {
    const { source } = await upload('warp.nc');
    const options = ingestOptionsSchema.parse({ variable: 'visible', targetCrs: 'EPSG:4326', blockSize: 128 });
    const info = await createValidateRaster(env.harness.deps)({ source, options, tileSize });
    const [variable] = info.variables!;
    expect(variable).toMatchObject({ name: 'visible', steps: 3, stepLabel: 't', crs: { code: 'EPSG:4326' } });
    const collection = `nc-warp-${env.harness.runId}`;
    const { outputs, order } = env.harness.job(source, collection, { options, tileSize });
    const planned = planJobTiles(info, tileSize);
    expect(planned.length % 3).toBe(0);
    const { window, assumedCrs } = planned.find(({ window: w }) => w.slice?.band === 3)!;
    const itemId = deriveItemId(outputs.sourceKey, window);
    const tile = await createCreateTileCog(env.harness.deps)({ source, outputs, itemId, window, options, assumedCrs });
    const cogPath = await downloadBlob(env.harness.store, tile.blob.container, tile.blob.name, env.fixtures.path);
    expect((await validateCog(cogPath)).errors).toEqual([]);
    const cog = gdal.open(cogPath);
    expect(cog.bands.count()).toBe(1);
    expect(cog.srs!.getAuthorityCode(null)).toBe('4326');
    expect([cog.bands.get(1).dataType, cog.bands.get(1).scale, cog.bands.get(1).offset, cog.bands.get(1).noDataValue]).toEqual(['Int16', 0.004, 0.1, 0]);
    cog.close();
    await createRegisterTileItem(env.harness.deps)({ outputs, source, tile, datetime: '2026-12-06T07:00:00.000Z', order });
    const item = (await env.harness.store.readJson<StacItem>(itemBlob(collection, itemId)))!.value;
    expect((await validator.validate(item)).errors).toEqual([]);
    expect(item.properties.datetime).toBe('2002-03-01T00:00:00.000Z');
  });

  it('a variable the file does not hold is INVALID_INPUT listing the ones it does', async () => {
    const { source } = await upload('missing.nc');
    for (const variable of ['nope', 'x', 'time', 'transverse_mercator']) {
      const rejection = createValidateRaster(env.harness.deps)({ source, options: ingestOptionsSchema.parse({ variable }), tileSize });
      await expect(rejection, variable).rejects.toMatchObject({ failure: { code: 'INVALID_INPUT', message: expect.stringMatching(new RegExp(`no variable "${variable}"; its variables are "infrared", "visible"`)) } });
    }
  });

  it('time steps × variables × windows over INGEST_MAX_TILES_PER_JOB is INPUT_LIMIT, counting them all', async () => {
    const { source } = await upload('limit.nc');
    const harness = (await import('./activity.harness.js')).createActivityHarness({ inspection: { ...env.harness.deps.settings.inspection, maxTilesPerJob: 23 } });
    try {
      const rejection = createValidateRaster(harness.deps)({ source, options: ingestOptionsSchema.parse({}), tileSize });
      await expect(rejection).rejects.toMatchObject({ failure: { code: 'INPUT_LIMIT', message: expect.stringMatching(/2 variables with 6 time steps.*24 tiles.*limit of 23/) } });
      // One variable fits.
      const info: RasterInfo = await createValidateRaster(harness.deps)({ source, options: ingestOptionsSchema.parse({ variable: 'infrared' }), tileSize });
      expect(planJobTiles(info, tileSize)).toHaveLength(12);
      // A GeoTIFF's bands are samples of one COG, not steps: 30 bands are one tile under a cap of 23.
      const tifPath = `${env.fixtures.path}/thirty-bands.tif`;
      const tif = gdal.open(tifPath, 'w', 'GTiff', 16, 16, 30, 'Byte');
      tif.geoTransform = [10, 0.01, 0, 50, 0, -0.01];
      tif.srs = gdal.SpatialReference.fromEPSG(4326);
      tif.close();
      const bands = await createValidateRaster(harness.deps)({ source: await env.harness.upload(tifPath, 'thirty-bands.tif'), tileSize });
      expect(bands.bands).toHaveLength(30);
      expect(planJobTiles(bands, tileSize)).toHaveLength(1);
    } finally {
      harness.close();
    }
  });
});

describe('hostile netCDF variables through validation and tiles (the corpus cases of issue 20, run here on activities)', () => {
  const limits = { maxTilesPerJob: 2500 };

  async function validate(name: string, spec: Parameters<typeof writeVariablesNetcdf>[1], options: Partial<IngestOptions> = {}, size = 4096): Promise<RasterInfo> {
    const path = writeVariablesNetcdf(`${env.fixtures.path}/${name}`, spec);
    const source = await env.harness.upload(path, name);
    return createValidateRaster(env.harness.deps)({ source, options: ingestOptionsSchema.parse(options), tileSize: size });
  }

  it('thousands of steps hit INGEST_MAX_TILES_PER_JOB cleanly, counted as variables × steps × windows', async () => {
    expect(env.harness.deps.settings.inspection.maxTilesPerJob).toBe(limits.maxTilesPerJob);
    // From the header, before GDAL makes a band of each step.
    await expect(validate('steps-5000.nc', { steps: 5000 })).rejects.toMatchObject({ failure: { code: 'INPUT_LIMIT', message: expect.stringMatching(/declare 5,000 time steps.*limit of 2,500/) } });
    await expect(validate('two-1300.nc', { steps: 1300, variables: ['tas', 'pr'] })).rejects.toMatchObject({ failure: { code: 'INPUT_LIMIT', message: expect.stringMatching(/declare 2,600 time steps/) } });
    // 1,300 steps pass the header; two windows a step make 2,600 tiles.
    await expect(validate('windows.nc', { steps: 1300, width: 600, height: 2, type: 'byte' }, { tileSize: 512 }, 512)).rejects.toMatchObject({
      failure: { code: 'INPUT_LIMIT', message: expect.stringMatching(/1 variable with 1,300 time steps.*2,600 tiles \(one per variable, step and window\)/) },
    });
  });

  it('absurd time units, NaN times and model calendars leave each step ingested at the ingestion time, with a note', async () => {
    const cases: Array<[string, NonNullable<Parameters<typeof writeVariablesNetcdf>[1]['time']>, RegExp]> = [
      ['absurd.nc', { units: 'fortnights since the dawn of time' }, /units .* not used/],
      ['nan.nc', { units: 'days since 1970-01-01', value: () => Number.NaN }, /no numeric value|not numbers/],
      ['huge.nc', { units: 'days since 1970-01-01', value: (i) => 1e300 * (i + 1) }, /outside the years/],
      ['360.nc', { units: 'days since 2000-01-01', calendar: '360_day', value: (i) => i * 30 }, /calendar "360_day".*not real instants/],
      ['noleap.nc', { units: 'days since 2000-01-01', calendar: 'noleap', value: (i) => 59 + i }, /calendar "noleap"/],
    ];
    for (const [name, time, note] of cases) {
      const path = writeVariablesNetcdf(`${env.fixtures.path}/${name}`, { steps: 2, variables: ['tas', 'pr'], time });
      const source = await env.harness.upload(path, name);
      const options = ingestOptionsSchema.parse({});
      const info = await createValidateRaster(env.harness.deps)({ source, options, tileSize });
      const collection = `nc-time-${env.harness.runId}`;
      const { outputs, order } = env.harness.job(source, collection, { options, tileSize });
      const planned = planJobTiles(info, tileSize);
      expect(planned, name).toHaveLength(4);
      const { window, assumedCrs } = planned[3]!;
      const itemId = deriveItemId(outputs.sourceKey, window);
      const tile = await createCreateTileCog(env.harness.deps)({ source, outputs, itemId, window, options, assumedCrs });
      await createRegisterTileItem(env.harness.deps)({ outputs, source, tile, datetime: '2026-12-06T07:00:00.000Z', order });
      const item = (await env.harness.store.readJson<StacItem>(itemBlob(collection, itemId)))!.value;
      expect((await validator.validate(item)).errors, name).toEqual([]);
      expect(item.properties.datetime, name).toBe('2026-12-06T07:00:00.000Z');
      expect(item.properties['raster-ingest:datetime_source'], name).toBe('ingestion');
      expect(item.properties['raster-ingest:notes'], name).toContainEqual(expect.stringMatching(note));
    }
  });

  it('scale_factor/add_offset/_FillValue as text, NaN or infinity never reach a COG or an item as numbers', async () => {
    const cases: Array<[string, Record<string, NetcdfAttributeValue>, 'short' | 'float']> = [
      ['scale-text.nc', { scale_factor: '0.01; rm -rf /', add_offset: '1e999' }, 'short'],
      ['scale-nan.nc', { scale_factor: Number.NaN, add_offset: Number.NaN }, 'short'],
      ['scale-inf.nc', { scale_factor: Number.POSITIVE_INFINITY, add_offset: Number.NEGATIVE_INFINITY }, 'short'],
      ['fill-nan.nc', { _FillValue: { type: 'float', values: [Number.NaN] } }, 'float'],
      ['fill-inf.nc', { _FillValue: { type: 'float', values: [Number.POSITIVE_INFINITY] } }, 'float'],
    ];
    for (const [name, dataAttributes, type] of cases) {
      const path = writeVariablesNetcdf(`${env.fixtures.path}/${name}`, { steps: 2, variables: ['tas', 'pr'], dataAttributes, type });
      const source = await env.harness.upload(path, name);
      const options = ingestOptionsSchema.parse({});
      const info = await createValidateRaster(env.harness.deps)({ source, options, tileSize });
      const collection = `nc-pack-${env.harness.runId}`;
      const { outputs, order } = env.harness.job(source, collection, { options, tileSize });
      const { window, assumedCrs } = planJobTiles(info, tileSize)[0]!;
      const itemId = deriveItemId(outputs.sourceKey, window);
      const tile = await createCreateTileCog(env.harness.deps)({ source, outputs, itemId, window, options, assumedCrs });
      const cogPath = await downloadBlob(env.harness.store, tile.blob.container, tile.blob.name, env.fixtures.path);
      expect((await validateCog(cogPath)).errors, name).toEqual([]);
      const cog = gdal.open(cogPath);
      const band = cog.bands.get(1);
      for (const value of [band.scale ?? 1, band.offset ?? 0]) expect(Number.isFinite(value), `${name} COG scale/offset ${value}`).toBe(true);
      cog.close();
      await createRegisterTileItem(env.harness.deps)({ outputs, source, tile, datetime: '2026-12-06T07:00:00.000Z', order });
      const item = (await env.harness.store.readJson<StacItem>(itemBlob(collection, itemId)))!.value;
      expect((await validator.validate(item)).errors, name).toEqual([]);
      const stacBand = item.assets['data']!.bands![0]!;
      expect(stacBand['raster:scale'], name).toBeUndefined();
      expect(stacBand['raster:offset'], name).toBeUndefined();
      if (name === 'fill-nan.nc') expect(stacBand.nodata).toBe('nan');
      if (name === 'fill-inf.nc') expect(stacBand.nodata).toBe('inf');
    }
  });
});
