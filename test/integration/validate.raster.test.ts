import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyError, isFinalFailure } from '../../src/activities/failure.classify.js';
import { createValidateRaster } from '../../src/activities/validate.raster.js';
import { FailureError, type Failure } from '../../src/pipeline/failure.js';
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

/** The failure a rejected validation throws. */
async function rejectionOf(pending: Promise<unknown>): Promise<Failure> {
  const error = await pending.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof FailureError)) throw new Error(`expected a FailureError, got ${String(error)}`);
  return error.failure;
}

describe('validateRaster (real GDAL, real Azurite)', () => {
  it('describes a multi-band uint8 raster', async () => {
    const source = await harness.upload(writeRgbUint8(fixtures.path, 900, 600));
    const info = await createValidateRaster(harness.deps)({ source });
    expect(info).toMatchObject({ driver: 'GTiff', width: 900, height: 600, geoTransform: [500000, 10, 0, 6000000, 0, -10] });
    expect(info.crs?.code).toBe('EPSG:32633');
    expect(info.crs?.wkt2).toMatch(/^PROJCRS\["WGS 84 \/ UTM zone 33N"/);
    expect(info.bands.map((b) => [b.gdalDataType, b.colorInterpretation, b.nodata])).toEqual([
      ['Byte', 'Red', null],
      ['Byte', 'Green', null],
      ['Byte', 'Blue', null],
    ]);
  });

  it('reports int16 nodata, NaN nodata and units', async () => {
    const dem = await createValidateRaster(harness.deps)({ source: await harness.upload(writeInt16Dem(fixtures.path)) });
    const nan = await createValidateRaster(harness.deps)({ source: await harness.upload(writeFloat32NanDem(fixtures.path, 500, 400)) });
    expect(dem.bands[0]).toMatchObject({ gdalDataType: 'Int16', nodata: -9999, unit: 'm' });
    expect(dem.crs?.code).toBe('EPSG:4326');
    expect(nan.bands[0]).toMatchObject({ gdalDataType: 'Float32', nodata: 'nan', unit: 'metre' });
  });

  it('reports colour tables, rotation and CRSs without an EPSG code', async () => {
    const validate = createValidateRaster(harness.deps);
    const paletted = await validate({ source: await harness.upload(writePaletted(fixtures.path)) });
    const rotated = await validate({ source: await harness.upload(writeRotated(fixtures.path)) });
    const custom = await validate({ source: await harness.upload(writeNoEpsgProjected(fixtures.path)) });
    expect(paletted.bands[0]).toMatchObject({ hasColorTable: true, colorInterpretation: 'Palette' });
    expect(rotated.geoTransform[2]).not.toBe(0);
    expect(rotated.geoTransform[4]).not.toBe(0);
    expect(custom.crs?.code).toBeNull();
    expect(custom.crs?.wkt2).toMatch(/Custom LCC/);
    expect(custom.crs?.projjson).toMatchObject({ type: 'ProjectedCRS', name: 'Custom LCC' });
  });

  describe('rejects, with a reason a person can act on', () => {
    it.each([
      ['a truncated TIFF', () => writeTruncated(fixtures.path), /truncated/],
      ['a truncated COG (tiled, compressed, directory first)', () => writeTruncatedCog(fixtures.path), /truncated/],
      ['a zero-byte file', () => writeZeroByte(fixtures.path), /empty \(0 bytes\)/],
      ['a text file named .tif', () => writeTextAsTif(fixtures.path), /not a GeoTIFF, netCDF, HDF5, JPEG 2000, Erdas Imagine or GTX file/],
      ['a raster without georeferencing', () => writeUngeoreferenced(fixtures.path), /no georeferencing/],
      ['a raster over the size limit', () => writeRgbUint8(fixtures.path, 1200, 300, 'wide.tif'), /1200×300 pixels, over the limit of 1000/],
    ])('%s', async (_kind, make, reason) => {
      const source = await harness.upload(make());
      const failure = await rejectionOf(createValidateRaster(harness.deps)({ source }));
      expect(['INVALID_INPUT', 'UNSUPPORTED_FORMAT']).toContain(failure.code);
      expect(failure.message).toMatch(reason);
      // The orchestrator names the source; the reason must not leak the local scratch path.
      expect(failure.message).not.toContain(harness.deps.scratchDir);
      expect(failure.message).not.toMatch(/\/tmp\//);
    });

    it('a source replaced after submission (ETag changed)', async () => {
      const source = await harness.upload(writeRgbUint8(fixtures.path, 300, 200, 'replaced.tif'));
      await harness.upload(writeRgbUint8(fixtures.path, 310, 200, 'replaced-2.tif'), source.name.split('/').pop());
      const failure = await rejectionOf(createValidateRaster(harness.deps)({ source }));
      expect(failure).toMatchObject({ code: 'SOURCE_CHANGED', message: expect.stringMatching(/replaced after this job was submitted/) });
    });

    it('options the raster cannot take (lossy JPEG on int16)', async () => {
      const source = await harness.upload(writeInt16Dem(fixtures.path, 100, 100, 'jpeg-dem.tif'));
      const options = ingestOptionsSchema.parse({ compression: 'JPEG' });
      const failure = await rejectionOf(createValidateRaster(harness.deps)({ source, options }));
      expect(failure).toMatchObject({ code: 'INVALID_INPUT', message: expect.stringMatching(/options do not fit.*JPEG is lossy.*Int16.*use DEFLATE/) });
    });
  });

  it('reads a small source through the local copy its tiles reuse, and never copies when tiles read in place', async () => {
    const path = writeRgbUint8(fixtures.path, 120, 80, 'small.tif');
    const source = await harness.upload(path);
    const copied = harness.deps.sources.cachedBytes;
    await createValidateRaster(harness.deps)({ source });
    expect(harness.deps.sources.cachedBytes - copied).toBe(source.size);

    const inPlace = createActivityHarness({ sourceRead: 'in-place' });
    try {
      const elsewhere = await inPlace.upload(path);
      await createValidateRaster(inPlace.deps)({ source: elsewhere });
      expect(inPlace.deps.sources.cachedBytes).toBe(0);
    } finally {
      inPlace.close();
    }
  });

  it('throws (so the orchestrator retries) when storage itself fails', async () => {
    const broken = createActivityHarness();
    // Point the cache at a store whose account does not answer: a transient-looking failure.
    const { AzureBlobStore } = await import('../../src/storage/azure.blob.store.js');
    const { BlobServiceClient } = await import('@azure/storage-blob');
    const { SourceCache } = await import('../../src/activities/source.cache.js');
    const dead = new AzureBlobStore(BlobServiceClient.fromConnectionString(deadConnectionString(), { retryOptions: { maxTries: 1 } }));
    const validate = createValidateRaster({ settings: broken.deps.settings, scratchDir: broken.deps.scratchDir, inspector: broken.deps.inspector, sources: new SourceCache(dead, broken.deps.sources.directory) });
    const error = await validate({ source: { container: 'uploads', name: 'x.tif', etag: '"0x1"', size: 10, lastModified: new Date(0).toISOString() } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    // Not a final failure: the activity wrapper throws it again for the retry policy.
    expect(isFinalFailure(classifyError(error))).toBe(false);
    expect(classifyError(error).code).toBe('TRANSIENT_STORAGE');
    broken.close();
  });
});

/** A connection string for an endpoint nothing listens on (port 9 is discard, closed here). */
function deadConnectionString(): string {
  return 'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:9/devstoreaccount1;';
}
