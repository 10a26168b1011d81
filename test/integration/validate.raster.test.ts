import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createValidateRaster } from '../../src/activities/validate.raster.js';
import { ingestOptionsSchema } from '../../src/pipeline/options.js';
import { createActivityHarness, type ActivityHarness } from './activity.harness.js';
import {
  createFixtureDir,
  writeFloat32NanDem,
  writeInt16Dem,
  writeNoEpsgProjected,
  writePaletted,
  writeRgbUint8,
  writeRotated,
  writeTextAsTif,
  writeTruncated,
  writeTruncatedCog,
  writeUngeoreferenced,
  writeZeroByte,
  type FixtureDir,
} from '../support/fixtures.js';

let harness: ActivityHarness;
let fixtures: FixtureDir;

beforeAll(() => {
  harness = createActivityHarness({ maxDimension: 1000 });
  fixtures = createFixtureDir();
});
afterAll(() => {
  harness.close();
  fixtures.remove();
});

describe('validateRaster (real GDAL, real Azurite)', () => {
  it('describes a multi-band uint8 raster', async () => {
    const source = await harness.upload(writeRgbUint8(fixtures.path, 900, 600));
    const result = await createValidateRaster(harness.deps)({ source });
    if (!result.accepted) throw new Error(result.reason);
    expect(result.info).toMatchObject({ driver: 'GTiff', width: 900, height: 600, geoTransform: [500000, 10, 0, 6000000, 0, -10] });
    expect(result.info.crs?.code).toBe('EPSG:32633');
    expect(result.info.crs?.wkt2).toMatch(/^PROJCRS\["WGS 84 \/ UTM zone 33N"/);
    expect(result.info.bands.map((b) => [b.gdalDataType, b.colorInterpretation, b.nodata])).toEqual([
      ['Byte', 'Red', null],
      ['Byte', 'Green', null],
      ['Byte', 'Blue', null],
    ]);
  });

  it('reports int16 nodata, NaN nodata and units', async () => {
    const dem = await createValidateRaster(harness.deps)({ source: await harness.upload(writeInt16Dem(fixtures.path)) });
    const nan = await createValidateRaster(harness.deps)({ source: await harness.upload(writeFloat32NanDem(fixtures.path, 500, 400)) });
    if (!dem.accepted || !nan.accepted) throw new Error('expected both accepted');
    expect(dem.info.bands[0]).toMatchObject({ gdalDataType: 'Int16', nodata: -9999, unit: 'm' });
    expect(dem.info.crs?.code).toBe('EPSG:4326');
    expect(nan.info.bands[0]).toMatchObject({ gdalDataType: 'Float32', nodata: 'nan', unit: 'metre' });
  });

  it('reports colour tables, rotation and CRSs without an EPSG code', async () => {
    const validate = createValidateRaster(harness.deps);
    const paletted = await validate({ source: await harness.upload(writePaletted(fixtures.path)) });
    const rotated = await validate({ source: await harness.upload(writeRotated(fixtures.path)) });
    const custom = await validate({ source: await harness.upload(writeNoEpsgProjected(fixtures.path)) });
    if (!paletted.accepted || !rotated.accepted || !custom.accepted) throw new Error('expected all accepted');
    expect(paletted.info.bands[0]).toMatchObject({ hasColorTable: true, colorInterpretation: 'Palette' });
    expect(rotated.info.geoTransform[2]).not.toBe(0);
    expect(rotated.info.geoTransform[4]).not.toBe(0);
    expect(custom.info.crs?.code).toBeNull();
    expect(custom.info.crs?.wkt2).toMatch(/Custom LCC/);
    expect(custom.info.crs?.projjson).toMatchObject({ type: 'ProjectedCRS', name: 'Custom LCC' });
  });

  describe('rejects, with a reason a person can act on', () => {
    it.each([
      ['a truncated TIFF', () => writeTruncated(fixtures.path), /truncated/],
      ['a truncated COG (tiled, compressed, directory first)', () => writeTruncatedCog(fixtures.path), /truncated/],
      ['a zero-byte file', () => writeZeroByte(fixtures.path), /empty \(0 bytes\)/],
      ['a text file named .tif', () => writeTextAsTif(fixtures.path), /not a raster GDAL can read/],
      ['a raster without georeferencing', () => writeUngeoreferenced(fixtures.path), /no georeferencing/],
      ['a raster over the size limit', () => writeRgbUint8(fixtures.path, 1200, 300, 'wide.tif'), /1200×300 pixels, over the limit of 1000/],
    ])('%s', async (_kind, make, reason) => {
      const source = await harness.upload(make());
      const result = await createValidateRaster(harness.deps)({ source });
      expect(result.accepted).toBe(false);
      if (result.accepted) return;
      expect(result.reason).toMatch(reason);
      // The orchestrator names the source; the reason must not leak the local scratch path.
      expect(result.reason).not.toContain(harness.deps.scratchDir);
    });

    it('a source replaced after submission (ETag changed)', async () => {
      const source = await harness.upload(writeRgbUint8(fixtures.path, 300, 200, 'replaced.tif'));
      await harness.upload(writeRgbUint8(fixtures.path, 310, 200, 'replaced-2.tif'), source.name.split('/').pop());
      const result = await createValidateRaster(harness.deps)({ source });
      expect(result).toMatchObject({ accepted: false, reason: expect.stringMatching(/replaced after this job was submitted/) });
    });

    it('options the raster cannot take (lossy JPEG on int16)', async () => {
      const source = await harness.upload(writeInt16Dem(fixtures.path, 100, 100, 'jpeg-dem.tif'));
      const options = ingestOptionsSchema.parse({ compression: 'JPEG' });
      const result = await createValidateRaster(harness.deps)({ source, options });
      expect(result).toMatchObject({ accepted: false, reason: expect.stringMatching(/options do not fit.*JPEG is lossy.*Int16.*use DEFLATE/) });
    });
  });

  it('throws (so the orchestrator retries) when storage itself fails', async () => {
    const broken = createActivityHarness();
    // Point the cache at a store whose account does not answer: a transient-looking failure.
    const { BlobStore } = await import('../../src/storage/blob.store.js');
    const { BlobServiceClient } = await import('@azure/storage-blob');
    const { SourceCache } = await import('../../src/activities/source.cache.js');
    const dead = new BlobStore(BlobServiceClient.fromConnectionString(deadConnectionString(), { retryOptions: { maxTries: 1 } }));
    const validate = createValidateRaster({ settings: broken.deps.settings, sources: new SourceCache(dead, broken.deps.sources.directory) });
    await expect(validate({ source: { container: 'uploads', name: 'x.tif', etag: '"0x1"', size: 10 } })).rejects.toThrow();
    broken.close();
  });
});

/** A connection string for an endpoint nothing listens on (port 9 is discard, closed here). */
function deadConnectionString(): string {
  return 'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:9/devstoreaccount1;';
}
