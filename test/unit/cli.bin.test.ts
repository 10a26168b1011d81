/**
 * The package's bin stays executable after a rebuild: tsc writes dist/cli/main.js without the
 * execute bit, and the build's step after tsc (scripts/build-web.mjs) gives it back.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readPackageVersion } from '../../cli/cli.version.js';
import { makeBinsExecutable } from '../../scripts/bin.executable.js';
import { projectRoot } from '../support/local.host.js';

describe('the raster-ingest bin', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('is made executable again, as tsc leaves it (rw-r--r--)', () => {
    dir = mkdtempSync(join(tmpdir(), 'bin-'));
    mkdirSync(join(dir, 'dist', 'cli'), { recursive: true });
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'x', bin: { x: 'dist/cli/main.js' } }));
    const main = join(dir, 'dist', 'cli', 'main.js');
    writeFileSync(main, '#!/usr/bin/env node\n', { mode: 0o644 });
    expect(makeBinsExecutable(dir)).toEqual([main]);
    expect(statSync(main).mode & 0o777).toBe(0o755);
  });

  it('is made executable by every build: the step after tsc runs it, for the package.json bin', () => {
    const manifest = JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as { bin: Record<string, string>; scripts: Record<string, string> };
    expect(manifest.bin['raster-ingest']).toBe('dist/cli/main.js');
    expect(manifest.scripts['build']).toMatch(/^tsc -p tsconfig\.json && node scripts\/build-web\.mjs/);
    expect(readFileSync(join(projectRoot, 'scripts', 'build-web.mjs'), 'utf8')).toContain('makeBinsExecutable(root)');
  });

  it('knows its version from package.json, from the sources as from the build', () => {
    const { version } = JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as { version: string };
    expect(readPackageVersion()).toBe(version);
  });
});
