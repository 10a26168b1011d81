/**
 * Validation's inspection of untrusted uploads: headers read from raw bytes (real files written
 * by GDAL and ncgen), CRSs that name files refused before PROJ parses them, sizes the bytes cannot
 * back refused before GDAL reads pixels, and the inspecting child process stopped at its limits
 * while the app's event loop keeps answering. Real GDAL, real child processes.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import gdal from 'gdal-async';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openByteSource } from '../../src/raster/byte.source.js';
import { readContainerHeader, type ContainerHeader } from '../../src/raster/container.header.js';
import { defaultDeclaredSizeLimits } from '../../src/raster/declared.size.js';
import { inspectorEnvironment, SourceInspector } from '../../src/inspection/source.inspector.js';
import type { InspectionRequest } from '../../src/inspection/inspection.protocol.js';
import { FailureError, type Failure } from '../../src/pipeline/failure.js';
import { ingestOptionsSchema } from '../../src/pipeline/options.js';
import { createFixtureDir, writeRaster, type FixtureDir } from '../support/fixtures.js';

let fixtures: FixtureDir;
let inspector: SourceInspector;

beforeAll(() => {
  fixtures = createFixtureDir('inspection-');
  inspector = new SourceInspector({ timeoutSeconds: 20, memoryMb: 2048, processes: 2 });
});
afterAll(() => {
  inspector.close();
  fixtures.remove();
});

const utm = (): gdal.SpatialReference => gdal.SpatialReference.fromEPSG(32633);

function tiff(name: string, width: number, height: number, creationOptions: string[] = [], bands = 1, dataType = gdal.GDT_Byte): string {
  return writeRaster(join(fixtures.path, name), { width, height, bands, dataType, srs: utm(), geoTransform: [500000, 10, 0, 6000000, 0, -10], creationOptions, value: (x, y, b) => (x + 3 * y + b) % 200 });
}

async function header(path: string, driver: 'GTiff' | 'netCDF'): Promise<ContainerHeader> {
  const bytes = await openByteSource(path, 0);
  try {
    const verdict = await readContainerHeader(bytes, driver);
    if (!verdict.ok) throw new Error(verdict.failure.message);
    return verdict.header;
  } finally {
    await bytes.close();
  }
}

function request(path: string, overrides: Partial<InspectionRequest> = {}): InspectionRequest {
  return { path, shownAs: 'upload.bin', size: 0, tileSize: 4096, maxTilesPerJob: 2500, maxDimension: 200_000, declaredSize: defaultDeclaredSizeLimits, scratchDir: fixtures.path, assumeCfLonLat: true, ...overrides };
}

async function refusal(path: string, overrides: Partial<InspectionRequest> = {}, using = inspector): Promise<Failure> {
  const error = await using.inspect(request(path, overrides)).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof FailureError)) throw new Error(`expected a refusal of ${path}, got ${String(error)}`);
  return error.failure;
}

/** A netCDF classic file from CDL text (ncgen, from netcdf-bin, which GDAL's netCDF driver pulls in). */
function netcdf(name: string, cdl: string, kind = 'classic'): string {
  const cdlPath = join(fixtures.path, `${name}.cdl`);
  const path = join(fixtures.path, name);
  writeFileSync(cdlPath, cdl);
  execFileSync('ncgen', ['-k', kind, '-o', path, cdlPath]);
  return path;
}

const wgs84Wkt = (extension: string): string =>
  `GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563]],PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433]${extension}]`.replaceAll('"', '\\"');

function gridCdl(crsAttributes: string): string {
  return `netcdf g {
dimensions:
  y = 4 ; x = 5 ;
variables:
  char crs ;
    crs:grid_mapping_name = "latitude_longitude" ;
    ${crsAttributes}
  double y(y) ; y:units = "degrees_north" ; y:standard_name = "latitude" ;
  double x(x) ; x:units = "degrees_east" ; x:standard_name = "longitude" ;
  float v(y, x) ; v:grid_mapping = "crs" ; v:history = "gdalwarp -t_srs '+proj=longlat +nadgrids=/home/me/ntv2.gsb' in.tif out.nc" ;
data:
  y = 50, 49, 48, 47 ; x = 10, 11, 12, 13, 14 ;
  v = 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20 ;
}
`;
}

