/** The version of the raster-ingest package the CLI belongs to, read from its package.json. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Walks up from this module (cli/ in the sources, dist/cli/ in the build) to the package's own package.json. */
export function readPackageVersion(from: string = import.meta.url): string {
  let dir = dirname(fileURLToPath(from));
  for (let depth = 0; depth < 4; depth++) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) {
      const manifest: unknown = JSON.parse(readFileSync(candidate, 'utf8'));
      if (typeof manifest === 'object' && manifest !== null && 'name' in manifest && manifest.name === 'raster-ingest' && 'version' in manifest && typeof manifest.version === 'string') {
        return manifest.version;
      }
    }
    dir = dirname(dir);
  }
  return 'unknown';
}
