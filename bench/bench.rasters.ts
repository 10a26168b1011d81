/**
 * The benchmark's source rasters: a generated square float32, and two derived from real rasters
 * shipped in Debian packages (fetched at run time with `apt-get download` + `dpkg -x`, never
 * committed): etopo5 from `ferret-datasets` and L7_ETMs.tif from `r-cran-stars`.
 */
import { existsSync, mkdirSync, rmSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeSampleDem } from '../scripts/sample.rasters.js';
import { run } from './bench.support.js';

const packageCache = join(tmpdir(), 'raster-ingest-bench-debian');

const debianFiles = {
  etopo5: { pkg: 'ferret-datasets', path: 'usr/share/ferret-vis/data/etopo5.cdf' },
  landsat: { pkg: 'r-cran-stars', path: 'usr/lib/R/site-library/stars/tif/L7_ETMs.tif' },
} as const;

/** The local path of a file from a Debian package, downloading and unpacking the package once. */
async function debianFile(key: keyof typeof debianFiles): Promise<string> {
  const { pkg, path } = debianFiles[key];
  const root = join(packageCache, 'root');
  const target = join(root, path);
  if (existsSync(target)) return target;
  mkdirSync(root, { recursive: true });
  await run('apt-get', ['download', pkg], { cwd: packageCache, timeout: 300_000 });
  const deb = readdirSync(packageCache).find((name) => name.startsWith(`${pkg}_`) && name.endsWith('.deb'));
  if (!deb) throw new Error(`apt-get download ${pkg} produced no .deb`);
  await run('dpkg', ['-x', join(packageCache, deb), root], { timeout: 300_000 });
  return target;
}

export interface BenchShape {
  name: string;
  description: string;
  path: string;
  /**
   * Extra `gdal_translate` arguments the baseline needs to run at all. A 15-bit JP2 carries
   * NBITS=15 into the COG, where PREDICTOR=2 fails ("only supported with 8/16/32/64 bit
   * samples"); `-ot UInt16` is what a user adds, and it drops NBITS as the pipeline's COGs do.
   */
  baselineArguments?: string[];
}

export const shapeNames = ['square', 'etopo5x3', 'landsat8bit', 'sentinel2jp2'] as const;
export type ShapeName = (typeof shapeNames)[number];

/**
 * etopo5 (4320×2161 float32, 5′ global grid with cell centres from 0° to 359.92° E and from
 * 90° S to 90° N, no CRS) as EPSG:4326 with its cell-edge bounds, resampled ×3.
 */
async function writeEtopo(path: string, width: number, height: number, creationOptions: string[]): Promise<void> {
  const source = await debianFile('etopo5');
  const half = 1 / 24; // half a 5′ cell
  const bounds = [-half, 90 + half, 360 - half, -90 - half].map(String);
  await run('gdal_translate', ['-q', '-of', 'GTiff', '-a_srs', 'EPSG:4326', '-a_ullr', ...bounds, '-outsize', String(width), String(height), '-r', 'bilinear', ...creationOptions.flatMap((option) => ['-co', option]), `NETCDF:${source}:ROSE`, path], { timeout: 1_800_000 });
}

export async function writeShape(name: ShapeName, directory: string): Promise<BenchShape> {
  mkdirSync(directory, { recursive: true });
  const path = join(directory, name === 'sentinel2jp2' ? `${name}.jp2` : `${name}.tif`);
  // A source kept from an earlier run (--data) is reused: generating one takes longer than a round.
  const reuse = existsSync(path);
  switch (name) {
    case 'square':
      // Uncompressed and striped, like a typical export: neither side gets a head start.
      if (!reuse) await writeSampleDem(path, 9000, 9000, []);
      return { name, path, description: '9000×9000 float32, generated, striped uncompressed (309 MiB)' };
    case 'etopo5x3':
      if (!reuse) await writeEtopo(path, 12960, 6483, []);
      return { name, path, description: 'etopo5 (ferret-datasets) ×3: 12960×6483 float32 EPSG:4326, striped uncompressed (321 MiB); 4 tile columns, the last 672 px wide' };
    case 'landsat8bit': {
      if (!reuse) await run('gdal_translate', ['-q', '-of', 'GTiff', '-outsize', '2000%', '2000%', '-r', 'cubic', await debianFile('landsat'), path], { timeout: 1_800_000 });
      return { name, path, description: 'L7_ETMs.tif (r-cran-stars) ×20: 6980×7040, 6 bands uint8, UTM 25S, striped uncompressed (281 MiB)' };
    }
    case 'sentinel2jp2': {
      // Like a Sentinel-2 L1C band: one 15-bit uint16 band, 1024² JPEG 2000 tiles, 5 resolutions, GMLJP2 and GeoJP2, reversible.
      if (!reuse) {
        const scaled = join(directory, 'sentinel2jp2.source.tif');
        await run('gdal_translate', ['-q', '-of', 'GTiff', '-b', '4', '-ot', 'UInt16', '-scale', '0', '255', '0', '32767', '-outsize', '1500%', '1500%', '-r', 'cubic', await debianFile('landsat'), scaled], { timeout: 1_800_000 });
        await run('gdal_translate', ['-q', '-of', 'JP2OpenJPEG', ...['QUALITY=100', 'REVERSIBLE=YES', 'NBITS=15', 'RESOLUTIONS=5', 'BLOCKXSIZE=1024', 'BLOCKYSIZE=1024', 'GMLJP2=YES', 'GeoJP2=YES'].flatMap((option) => ['-co', option]), scaled, path], { timeout: 1_800_000 });
        rmSync(scaled);
      }
      return { name, path, description: 'L7_ETMs.tif (r-cran-stars) band 4 ×15 as a Sentinel-2-like JP2: 5235×5280 uint16 (15-bit), 1024² tiles, 5 resolutions, reversible', baselineArguments: ['-ot', 'UInt16'] };
    }
  }
}

/**
 * The scaling pair: etopo5 resampled to `edge`² float32, tiled and compressed (cheap to keep and
 * upload) — the pipeline still reads and writes every pixel (edge² × 4 bytes uncompressed).
 */
export async function writeScalingSource(edge: number, directory: string): Promise<BenchShape> {
  mkdirSync(directory, { recursive: true });
  const path = join(directory, `etopo-${edge}.tif`);
  if (!existsSync(path)) await writeEtopo(path, edge, edge, ['TILED=YES', 'COMPRESS=ZSTD', 'ZSTD_LEVEL=1', 'PREDICTOR=3', 'BIGTIFF=YES', 'NUM_THREADS=ALL_CPUS']);
  return { name: `etopo-${edge}`, path, description: `etopo5 resampled to ${edge}×${edge} float32 (${((edge * edge * 4) / 1e9).toFixed(2)} GB uncompressed), tiled ZSTD` };
}
