/**
 * Issue 20: netCDF-4/HDF5 and GTX are ingested, so their ways of pointing outside themselves are
 * hostile cases, several variants per class: external links (to /etc/passwd, to the sentinel by a
 * path climbing from wherever the copy lands, to a URL), external raw storage, virtual datasets,
 * filters only a plugin decodes, a user block holding another format (a polyglot), attributes
 * holding URLs and CRS text naming files, decompression bombs, chunks past the end of the file,
 * cyclic, looping, dangling and deep groups, dimensions no bytes back, and GTX headers that lie
 * about their grid. Written by h5py (Debian's python3-h5py, for /usr/bin/python3) and patched
 * byte by byte where no library writes the hostile part; harmless files of each format must still
 * be ingested.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';
import type { CorpusContext } from './hostile.corpus.js';
import type { Expectation, HostRole } from './hostile.cases.js';
import { zlibOfZeros } from './hostile.sizes.js';

/** A python3 that has h5py, or undefined. */
export function findPythonWithH5py(): string | undefined {
  for (const candidate of ['/usr/bin/python3', 'python3']) {
    try {
      execFileSync(candidate, ['-c', 'import h5py'], { stdio: 'ignore' });
      return candidate;
    } catch {
      // try the next one
    }
  }
  return undefined;
}

/** One HDF5 file to write: a CF grid (`z` on `lat`/`lon` dimension scales) and what makes it hostile. */
export interface Hdf5Job {
  path: string;
  /** h5py's libver (default: the earliest format, superblock 0). */
  libver?: 'latest';
  /** The grid's storage: contiguous (default), or chunked and deflated (10 × 25 chunks unless `chunks` says). */
  chunked?: boolean;
  chunks?: [number, number];
  /** The grid's first dimension unlimited (an extensible-array chunk index in the newest format). */
  unlimited?: boolean;
  /** String attributes of `z` (variable-length, as h5py writes them). */
  attributes?: Record<string, string>;
  externalLink?: { name: string; file: string; path: string };
  externalStorage?: { file: string; bytes: number };
  virtual?: { file: string; dataset: string };
  /** A filter id the pipeline names (optional, so that h5py can write without the plugin). */
  filter?: number;
  /** Bytes written into a 512-byte user block (hex). */
  userBlock?: string;
  softLinks?: Record<string, string>;
  /** A hard link from a subgroup back to the root. */
  cycle?: boolean;
  /** Groups nested this deep. */
  depth?: number;
  /** A chunked dataset `bomb` of these dims, its first chunk written raw from this file (flags say deflate). */
  bomb?: { shape: [number, number]; chunk: [number, number]; chunkFile: string; filters: number };
  /** A chunked dataset of these dims with nothing written. */
  hugeShape?: number[];
  /** Patches the first chunk index node: its first chunk's address (`address`) or stored size (`size`) past the end. */
  patchChunk?: 'address' | 'size';
  /** A netCDF-4 marker attribute on the root group. */
  netcdf?: boolean;
  /** Only the grid, without lat/lon dimension scales (plain HDF5, read by GDAL's HDF5 driver). */
  bare?: boolean;
  /** A second gridded dataset `t` (int16, values i % 89) on the same dimension scales. */
  second?: boolean;
}

