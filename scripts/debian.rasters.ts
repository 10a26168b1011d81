/**
 * Real rasters shipped in Debian packages (r-cran-terra, r-cran-stars, ferret-datasets, proj-data), fetched at test time
 * with `apt-get download` + `dpkg -x` into a cache folder, so no third-party data is committed.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const debianRasterCache = join(tmpdir(), 'raster-ingest-debian-rasters');

export const debianRasters = {
  elev: { pkg: 'r-cran-terra', path: 'usr/lib/R/site-library/terra/ex/elev.tif' },
  meuse: { pkg: 'r-cran-terra', path: 'usr/lib/R/site-library/terra/ex/meuse.tif' },
  logo: { pkg: 'r-cran-terra', path: 'usr/lib/R/site-library/terra/ex/logo.tif' },
  landsat: { pkg: 'r-cran-stars', path: 'usr/lib/R/site-library/stars/tif/L7_ETMs.tif' },
  landcover: { pkg: 'r-cran-stars', path: 'usr/lib/R/site-library/stars/tif/lc.tif' },
  geomatrix: { pkg: 'r-cran-stars', path: 'usr/lib/R/site-library/stars/tif/geomatrix.tif' },
  olinda: { pkg: 'r-cran-stars', path: 'usr/lib/R/site-library/stars/tif/olinda_dem_utm25s.tif' },
  /** A 5′ global relief grid (4320 × 2161 float32) on CF longitude 0–360° and latitude, with no grid_mapping. */
  etopo5: { pkg: 'ferret-datasets', path: 'usr/share/ferret-vis/data/etopo5.cdf' },
  /** netCDF-4 (HDF5 inside): Daymet precipitation on a Lambert conformal conic grid, deflated chunks. */
  lccKm: { pkg: 'r-cran-stars', path: 'usr/lib/R/site-library/stars/nc/lcc_km.nc' },
  /** A GTX geoid grid (EGM96, 15'), a single-file format without a signature. */
  egm96: { pkg: 'proj-data', path: 'usr/share/proj/egm96_15.gtx' },
} as const;

export type DebianRaster = keyof typeof debianRasters;

/**
 * Makes the packages' files available; returns the local path of each raster, or the reason
 * they could not be fetched (e.g. no access to a Debian mirror).
 */
export async function fetchDebianRasters(): Promise<{ paths: Record<DebianRaster, string> } | { unavailable: string }> {
  const root = join(debianRasterCache, 'root');
  mkdirSync(root, { recursive: true });
  const packages = [...new Set(Object.values(debianRasters).map((r) => r.pkg))];
  try {
    for (const pkg of packages) {
      const missing = Object.values(debianRasters).some((r) => r.pkg === pkg && !existsSync(join(root, r.path)));
      if (!missing) continue;
      await run('apt-get', ['download', pkg], { cwd: debianRasterCache, timeout: 300_000 });
      const deb = readdirSync(debianRasterCache).find((name) => name.startsWith(`${pkg}_`) && name.endsWith('.deb'));
      if (!deb) throw new Error(`apt-get download ${pkg} produced no .deb`);
      await run('dpkg', ['-x', join(debianRasterCache, deb), root], { timeout: 120_000 });
    }
  } catch (error) {
    return { unavailable: `could not fetch ${packages.join(', ')} from Debian (${(error as Error).message.split('\n')[0]})` };
  }
  const paths = Object.fromEntries(Object.entries(debianRasters).map(([key, r]) => [key, join(root, r.path)])) as Record<DebianRaster, string>;
  return { paths };
}
