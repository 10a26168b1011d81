/**
 * The hostile corpus itself: enough cases, every category, every file written, ids usable as blob
 * folders; and each case of issue 18 is what it claims, read back with GDAL (the same library the
 * service uses) or byte by byte where GDAL would act on it (a CRS naming a named pipe blocks
 * whoever parses it).
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, lstatSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { createInflate } from 'node:zlib';
import { parse as parseCsv } from 'csv-parse/sync';
import gdal from 'gdal-async';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startCanaryServer } from '../support/canary.server.js';
import { generateHostileCorpus, sentinelPixelValue, type BatchCase, type FileCase, type HostileCorpus, type QueryCase, type RequestCase } from '../support/hostile.corpus.js';
import { geoKeys, readTiffSummary } from '../support/hostile.geotiff.js';
import { findPythonWithH5py } from '../support/hostile.hdf5.js';
import { explosiveGlobs, garbageTokens, globBlobNames } from '../support/hostile.requests.js';

let corpus: HostileCorpus;
const canaryUrl = 'http://127.0.0.1:9';

function fileCase(id: string): FileCase {
  const found = corpus.cases.find((entry): entry is FileCase => entry.kind === 'file' && entry.id === id);
  if (!found) throw new Error(`no file case ${id}`);
  return found;
}

const sourceOf = (id: string): string => fileCase(id).files[0]!.localPath;
const bytesOf = (id: string): Buffer => readFileSync(sourceOf(id));

/** Bytes a zlib stream inflates to, counted as it streams (a bomb is never held whole); rejects on a corrupt stream. */
async function inflatedSize(stream: Buffer): Promise<{ bytes: number; nonZero: boolean }> {
  return new Promise((resolve, reject) => {
    let bytes = 0;
    let nonZero = false;
    const chunkSize = 1024 * 1024;
    const zeros = Buffer.alloc(chunkSize);
    const inflate = createInflate({ chunkSize });
    inflate.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (!nonZero && !chunk.equals(zeros.subarray(0, chunk.length))) nonZero = true;
    });
    inflate.on('end', () => resolve({ bytes, nonZero }));
    inflate.on('error', reject);
    inflate.end(stream);
  });
}

/** Opens a corpus file with GDAL (never one whose CRS names a pipe: parsing that CRS would block). */
function withDataset<T>(id: string, use: (dataset: gdal.Dataset) => T): T {
  expect(fileCase(id).fifos ?? [], `${id} names a named pipe`).toEqual([]);
  const dataset = gdal.open(sourceOf(id));
  try {
    return use(dataset);
  } finally {
    dataset.close();
  }
}

beforeAll(() => {
  corpus = generateHostileCorpus({ canaryUrl });
});

afterAll(() => corpus?.remove());