/** Writes HDF5 files from a JSON job list. */
const writer = String.raw`
import json, sys
import h5py, numpy as np
for job in json.loads(sys.argv[1]):
    path = job['path']
    kw = {'libver': 'latest'} if job.get('libver') == 'latest' else {}
    if job.get('userBlock'):
        kw['userblock_size'] = 512
    with h5py.File(path, 'w', **kw) as f:
        if job.get('netcdf'):
            f.attrs['_NCProperties'] = np.bytes_(b'version=2,netcdf=4.9.0,hdf5=1.10.8')
        rows, cols = 40, 50
        if job.get('bare'):
            f.create_dataset('z', data=(np.arange(rows * cols, dtype='f4').reshape(rows, cols) % 97))
            continue
        lat = f.create_dataset('lat', data=np.linspace(50.0, 49.0, rows))
        lon = f.create_dataset('lon', data=np.linspace(10.0, 11.0, cols))
        lat.attrs['units'] = np.bytes_(b'degrees_north'); lat.attrs['standard_name'] = np.bytes_(b'latitude')
        lon.attrs['units'] = np.bytes_(b'degrees_east'); lon.attrs['standard_name'] = np.bytes_(b'longitude')
        lat.make_scale('lat'); lon.make_scale('lon')
        values = (np.arange(rows * cols, dtype='f4').reshape(rows, cols) % 97)
        if job.get('externalStorage'):
            e = job['externalStorage']
            z = f.create_dataset('z', shape=(rows, cols), dtype='u1', external=[(e['file'], 0, e['bytes'])])
        elif job.get('filter'):
            dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
            dcpl.set_chunk((10, 25))
            dcpl.set_filter(job['filter'], h5py.h5z.FLAG_OPTIONAL, (1, 2))
            space = h5py.h5s.create_simple((rows, cols))
            h5py.h5d.create(f.id, b'z', h5py.h5t.NATIVE_FLOAT, space, dcpl=dcpl)
            z = f['z']; z[...] = values
        elif job.get('chunked') or job.get('patchChunk'):
            z = f.create_dataset('z', data=values, chunks=tuple(job.get('chunks') or (10, 25)), compression='gzip', maxshape=(None, cols) if job.get('unlimited') else None)
        else:
            z = f.create_dataset('z', data=values)
        z.dims[0].attach_scale(lat); z.dims[1].attach_scale(lon)
        if job.get('second'):
            t = f.create_dataset('t', data=(np.arange(rows * cols, dtype='i2').reshape(rows, cols) % 89), chunks=(20, 25), compression='gzip')
            t.dims[0].attach_scale(lat); t.dims[1].attach_scale(lon)
        for name, value in (job.get('attributes') or {}).items():
            z.attrs[name] = value
        if job.get('externalLink'):
            link = job['externalLink']
            f[link['name']] = h5py.ExternalLink(link['file'], link['path'])
        if job.get('virtual'):
            v = job['virtual']
            layout = h5py.VirtualLayout(shape=(64, 64), dtype='f4')
            layout[:, :] = h5py.VirtualSource(v['file'], v['dataset'], shape=(64, 64))
            f.create_virtual_dataset('virtual', layout, fillvalue=0)
        for name, target in (job.get('softLinks') or {}).items():
            f[name] = h5py.SoftLink(target)
        if job.get('cycle'):
            g = f.create_group('g'); g['up'] = f['/']
        if job.get('depth'):
            g = f
            for i in range(job['depth']):
                g = g.create_group('d')
        if job.get('bomb'):
            b = job['bomb']
            dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
            dcpl.set_chunk(tuple(b['chunk']))
            for _ in range(b['filters']):
                dcpl.set_filter(h5py.h5z.FILTER_DEFLATE, h5py.h5z.FLAG_OPTIONAL, (9,))
            dcpl.set_fill_time(h5py.h5d.FILL_TIME_NEVER)
            space = h5py.h5s.create_simple(tuple(b['shape']))
            h5py.h5d.create(f.id, b'bomb', h5py.h5t.NATIVE_FLOAT, space, dcpl=dcpl)
            with open(b['chunkFile'], 'rb') as raw:
                f['bomb'].id.write_direct_chunk((0, 0), raw.read(), 0)
        if job.get('hugeShape'):
            shape = tuple(job['hugeShape'])
            f.create_dataset('huge', shape=shape, dtype='f4', chunks=tuple(min(d, 256) for d in shape))
    if job.get('userBlock'):
        with open(path, 'r+b') as out:
            out.write(bytes.fromhex(job['userBlock']))
    if job.get('patchChunk'):
        data = bytearray(open(path, 'rb').read())
        at = data.find(b'TREE\x01\x00')
        # Key 0 (chunk size, filter mask, 3 offsets) then child 0: the first chunk's address.
        if job['patchChunk'] == 'address':
            data[at + 24 + 32: at + 24 + 40] = (len(data) + 4096).to_bytes(8, 'little')
        else:
            data[at + 24: at + 28] = (0x7fffff00).to_bytes(4, 'little')
        open(path, 'wb').write(bytes(data))
`;

