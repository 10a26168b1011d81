/**
 * GTIFF_DIRECT_IO per open (issue 21): GDAL reads it when a dataset opens; it speeds up windows of
 * local copies and would turn a window of a source read in place into a request per row. Under
 * INGEST_SOURCE_READ=auto one process opens both kinds, so the app sets it before each open.
 */
import { createServer, type Server } from 'node:http';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import gdal from 'gdal-async';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configureGdal } from '../../src/raster/gdal.setup.js';
import { openUntrustedSource } from '../../src/raster/source.open.js';
import { createFixtureDir, type FixtureDir } from '../support/fixtures.js';

let fixtures: FixtureDir;
let server: Server;
let path: string;
let gets = 0;

beforeAll(async () => {
  fixtures = createFixtureDir('direct-io-');
  // Striped, one row per strip, uncompressed: the shape direct I/O is for.
  path = `${fixtures.path}/striped.tif`;
  const dataset = gdal.open(path, 'w', 'GTiff', 2000, 300, 1, gdal.GDT_Float32, ['BLOCKYSIZE=1']);
  dataset.bands.get(1).pixels.write(0, 0, 2000, 300, new Float32Array(2000 * 300).fill(1));
  dataset.close();
  const body = readFileSync(path);
  server = createServer((request, response) => {
    if (request.method === 'HEAD') return void response.writeHead(200, { 'Content-Length': body.length, 'Accept-Ranges': 'bytes' }).end();
    gets++;
    const [start, end] = (/bytes=(\d+)-(\d+)/.exec(request.headers.range ?? '') ?? []).slice(1).map(Number) as [number, number];
    const last = Math.min(end, body.length - 1);
    response.writeHead(206, { 'Content-Range': `bytes ${start}-${last}/${body.length}`, 'Content-Length': last - start + 1 }).end(body.subarray(start, last + 1));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});
afterAll(() => {
  server.close();
  fixtures.remove();
});

describe('direct I/O, set per open', () => {
  it('is on for a local copy and off for a source read in place, in one process', async () => {
    configureGdal({}, { tilesReadLocalCopies: true });
    const local = await openUntrustedSource(path, 'striped.tif');
    expect(gdal.config.get('GTIFF_DIRECT_IO')).toBe('YES');
    local.close();

    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/striped.tif`;
    const remote = await openUntrustedSource(`/vsicurl/${url}`, 'striped.tif');
    expect(gdal.config.get('GTIFF_DIRECT_IO')).toBe('NO');
    gets = 0;
    await remote.bands.get(1).pixels.readAsync(1500, 0, 100, 300);
    remote.close();
    // A request per row would be 300.
    expect(gets).toBeLessThan(10);
  });

  it('leaves an explicit GTIFF_DIRECT_IO of the environment alone', async () => {
    gdal.config.set('GTIFF_DIRECT_IO', 'YES');
    configureGdal({ GTIFF_DIRECT_IO: 'YES' }, { tilesReadLocalCopies: true });
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/striped-2.tif`;
    const remote = await openUntrustedSource(`/vsicurl/${url}`, 'striped.tif');
    expect(gdal.config.get('GTIFF_DIRECT_IO')).toBe('YES');
    remote.close();
    configureGdal({}, { tilesReadLocalCopies: true });
  });
});
