import { readFileSync } from 'node:fs';
import gdal from 'gdal-async';
import { describe, expect, it } from 'vitest';
import { softwareVersions } from '../../src/stac/software.js';

describe('softwareVersions', () => {
  it('names this app by its package.json version and the GDAL it runs on', () => {
    const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(softwareVersions()).toEqual({ 'raster-ingest': manifest.version, GDAL: gdal.version });
  });
});
