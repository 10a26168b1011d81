/**
 * Which software makes the items, for their lineage (`processing:software`): this app's version
 * (its package.json) and the GDAL it runs on. Read once per process.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import gdal from 'gdal-async';

export const appName = 'raster-ingest';

let cached: Record<string, string> | undefined;

/** The app's package.json, found by walking up from this module (src/ in tests, dist/src/ when built). */
function readAppVersion(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    try {
      const manifest: unknown = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      if (typeof manifest === 'object' && manifest !== null && 'name' in manifest && manifest.name === appName && 'version' in manifest && typeof manifest.version === 'string') return manifest.version;
    } catch {
      // No package.json here: keep walking up.
    }
    if (dirname(dir) === dir) return 'unknown';
  }
}

/** `{ "raster-ingest": "<version>", "GDAL": "<version>" }`. */
export function softwareVersions(): Record<string, string> {
  cached ??= { [appName]: readAppVersion(), GDAL: gdal.version };
  return cached;
}
