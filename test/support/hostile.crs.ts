/**
 * Issue 18, class A: a CRS inside an allowed file that names files or URLs. GDAL hands the CRS to
 * PROJ, and PROJ opens what the CRS names when the app builds the footprint's transformation: a
 * grid by path (`+nadgrids`, `PROJ4_GRIDS`, `PARAMETERFILE`, `+grids`, `+geoidgrids`), an init
 * file (`+init=/file:key`), a triangulation (`+file`), a URL once PROJ's network is on, a named
 * pipe that blocks whoever opens it. The service must refuse such a CRS as `INVALID_INPUT`, naming
 * the parameter, without PROJ opening anything; CRSs that name only PROJ's own codes and grids
 * keep working.
 *
 * Every carrier here was checked against GDAL 3.6.2 / PROJ 9.1 (strace on a footprint-like
 * transformation): the GeoTIFF `ESRI PE String` in `PCSCitationGeoKey` (read when the model type
 * is user-defined or absent), netCDF `spatial_ref` and `crs_wkt` reach PROJ; netCDF `proj4`,
 * `proj4_params` and `esri_pe_string` are not read by GDAL 3.6 (it shows them as metadata), so
 * those cases hold the app's own check to the rule; a GeoTIFF written by GDAL from a PROJ
 * string keeps only a datum *name* mentioning the grid.
 */
import { copyFileSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import gdal from 'gdal-async';
import type { CorpusContext } from './hostile.corpus.js';
import type { Expectation, HostRole } from './hostile.cases.js';
import { encodeGeoTiff, geoKeys, modelTypes, writeGeoTiff } from './hostile.geotiff.js';
import { writeNetcdfClassic, type NetcdfAttributeValue } from './hostile.netcdf.js';

/** A real NTv2 grid that covers the corpus rasters (Germany), copied as each case's sentinel grid. */
const sentinelGridSource = '/usr/share/proj/BETA2007.gsb';

/** What a refused CRS answers: the reason says CRS; `names` the parameter. */
const crsRefusal = (names: RegExp): Expectation => ({ outcome: 'job-failed', reason: /CRS|coordinate reference system/i, codes: ['INVALID_INPUT'], names });
const parameter = {
  nadgrids: /nadgrids|PROJ4_GRIDS/i,
  proj4Grids: /PROJ4_GRIDS|nadgrids/i,
  parameterFile: /PARAMETERFILE|grids/i,
  init: /\binit\b/i,
  geoidgrids: /geoidgrids/i,
  // gdal-async (3.12) reads a BOUNDCRS with a PROJ-based method as no CRS at all (it has no WKT1):
  // refusing it for that is as right as naming the parameter.
  grids: /\+?grids\b|PROJ-based|no (?:CRS|coordinate reference system)/i,
  file: /\+file\b|\bfile=|tinshift|PROJ-based|no (?:CRS|coordinate reference system)/i,
} as const;

/** A `../` path that resolves to `absolute` from any folder up to 16 levels deep. */
function climbingPath(absolute: string): string {
  return `${'../'.repeat(16)}${absolute.replace(/^\/+/, '')}`;
}

// --- CRS texts --------------------------------------------------------------------------------
/** An ESRI-style GEOGCS whose datum carries GDAL's `PROJ4_GRIDS` extension (what GDAL itself writes for `+nadgrids`). */
export function geogcsWithGrids(grids: string): string {
  return (
    `GEOGCS["GCS_Hostile",DATUM["D_Hostile",SPHEROID["GRS_1980",6378137.0,298.257222101],EXTENSION["PROJ4_GRIDS","${grids}"]],` +
    `PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]`
  );
}

/** A GEOGCS whose `EXTENSION["PROJ4", …]` PROJ builds the CRS from. */
export function geogcsWithProj4(proj4: string): string {
  return (
    `GEOGCS["GCS_Hostile",DATUM["D_Hostile",SPHEROID["GRS_1980",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],` +
    `UNIT["Degree",0.0174532925199433],EXTENSION["PROJ4","${proj4}"]]`
  );
}

/** UTM zone 32 on GRS80 with an `EXTENSION["PROJ4", …]`. */
export function projcsWithProj4(proj4: string): string {
  return (
    `PROJCS["Hostile_UTM_32N",GEOGCS["GCS_Hostile",DATUM["D_Hostile",SPHEROID["GRS_1980",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],` +
    `UNIT["Degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",0.0],` +
    `PARAMETER["Central_Meridian",9.0],PARAMETER["Scale_Factor",0.9996],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0],EXTENSION["PROJ4","${proj4}"]]`
  );
}

const wgs84Wkt2 =
  'GEOGCRS["WGS 84",DATUM["World Geodetic System 1984",ELLIPSOID["WGS 84",6378137,298.257223563]],CS[ellipsoidal,2],' +
  'AXIS["latitude",north,ANGLEUNIT["degree",0.0174532925199433]],AXIS["longitude",east,ANGLEUNIT["degree",0.0174532925199433]],ID["EPSG",4326]]';
const hostileGeogWkt2 =
  'GEOGCRS["Hostile",DATUM["Hostile datum",ELLIPSOID["GRS 1980",6378137,298.257222101]],CS[ellipsoidal,2],' +
  'AXIS["longitude",east,ANGLEUNIT["degree",0.0174532925199433]],AXIS["latitude",north,ANGLEUNIT["degree",0.0174532925199433]]]';

/** The same WKT with `(` and `)` for `[` and `]`, which WKT allows and PROJ reads alike (quoted text kept). */
export function inParentheses(wkt: string): string {
  return wkt.replace(/"[^"]*"|\[|\]/g, (token) => (token === '[' ? '(' : token === ']' ? ')' : token));
}

/** A WKT2 BOUNDCRS whose transformation to WGS 84 is an NTv2 grid given by `PARAMETERFILE`. */
export function boundCrsWithParameterFile(file: string): string {
  return (
    `BOUNDCRS[SOURCECRS[${hostileGeogWkt2}],TARGETCRS[${wgs84Wkt2}],ABRIDGEDTRANSFORMATION["Hostile to WGS 84",METHOD["NTv2",ID["EPSG",9615]],` +
    `PARAMETERFILE["Latitude and longitude difference file","${file}"]]]`
  );
}

/** A WKT2 BOUNDCRS whose transformation is a PROJ string (PROJ's "PROJ-based operation method"): `+grids`, `+file`, `+init` ride in it. */
export function boundCrsWithProjMethod(projString: string): string {
  return `BOUNDCRS[SOURCECRS[${hostileGeogWkt2}],TARGETCRS[${wgs84Wkt2}],ABRIDGEDTRANSFORMATION["Hostile to WGS 84",METHOD["PROJ-based operation method: ${projString}"]]]`;
}

// --- Carriers ---------------------------------------------------------------------------------
/** Where the corpus's CRS rasters lie: central Germany, inside the sentinel grid (BETA2007). */
const geographicPlacement = { origin: [10.0, 50.0] as [number, number], pixelSize: [0.01, 0.01] as [number, number] };
const utm32Placement = { origin: [560000, 5540000] as [number, number], pixelSize: [100, 100] as [number, number] };

const tinyPixels = Buffer.from(Array.from({ length: 16 * 16 }, (_, i) => (i * 7) % 200));

/**
 * A 16×16 Byte GeoTIFF whose only CRS is an `ESRI PE String = <wkt>` in PCSCitationGeoKey, with
 * the model type user-defined (or, `noModelType`, absent): the two ways GDAL takes the citation's
 * WKT as the CRS. GDAL reads at most 2400 characters of it.
 */
export function writePeCitationTiff(path: string, wkt: string, options: { projected?: boolean; noModelType?: boolean } = {}): string {
  const citation = `ESRI PE String = ${wkt}`;
  if (citation.length >= 2400) throw new Error(`PE citation of ${citation.length} characters: GDAL reads 2399`);
  return writeGeoTiff(path, {
    width: 16,
    height: 16,
    block: () => tinyPixels,
    georeferencing: options.projected ? utm32Placement : geographicPlacement,
    geoKeys: options.noModelType
      ? { [geoKeys.rasterType]: 1, [geoKeys.pcsCitation]: citation }
      : { [geoKeys.modelType]: modelTypes.userDefined, [geoKeys.rasterType]: 1, [geoKeys.pcsCitation]: citation },
  });
}

/** A 16×16 float32 netCDF classic file on a lat/lon grid over `placement`, whose variable `z` points at grid mapping variable `crs` carrying `crsAttributes`. */
export function writeCrsNetcdf(path: string, crsAttributes: Record<string, NetcdfAttributeValue>, placement: { lon: number; lat: number } = { lon: 10.0, lat: 50.0 }): string {
  const n = 16;
  const step = 0.01;
  return writeNetcdfClassic(path, {
    dimensions: [
      ['lat', n],
      ['lon', n],
    ],
    attributes: { Conventions: 'CF-1.7', title: 'hostile corpus' },
    variables: [
      { name: 'crs', dimensions: [], type: 'int', attributes: crsAttributes, value: () => 0 },
      { name: 'lat', dimensions: ['lat'], type: 'double', attributes: { standard_name: 'latitude', units: 'degrees_north' }, value: (i) => placement.lat - (i + 0.5) * step },
      { name: 'lon', dimensions: ['lon'], type: 'double', attributes: { standard_name: 'longitude', units: 'degrees_east' }, value: (i) => placement.lon + (i + 0.5) * step },
      { name: 'z', dimensions: ['lat', 'lon'], type: 'float', attributes: { grid_mapping: 'crs', units: '1' }, value: (i) => (i * 7) % 100 },
    ],
  });
}

// --- Sentinels --------------------------------------------------------------------------------
/** A tiny GTX geoid grid (the format `+geoidgrids` names): 2×2 float32 over 9-12°E, 48-51°N. */
function writeGtx(path: string): string {
  const header = Buffer.alloc(40);
  [48, 9, 3, 3].forEach((value, i) => header.writeDoubleBE(value, i * 8));
  header.writeInt32BE(2, 32);
  header.writeInt32BE(2, 36);
  const values = Buffer.alloc(16);
  for (let i = 0; i < 4; i++) values.writeFloatBE(13371337, i * 4);
  writeFileSync(path, Buffer.concat([header, values]));
  return path;
}

/** A PROJ triangulation (the JSON `+proj=tinshift +file=` reads) over the corpus's area. */
function writeTinshift(path: string): string {
  writeFileSync(
    path,
    JSON.stringify({
      file_type: 'triangulation_file',
      format_version: '1.0',
      input_crs: 'EPSG:4326',
      output_crs: 'EPSG:4326',
      transformed_components: ['horizontal'],
      vertices_columns: ['source_x', 'source_y', 'target_x', 'target_y'],
      triangles_columns: ['idx_vertex1', 'idx_vertex2', 'idx_vertex3'],
      vertices: [
        [0, 40, 0, 40],
        [30, 40, 30, 40],
        [0, 60, 0, 60],
      ],
      triangles: [[0, 1, 2]],
    }),
  );
  return path;
}

/** The GeoJP2 box's UUID (a degenerate GeoTIFF inside a JP2 `uuid` box, which GDAL reads as the JP2's georeferencing). */
const geoJp2Uuid = Buffer.from('b14bf8bd083d4b43a5ae8cd7d5a6ce03', 'hex');

/**
 * A 16×16 Byte JP2 whose GeoJP2 box is replaced by `geoTiff` (a 1×1 GeoTIFF of our own), so its
 * GeoKeys and citations reach GDAL's GeoTIFF CRS reader through the JP2 driver. GDAL writes the
 * JP2 (GMLJP2 off, so the GeoJP2 box is the only georeferencing); the box is swapped byte by byte.
 */
export function writeJp2WithGeoJp2(path: string, geoTiff: Buffer): string {
  const plain = `${path}.plain.tif`;
  const source = gdal.open(plain, 'w', 'GTiff', 16, 16, 1, gdal.GDT_Byte);
  source.srs = gdal.SpatialReference.fromEPSG(4326);
  source.geoTransform = [10, 0.01, 0, 50, 0, -0.01];
  source.bands.get(1).pixels.write(0, 0, 16, 16, new Uint8Array(tinyPixels));
  source.close();
  gdal.translate(path, gdal.open(plain), ['-of', 'JP2OpenJPEG', '-co', 'GMLJP2=NO', '-co', 'GeoJP2=YES']).close();
  rmSync(plain, { force: true });
  rmSync(`${path}.aux.xml`, { force: true });
  const bytes = readFileSync(path);
  const boxes: Buffer[] = [];
  let replaced = false;
  for (let at = 0; at < bytes.length; ) {
    const length = bytes.readUInt32BE(at) || bytes.length - at;
    const type = bytes.toString('latin1', at + 4, at + 8);
    if (type === 'uuid' && bytes.subarray(at + 8, at + 24).equals(geoJp2Uuid)) {
      const header = Buffer.alloc(8);
      header.writeUInt32BE(8 + 16 + geoTiff.length);
      header.write('uuid', 4, 'latin1');
      boxes.push(header, geoJp2Uuid, geoTiff);
      replaced = true;
    } else {
      boxes.push(bytes.subarray(at, at + length));
    }
    at += length;
  }
  if (!replaced) throw new Error('GDAL wrote no GeoJP2 box');
  writeFileSync(path, Buffer.concat(boxes));
  return path;
}

export function writeCrsCases(context: CorpusContext): void {
  const { fileCase } = context;
  /** The case's sentinel grid: a real NTv2 grid at a known path (written after any GDAL call of the generator). */
  const grid = (caseId: string, name = 'grid.gsb'): string => {
    const path = join(context.sentinelFolder(caseId), name);
    if (existsSync(sentinelGridSource)) copyFileSync(sentinelGridSource, path);
    else writeFileSync(path, 'NUM_OREC'); // PROJ data without BETA2007: any file still shows as opened
    return path;
  };
  /** An init file whose `<hostile>` entry is a CRS on the case's sentinel grid. */
  const initFile = (caseId: string): string => {
    const path = join(context.sentinelFolder(caseId), 'hostile.init');
    writeFileSync(path, `# hostile corpus init file\n<hostile> +proj=longlat +ellps=GRS80 +nadgrids=${grid(caseId)} +no_defs <>\n`);
    return `${path}:hostile`;
  };
  /** A named pipe: opening it for reading blocks until someone opens it for writing. */
  const fifo = (caseId: string): string => {
    const path = join(context.sentinelFolder(caseId), 'grid.gsb');
    execFileSync('mkfifo', [path]);
    context.fifos.push(path);
    return path;
  };
  /** `~/<id>.gsb`: PROJ reads `~/x` as `$HOME/~/x` (9.1); the host's HOME is the corpus's home folder, where that file exists. */
  const homePath = (caseId: string): string => {
    const path = join(context.homeDir, '~', `${caseId}.gsb`);
    if (existsSync(sentinelGridSource)) copyFileSync(sentinelGridSource, path);
    else writeFileSync(path, 'NUM_OREC');
    return `~/${caseId}.gsb`;
  };
  /** A plain grid name found only in PROJ's user-writable folder (XDG_DATA_HOME/proj), not in PROJ's own data. */
  const userDirName = (caseId: string): string => {
    const path = join(context.userDataDir, 'proj', `${caseId}.gsb`);
    if (existsSync(sentinelGridSource)) copyFileSync(sentinelGridSource, path);
    else writeFileSync(path, 'NUM_OREC');
    return `${caseId}.gsb`;
  };
  const canaryGrid = (caseId: string): string => context.canaryUrl(caseId, 'grid.gsb');
  /** An https URL to the canary whose host name (sent in TLS's SNI) spells the case. */
  const canaryHttpsGrid = (caseId: string): string => `https://${caseId}.localhost:${context.canaryPort}/grid.gsb`;

  /** The pipes a case's payload names (set by `fifo`), so the case can release them. */
  const fifosOf = (id: string): { fifos?: string[] } => {
    const own = context.fifos.filter((path) => path.startsWith(`${context.sentinelFolder(id)}/`));
    return own.length ? { fifos: own } : {};
  };
  const tif = (id: string, attack: string, wkt: string, expect: Expectation, options: { projected?: boolean; noModelType?: boolean; host?: HostRole } = {}): void => {
    fileCase({
      id,
      category: 'CRS, GeoTIFF',
      attack,
      files: [writePeCitationTiff(context.caseFile(id, 'scene.tif'), wkt, options)],
      expect,
      ...(options.host ? { host: options.host } : {}),
      ...fifosOf(id),
    });
  };
  const nc = (id: string, attack: string, attributes: Record<string, NetcdfAttributeValue>, expect: Expectation, host?: HostRole): void => {
    fileCase({ id, category: 'CRS, netCDF', attack, files: [writeCrsNetcdf(context.caseFile(id, 'scene.nc'), attributes)], expect, ...(host ? { host } : {}), ...fifosOf(id) });
  };
  const cf = { grid_mapping_name: 'latitude_longitude', semi_major_axis: 6378137, inverse_flattening: 298.257223563 };

  // --- GeoTIFF: the ESRI PE String citation ---------------------------------------------------
  const id1 = 'crs-tif-pe-grids-absolute';
  tif(id1, 'PE citation: GEOGCS whose datum has PROJ4_GRIDS = the absolute path of a local grid', geogcsWithGrids(grid(id1)), crsRefusal(parameter.proj4Grids));
  const id2 = 'crs-tif-pe-grids-climbing';
  tif(id2, 'PE citation: PROJ4_GRIDS = a ../ path climbing from any working folder to a local grid', geogcsWithGrids(climbingPath(grid(id2))), crsRefusal(parameter.proj4Grids));
  const id3 = 'crs-tif-pe-grids-optional';
  tif(id3, 'PE citation: PROJ4_GRIDS = @/absolute (an optional grid: the job completes after PROJ opened it)', geogcsWithGrids(`@${grid(id3)}`), crsRefusal(parameter.proj4Grids));
  const id4 = 'crs-tif-pe-grids-http';
  tif(id4, 'PE citation: PROJ4_GRIDS = an http:// URL on the canary (PROJ fetches it when its network is on)', geogcsWithGrids(canaryGrid(id4)), crsRefusal(parameter.proj4Grids));
  const id5 = 'crs-tif-pe-grids-https';
  tif(id5, 'PE citation: PROJ4_GRIDS = an https:// URL on the canary (a TLS connection whose SNI names the case)', geogcsWithGrids(canaryHttpsGrid(id5)), crsRefusal(parameter.proj4Grids));
  const id6 = 'crs-tif-pe-grids-user-dir';
  tif(id6, "PE citation: PROJ4_GRIDS = a plain name found only in PROJ's user-writable folder, outside PROJ's own data", geogcsWithGrids(userDirName(id6)), crsRefusal(parameter.proj4Grids));
  const id7 = 'crs-tif-pe-grids-cdn-name';
  tif(id7, "PE citation: PROJ4_GRIDS = a plain name PROJ's data lacks (PROJ asks its CDN, here the canary, when its network is on)", geogcsWithGrids(`${id7}.gsb`), crsRefusal(parameter.proj4Grids));
  const id8 = 'crs-tif-pe-proj4-nadgrids-dot';
  tif(id8, 'PE citation: PROJCS with EXTENSION["PROJ4", "… +nadgrids=./../…"] (a ./ relative path to a local grid)', projcsWithProj4(`+proj=utm +zone=32 +ellps=GRS80 +nadgrids=./${climbingPath(grid(id8))} +units=m +no_defs`), crsRefusal(parameter.nadgrids), { projected: true });
  const id9 = 'crs-tif-pe-proj4-init';
  tif(id9, 'PE citation: PROJCS with EXTENSION["PROJ4", "+init=/local/file:key"] (PROJ reads the init file, then the grid it names)', projcsWithProj4(`+init=${initFile(id9)}`), crsRefusal(parameter.init), { projected: true });
  const id10 = 'crs-tif-pe-proj4-geoidgrids';
  const gtx10 = writeGtx(join(context.sentinelFolder(id10), 'geoid.gtx'));
  tif(id10, 'PE citation: GEOGCS with EXTENSION["PROJ4", "… +geoidgrids=/local/geoid.gtx"]', geogcsWithProj4(`+proj=longlat +ellps=GRS80 +geoidgrids=${gtx10} +no_defs`), crsRefusal(parameter.geoidgrids));
  const id11 = 'crs-tif-pe-parameterfile-absolute';
  tif(id11, 'PE citation: a WKT2 BOUNDCRS whose NTv2 PARAMETERFILE is a local grid', boundCrsWithParameterFile(grid(id11)), crsRefusal(parameter.parameterFile));
  const id12 = 'crs-tif-pe-parameterfile-home';
  tif(id12, "PE citation: BOUNDCRS PARAMETERFILE = ~/name (PROJ looks in $HOME/~/name; the host's HOME holds it)", boundCrsWithParameterFile(homePath(id12)), crsRefusal(parameter.parameterFile));
  const id13 = 'crs-tif-pe-no-model-vsicurl';
  tif(id13, 'PE citation with no GTModelTypeGeoKey at all: PROJ4_GRIDS = a /vsicurl/ URL on the canary', geogcsWithGrids(`/vsicurl/${canaryGrid(id13)}`), crsRefusal(parameter.proj4Grids), { noModelType: true });
  const id14 = 'crs-tif-pe-proj-method-grids';
  tif(id14, 'PE citation: BOUNDCRS whose method is a PROJ string "+proj=hgridshift +grids=/local/grid"', boundCrsWithProjMethod(`+proj=hgridshift +grids=${grid(id14)}`), crsRefusal(parameter.grids));
  const id15 = 'crs-tif-pe-proj-method-file';
  const tin15 = writeTinshift(join(context.sentinelFolder(id15), 'triangulation.json'));
  tif(id15, 'PE citation: BOUNDCRS whose method is "+proj=tinshift +file=/local/triangulation.json"', boundCrsWithProjMethod(`+proj=tinshift +file=${tin15}`), crsRefusal(parameter.file));

  // What GDAL's own writer keeps of a PROJ string naming a grid: only a datum name. The sentinel grid
  // is written after GDAL built the CRS (PROJ would open it then), and must never be opened by the host.
  const id16 = 'crs-tif-gdal-written-nadgrids';
  const gdalWritten = context.caseFile(id16, 'scene.tif');
  const gridPath16 = join(context.sentinelFolder(id16), 'grid.gsb');
  const dataset = gdal.open(gdalWritten, 'w', 'GTiff', 16, 16, 1, gdal.GDT_Byte);
  dataset.geoTransform = [10, 0.01, 0, 50, 0, -0.01];
  dataset.srs = gdal.SpatialReference.fromProj4(`+proj=longlat +ellps=GRS80 +nadgrids=${gridPath16} +no_defs`);
  dataset.bands.get(1).pixels.write(0, 0, 16, 16, new Uint8Array(tinyPixels));
  dataset.close();
  grid(id16);
  fileCase({
    id: id16,
    category: 'CRS, GeoTIFF',
    attack: 'gdal_translate -a_srs "+proj=longlat +ellps=GRS80 +nadgrids=/local/grid": GDAL keeps only a datum name spelling the path (GeogCitationGeoKey)',
    files: [gdalWritten],
    expect: { outcome: 'job-completed-or-refused', reason: /CRS|coordinate reference system/i, codes: ['INVALID_INPUT'] },
  });

  // --- Erdas Imagine and JPEG 2000 (allowed since issue 18): their CRS carriers -------------
  // GDAL's HFA writer keeps a +nadgrids path in the .img's datum node (it complains, while writing,
  // that it cannot find the grid: this process, not the service; the grid is written afterwards).
  const hfa = (id: string, attack: string, grids: string, makeSentinel: () => void): void => {
    const base = context.caseFile(id, 'base.tif');
    const dataset = gdal.open(base, 'w', 'GTiff', 16, 16, 1, gdal.GDT_Byte);
    dataset.geoTransform = [10, 0.01, 0, 50, 0, -0.01];
    dataset.bands.get(1).pixels.write(0, 0, 16, 16, new Uint8Array(tinyPixels));
    dataset.close();
    const img = context.caseFile(id, 'scene.img');
    gdal.translate(img, gdal.open(base), ['-of', 'HFA', '-a_srs', `+proj=longlat +ellps=GRS80 +nadgrids=${grids} +no_defs`]).close();
    // This process's GDAL also wrote a .aux.xml beside it (PAM); only the .img is uploaded.
    rmSync(base, { force: true });
    rmSync(`${img}.aux.xml`, { force: true });
    makeSentinel();
    fileCase({ id, category: 'CRS, Erdas Imagine', attack, files: [img], expect: crsRefusal(parameter.nadgrids) });
  };
  const id50 = 'crs-img-datum-grid-absolute';
  const grid50 = join(context.sentinelFolder(id50), 'grid.gsb');
  hfa(id50, "an Erdas Imagine .img whose datum node names a local grid by absolute path (GDAL's HFA writer keeps +nadgrids there)", grid50, () => grid(id50));
  const id51 = 'crs-img-datum-grid-http';
  hfa(id51, 'an Erdas Imagine .img whose datum node names an http:// grid on the canary', canaryGrid(id51), () => undefined);
  const geoJp2 = (id: string, attack: string, wkt: string, names: RegExp): void => {
    const tiff = encodeGeoTiff({
      width: 1,
      height: 1,
      block: () => Buffer.from([0]),
      georeferencing: geographicPlacement,
      geoKeys: { [geoKeys.modelType]: modelTypes.userDefined, [geoKeys.rasterType]: 1, [geoKeys.pcsCitation]: `ESRI PE String = ${wkt}` },
    });
    fileCase({ id, category: 'CRS, JPEG 2000', attack, files: [writeJp2WithGeoJp2(context.caseFile(id, 'scene.jp2'), tiff)], expect: crsRefusal(names) });
  };
  const id52 = 'crs-jp2-geojp2-pe-grids-absolute';
  geoJp2(id52, "a JP2 whose GeoJP2 box (a small GeoTIFF) carries an ESRI PE String with PROJ4_GRIDS naming a local grid", geogcsWithGrids(grid(id52)), parameter.proj4Grids);
  const id53 = 'crs-jp2-geojp2-pe-parameterfile-https';
  geoJp2(id53, 'a JP2 whose GeoJP2 box carries a BOUNDCRS whose PARAMETERFILE is an https:// URL on the canary', boundCrsWithParameterFile(canaryHttpsGrid(id53)), parameter.parameterFile);

  // --- netCDF classic: the grid mapping variable's attributes -------------------------------
  const id20 = 'crs-nc-spatial-ref-grids-absolute';
  nc(id20, 'spatial_ref (GDAL\'s WKT attribute) = GEOGCS with PROJ4_GRIDS naming a local grid', { spatial_ref: geogcsWithGrids(grid(id20)) }, crsRefusal(parameter.proj4Grids));
  const id21 = 'crs-nc-spatial-ref-proj4-optional';
  nc(id21, 'spatial_ref = GEOGCS with EXTENSION["PROJ4", "… +nadgrids=@/local/grid"] (optional: completes after the open)', { spatial_ref: geogcsWithProj4(`+proj=longlat +ellps=GRS80 +nadgrids=@${grid(id21)} +no_defs`) }, crsRefusal(parameter.nadgrids));
  const id22 = 'crs-nc-spatial-ref-proj4-init';
  nc(id22, 'spatial_ref = GEOGCS with EXTENSION["PROJ4", "+init=/local/file:key"]', { spatial_ref: geogcsWithProj4(`+init=${initFile(id22)}`) }, crsRefusal(parameter.init));
  const id23 = 'crs-nc-spatial-ref-grids-https';
  nc(id23, 'spatial_ref = PROJ4_GRIDS naming an https:// URL on the canary', { spatial_ref: geogcsWithGrids(canaryHttpsGrid(id23)) }, crsRefusal(parameter.proj4Grids));
  const id24 = 'crs-nc-spatial-ref-parameterfile-climbing';
  nc(id24, 'spatial_ref = BOUNDCRS whose PARAMETERFILE climbs with ../ to a local grid', { spatial_ref: boundCrsWithParameterFile(climbingPath(grid(id24))) }, crsRefusal(parameter.parameterFile));
  const id25 = 'crs-nc-crs-wkt-parameterfile-absolute';
  nc(id25, 'crs_wkt (CF\'s WKT attribute) = BOUNDCRS whose NTv2 PARAMETERFILE is a local grid', { ...cf, crs_wkt: boundCrsWithParameterFile(grid(id25)) }, crsRefusal(parameter.parameterFile));
  const id26 = 'crs-nc-crs-wkt-parameterfile-http';
  nc(id26, 'crs_wkt = BOUNDCRS whose PARAMETERFILE is an http:// URL on the canary', { ...cf, crs_wkt: boundCrsWithParameterFile(canaryGrid(id26)) }, crsRefusal(parameter.parameterFile));
  const id27 = 'crs-nc-crs-wkt-proj-method-grids-dot';
  nc(id27, 'crs_wkt = BOUNDCRS whose method is "+proj=hgridshift +grids=./../…"', { ...cf, crs_wkt: boundCrsWithProjMethod(`+proj=hgridshift +grids=./${climbingPath(grid(id27))}`) }, crsRefusal(parameter.grids));
  const id28 = 'crs-nc-crs-wkt-grids-user-dir';
  nc(id28, "crs_wkt = PROJ4_GRIDS naming a plain name found only in PROJ's user-writable folder", { ...cf, crs_wkt: geogcsWithGrids(userDirName(id28)) }, crsRefusal(parameter.proj4Grids));
  const id29 = 'crs-nc-crs-wkt-parameterfile-vsicurl';
  nc(id29, 'crs_wkt = BOUNDCRS whose PARAMETERFILE is a /vsicurl/ URL on the canary', { ...cf, crs_wkt: boundCrsWithParameterFile(`/vsicurl/${canaryGrid(id29)}`) }, crsRefusal(parameter.parameterFile));
  const id30 = 'crs-nc-proj4-nadgrids-absolute';
  nc(id30, 'proj4 attribute (as GMT and some tools write it) = "+nadgrids=/local/grid" beside a CF grid mapping', { ...cf, proj4: `+proj=longlat +ellps=GRS80 +nadgrids=${grid(id30)} +no_defs` }, crsRefusal(parameter.nadgrids));
  const id31 = 'crs-nc-proj4-init-file';
  nc(id31, 'proj4 attribute = "+init=/local/file:key"', { ...cf, proj4: `+init=${initFile(id31)}` }, crsRefusal(parameter.init));
  const id32 = 'crs-nc-proj4-geoidgrids-http';
  nc(id32, 'proj4 attribute = "+geoidgrids=" an http:// URL on the canary', { ...cf, proj4: `+proj=longlat +datum=WGS84 +geoidgrids=${context.canaryUrl(id32, 'geoid.gtx')} +no_defs` }, crsRefusal(parameter.geoidgrids));
  const id33 = 'crs-nc-proj4-home';
  nc(id33, 'proj4 attribute = "+nadgrids=~/name"', { ...cf, proj4: `+proj=longlat +ellps=GRS80 +nadgrids=${homePath(id33)} +no_defs` }, crsRefusal(parameter.nadgrids));
  const id34 = 'crs-nc-proj4-params-nadgrids-climbing';
  nc(id34, 'proj4_params attribute (ADAGUC, KNMI) = "+nadgrids=../../…" climbing to a local grid', { ...cf, proj4_params: `+proj=longlat +ellps=GRS80 +nadgrids=${climbingPath(grid(id34))} +no_defs` }, crsRefusal(parameter.nadgrids));
  const id35 = 'crs-nc-proj4-params-grids-cdn-name';
  nc(id35, "proj4_params attribute = \"+nadgrids=<a name PROJ's data lacks>\" (fetched from PROJ's CDN, here the canary, when the network is on)", { ...cf, proj4_params: `+proj=longlat +ellps=GRS80 +nadgrids=${id35}.gsb +no_defs` }, crsRefusal(parameter.nadgrids));
  const id36 = 'crs-nc-esri-pe-string-grids-optional';
  nc(id36, 'esri_pe_string attribute (ArcGIS netCDF) = GEOGCS with PROJ4_GRIDS = @/local/grid', { ...cf, esri_pe_string: geogcsWithGrids(`@${grid(id36)}`) }, crsRefusal(parameter.proj4Grids));
  const id37 = 'crs-nc-esri-pe-string-proj4-https';
  nc(id37, 'esri_pe_string = GEOGCS with EXTENSION["PROJ4", "… +nadgrids=https://…"] on the canary', { ...cf, esri_pe_string: geogcsWithProj4(`+proj=longlat +ellps=GRS80 +nadgrids=${canaryHttpsGrid(id37)} +no_defs`) }, crsRefusal(parameter.nadgrids));

  // --- Named pipes: a CRS that names a FIFO blocks PROJ's open() until someone writes --------
  const blocking: Expectation = { outcome: 'job-failed', reason: /CRS|coordinate reference system|limit|time/i, codes: ['INVALID_INPUT', 'INPUT_LIMIT'] };
  const id40 = 'crs-tif-pe-grids-fifo';
  tif(id40, 'PE citation: PROJ4_GRIDS = a named pipe (open() blocks; before the fix the API stopped answering)', geogcsWithGrids(fifo(id40)), blocking, { host: 'blocking' });
  const id41 = 'crs-nc-spatial-ref-parameterfile-fifo';
  nc(id41, 'spatial_ref = BOUNDCRS whose PARAMETERFILE is a named pipe', { spatial_ref: boundCrsWithParameterFile(fifo(id41)) }, blocking, 'blocking');
  const id42 = 'crs-nc-crs-wkt-proj4-init-fifo';
  const fifo42 = fifo(id42);
  nc(id42, 'crs_wkt = GEOGCS with EXTENSION["PROJ4", "+init=<named pipe>:key"]', { ...cf, crs_wkt: geogcsWithProj4(`+init=${fifo42}:hostile`) }, blocking, 'blocking');

  // --- WKT written with parentheses (PROJ reads `(` as `[`): the same payloads, other brackets --
  const id43 = 'crs-nc-crs-wkt-parameterfile-parens';
  nc(id43, 'crs_wkt = BOUNDCRS(…PARAMETERFILE("…","/local/grid")) in parentheses', { ...cf, crs_wkt: inParentheses(boundCrsWithParameterFile(grid(id43))) }, crsRefusal(parameter.parameterFile));
  const id44 = 'crs-nc-spatial-ref-grids-parens';
  nc(id44, 'spatial_ref = GEOGCS(… EXTENSION("PROJ4_GRIDS","https://…")) in parentheses, on the canary', { spatial_ref: inParentheses(geogcsWithGrids(canaryHttpsGrid(id44))) }, crsRefusal(parameter.proj4Grids));
  const id45 = 'crs-nc-esri-pe-string-proj4-parens';
  nc(id45, 'esri_pe_string = GEOGCS(… EXTENSION("PROJ4","… +nadgrids=/local/grid")) in parentheses', { ...cf, esri_pe_string: inParentheses(geogcsWithProj4(`+proj=longlat +ellps=GRS80 +nadgrids=${grid(id45)} +no_defs`)) }, crsRefusal(parameter.nadgrids));
  const id46 = 'crs-nc-crs-wkt-parameterfile-parens-fifo';
  nc(id46, 'crs_wkt = BOUNDCRS(…PARAMETERFILE(…, <named pipe>)) in parentheses: refused before the open, not at the time limit', { ...cf, crs_wkt: inParentheses(boundCrsWithParameterFile(fifo(id46))) }, crsRefusal(parameter.parameterFile), 'blocking');

  // --- Legitimate CRSs that name only PROJ's own codes and grids: still ingested -------------
  const ok: Expectation = { outcome: 'job-completed-clean' };
  const legitNc = (id: string, attack: string, attributes: Record<string, NetcdfAttributeValue>, placement?: { lon: number; lat: number }): void => {
    fileCase({ id, category: 'CRS, legitimate', attack, files: [writeCrsNetcdf(context.caseFile(id, 'scene.nc'), attributes, placement)], expect: ok });
  };
  legitNc('crs-ok-nc-proj4-wgs84', 'netCDF proj4 = "+proj=longlat +datum=WGS84 +no_defs" beside a CF grid mapping', { ...cf, proj4: '+proj=longlat +datum=WGS84 +no_defs' });
  legitNc('crs-ok-nc-proj4-init-epsg', 'netCDF proj4 = "+init=epsg:4326" (a code PROJ resolves in its own database)', { ...cf, proj4: '+init=epsg:4326' });
  legitNc('crs-ok-nc-proj4-params-nadgrids-null', 'netCDF proj4_params = "+proj=longlat +ellps=WGS84 +nadgrids=@null" (the null grid)', { ...cf, proj4_params: '+proj=longlat +ellps=WGS84 +nadgrids=@null +no_defs' });
  legitNc('crs-ok-nc-spatial-ref-ntf-grid', 'netCDF spatial_ref = NTF with EXTENSION["PROJ4", "… +nadgrids=ntf_r93.gsb"], a grid in PROJ\'s data, over Paris', {
    spatial_ref: `GEOGCS["NTF",DATUM["Nouvelle_Triangulation_Francaise",SPHEROID["Clarke 1880 (IGN)",6378249.2,293.466021293627]],PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433],EXTENSION["PROJ4","+proj=longlat +ellps=clrk80ign +nadgrids=ntf_r93.gsb +no_defs"]]`,
  }, { lon: 2.3, lat: 48.9 });
  legitNc('crs-ok-nc-crs-wkt-epsg', 'netCDF crs_wkt = WGS 84 as WKT2 with its EPSG id', { ...cf, crs_wkt: wgs84Wkt2 });
  fileCase({
    id: 'crs-ok-tif-pe-beta2007-optional',
    category: 'CRS, legitimate',
    attack: 'GeoTIFF PE citation: PROJ4_GRIDS = @BETA2007.gsb, an optional grid by its plain name in PROJ\'s data, over Germany',
    files: [writePeCitationTiff(context.caseFile('crs-ok-tif-pe-beta2007-optional', 'scene.tif'), geogcsWithGrids('@BETA2007.gsb'))],
    expect: ok,
  });
  fileCase({
    id: 'crs-ok-tif-pe-web-mercator',
    category: 'CRS, legitimate',
    attack: 'GeoTIFF as ArcGIS writes Web Mercator: PE citation "WGS_1984_Web_Mercator_Auxiliary_Sphere" (GDAL adds +nadgrids=@null itself)',
    files: [
      writePeCitationTiff(
        context.caseFile('crs-ok-tif-pe-web-mercator', 'scene.tif'),
        'PROJCS["WGS_1984_Web_Mercator_Auxiliary_Sphere",GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,298.257223563]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],' +
          'PROJECTION["Mercator_Auxiliary_Sphere"],PARAMETER["False_Easting",0.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",0.0],PARAMETER["Standard_Parallel_1",0.0],' +
          'PARAMETER["Auxiliary_Sphere_Type",0.0],UNIT["Meter",1.0]]',
        { projected: true },
      ),
    ],
    expect: ok,
  });
  const epsgTif = context.caseFile('crs-ok-tif-epsg', 'scene.tif');
  const plain = gdal.open(epsgTif, 'w', 'GTiff', 16, 16, 1, gdal.GDT_Byte);
  plain.srs = gdal.SpatialReference.fromEPSG(32632);
  plain.geoTransform = [560000, 100, 0, 5540000, 0, -100];
  plain.bands.get(1).pixels.write(0, 0, 16, 16, new Uint8Array(tinyPixels));
  plain.close();
  fileCase({ id: 'crs-ok-tif-epsg', category: 'CRS, legitimate', attack: 'a plain GeoTIFF in EPSG:32632 (GeoKeys only)', files: [epsgTif], expect: ok });
}
