/**
 * Fixture rasters, generated with GDAL into a temp folder at test time (no binary data in the
 * repository). Every pixel value is a deterministic function of its position, so content is
 * reproducible and not trivially compressible.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import gdal from 'gdal-async';

export interface FixtureDir {
  path: string;
  remove(): void;
}

export function createFixtureDir(prefix = 'raster-fixtures-'): FixtureDir {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

type GeoTransform = [number, number, number, number, number, number];

interface RasterSpec {
  width: number;
  height: number;
  bands: number;
  dataType: string;
  /** `null` = no CRS at all. */
  srs: gdal.SpatialReference | null;
  /** `null` = no geotransform at all. */
  geoTransform: GeoTransform | null;
  nodata?: number;
  creationOptions?: string[];
  /** Pixel value of band `band` at (x, y). */
  value: (x: number, y: number, band: number) => number;
  colorInterpretations?: string[];
  unit?: string;
  /** Default-domain dataset metadata (e.g. `TIFFTAG_DATETIME`, netCDF dimension keys). */
  metadata?: Record<string, string>;
}

function typedArrayFor(dataType: string, length: number): gdal.TypedArray {
  switch (dataType) {
    case gdal.GDT_Byte:
      return new Uint8Array(length);
    case gdal.GDT_Int16:
      return new Int16Array(length);
    case gdal.GDT_UInt16:
      return new Uint16Array(length);
    case gdal.GDT_Float32:
      return new Float32Array(length);
    case gdal.GDT_Float64:
      return new Float64Array(length);

    default:
      throw new Error(`fixture data type ${dataType} not supported`);
  }
}

/** Writes a GeoTIFF (striped, like most uploads: not a COG) from a spec. */
export function writeRaster(path: string, spec: RasterSpec): string {
  const dataset = gdal.open(path, 'w', 'GTiff', spec.width, spec.height, spec.bands, spec.dataType, spec.creationOptions ?? ['COMPRESS=DEFLATE']);
  if (spec.srs) dataset.srs = spec.srs;
  if (spec.geoTransform) dataset.geoTransform = spec.geoTransform;
  if (spec.metadata) dataset.setMetadata(spec.metadata);
  for (let b = 1; b <= spec.bands; b++) {
    const band = dataset.bands.get(b);
    if (spec.nodata !== undefined) band.noDataValue = spec.nodata;
    const interpretation = spec.colorInterpretations?.[b - 1];
    if (interpretation) band.colorInterpretation = interpretation;
    if (spec.unit) band.unitType = spec.unit;
    const data = typedArrayFor(spec.dataType, spec.width * spec.height);
    for (let y = 0; y < spec.height; y++) {
      for (let x = 0; x < spec.width; x++) data[y * spec.width + x] = spec.value(x, y, b);
    }
    band.pixels.write(0, 0, spec.width, spec.height, data);
  }
  dataset.close();
  return path;
}

/** A cheap deterministic hash of a pixel position into [0, 1). */
function noise(x: number, y: number, band: number): number {
  let h = (x * 374761393 + y * 668265263 + band * 2147483647) | 0;
  h = Math.imul(h ^ (h >>> 13), 1274126177);
  return ((h ^ (h >>> 16)) >>> 0) / 4294967296;
}

const utm33 = (): gdal.SpatialReference => gdal.SpatialReference.fromEPSG(32633);
const wgs84 = (): gdal.SpatialReference => gdal.SpatialReference.fromEPSG(4326);

/** 3-band RGB uint8 in UTM 33N (EPSG:32633), 10 m pixels. */
export function writeRgbUint8(dir: string, width = 1100, height = 700, name = 'rgb.tif', placement: { originX?: number } = {}): string {
  return writeRaster(join(dir, name), {
    width,
    height,
    bands: 3,
    dataType: gdal.GDT_Byte,
    srs: utm33(),
    geoTransform: [placement.originX ?? 500000, 10, 0, 6000000, 0, -10],
    colorInterpretations: [gdal.GCI_RedBand, gdal.GCI_GreenBand, gdal.GCI_BlueBand],
    value: (x, y, b) => Math.floor(((x + y * b) % 200) + noise(x, y, b) * 55),
  });
}