describe('hostile corpus', () => {
  it('has at least 30 cases with unique ids and the categories of issue 8', () => {
    expect(corpus.cases.length).toBeGreaterThanOrEqual(30);
    const ids = corpus.cases.map((entry) => entry.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^[a-z0-9][a-z0-9-]*$/);
    const categories = new Set(corpus.cases.map((entry) => entry.category));
    for (const category of ['VRT, local file', 'VRT, network', 'VRT, virtual file system', 'VRT, disguised', 'GDAL XML service', 'dataset string', 'archive', 'HDF5 / netCDF-4', 'format not allowed', 'sidecar', 'request']) {
      expect(categories).toContain(category);
    }
  });

  it('writes every file of every file case, source first, into the corpus folder', () => {
    const fileCases = corpus.cases.filter((entry): entry is FileCase => entry.kind === 'file');
    expect(fileCases.length).toBeGreaterThanOrEqual(30);
    for (const fileCase of fileCases) {
      expect(fileCase.source.endsWith(`/${fileCase.id}/${fileCase.files[0]!.blobName}`)).toBe(true);
      for (const file of fileCase.files) {
        expect(file.localPath.startsWith(corpus.root), file.localPath).toBe(true);
        expect(existsSync(file.localPath), file.localPath).toBe(true);
        expect(statSync(file.localPath).size, file.localPath).toBeGreaterThan(0);
      }
    }
    // A few uploads go through the upload trigger.
    expect(fileCases.filter((entry) => entry.container === 'uploads').length).toBeGreaterThanOrEqual(2);
  });

  it('points network cases at the canary under their own id and local-file cases at the sentinel', () => {
    const text = (id: string): string => {
      const fileCase = corpus.cases.find((entry): entry is FileCase => entry.kind === 'file' && entry.id === id)!;
      return readFileSync(fileCase.files[0]!.localPath, 'utf8');
    };
    for (const id of ['vrt-http-source', 'vrt-vsicurl-canary', 'wms-canary', 'wmts-canary', 'wms-tms-canary', 'stacit-canary']) {
      expect(text(id)).toContain(`${canaryUrl}/${id}/`);
    }
    // Each case reaches for a sentinel of its own, so an open of it names the case.
    for (const id of ['vrt-simple-sentinel', 'vrt-disguised-as-tif', 'vrt-warped-sentinel', 'vrt-pansharpened', 'vrt-nested', 'vrt-vsizip-sentinel', 'pds-detached-label']) {
      const folder = corpus.sentinel.folderOf(id);
      expect(folder.startsWith(corpus.sentinel.root)).toBe(true);
      expect(existsSync(join(folder, 'sentinel.tif')), id).toBe(true);
      expect(text(id)).toContain(folder.replace(/^\/+/, ''));
    }
    expect(text('vrt-raw-etc-passwd')).toContain('/etc/passwd');
    expect(String(sentinelPixelValue)).toBe('13371337');
  });

  it('gives every request case a body and a 4xx expectation', () => {
    const requestCases = corpus.cases.filter((entry): entry is RequestCase => entry.kind === 'request');
    expect(requestCases.length).toBeGreaterThanOrEqual(20);
    for (const requestCase of requestCases) {
      expect(requestCase.body.length).toBeGreaterThan(0);
      expect(['http-400', 'http-404']).toContain(requestCase.expect.outcome);
    }
  });
});

