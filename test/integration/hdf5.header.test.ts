/**
 * The HDF5 structure walk (`hdf5.header.ts`) on files h5py and GDAL write: what it reads (every
 * dataset, attributes compact and dense, links compact, dense and old-style, chunk indexes), what
 * it refuses and why, and that a corrupted file of any kind ends in a refusal, never a crash or a
 * read outside the budget. h5py is Debian's python3-h5py; GDAL writes the netCDF-4 files.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readContainerHeader } from '../../src/raster/container.header.js';
import { checkDeclaredSize } from '../../src/raster/declared.size.js';
import { maxHeaderBytes, type ByteSource } from '../../src/raster/header.reading.js';
import { findPythonWithH5py, writeHdf5Files, type Hdf5Job } from '../support/hostile.hdf5.js';

const folder = mkdtempSync(join(tmpdir(), 'hdf5-header-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

/** A byte source over a buffer that counts what is read. */
function bufferSource(bytes: Uint8Array): ByteSource & { bytesRead: number } {
  const source = {
    size: bytes.length,
    bytesRead: 0,
    read: async (offset: number, length: number) => {
      source.bytesRead += length;
      return bytes.subarray(offset, offset + length);
    },
  };
  return source;
}

async function headerOf(job: Omit<Hdf5Job, 'path'>, name = `${Math.random().toString(36).slice(2)}.h5`) {
  const path = join(folder, name);
  writeHdf5Files([{ path, ...job }], []);
  return readContainerHeader(bufferSource(readFileSync(path)), 'HDF5');
}

// Outside CI a machine without h5py skips with this reason; CI (scripts/setup.sh installs python3-h5py) never skips.
const h5pyMissing = !findPythonWithH5py() && process.env['CI'] !== 'true';
if (h5pyMissing) it.skip('no python3 with h5py (Debian package python3-h5py; scripts/setup.sh installs it): the HDF5 files of these tests cannot be written', () => {});