/** Writes the jobs; false (with a note) when no python3 has h5py. */
export function writeHdf5Files(jobs: Hdf5Job[], notes: string[]): boolean {
  const python = findPythonWithH5py();
  if (!python) {
    notes.push('no python3 with h5py (Debian package python3-h5py): the HDF5 cases of issue 20 were not generated');
    return false;
  }
  execFileSync(python, ['-c', writer, JSON.stringify(jobs)], { stdio: ['ignore', 'ignore', 'pipe'] });
  return true;
}

/** A GTX grid: 40-byte big-endian header (south, west, steps, rows, columns), then float32 samples. */
export function encodeGtx(header: { south: number; west: number; latStep: number; lonStep: number; rows: number; columns: number }, samples = header.rows * header.columns): Buffer {
  const out = Buffer.alloc(40 + Math.max(0, samples) * 4);
  out.writeDoubleBE(header.south, 0);
  out.writeDoubleBE(header.west, 8);
  out.writeDoubleBE(header.latStep, 16);
  out.writeDoubleBE(header.lonStep, 24);
  out.writeInt32BE(header.rows, 32);
  out.writeInt32BE(header.columns, 36);
  for (let i = 0; i < samples; i++) out.writeFloatBE(((i * 7) % 50) - 20, 40 + i * 4);
  return out;
}