/** Int16 DEM in EPSG:4326 with nodata -9999 in a corner block, metres. */
export function writeInt16Dem(dir: string, width = 600, height = 500, name = 'dem-int16.tif'): string {
  return writeRaster(join(dir, name), {
    width,
    height,
    bands: 1,
    dataType: gdal.GDT_Int16,
    srs: wgs84(),
    geoTransform: [14.0, 0.001, 0, 47.0, 0, -0.001],
    nodata: -9999,
    unit: 'm',
    value: (x, y) => (x < 50 && y < 50 ? -9999 : Math.round(200 + 1000 * Math.sin(x / 80) * Math.cos(y / 60) + noise(x, y, 1) * 20)),
  });
}

/** Float32 DEM with NaN nodata and NaN pixels, in UTM 33N. */
export function writeFloat32NanDem(dir: string, width = 900, height = 650, name = 'dem-float32-nan.tif'): string {
  return writeRaster(join(dir, name), {
    width,
    height,
    bands: 1,
    dataType: gdal.GDT_Float32,
    srs: utm33(),
    geoTransform: [400000, 30, 0, 5500000, 0, -30],
    nodata: Number.NaN,
    unit: 'metre',
    value: (x, y) => ((x - 300) ** 2 + (y - 300) ** 2 < 80 ** 2 ? Number.NaN : 100 + x * 0.37 + y * 0.11 + noise(x, y, 1)),
  });
}

/** Float32 with a numeric nodata (-3.4e38-style sentinel is common; here -32768). */
export function writeFloat32Nodata(dir: string, width = 700, height = 520, name = 'dem-float32.tif'): string {
  return writeRaster(join(dir, name), {
    width,
    height,
    bands: 1,
    dataType: gdal.GDT_Float32,
    srs: utm33(),
    geoTransform: [400000, 30, 0, 5500000, 0, -30],
    nodata: -32768,
    value: (x, y) => (y > height - 40 ? -32768 : 250.5 + Math.sin(x / 50) * 40 + noise(x, y, 1) / 3),
  });
}

/** Paletted uint8 (8 classes) with a colour table, EPSG:32633. */
export function writePaletted(dir: string, width = 640, height = 480, name = 'paletted.tif'): string {
  const path = writeRaster(join(dir, name), {
    width,
    height,
    bands: 1,
    dataType: gdal.GDT_Byte,
    srs: utm33(),
    geoTransform: [600000, 20, 0, 5800000, 0, -20],
    value: (x, y) => Math.floor(x / 80 + y / 120) % 8,
  });
  const dataset = gdal.open(path, 'r+');
  const table = new gdal.ColorTable(gdal.GPI_RGB);
  for (let i = 0; i < 8; i++) table.set(i, { c1: (i * 37) % 256, c2: (i * 91) % 256, c3: (i * 53) % 256, c4: 255 });
  dataset.bands.get(1).colorTable = table;
  dataset.close();
  return path;
}

/** uint8 with a rotated geotransform (about 10°), EPSG:32633. */
export function writeRotated(dir: string, width = 520, height = 400, name = 'rotated.tif'): string {
  const angle = (10 * Math.PI) / 180;
  const size = 10;
  return writeRaster(join(dir, name), {
    width,
    height,
    bands: 1,
    dataType: gdal.GDT_Byte,
    srs: utm33(),
    geoTransform: [500000, size * Math.cos(angle), size * Math.sin(angle), 6000000, size * Math.sin(angle), -size * Math.cos(angle)],
    value: (x, y) => (x * 3 + y) % 256,
  });
}

/** A projected CRS with no authority code (custom Lambert conformal conic on WGS84). */
export const customLccWkt =
  'PROJCS["Custom LCC",GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563]],PRIMEM["Greenwich",0],' +
  'UNIT["degree",0.0174532925199433]],PROJECTION["Lambert_Conformal_Conic_2SP"],PARAMETER["standard_parallel_1",44.5],' +
  'PARAMETER["standard_parallel_2",49.5],PARAMETER["latitude_of_origin",46.7],PARAMETER["central_meridian",12.3],' +
  'PARAMETER["false_easting",700000],PARAMETER["false_northing",400000],UNIT["metre",1]]';

export function writeNoEpsgProjected(dir: string, width = 400, height = 300, name = 'custom-lcc.tif'): string {
  return writeRaster(join(dir, name), {
    width,
    height,
    bands: 1,
    dataType: gdal.GDT_UInt16,
    srs: new gdal.SpatialReference(customLccWkt),
    geoTransform: [690000, 50, 0, 410000, 0, -50],
    value: (x, y) => (x * 7 + y * 13) % 4000,
  });
}

