/**
 * Makes the package's `bin` files executable. tsc writes `dist/cli/main.js` without the execute
 * bit, so every rebuild (`npm run build`, `npm start`) would leave a linked `raster-ingest`
 * failing with "Permission denied"; the build runs this after tsc (scripts/build-web.mjs).
 */
import { chmodSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Each `bin` of the package at `root`, given execute permission wherever it has read permission; returns their paths. */
export function makeBinsExecutable(root: string): string[] {
  const manifest: unknown = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const bin = typeof manifest === 'object' && manifest !== null && 'bin' in manifest ? manifest.bin : undefined;
  const paths = typeof bin === 'string' ? [bin] : typeof bin === 'object' && bin !== null ? Object.values(bin).filter((path): path is string => typeof path === 'string') : [];
  return paths.map((path) => {
    const file = join(root, path);
    const { mode } = statSync(file);
    // r-- → r-x for owner, group and others alike.
    chmodSync(file, mode | ((mode & 0o444) >> 2));
    return file;
  });
}