describe('container headers, read from raw bytes', () => {
  it('reads striped, tiled, BigTIFF and band-separate GeoTIFFs as GDAL wrote them', async () => {
    const striped = await header(tiff('striped.tif', 300, 200), 'GTiff');
    expect(striped.rasters[0]).toMatchObject({ width: 300, height: 200, bands: 1, bytesPerSample: 1, declaredBytes: 60_000, sparseBlocks: 0, compressed: false });
    const tiled = await header(tiff('tiled.tif', 600, 500, ['TILED=YES', 'COMPRESS=DEFLATE'], 3, gdal.GDT_UInt16), 'GTiff');
    expect(tiled.rasters[0]).toMatchObject({ width: 600, height: 500, bands: 3, bytesPerSample: 2, totalBlocks: 6, compressed: true, largestBlockBytes: 256 * 256 * 3 * 2 });
    const big = await header(tiff('big.tif', 300, 200, ['BIGTIFF=YES', 'TILED=YES']), 'GTiff');
    expect(big.rasters[0]).toMatchObject({ width: 300, height: 200, totalBlocks: 2 });
    const planar = await header(tiff('planar.tif', 300, 200, ['INTERLEAVE=BAND'], 4, gdal.GDT_Float32), 'GTiff');
    expect(planar.rasters[0]).toMatchObject({ bands: 4, bytesPerSample: 4, declaredBytes: 300 * 200 * 4 * 4, totalBlocks: planar.rasters[0]!.totalBlocks });
    expect(planar.crsTexts[0]?.text).toMatch(/WGS 84 \/ UTM zone 33N/);
  });

  it('reads every image directory (overviews and masks too), and refuses one that declares what its bytes cannot hold', async () => {
    const path = tiff('with-overviews.tif', 1024, 1024, ['TILED=YES', 'COMPRESS=DEFLATE']);
    const dataset = gdal.open(path, 'r+');
    dataset.buildOverviews('AVERAGE', [2, 4]);
    dataset.close();
    const read = await header(path, 'GTiff');
    expect(read.rasters.map((raster) => [raster.width, raster.height])).toEqual([
      [1024, 1024],
      [512, 512],
      [256, 256],
    ]);
    // The second directory (the first overview) now claims 200,000² pixels: the same policies refuse it.
    const bytes = readFileSync(path);
    const little = bytes[0] === 0x49;
    const first = little ? bytes.readUInt32LE(4) : bytes.readUInt32BE(4);
    const count = little ? bytes.readUInt16LE(first) : bytes.readUInt16BE(first);
    const linkAt = first + 2 + count * 12;
    const second = little ? bytes.readUInt32LE(linkAt) : bytes.readUInt32BE(linkAt);
    const entries = little ? bytes.readUInt16LE(second) : bytes.readUInt16BE(second);
    for (let i = 0; i < entries; i++) {
      const at = second + 2 + i * 12;
      const id = little ? bytes.readUInt16LE(at) : bytes.readUInt16BE(at);
      const type = little ? bytes.readUInt16LE(at + 2) : bytes.readUInt16BE(at + 2);
      if ((id === 256 || id === 257) && type === 3) {
        if (little) bytes.writeUInt16LE(60_000, at + 8);
        else bytes.writeUInt16BE(60_000, at + 8);
      }
      if ((id === 256 || id === 257) && type === 4) {
        if (little) bytes.writeUInt32LE(200_000, at + 8);
        else bytes.writeUInt32BE(200_000, at + 8);
      }
    }
    writeFileSync(path, bytes);
    const failure = await refusal(path);
    expect(['INVALID_INPUT', 'INPUT_LIMIT']).toContain(failure.code);
    expect(failure.message).toMatch(/image directory 2/);
  });

  it('counts sparse blocks of a SPARSE_OK GeoTIFF', async () => {
    const path = join(fixtures.path, 'sparse.tif');
    const dataset = gdal.open(path, 'w', 'GTiff', 4096, 4096, 1, gdal.GDT_Byte, ['SPARSE_OK=TRUE', 'TILED=YES']);
    dataset.srs = utm();
    dataset.geoTransform = [500000, 10, 0, 6000000, 0, -10];
    dataset.bands.get(1).pixels.write(0, 0, 256, 256, new Uint8Array(256 * 256).fill(7));
    dataset.close();
    const read = await header(path, 'GTiff');
    expect(read.rasters[0]).toMatchObject({ totalBlocks: 256, sparseBlocks: 255 });
  });

  it('reads netCDF classic, 64-bit offset and 64-bit data headers, and their CRS attributes but not free text', async () => {
    for (const kind of ['classic', '64-bit offset', 'cdf5']) {
      const read = await header(netcdf(`grid-${kind.replace(/\W/g, '')}.nc`, gridCdl('crs:spatial_ref = "EPSG:4326" ;'), kind), 'netCDF');
      expect(read.rasters.map((r) => [r.name, r.width, r.height])).toEqual([['variable v', 5, 4]]);
      expect(read.crsTexts.map((t) => t.where)).toContain('variable crs attribute spatial_ref');
      expect(read.crsTexts.some((t) => t.text.includes('ntv2.gsb'))).toBe(false);
    }
  });

  it.each([
    ['a GeoTIFF cut inside its pixels', async () => {
      const path = tiff('cut.tif', 400, 400, ['TILED=YES']);
      truncateSync(path, Math.floor(readFileSync(path).length * 0.6));
      return path;
    }, 'GTiff', /past the end of the file|truncated/],
    ['a GeoTIFF cut inside its header', async () => {
      const path = tiff('cut-header.tif', 40, 40);
      truncateSync(path, 12);
      return path;
    }, 'GTiff', /truncated|corrupt/],
    ['a netCDF cut inside its header', async () => {
      const path = netcdf('cut-header.nc', gridCdl(''));
      truncateSync(path, 100);
      return path;
    }, 'netCDF', /truncated/],
    ['a netCDF cut inside its data', async () => {
      const path = netcdf('cut-data.nc', gridCdl(''));
      truncateSync(path, readFileSync(path).length - 40);
      return path;
    }, 'netCDF', /declares .* of data but the file holds/],
  ])('refuses %s as truncated (INVALID_INPUT)', async (_name, make, driver, reason) => {
    const path = await make();
    const bytes = await openByteSource(path, 0);
    const verdict = await readContainerHeader(bytes, driver as 'GTiff' | 'netCDF');
    await bytes.close();
    expect(verdict).toMatchObject({ ok: false, failure: { code: 'INVALID_INPUT', message: expect.stringMatching(reason) } });
  });
});