/** Float32 global grid with longitudes 0–360 (EPSG:4326 axis values past 180). */
export function writeGlobal0To360(dir: string, width = 720, height = 360, name = 'global-0-360.tif'): string {
  return writeRaster(join(dir, name), {
    width,
    height,
    bands: 1,
    dataType: gdal.GDT_Float32,
    srs: wgs84(),
    geoTransform: [0, 0.5, 0, 90, 0, -0.5],
    value: (x, y) => Math.cos((y - 180) / 115) * 30 + Math.sin(x / 60) * 5,
  });
}

/** uint8 in EPSG:4326 from 170°E to 190°E (170°E–170°W): crosses the antimeridian. */
export function writeAntimeridian(dir: string, width = 400, height = 200, name = 'antimeridian.tif'): string {
  return writeRaster(join(dir, name), {
    width,
    height,
    bands: 1,
    dataType: gdal.GDT_Byte,
    srs: wgs84(),
    geoTransform: [170, 0.05, 0, -15, 0, -0.05],
    value: (x, y) => (x + 2 * y) % 256,
  });
}

/** A raster with no geotransform and no CRS. */
export function writeUngeoreferenced(dir: string, name = 'no-georef.tif'): string {
  return writeRaster(join(dir, name), {
    width: 300,
    height: 200,
    bands: 1,
    dataType: gdal.GDT_Byte,
    srs: null,
    geoTransform: null,
    value: (x, y) => (x + y) % 256,
  });
}

/** A valid GeoTIFF cut to `fraction` of its bytes (headers intact, pixels missing). */
export function writeTruncated(dir: string, fraction = 0.6, name = 'truncated.tif'): string {
  // Uncompressed, so GDAL writes the directory up front and can still open the cut file.
  const whole = writeRaster(join(dir, `whole-${name}`), {
    width: 900,
    height: 700,
    bands: 3,
    dataType: gdal.GDT_Byte,
    srs: utm33(),
    geoTransform: [500000, 10, 0, 6000000, 0, -10],
    creationOptions: [],
    value: (x, y, b) => (x + y * b) % 256,
  });
  const bytes = readFileSync(whole);
  const path = join(dir, name);
  writeFileSync(path, bytes.subarray(0, Math.floor(bytes.length * fraction)));
  return path;
}

export function writeZeroByte(dir: string, name = 'empty.tif'): string {
  const path = join(dir, name);
  writeFileSync(path, '');
  return path;
}

export function writeTextAsTif(dir: string, name = 'notes.tif'): string {
  const path = join(dir, name);
  writeFileSync(path, 'These are meeting notes, not a GeoTIFF.\n');
  return path;
}

/** Float32 with NaN pixels (every other column in a band of rows) but no declared nodata. */
export function writeFloat32NanUndeclared(dir: string, width = 512, height = 384, name = 'float32-nan-undeclared.tif'): string {
  return writeRaster(join(dir, name), {
    width,
    height,
    bands: 1,
    dataType: gdal.GDT_Float32,
    srs: utm33(),
    geoTransform: [400000, 30, 0, 5500000, 0, -30],
    value: (x, y) => (y < 200 && x % 2 === 0 ? Number.NaN : 10 + (x % 17) + y / 100),
  });
}

/** uint8 in NSIDC polar stereographic north (EPSG:3413), centred on the North Pole. */
export function writeNorthPolar(dir: string, width = 400, height = 400, name = 'north-polar.tif'): string {
  return writeRaster(join(dir, name), {
    width,
    height,
    bands: 1,
    dataType: gdal.GDT_Byte,
    srs: gdal.SpatialReference.fromEPSG(3413),
    geoTransform: [-1_000_000, 5000, 0, 1_000_000, 0, -5000],
    value: (x, y) => (x ^ y) & 0xff,
  });
}

/** Converts a fixture to another GDAL format (netCDF, HFA, AAIGrid, VRT, ...) next to it. */
export function convertRaster(sourcePath: string, format: string, name: string, options: string[] = []): string {
  const path = join(sourcePath.slice(0, sourcePath.lastIndexOf('/')), name);
  gdal.translate(path, gdal.open(sourcePath), ['-of', format, ...options]).close();
  return path;
}

/** uint16 in NAD83 / New York Long Island (ftUS), EPSG:2263: a CRS in US survey feet. */
export function writeUsFeet(dir: string, width = 300, height = 200, name = 'ny-ftus.tif'): string {
  return writeRaster(join(dir, name), {
    width,
    height,
    bands: 1,
    dataType: gdal.GDT_UInt16,
    srs: gdal.SpatialReference.fromEPSG(2263),
    geoTransform: [980000, 20, 0, 200000, 0, -20],
    value: (x, y) => x * 3 + y,
  });
}