describe('issue 18, class A: CRSs that name files or URLs', () => {
  const crsCases = (): FileCase[] => corpus.cases.filter((entry): entry is FileCase => entry.kind === 'file' && entry.category.startsWith('CRS'));

  it('has hostile CRSs in GeoTIFF and netCDF, several payloads each, and legitimate ones', () => {
    const cases = crsCases();
    expect(cases.filter((entry) => entry.category === 'CRS, GeoTIFF').length).toBeGreaterThanOrEqual(10);
    expect(cases.filter((entry) => entry.category === 'CRS, netCDF').length).toBeGreaterThanOrEqual(10);
    expect(cases.filter((entry) => entry.category === 'CRS, legitimate').length).toBeGreaterThanOrEqual(6);
    expect(cases.filter((entry) => entry.host === 'blocking').length).toBeGreaterThanOrEqual(3);
  });

  it('puts an ESRI PE String naming the payload in PCSCitationGeoKey, where GDAL takes it as the CRS', () => {
    for (const entry of crsCases().filter((c) => c.category === 'CRS, GeoTIFF' && c.id !== 'crs-tif-gdal-written-nadgrids')) {
      const summary = readTiffSummary(bytesOf(entry.id));
      const citation = String(summary.geoKeys.get(geoKeys.pcsCitation));
      expect(citation, entry.id).toMatch(/^ESRI PE String = (GEOGCS|PROJCS|BOUNDCRS)\[/);
      expect(citation.length, entry.id).toBeLessThan(2400);
      expect(citation, entry.id).toMatch(/PROJ4_GRIDS|nadgrids=|PARAMETERFILE|\+init=|geoidgrids=|\+grids=|\+file=/);
      // The model type is user-defined (or absent): the case GDAL reads the citation's WKT for.
      expect([undefined, 32767], entry.id).toContain(summary.geoKeys.get(geoKeys.modelType));
    }
  });

  it('GDAL reads the payload into the CRS of every GeoTIFF and spatial_ref/crs_wkt case (without building a transformation)', () => {
    const read = crsCases().filter((c) => c.expect.outcome === 'job-failed' && !c.fifos?.length && (c.category === 'CRS, GeoTIFF' || /spatial-ref|crs-wkt/.test(c.id)));
    expect(read.length).toBeGreaterThanOrEqual(20);
    for (const entry of read) {
      // A BOUNDCRS with a PROJ-based method has no WKT1, so gdal-async shows no CRS (GDAL's own
      // GetSpatialRef has it, and PROJ opens its grid when a transformation is built from it).
      if (/proj-method/.test(entry.id)) continue;
      const text = withDataset(entry.id, (dataset) => `${dataset.srs?.toProj4() ?? ''} ${dataset.srs?.toWKT() ?? ''}`);
      expect(text, entry.id).toMatch(/nadgrids=|geoidgrids=|\+init=|PROJ4_GRIDS/);
    }
  });

  it('the GDAL-written GeoTIFF keeps only a datum name spelling the grid, and no grid parameter', () => {
    const summary = readTiffSummary(bytesOf('crs-tif-gdal-written-nadgrids'));
    expect(String(summary.geoKeys.get(geoKeys.geogCitation))).toMatch(/nadgrids=\//);
    expect(withDataset('crs-tif-gdal-written-nadgrids', (dataset) => dataset.srs?.toProj4())).not.toMatch(/nadgrids/);
  });

  it('netCDF proj4, proj4_params and esri_pe_string reach GDAL as metadata of the grid mapping variable', () => {
    for (const [id, key] of [
      ['crs-nc-proj4-nadgrids-absolute', 'crs#proj4'],
      ['crs-nc-proj4-init-file', 'crs#proj4'],
      ['crs-nc-proj4-params-nadgrids-climbing', 'crs#proj4_params'],
      ['crs-nc-esri-pe-string-grids-optional', 'crs#esri_pe_string'],
      ['crs-ok-nc-proj4-wgs84', 'crs#proj4'],
    ] as const) {
      const metadata = withDataset(id, (dataset) => dataset.getMetadata() as Record<string, string>);
      expect(metadata[key], id).toMatch(/\+proj=|\+init=|GEOGCS/);
      expect(withDataset(id, (dataset) => dataset.rasterSize), id).toEqual({ x: 16, y: 16 });
    }
  });

  it('the sentinel grids, init files and pipes exist where the payloads point', () => {
    for (const id of ['crs-tif-pe-grids-absolute', 'crs-nc-spatial-ref-grids-absolute', 'crs-nc-crs-wkt-parameterfile-absolute']) {
      const grid = join(corpus.sentinel.folderOf(id), 'grid.gsb');
      expect(statSync(grid).size, id).toBeGreaterThan(0);
      expect(bytesOf(id).toString('latin1'), id).toContain(grid);
    }
    expect(readFileSync(join(corpus.sentinel.folderOf('crs-tif-pe-proj4-init'), 'hostile.init'), 'utf8')).toMatch(/^<hostile> \+proj=longlat .*\+nadgrids=\/.*grid\.gsb/m);
    expect(existsSync(join(corpus.hostEnvironment['HOME']!, '~', 'crs-tif-pe-parameterfile-home.gsb'))).toBe(true);
    expect(existsSync(join(corpus.hostEnvironment['XDG_DATA_HOME']!, 'proj', 'crs-tif-pe-grids-user-dir.gsb'))).toBe(true);
    for (const entry of crsCases().filter((c) => c.host === 'blocking')) {
      expect(entry.fifos?.length, entry.id).toBe(1);
      expect(lstatSync(entry.fifos![0]!).isFIFO(), entry.id).toBe(true);
      expect(bytesOf(entry.id).toString('latin1'), entry.id).toContain(entry.fifos![0]!);
    }
    // Nobody reads the pipes: releasing finds no reader.
    expect(corpus.releaseFifos()).toEqual([]);
  });

  it('finds, and lets go, a process blocked opening one of the pipes', async () => {
    const pipe = crsCases().find((c) => c.host === 'blocking')!.fifos![0]!;
    const reader = spawn('cat', [pipe], { stdio: 'ignore' });
    const exited = new Promise((resolve) => reader.once('exit', resolve));
    // The reader blocks in open() until a writer comes: release until it is found.
    await vi.waitFor(() => expect(corpus.releaseFifos([pipe])).toEqual([pipe]), { timeout: 5000, interval: 50 });
    await exited;
  });

  it('points network payloads at the canary (http, https with the case in its host name, /vsicurl/, PROJ\'s CDN)', () => {
    expect(bytesOf('crs-tif-pe-grids-http').toString('latin1')).toContain(`${canaryUrl}/crs-tif-pe-grids-http/`);
    expect(bytesOf('crs-tif-pe-grids-https').toString('latin1')).toContain('https://crs-tif-pe-grids-https.localhost:9/');
    expect(bytesOf('crs-tif-pe-no-model-vsicurl').toString('latin1')).toContain(`/vsicurl/${canaryUrl}/crs-tif-pe-no-model-vsicurl/`);
    expect(corpus.hostEnvironment).toMatchObject({ PROJ_NETWORK: 'ON', PROJ_NETWORK_ENDPOINT: `${canaryUrl}/proj-cdn` });
  });
});

describe('issue 18, class B and C: declared size against bytes present', () => {
  it('netCDF classic headers declare far more than they hold', () => {
    const huge = statSync(sourceOf('size-nc-declares-320gb')).size;
    expect(huge).toBeLessThan(1024);
    expect(withDataset('size-nc-declares-320gb', (dataset) => [dataset.rasterSize, dataset.bands.get(1).dataType, dataset.geoTransform])).toEqual([
      { x: 200_000, y: 200_000 },
      gdal.GDT_Float64,
      [-90, 0.0009, 0, 90, 0, -0.0009],
    ]);
    // Header only: the file ends where the data would start.
    expect(withDataset('size-nc-header-only', (dataset) => dataset.rasterSize)).toEqual({ x: 1000, y: 1000 });
    expect(statSync(sourceOf('size-nc-header-only')).size).toBeLessThan(1000);
    expect(withDataset('size-nc-coordinates-only', (dataset) => [dataset.rasterSize, dataset.geoTransform?.[1]])).toEqual([{ x: 512, y: 512 }, expect.closeTo(0.001, 9)]);
    expect(statSync(sourceOf('size-nc-coordinates-only')).size).toBeLessThan(512 * 512);
    expect(statSync(sourceOf('size-nc-truncated-half')).size).toBeLessThan((512 * 512 * 4 * 3) / 4);
    expect(withDataset('size-nc-truncated-half', (dataset) => dataset.rasterSize)).toEqual({ x: 512, y: 512 });
    expect(withDataset('size-nc-truncated-int16', (dataset) => dataset.bands.get(1).dataType)).toBe(gdal.GDT_Int16);
  });

  it('sparse GeoTIFFs hold no block at all', () => {
    for (const id of ['size-tif-sparse-200k', 'size-tif-sparse-strips-float32']) {
      const summary = readTiffSummary(bytesOf(id));
      expect(summary.blocks.length, id).toBeGreaterThan(300);
      expect(summary.blocks.every((block) => block.offset === 0 && block.byteCount === 0), id).toBe(true);
      expect(statSync(sourceOf(id)).size, id).toBeLessThan(64 * 1024);
    }
    expect(withDataset('size-tif-sparse-200k', (dataset) => dataset.rasterSize)).toEqual({ x: 200_000, y: 200_000 });
    expect(withDataset('size-tif-sparse-strips-float32', (dataset) => [dataset.rasterSize, dataset.bands.get(1).dataType, dataset.srs?.getAuthorityCode(null)])).toEqual([{ x: 100_000, y: 100_000 }, gdal.GDT_Float32, '4326']);
    expect(fileCase('size-tif-sparse-200k-tile-256').options).toEqual({ tileSize: 256 });
  });

  it('the truncated GeoTIFF opens, and its last strips lie past the end of the file', () => {
    const bytes = bytesOf('size-tif-truncated');
    const summary = readTiffSummary(bytes);
    expect(summary.blocks).toHaveLength(32);
    expect(summary.blocks.filter((block) => block.offset + block.byteCount > bytes.length).length).toBeGreaterThanOrEqual(16);
    expect(withDataset('size-tif-truncated', (dataset) => dataset.rasterSize)).toEqual({ x: 512, y: 512 });
  });

  it('each bomb is one block of under 1 MB that inflates to 900,000,000 zero bytes', async () => {
    const blocks = ['size-tif-bomb-strip', 'size-tif-bomb-tile', 'size-tif-bomb-float64'].map((id) => {
      const bytes = bytesOf(id);
      const summary = readTiffSummary(bytes);
      expect(summary.blocks, id).toHaveLength(1);
      expect(bytes.length, id).toBeLessThan(1024 * 1024);
      const { offset, byteCount } = summary.blocks[0]!;
      expect(offset + byteCount, id).toBe(bytes.length);
      return bytes.subarray(offset, offset + byteCount);
    });
    // The three carry the same stream: inflate it once.
    expect(blocks[1]!.equals(blocks[0]!) && blocks[2]!.equals(blocks[0]!)).toBe(true);
    expect(await inflatedSize(blocks[0]!)).toEqual({ bytes: 900_000_000, nonZero: false });
    expect(withDataset('size-tif-bomb-float64', (dataset) => [dataset.rasterSize, dataset.bands.get(1).dataType, dataset.bands.get(1).blockSize])).toEqual([{ x: 30_000, y: 3_750 }, gdal.GDT_Float64, { x: 30_000, y: 3_750 }]);
    expect(withDataset('size-tif-bomb-tile', (dataset) => dataset.bands.get(1).blockSize)).toEqual({ x: 30_000, y: 30_000 });
    // Class C runs the same bombs on the hosts with inspection limits.
    expect(fileCase('limit-time-bomb-strip').files[0]!.localPath).toBe(sourceOf('size-tif-bomb-strip'));
  }, 120_000);

  it('the tile-cap raster and its legitimate small sibling are valid, distinct tiles compressed about 1:60', () => {
    const cap = readTiffSummary(bytesOf('size-tif-tile-cap'));
    expect([cap.width, cap.height, cap.blocks.length]).toEqual([20_000, 20_000, 40 * 40]);
    expect(new Set(cap.blocks.map((block) => block.offset)).size).toBe(1600);
    for (const id of ['size-tif-tile-cap', 'size-ok-well-compressed']) {
      const { width, height } = readTiffSummary(bytesOf(id));
      const ratio = (width * height) / statSync(sourceOf(id)).size;
      expect(ratio, id).toBeGreaterThan(30);
      expect(ratio, id).toBeLessThan(120);
    }
    // Decodes: a block in the middle reads back.
    expect(withDataset('size-ok-well-compressed', (dataset) => dataset.bands.get(1).pixels.read(1024, 1024, 4, 1).length)).toBe(4);
    expect(fileCase('size-tif-tile-cap').options).toEqual({ tileSize: 256 });
  });
});

describe('issue 18, class E: metadata out of range', () => {
  it('netCDF time coordinates reach GDAL as band metadata with their units', () => {
    const cases: Array<[string, RegExp, string]> = [
      ['meta-nc-time-1e300', /^1e\+300$/, 'days since 1970-01-01 00:00:00'],
      ['meta-nc-time-minus-1e300', /^-1e\+300$/, 'days since 1970-01-01 00:00:00'],
      ['meta-nc-time-nan', /^nan$/i, 'days since 1970-01-01 00:00:00'],
      ['meta-nc-time-infinity', /^inf/i, 'days since 1970-01-01 00:00:00'],
      ['meta-nc-time-past-max-date', /^100000001$/, 'days since 1970-01-01 00:00:00'],
      ['meta-nc-time-huge-seconds', /^9\.2e\+18$/, 'seconds since 1970-01-01'],
      ['meta-nc-time-epoch-year-99999', /^0$/, 'days since 99999-01-01'],
    ];
    for (const [id, value, units] of cases) {
      const [dataset, band] = withDataset(id, (d) => [d.getMetadata() as Record<string, string>, d.bands.get(1).getMetadata() as Record<string, string>]);
      expect(dataset['NETCDF_DIM_EXTRA'], id).toBe('{time}');
      expect(dataset['time#units'], id).toBe(units);
      expect(band['NETCDF_DIM_time'], id).toMatch(value);
    }
    expect(withDataset('meta-nc-time-range-one-bad', (d) => [d.bands.count(), d.bands.get(2).getMetadata()['NETCDF_DIM_time']])).toEqual([2, '-1e+300']);
  });

  it('GeoTIFF DateTime tags reach GDAL as TIFFTAG_DATETIME', () => {
    for (const [id, start] of [
      ['meta-tif-datetime-garbage', 'not a date'],
      ['meta-tif-datetime-out-of-range', '9999:99:99'],
      ['meta-tif-datetime-year-zero', '0000:00:00'],
      ['meta-tif-datetime-long', '2024:01:01 00:00:009999'],
    ] as const) {
      const value = withDataset(id, (dataset) => (dataset.getMetadata() as Record<string, string>)['TIFFTAG_DATETIME'] ?? '');
      expect(value.startsWith(start), `${id}: ${value.slice(0, 40)}`).toBe(true);
    }
    expect(withDataset('meta-tif-datetime-long', (dataset) => (dataset.getMetadata() as Record<string, string>)['TIFFTAG_DATETIME']!.length)).toBe(5000);
  });
});

describe('issue 18, class D: request fields', () => {
  it('sends every garbage continuation token to both lists', () => {
    const queries = corpus.cases.filter((entry): entry is QueryCase => entry.kind === 'query' && entry.id.startsWith('token-'));
    expect(queries).toHaveLength(garbageTokens.length * 2);
    for (const query of queries) expect(query.expect).toEqual({ outcome: 'http-400', fields: ['continuationToken'] });
    expect(garbageTokens.find((token) => token.name === '10kb')!.query.length).toBe(10_000);
  });

  it('has explosive globs within the 500-character field and names for them to chew on', () => {
    const globs = corpus.cases.filter((entry): entry is BatchCase => entry.kind === 'batch' && entry.host === 'globs');
    expect(globs.length).toBe(explosiveGlobs.length);
    expect(explosiveGlobs.find((glob) => glob.name === 'star-a-500')!.glob).toHaveLength(500);
    for (const glob of explosiveGlobs) expect(glob.glob.length).toBeLessThanOrEqual(500);
    for (const name of globBlobNames) expect(name.length).toBeGreaterThanOrEqual(44);
  });

  it('names junk at the blob-name limit, and long missing manifest entries', () => {
    const batch = (id: string): BatchCase => corpus.cases.find((entry): entry is BatchCase => entry.kind === 'batch' && entry.id === id)!;
    const junk = batch('batch-long-names').blobs.filter((blob) => !/good-\d+\.tif$/.test(blob.name));
    expect(junk).toHaveLength(24);
    for (const blob of junk) expect(blob.name.length).toBe(1024);
    expect(new Set(junk.map((blob) => blob.name)).size).toBe(24);
    const manifest = readFileSync(batch('batch-manifest-long-missing').blobs.at(-1)!.localPath, 'utf8').split('\n');
    expect(manifest).toHaveLength(46);
    expect(manifest.filter((line) => line.length >= 1000)).toHaveLength(45);
  });

  it('the CSV manifests hold quoted newlines that a CSV parser reads as one field', () => {
    const batch = (id: string): BatchCase => corpus.cases.find((entry): entry is BatchCase => entry.kind === 'batch' && entry.id === id)!;
    const notes = parseCsv(readFileSync(batch('batch-csv-quoted-newline').blobs.at(-1)!.localPath), { columns: true }) as Array<Record<string, string>>;
    expect(notes).toHaveLength(2);
    expect(notes[0]!['note']).toContain('\n');
    expect(notes[1]!['note']).toBe('"quoted", and\r\nmore');
    const sources = parseCsv(readFileSync(batch('batch-csv-newline-in-source').blobs.at(-1)!.localPath), { columns: true }) as Array<Record<string, string>>;
    expect(sources).toHaveLength(2);
    expect(sources[0]!['source']).toMatch(/x\ny\.tif$/);
  });
});

describe('the canary and https:// payloads', () => {
  it('records a TLS handshake sent straight to it, with the server name that names the case', async () => {
    const canary = await startCanaryServer();
    try {
      await new Promise<void>((resolve) => {
        const socket = tlsConnect({ host: '127.0.0.1', port: Number(canary.hostPort.split(':')[1]), servername: 'crs-tif-pe-grids-https.localhost', rejectUnauthorized: false });
        socket.on('error', () => resolve());
        socket.on('close', () => resolve());
      });
      await vi.waitFor(() => expect(canary.requests()).toEqual([{ method: 'TLS', target: 'crs-tif-pe-grids-https.localhost', userAgent: undefined }]));
    } finally {
      await canary.close();
    }
  });
});

describe('issue 18, class C: files only the inspection limits stop', () => {
  it('eight full-size blocks and 32,768 bands stay within the header policies', () => {
    const blocks = readTiffSummary(bytesOf('limit-time-eight-full-blocks'));
    expect([blocks.width, blocks.height, blocks.blocks.length]).toEqual([128_000, 16_000, 8]);
    // Eight stored copies (one shared block would be over the expansion ratio): about 1,000 bytes declared per stored byte.
    expect(new Set(blocks.blocks.map((block) => block.offset)).size).toBe(8);
    expect((128_000 * 16_000) / statSync(sourceOf('limit-time-eight-full-blocks')).size).toBeLessThan(2000);
    const one = readTiffSummary(bytesOf('limit-memory-one-256mb-block'));
    expect([one.width, one.height, one.blocks.length]).toEqual([16_000, 16_000, 1]);
    expect(withDataset('limit-time-32768-bands', (dataset) => [dataset.bands.count(), dataset.rasterSize])).toEqual([32_768, { x: 2, y: 2 }]);
  });
});

describe('issue 18, class A: the CRS carriers of Erdas Imagine and JPEG 2000', () => {
  it('the .img keeps the grid path in its datum, and the JP2\'s GeoJP2 box carries our PE citation', () => {
    for (const id of ['crs-img-datum-grid-absolute', 'crs-img-datum-grid-http']) {
      const text = bytesOf(id).toString('latin1');
      expect(text, id).toMatch(/EXTENSION\["PROJ4_GRIDS","(\/|http:)[^"]+grid\.gsb"\]/);
      expect(withDataset(id, (dataset) => dataset.driver.description), id).toBe('HFA');
    }
    expect(withDataset('crs-jp2-geojp2-pe-grids-absolute', (dataset) => [dataset.driver.description, dataset.srs?.toProj4()])).toEqual([
      'JP2OpenJPEG',
      expect.stringContaining(`+nadgrids=${join(corpus.sentinel.folderOf('crs-jp2-geojp2-pe-grids-absolute'), 'grid.gsb')}`),
    ]);
    expect(bytesOf('crs-jp2-geojp2-pe-parameterfile-https').toString('latin1')).toContain('ESRI PE String = BOUNDCRS[');
  });
});

describe('issue 18, class B: a JPEG 2000 declaring what it does not hold', () => {
  it('a JP2 of a few hundred bytes whose header and codestream declare 200,000 × 200,000', () => {
    expect(statSync(sourceOf('size-jp2-declares-200k')).size).toBeLessThan(2048);
    expect(withDataset('size-jp2-declares-200k', (dataset) => [dataset.driver.description, dataset.rasterSize])).toEqual(['JP2OpenJPEG', { x: 200_000, y: 200_000 }]);
  });
});

describe('issue 20: netCDF variables, steps and packing', () => {
  const subdataset = <T>(id: string, variable: string, use: (dataset: gdal.Dataset) => T): T => {
    const dataset = gdal.open(`NETCDF:"${sourceOf(id)}":${variable}`);
    try {
      return use(dataset);
    } finally {
      dataset.close();
    }
  };

  it('refuses every hostile variable option at the door, naming the field', () => {
    const requests = corpus.cases.filter((entry): entry is RequestCase => entry.kind === 'request' && entry.id.startsWith('variable-'));
    expect(requests.length).toBeGreaterThanOrEqual(10);
    for (const request of requests) expect(request.expect, request.id).toEqual({ outcome: 'http-400', fields: ['options.variable'] });
    expect(JSON.parse(requests.find((request) => request.id === 'variable-huge')!.body).options.variable).toHaveLength(60_000);
  });

  it('the step files declare what their cases claim: 5,000 steps; two variables of 1,300; 1,300 steps two windows wide', () => {
    expect(withDataset('variables-steps-5000', (dataset) => [dataset.bands.count(), dataset.rasterSize])).toEqual([5000, { x: 8, y: 8 }]);
    for (const variable of ['tas', 'pr']) expect(subdataset('variables-steps-two-times-1300', variable, (dataset) => dataset.bands.count())).toBe(1300);
    expect(withDataset('variables-steps-times-windows', (dataset) => [dataset.bands.count(), dataset.rasterSize])).toEqual([1300, { x: 600, y: 2 }]);
    expect(fileCase('variables-steps-times-windows').options).toEqual({ tileSize: 512 });
  });

  it('time and packing attributes reach GDAL as the cases say', () => {
    expect(subdataset('variables-time-360-day', 'tas', (dataset) => dataset.getMetadata()['time#calendar'])).toBe('360_day');
    expect(subdataset('variables-time-units-absurd', 'pr', (dataset) => dataset.getMetadata()['time#units'])).toBe('fortnights since the dawn of time');
    expect(subdataset('variables-scale-nan', 'tas', (dataset) => [dataset.bands.get(1).scale, dataset.bands.get(1).offset])).toEqual([Number.NaN, Number.NaN]);
    expect(subdataset('variables-scale-infinite', 'tas', (dataset) => [dataset.bands.get(1).scale, dataset.bands.get(1).offset])).toEqual([Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]);
    expect(subdataset('variables-fill-nan-float', 'tas', (dataset) => dataset.bands.get(1).noDataValue)).toBeNaN();
  });
});

describe('issue 20: the HDF5 and GTX cases are what they claim (read back with h5py, never following a link)', () => {
  /** What h5py sees in each file without following links or reading data: links, storage, filters, user block. */
  function inspectHdf5(paths: string[]): Record<string, { error?: string; userblock?: number; links?: Record<string, string>; datasets?: Record<string, { external: number; virtual: boolean; filters: number[] }> }> {
    const script = String.raw`
import json, sys, h5py
out = {}
for path in json.loads(sys.argv[1]):
    try:
        f = h5py.File(path, 'r')
    except Exception as error:
        out[path] = {'error': type(error).__name__}
        continue
    info = {'userblock': f.userblock_size, 'links': {}, 'datasets': {}}
    for name in f.keys():
        link = f.get(name, getlink=True)
        info['links'][name] = type(link).__name__
        if isinstance(link, h5py.HardLink) and isinstance(f[name], h5py.Dataset):
            plist = f[name].id.get_create_plist()
            info['datasets'][name] = {'external': plist.get_external_count(), 'virtual': plist.get_layout() == h5py.h5d.VIRTUAL, 'filters': [plist.get_filter(i)[0] for i in range(plist.get_nfilters())]}
    out[path] = info
print(json.dumps(out))
`;
    return JSON.parse(execFileSync(findPythonWithH5py() ?? 'python3', ['-c', script, JSON.stringify(paths)], { encoding: 'utf8', env: { ...process.env, HDF5_PLUGIN_PATH: '/nonexistent' } })) as ReturnType<typeof inspectHdf5>;
  }

  it('external links name their targets, storage and virtual datasets point outside, filters need plugins, user blocks hold other formats', () => {
    const ids = corpus.cases.filter((entry): entry is FileCase => entry.kind === 'file' && entry.category.startsWith('HDF5,')).map((entry) => entry.id);
    if (ids.length === 0) return expect(corpus.notes.join('\n')).toMatch(/python3-h5py/);
    const seen = inspectHdf5(ids.map(sourceOf));
    const of = (id: string) => seen[sourceOf(id)]!;
    for (const id of ids.filter((id) => id.startsWith('hdf5-external-link-'))) expect(Object.values(of(id).links!), id).toContain('ExternalLink');
    expect(bytesOf('hdf5-external-link-url').toString('latin1')).toContain(`${canaryUrl}/hdf5-external-link-url/`);
    for (const id of ['hdf5-external-storage-relative', 'hdf5-external-storage-proc']) expect(of(id).datasets!['z']!.external, id).toBe(1);
    for (const id of ['hdf5-vds-sentinel', 'hdf5-vds-relative']) expect(of(id).datasets!['virtual']!.virtual, id).toBe(true);
    for (const id of [32000, 32015, 307, 12345]) expect(of(`hdf5-filter-${id}`).datasets!['z']!.filters).toContain(id);
    for (const id of ['hdf5-user-block-vrt', 'hdf5-user-block-zip', 'hdf5-user-block-text']) {
      expect(of(id).userblock, id).toBe(512);
      expect(bytesOf(id).subarray(0, 4).some((byte) => byte !== 0), id).toBe(true);
    }
    expect(bytesOf('hdf5-user-block-zip').subarray(0, 4)).toEqual(Buffer.from([0x50, 0x4b, 0x03, 0x04]));
    expect(of('hdf5-soft-link-loop').links).toMatchObject({ a: 'SoftLink', b: 'SoftLink' });
    expect(of('hdf5-bomb-stacked-deflate').datasets!['bomb']!.filters).toEqual([1, 1]);
    // Each sentinel-reaching case names a sentinel of its own.
    for (const id of ['hdf5-external-link-sentinel', 'hdf5-vds-sentinel']) expect(bytesOf(id).toString('latin1')).toContain(corpus.sentinel.folderOf(id));
  });

  it('GTX cases: a plausible header whose grid the file does (or does not) hold', () => {
    const header = (id: string) => {
      const bytes = bytesOf(id);
      return { rows: bytes.readInt32BE(32), columns: bytes.readInt32BE(36), samples: (bytes.length - 40) / 4 };
    };
    expect(header('gtx-plain')).toEqual({ rows: 24, columns: 32, samples: 768 });
    expect(header('gtx-rows-beyond-file')).toMatchObject({ rows: 100_000, columns: 100_000, samples: 768 });
    expect(header('gtx-trailing-bytes').samples).toBeGreaterThan(768);
    expect(header('gtx-overflowing-product').rows * header('gtx-overflowing-product').columns).toBeGreaterThan(2 ** 53);
  });
});