describe.skipIf(h5pyMissing)('HDF5 structure walk', () => {
  it('reads a CF grid written by h5py: every dataset, its chunks, its text attributes, CF lon/lat, and the netCDF driver', async () => {
    const verdict = await headerOf({ chunked: true, attributes: { comment: 'see http://example.org', spatial_ref: 'GEOGCS["WGS 84"]' } });
    expect(verdict.ok).toBe(true);
    if (!verdict.ok) return;
    const { header } = verdict;
    expect(header.opensWith).toBe('netCDF');
    expect(header.rasters).toEqual([expect.objectContaining({ name: 'variable z', width: 50, height: 40, bands: 1, bytesPerSample: 4, declaredBytes: 8000, totalBlocks: 8, compressed: true, cfLonLat: true })]);
    expect(header.rasters[0]!.storedBytes).toBeGreaterThan(0);
    expect(header.otherArrays!.map((array) => array.name).sort()).toEqual(['variable lat', 'variable lon']);
    // Prose is not CRS text; everything else is vetted.
    expect(header.crsTexts).toContainEqual({ where: 'variable z attribute spatial_ref', text: 'GEOGCS["WGS 84"]' });
    expect(header.crsTexts.map((text) => text.where)).not.toContain('variable z attribute comment');
  });

  it("reads h5py's newest format: v2 object headers, dense attributes (fractal heap + v2 B-tree), a fixed-array chunk index", async () => {
    const attributes = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`crs_part_${i}`, `text ${i}`]));
    const verdict = await headerOf({ libver: 'latest', chunked: true, attributes });
    expect(verdict.ok).toBe(true);
    if (!verdict.ok) return;
    expect(verdict.header.crsTexts.filter((text) => text.where.startsWith('variable z attribute crs_part_'))).toHaveLength(40);
    expect(verdict.header.rasters[0]).toMatchObject({ totalBlocks: 8, sparseBlocks: 0, compressed: true });
  });

  it('reads a paged fixed-array chunk index (2,000 chunks, pages of 1,024) and refuses an extensible-array one with the conversion', async () => {
    const paged = await headerOf({ libver: 'latest', chunked: true, chunks: [1, 1] });
    expect(paged).toMatchObject({ ok: true, header: { rasters: [expect.objectContaining({ totalBlocks: 2000, sparseBlocks: 0 })] } });
    const extensible = await headerOf({ libver: 'latest', chunked: true, unlimited: true });
    expect(extensible).toMatchObject({ ok: false, failure: { code: 'INVALID_INPUT', message: expect.stringMatching(/indexes its chunks with an extensible array.*h5repack --high=1/) } });
  });

  it('reads netCDF-4 as GDAL writes it (NC4 and compressed NC4C) and sends it to the netCDF driver', async () => {
    const cdl = join(folder, 'grid.cdl');
    execFileSync('sh', ['-c', `printf 'netcdf g { dimensions: y = 3 ; x = 4 ; variables: short v(y, x) ; v:grid_mapping = "crs" ; int crs ; crs:spatial_ref = "GEOGCS[\\\\"WGS 84\\\\"]" ; data: v = 1,2,3,4,5,6,7,8,9,10,11,12 ; }' > ${cdl}`]);
    for (const kind of ['nc4', 'nc7']) {
      const nc = join(folder, `grid-${kind}.nc`);
      execFileSync('ncgen', ['-k', kind, '-o', nc, cdl]);
      const verdict = await readContainerHeader(bufferSource(readFileSync(nc)), 'HDF5');
      expect(verdict.ok, kind).toBe(true);
      if (!verdict.ok) continue;
      expect(verdict.header.opensWith).toBe('netCDF');
      expect(verdict.header.rasters).toEqual([expect.objectContaining({ name: 'variable v', width: 4, height: 3, declaredBytes: 24, cfLonLat: false })]);
      expect(verdict.header.crsTexts).toContainEqual({ where: 'variable crs attribute spatial_ref', text: 'GEOGCS["WGS 84"]' });
    }
  });

  it.each([
    ['an external link', { externalLink: { name: 'x', file: '/etc/passwd', path: '/a' } }, /external link \(x\) to another file/],
    ['external raw storage', { externalStorage: { file: '/etc/passwd', bytes: 2000 } }, /keeps its data in other files \(external storage\)/],
    ['a virtual dataset', { libver: 'latest', virtual: { file: '/etc/hostname', dataset: 'z' } }, /virtual dataset/],
    ['a plugin filter', { filter: 32001 }, /filter 32001 \(a plugin\).*nccopy -d 4/],
    ['a user block holding another format', { userBlock: Buffer.from('<VRTDataset>').toString('hex') }, /user block holds data/],
    ['a spatial_ref that is a DAP URL', { attributes: { spatial_ref: 'https://example.org/dap/crs' } }, /attribute spatial_ref is a URL or a path/],
    ['a crs_wkt that is a GDAL virtual path', { attributes: { crs_wkt: 'x /vsizip//tmp/a.zip/b' } }, /attribute crs_wkt is a URL or a path/],
    ['a hard link back to the root', { cycle: true }, /links back to a group that contains it \(a cycle\)/],
    ['soft links that loop', { softLinks: { a: '/b', b: '/a' } }, /soft links loop/],
    ['a dangling soft link', { softLinks: { a: '/nowhere' } }, /dangling/],
    ['a chunk past the end of the file', { patchChunk: 'address' }, /chunk of the HDF5 dataset \/z lies past the end of the file/],
  ] as const)('refuses %s as INVALID_INPUT, naming what (never the value) and what to convert to', async (_kind, job, reason) => {
    const verdict = await headerOf(job as Omit<Hdf5Job, 'path'>);
    expect(verdict.ok).toBe(false);
    if (verdict.ok) return;
    expect(verdict.failure.code).toBe('INVALID_INPUT');
    expect(verdict.failure.message).toMatch(reason);
    expect(verdict.failure.message).not.toMatch(/\/etc\/|example\.org|\/tmp\//);
  });

  it('refuses structure beyond its caps as INPUT_LIMIT: groups 40 deep, dimensions past 2^53', async () => {
    expect(await headerOf({ depth: 40 })).toMatchObject({ ok: false, failure: { code: 'INPUT_LIMIT', message: expect.stringMatching(/nest more than 32 deep/) } });
    expect(await headerOf({ hugeShape: [2 ** 20, 2 ** 20, 2 ** 20] })).toMatchObject({ ok: false, failure: { code: 'INPUT_LIMIT', message: expect.stringMatching(/past 2\^53/) } });
  });

  it('backs declared sizes by chunks: unwritten 4 PiB is over the expansion ratio; a chunk deflated twice is a bomb', async () => {
    const huge = await headerOf({ hugeShape: [2 ** 24, 2 ** 24] });
    expect(huge.ok).toBe(true);
    if (huge.ok) expect(checkDeclaredSize(huge.header, 20_000)).toMatchObject({ code: 'INPUT_LIMIT', message: expect.stringMatching(/bytes per stored byte.*INGEST_MAX_EXPANSION_RATIO/) });
    const { zlibOfZeros } = await import('../support/hostile.sizes.js');
    const { deflateSync } = await import('node:zlib');
    const { writeFileSync } = await import('node:fs');
    const chunkFile = join(folder, 'chunk.bin');
    writeFileSync(chunkFile, deflateSync(zlibOfZeros(16 * 1024 ** 2)));
    const bomb = await headerOf({ bomb: { shape: [2048, 2048], chunk: [2048, 2048], chunkFile, filters: 2 } });
    expect(bomb.ok).toBe(true);
    if (bomb.ok) expect(checkDeclaredSize(bomb.header, 40_000)).toMatchObject({ code: 'INPUT_LIMIT', message: expect.stringMatching(/compressed chunk that decodes to .* bytes per stored byte.*decompression bomb/) });
  });

  it('ends every corrupted variant of a real file in a verdict (refusal or header), reading at most its budget', async () => {
    const path = join(folder, 'fuzz.h5');
    writeHdf5Files([{ path, libver: 'latest', chunked: true, attributes: Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`a${i}`, `v${i}`])), softLinks: { s: '/z' } }], []);
    const original = readFileSync(path);
    let seed = 20;
    const random = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    for (let round = 0; round < 1000; round++) {
      const bytes = Uint8Array.from(original);
      // Corrupt a few bytes past the signature (the walk's own structures, mostly).
      for (let i = 0; i < 1 + Math.floor(random() * 8); i++) bytes[8 + Math.floor(random() * (bytes.length - 8))] = Math.floor(random() * 256);
      const source = bufferSource(bytes);
      const verdict = await readContainerHeader(source, 'HDF5');
      expect(typeof verdict.ok).toBe('boolean');
      if (!verdict.ok) expect(['INVALID_INPUT', 'INPUT_LIMIT']).toContain(verdict.failure.code);
      expect(source.bytesRead).toBeLessThanOrEqual(maxHeaderBytes + bytes.length);
    }
  });
});