/** Complex int16 (SAR-style) in UTM 33N, converted from an int16 ramp (gdal-async cannot write complex pixels). */
export function writeComplexInt16(dir: string, width = 256, height = 200, name = 'complex-cint16.tif'): string {
  const real = writeRaster(join(dir, `real-${name}`), {
    width,
    height,
    bands: 1,
    dataType: gdal.GDT_Int16,
    srs: utm33(),
    geoTransform: [500000, 10, 0, 6000000, 0, -10],
    value: (x, y) => (x + y) % 1000,
  });
  return convertRaster(real, 'GTiff', name, ['-ot', 'CInt16']);
}

/** A COG (directory first, tiles in order, overviews before full resolution) cut to `fraction` of its bytes. */
export function writeTruncatedCog(dir: string, fraction = 0.7, name = 'truncated-cog.tif'): string {
  const whole = writeRgbUint8(dir, 900, 700, `whole-${name}`);
  const cog = convertRaster(whole, 'COG', `cog-${name}`, ['-co', 'BLOCKSIZE=256']);
  const bytes = readFileSync(cog);
  const path = join(dir, name);
  writeFileSync(path, bytes.subarray(0, Math.floor(bytes.length * fraction)));
  return path;
}

/** Patterned windows a sparse fixture holds, as [x, y, width, height]; everything else reads as 0. */
export type PixelWindow = [number, number, number, number];

/**
 * A large single-band uint8 GeoTIFF that costs almost nothing on disk: tiled, uncompressed,
 * `SPARSE_OK=TRUE`, so only the blocks under `windows` are written (noise there) and every other
 * block stays unallocated and reads as 0. A 39,000² file is ~50 KB plus the windows.
 */
export function writeSparseLarge(dir: string, size: number, windows: PixelWindow[], name = `sparse-${size}.tif`): string {
  const path = join(dir, name);
  const dataset = gdal.open(path, 'w', 'GTiff', size, size, 1, gdal.GDT_Byte, ['TILED=YES', 'BLOCKXSIZE=512', 'BLOCKYSIZE=512', 'SPARSE_OK=TRUE']);
  dataset.srs = utm33();
  dataset.geoTransform = [300000, 10, 0, 6000000, 0, -10];
  const band = dataset.bands.get(1);
  for (const [x0, y0, width, height] of windows) {
    const data = new Uint8Array(width * height);
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data[y * width + x] = 1 + Math.floor(noise(x0 + x, y0 + y, 1) * 254);
    band.pixels.write(x0, y0, width, height, data);
  }
  dataset.close();
  return path;
}

/** uint16 in UTM 33N whose TIFF DateTime tag says when it was made (the only time a plain GeoTIFF can carry). */
export function writeTiffDated(dir: string, dateTime = '2021:06:14 10:32:05', name = 'tiff-dated.tif'): string {
  return writeRaster(join(dir, name), {
    width: 300,
    height: 200,
    bands: 1,
    dataType: gdal.GDT_UInt16,
    srs: utm33(),
    geoTransform: [500000, 10, 0, 6000000, 0, -10],
    metadata: { TIFFTAG_DATETIME: dateTime },
    value: (x, y) => x * 7 + y,
  });
}

/**
 * A CF netCDF with a time dimension: two float32 bands at 2024-01-01T12:00Z and 2024-01-02T12:00Z
 * (days since 2000-01-01). GDAL's netCDF driver rebuilds the dimension from these metadata keys.
 */
export function writeNetcdfWithTime(dir: string, name = 'timed.nc'): string {
  const tiff = writeRaster(join(dir, `${name}.tif`), {
    width: 120,
    height: 80,
    bands: 2,
    dataType: gdal.GDT_Float32,
    srs: wgs84(),
    geoTransform: [10, 0.05, 0, 50, 0, -0.05],
    nodata: -9999,
    metadata: {
      NETCDF_DIM_EXTRA: '{time}',
      NETCDF_DIM_time_DEF: '{2,6}',
      NETCDF_DIM_time_VALUES: '{8766.5,8767.5}',
      'time#units': 'days since 2000-01-01 00:00:00',
      'time#standard_name': 'time',
      'time#calendar': 'gregorian',
      'time#axis': 'T',
    },
    value: (x, y, b) => 280 + b + x / 10 + y / 20,
  });
  return convertRaster(tiff, 'netCDF', name);
}
