/** Process-wide GDAL settings for the activities, applied once when their dependencies are built. */
import gdal from 'gdal-async';

/**
 * GDAL's block cache defaults to 5% of RAM (1.2 GB on a 24 GB machine) and, being per process,
 * adds to the host's own memory. COG writing streams through it, so a modest cap costs no speed.
 * An explicit `GDAL_CACHEMAX` in the environment wins.
 */
export const defaultGdalCacheMb = 256;

export function configureGdal(env: Readonly<Record<string, string | undefined>> = process.env): void {
  if (!env['GDAL_CACHEMAX']) gdal.config.set('GDAL_CACHEMAX', String(defaultGdalCacheMb));
}