export function writeHdf5Cases(context: CorpusContext): void {
  const { fileCase, caseFile, sentinelFolder, canaryUrl, notes } = context;
  const jobs: Hdf5Job[] = [];
  const cases: Array<() => void> = [];
  const hdf5Case = (id: string, category: string, attack: string, job: Omit<Hdf5Job, 'path'>, expect: Expectation, name = 'scene.nc', host?: HostRole): void => {
    const path = caseFile(id, name);
    jobs.push({ path, ...job });
    cases.push(() => fileCase({ id, category, attack, files: [path], expect, ...(host ? { host } : {}) }));
  };
  const refused = (reason: RegExp, codes: Array<'INVALID_INPUT' | 'INPUT_LIMIT'> = ['INVALID_INPUT']): Expectation => ({ outcome: 'job-failed', reason, codes, tilesTotal: 0, oneAttempt: true });
  const sentinelH5 = (caseId: string): string => {
    const path = `${sentinelFolder(caseId)}/sentinel.h5`;
    jobs.push({ path });
    return path;
  };

  // --- Harmless files of each kind: ingested --------------------------------------------------
  hdf5Case('hdf5-h5py-cf-grid', 'HDF5 / netCDF-4, harmless', 'an HDF5 file written by h5py: a CF grid on lat/lon dimension scales, deflated chunks', { chunked: true }, { outcome: 'job-completed-clean' }, 'scene.h5');
  hdf5Case('hdf5-latest-format', 'HDF5 / netCDF-4, harmless', "h5py's newest format (v2 object headers, dense attributes, fixed-array chunk index)", { libver: 'latest', chunked: true, attributes: Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`note_${i}`, `plain text ${i}`])) }, { outcome: 'job-completed-clean' }, 'scene.h5');

  // --- External links ---------------------------------------------------------------------------
  const linkRefusal = refused(/external link/);
  hdf5Case('hdf5-external-link-passwd', 'HDF5, external link', 'an external link to /etc/passwd', { externalLink: { name: 'x', file: '/etc/passwd', path: '/a' } }, linkRefusal);
  hdf5Case('hdf5-external-link-sentinel', 'HDF5, external link', 'netCDF-4 whose variable sits beside an external link to the sentinel HDF5 file (absolute path)', { netcdf: true, externalLink: { name: 'sentinel', file: sentinelH5('hdf5-external-link-sentinel'), path: '/z' } }, linkRefusal);
  hdf5Case('hdf5-external-link-relative', 'HDF5, external link', 'an external link by a relative path climbing from the scratch folder the copy lands in to the sentinel', { externalLink: { name: 'x', file: `${'../'.repeat(16)}${sentinelH5('hdf5-external-link-relative').replace(/^\/+/, '')}`, path: '/z' } }, linkRefusal);
  hdf5Case('hdf5-external-link-url', 'HDF5, external link', 'an external link whose file is a URL on the canary', { externalLink: { name: 'x', file: canaryUrl('hdf5-external-link-url', 'linked.h5'), path: '/z' } }, linkRefusal);

  // --- External raw storage and virtual datasets ------------------------------------------------
  const storageRefusal = refused(/external storage/);
  hdf5Case('hdf5-external-storage-relative', 'HDF5, external storage', 'a dataset whose bytes live in a file named by a relative path climbing to /etc/passwd', { externalStorage: { file: `${'../'.repeat(16)}etc/passwd`, bytes: 2000 } }, storageRefusal);
  hdf5Case('hdf5-external-storage-proc', 'HDF5, external storage', "a dataset whose bytes live in /proc/self/environ (the host's environment)", { externalStorage: { file: '/proc/self/environ', bytes: 2000 } }, storageRefusal);
  const vdsRefusal = refused(/virtual dataset/);
  hdf5Case('hdf5-vds-sentinel', 'HDF5, virtual dataset', 'a virtual dataset mapped from the sentinel HDF5 file', { libver: 'latest', virtual: { file: sentinelH5('hdf5-vds-sentinel'), dataset: 'z' } }, vdsRefusal);
  hdf5Case('hdf5-vds-relative', 'HDF5, virtual dataset', 'a virtual dataset mapped from a relative path (HDF5_VDS_PREFIX, then the folder of the file)', { libver: 'latest', virtual: { file: 'neighbour.h5', dataset: 'z' } }, vdsRefusal);

  // --- Filters only a plugin decodes ------------------------------------------------------------
  const filterRefusal = refused(/filter \d+/);
  for (const [id, name] of [[32000, 'LZF'], [32015, 'Zstandard'], [307, 'bzip2'], [12345, 'an unregistered id']] as const) {
    hdf5Case(`hdf5-filter-${id}`, 'HDF5, filter plugin', `chunks encoded with filter ${id} (${name}): libhdf5 would load a plugin from HDF5_PLUGIN_PATH`, { filter: id }, filterRefusal);
  }

  // --- A user block holding another format ------------------------------------------------------
  const polyglot = refused(/user block/);
  const hex = (text: string): string => Buffer.from(text).toString('hex');
  hdf5Case('hdf5-user-block-vrt', 'HDF5, user block', 'a VRT onto /etc/passwd in the 512-byte user block, the HDF5 superblock after it', { userBlock: hex(`<VRTDataset rasterXSize="32" rasterYSize="16"><VRTRasterBand dataType="Byte" band="1" subClass="VRTRawRasterBand"><SourceFilename>/etc/passwd</SourceFilename></VRTRasterBand></VRTDataset>`) }, polyglot);
  hdf5Case('hdf5-user-block-zip', 'HDF5, user block', 'a zip local header in the user block (a file that is both an archive and HDF5)', { userBlock: `504b0304${'00'.repeat(26)}` }, polyglot);
  hdf5Case('hdf5-user-block-text', 'HDF5, user block', 'a GDAL dataset name (/vsicurl/ on the canary) in the user block', { userBlock: hex(`/vsicurl/${canaryUrl('hdf5-user-block-text', 'x.tif')}`) }, polyglot);

  // --- Attributes holding URLs (DAP) and CRS text naming files ---------------------------------
  const urlRefusal = refused(/URL or a path/);
  hdf5Case('hdf5-attr-dap-url', 'HDF5, attribute URL', 'a spatial_ref attribute that is a DAP URL on the canary', { netcdf: true, attributes: { spatial_ref: canaryUrl('hdf5-attr-dap-url', 'dap').replace(/^http/, 'https') } }, urlRefusal);
  hdf5Case('hdf5-attr-vsicurl', 'HDF5, attribute URL', 'a crs_wkt attribute that is a /vsicurl/ path to the canary', { netcdf: true, attributes: { crs_wkt: `/vsicurl/${canaryUrl('hdf5-attr-vsicurl', 'crs.wkt')}` } }, urlRefusal);
  hdf5Case('hdf5-attr-file-url', 'HDF5, attribute URL', 'a grid_mapping attribute that is a file: URL of /etc/passwd', { netcdf: true, attributes: { grid_mapping: 'file:///etc/passwd' } }, urlRefusal);
  hdf5Case('hdf5-attr-dods', 'HDF5, attribute URL', 'a coordinates attribute that is a dods: URL', { netcdf: true, attributes: { coordinates: 'dods://127.0.0.1:9/x' } }, urlRefusal);
  const crsRefusal = refused(/names a path or URL through/);
  hdf5Case('hdf5-crs-init-file', 'HDF5, CRS naming a file', 'a proj4 attribute with +init= naming /etc/passwd', { netcdf: true, attributes: { grid_mapping_name: 'latitude_longitude', proj4: '+init=/etc/passwd:x' } }, crsRefusal);
  hdf5Case('hdf5-crs-parameterfile', 'HDF5, CRS naming a file', 'a spatial_ref WKT2 whose PARAMETERFILE names the sentinel', { netcdf: true, attributes: { spatial_ref: `BOUNDCRS[SOURCECRS[GEOGCRS["a",DATUM["b",ELLIPSOID["c",6378137,298.257]],CS[ellipsoidal,2],AXIS["lat",north],AXIS["lon",east],ANGLEUNIT["degree",0.0174532925199433]]],TARGETCRS[GEOGCRS["WGS 84",DATUM["World Geodetic System 1984",ELLIPSOID["WGS 84",6378137,298.257223563]],CS[ellipsoidal,2],AXIS["lat",north],AXIS["lon",east],ANGLEUNIT["degree",0.0174532925199433]]],ABRIDGEDTRANSFORMATION["t",METHOD["NTv2"],PARAMETERFILE["Latitude and longitude difference file","${sentinelFolder('hdf5-crs-parameterfile')}/grid.gsb"]]]` } }, crsRefusal);
  hdf5Case('hdf5-crs-nadgrids', 'HDF5, CRS naming a file', 'an esri_pe_string carrying +nadgrids= with a relative path', { netcdf: true, attributes: { esri_pe_string: 'GEOGCS["x",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137,298.257223563]],PRIMEM["Greenwich",0],UNIT["Degree",0.0174532925199433],EXTENSION["PROJ4","+proj=longlat +nadgrids=../../../../etc/passwd"]]' } }, crsRefusal);

  // --- Decompression bombs, chunks past the end, dimensions no bytes back ----------------------
  const stackedBomb = caseFile('hdf5-bomb-stacked-deflate', 'chunk.bin');
  // 64 MiB of zeros deflated twice (what two deflate filters store): a few hundred bytes.
  writeFileSync(stackedBomb, deflateSync(zlibOfZeros(64 * 1024 ** 2), { level: 9 }));
  hdf5Case('hdf5-bomb-stacked-deflate', 'HDF5, decompression bomb', 'one 64 MiB chunk of zeros deflated twice (two deflate filters): a few hundred stored bytes', { bomb: { shape: [4096, 4096], chunk: [4096, 4096], chunkFile: stackedBomb, filters: 2 } }, refused(/decompression bomb|bytes per stored byte/, ['INPUT_LIMIT']), 'scene.h5', 'memory-capped');
  const bigChunk = caseFile('hdf5-bomb-1gib-chunk', 'chunk.bin');
  writeFileSync(bigChunk, zlibOfZeros(1024 ** 3));
  hdf5Case('hdf5-bomb-1gib-chunk', 'HDF5, decompression bomb', 'one chunk of 1 GiB of zeros, deflated to about 1 MB', { bomb: { shape: [16384, 16384], chunk: [16384, 16384], chunkFile: bigChunk, filters: 1 } }, refused(/compressed (blocks|chunk)|bytes per stored byte/, ['INPUT_LIMIT']), 'scene.h5', 'memory-capped');
  hdf5Case('hdf5-chunk-past-eof', 'HDF5, chunk past the end', "a chunk index whose first chunk's address lies past the end of the file", { patchChunk: 'address' }, refused(/past the end of the file/));
  hdf5Case('hdf5-chunk-size-past-eof', 'HDF5, chunk past the end', 'a chunk index whose first chunk declares 2 GiB stored', { patchChunk: 'size' }, refused(/past the end of the file/));
  hdf5Case('hdf5-huge-dims', 'HDF5, declared size', 'a chunked dataset of 2^24 × 2^24 float32 (4 PiB) with no chunk written', { hugeShape: [2 ** 24, 2 ** 24] }, refused(/bytes per stored byte|past 2\^53/, ['INPUT_LIMIT']), 'scene.h5', 'memory-capped');
  hdf5Case('hdf5-huge-dims-3d', 'HDF5, declared size', 'a chunked dataset of 2^20 × 2^20 × 2^20 float32 (2^62 bytes) with no chunk written', { hugeShape: [2 ** 20, 2 ** 20, 2 ** 20] }, refused(/bytes per stored byte|past 2\^53/, ['INPUT_LIMIT']), 'scene.h5', 'memory-capped');

  // --- Group structure ------------------------------------------------------------------------
  hdf5Case('hdf5-group-cycle', 'HDF5, group structure', 'a subgroup holding a hard link back to the root (GDAL lists groups recursively)', { cycle: true }, refused(/cycle/));
  hdf5Case('hdf5-soft-link-loop', 'HDF5, group structure', 'two soft links pointing at each other', { softLinks: { a: '/b', b: '/a' } }, refused(/soft links loop/));
  hdf5Case('hdf5-soft-link-dangling', 'HDF5, group structure', 'a soft link to an object the file does not hold', { softLinks: { a: '/nowhere/z' } }, refused(/dangling/));
  hdf5Case('hdf5-deep-groups', 'HDF5, group structure', 'groups nested 40 deep', { depth: 40 }, refused(/nest more than/, ['INPUT_LIMIT']));

  if (!writeHdf5Files(jobs, notes)) return;
  for (const add of cases) add();

  // --- GTX: a header that lies about its grid -------------------------------------------------
  const gtx = (id: string, attack: string, bytes: Buffer, expect: Expectation): void => {
    const path = caseFile(id, 'geoid.gtx');
    writeFileSync(path, bytes);
    fileCase({ id, category: id === 'gtx-plain' ? 'GTX, harmless' : 'GTX, declared size', attack, files: [path], expect });
  };
  const grid = { south: 40, west: 10, latStep: 0.25, lonStep: 0.25, rows: 24, columns: 32 };
  gtx('gtx-plain', 'a small GTX geoid grid, 24 × 32 float32', encodeGtx(grid), { outcome: 'job-completed-clean' });
  // Recognised by a header whose grid fills the file exactly: these are refused as no format at all, saying why.
  const lying: Expectation = { outcome: 'job-failed', reason: /GTX grid header.*declare.*do not hold/, codes: ['UNSUPPORTED_FORMAT'], tilesTotal: 0, oneAttempt: true };
  gtx('gtx-rows-beyond-file', 'a GTX header declaring 100,000 × 100,000 samples over 3 KB of data', encodeGtx({ ...grid, rows: 100_000, columns: 100_000 }, 24 * 32), lying);
  gtx('gtx-trailing-bytes', 'a GTX header declaring fewer samples than the file holds (something else appended)', Buffer.concat([encodeGtx(grid), Buffer.from(`<VRTDataset><SourceFilename>/etc/passwd</SourceFilename></VRTDataset>`)]), lying);
  gtx('gtx-overflowing-product', 'a GTX header whose rows × columns overflow 32 bits', encodeGtx({ ...grid, rows: 2 ** 31 - 1, columns: 2 ** 31 - 1 }, 24 * 32), lying);
}