describe('the inspecting process', () => {
  it('describes a good GeoTIFF and a good netCDF', async () => {
    await expect(inspector.inspect(request(tiff('good.tif', 300, 200)))).resolves.toMatchObject({ width: 300, height: 200, crs: { code: 'EPSG:32633' } });
    await expect(inspector.inspect(request(netcdf('good.nc', gridCdl('crs:spatial_ref = "' + wgs84Wkt('') + '" ;'))))).resolves.toMatchObject({ width: 5, height: 4 });
  });

  it('refuses a CRS naming a file before anything opens it (the file is a FIFO: any open would block until the time limit)', async () => {
    const trap = join(fixtures.path, 'trap');
    mkdirSync(trap, { recursive: true });
    const fifo = join(trap, 'grid.gsb');
    execFileSync('mkfifo', [fifo]);
    const cases = [
      `crs:spatial_ref = "${wgs84Wkt(`,EXTENSION["PROJ4","+proj=longlat +datum=WGS84 +nadgrids=${fifo} +no_defs"]`)}" ;`,
      `crs:crs_wkt = "${wgs84Wkt(`,EXTENSION["PROJ4","+proj=longlat +datum=WGS84 +geoidgrids=@${fifo}"]`)}" ;`,
      `crs:proj4 = "+proj=longlat +datum=WGS84 +init=${fifo}:1" ;`,
      `crs:proj4_params = "+proj=longlat +nadgrids=../../../../../../../../${fifo.slice(1)}" ;`,
      `crs:esri_pe_string = "${wgs84Wkt(`,EXTENSION["PROJ4_GRIDS","${fifo}"]`)}" ;`,
    ];
    const slow = new SourceInspector({ timeoutSeconds: 60, memoryMb: 2048, processes: 1 });
    try {
      for (const [index, attributes] of cases.entries()) {
        const failure = await refusal(netcdf(`trap-${index}.nc`, gridCdl(attributes)), {}, slow);
        expect(failure.code).toBe('INVALID_INPUT');
        expect(failure.message).toMatch(/coordinate reference system .* names a path or URL through (\+nadgrids|\+geoidgrids|\+init|PROJ4_GRIDS)/);
        expect(failure.message).not.toContain(fixtures.path);
      }
    } finally {
      slow.close();
    }
  });

  it('keeps PROJ to its own data whatever the environment says', async () => {
    const evil = join(fixtures.path, 'evil-proj');
    mkdirSync(evil, { recursive: true });
    writeFileSync(join(evil, 'evil.gsb'), 'not a grid');
    const environment = inspectorEnvironment({ PATH: '/usr/bin', PROJ_DATA: evil, PROJ_LIB: evil, PROJ_NETWORK: 'ON', AzureWebJobsStorage: 'DefaultEndpointsProtocol=https;AccountKey=c2VjcmV0', GDAL_HTTP_PROXY: 'http://127.0.0.1:9', AZURE_CLIENT_SECRET: 'x' });
    expect(environment).toMatchObject({ PATH: '/usr/bin', PROJ_NETWORK: 'OFF', PROJ_SKIP_READ_USER_WRITABLE_DIRECTORY: 'YES' });
    expect(environment['PROJ_DATA']).not.toBe(evil);
    for (const secret of ['AzureWebJobsStorage', 'GDAL_HTTP_PROXY', 'AZURE_CLIENT_SECRET', 'PROJ_LIB']) expect(environment).not.toHaveProperty(secret);
    const failure = await refusal(netcdf('evil-grid.nc', gridCdl('crs:proj4 = "+proj=longlat +datum=WGS84 +nadgrids=evil.gsb" ;')));
    expect(failure.message).toMatch(/a grid that is not in PROJ's data through \+nadgrids/);
  });

  it('keeps real CRSs working: EPSG init codes, @null, and grids PROJ ships', async () => {
    for (const [index, proj4] of ['+proj=longlat +datum=WGS84 +no_defs', '+init=epsg:4326', '+proj=longlat +ellps=GRS80 +nadgrids=@null +no_defs', '+proj=longlat +ellps=clrk80ign +nadgrids=@ntf_r93.gsb +no_defs'].entries()) {
      await expect(inspector.inspect(request(netcdf(`real-${index}.nc`, gridCdl(`crs:proj4 = "${proj4}" ;`))))).resolves.toMatchObject({ width: 5, height: 4 });
    }
  });

  it('refuses sizes the bytes cannot back, and jobs of too many tiles, before reading pixels (INPUT_LIMIT)', async () => {
    const sparse = join(fixtures.path, 'sparse-huge.tif');
    const dataset = gdal.open(sparse, 'w', 'GTiff', 100_000, 100_000, 1, gdal.GDT_Float32, ['SPARSE_OK=TRUE', 'TILED=YES', 'BIGTIFF=YES']);
    dataset.srs = utm();
    dataset.geoTransform = [500000, 10, 0, 6000000, 0, -10];
    dataset.close();
    expect(await refusal(sparse)).toMatchObject({ code: 'INPUT_LIMIT', message: expect.stringMatching(/bytes per stored byte/) });
    const wellCompressed = tiff('many-tiles.tif', 3000, 3000, ['TILED=YES', 'COMPRESS=DEFLATE']);
    expect(await refusal(wellCompressed, { tileSize: 256, maxTilesPerJob: 100 })).toMatchObject({ code: 'INPUT_LIMIT', message: expect.stringMatching(/144 tiles, over the limit of 100/) });
    expect(await refusal(wellCompressed, { tileSize: 256, maxTilesPerJob: 100, options: ingestOptionsSchema.parse({ targetCrs: 'EPSG:32633' }) })).toMatchObject({ code: 'INPUT_LIMIT' });
  });

  it('stops an inspection that blocks, as a permanent INPUT_LIMIT, while this event loop keeps running; the next inspection still works', async () => {
    const fifo = join(fixtures.path, 'blocking.tif');
    execFileSync('mkfifo', [fifo]);
    const limited = new SourceInspector({ timeoutSeconds: 1, memoryMb: 2048, processes: 1 });
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 20);
    try {
      const failure = await refusal(fifo, {}, limited);
      expect(failure).toMatchObject({ code: 'INPUT_LIMIT', message: expect.stringMatching(/longer than 1 s.*INGEST_INSPECT_TIMEOUT_SECONDS/) });
      expect(ticks).toBeGreaterThan(0);
      await expect(limited.inspect(request(tiff('after.tif', 64, 64)))).resolves.toMatchObject({ width: 64 });
    } finally {
      clearInterval(ticker);
      limited.close();
    }
  });

  it('turns a child that dies on an upload into INPUT_LIMIT', async () => {
    // The address-space limit is far below what a 8000² float64 block needs once decoded, and the
    // block policy is lifted so the decoder really runs.
    const path = tiff('one-block.tif', 8000, 8000, ['COMPRESS=DEFLATE', 'BLOCKYSIZE=8000'], 1, gdal.GDT_Float64);
    const small = new SourceInspector({ timeoutSeconds: 60, memoryMb: 1024, processes: 1 });
    try {
      const failure = await refusal(path, { declaredSize: { ...defaultDeclaredSizeLimits, maxBlockBytes: 2 ** 40 } }, small);
      expect(failure.code).toBe('INPUT_LIMIT');
      expect(failure.message).toMatch(/memory|INGEST_INSPECT_MEMORY_MB/);
    } finally {
      small.close();
    }
  });
});
