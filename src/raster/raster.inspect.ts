/**
 * What a raster is, read with GDAL: driver, size, bands, CRS and geotransform, plus the checks
 * that decide whether it can become a correct COG.
 */
import gdal from 'gdal-async';
import type { BandInfo, CrsInfo, RasterInfo } from '../pipeline/contracts.js';
import { FailureError } from '../pipeline/failure.js';
import { toNodata } from './data.type.js';
import type { MosaicBand } from './mosaic.vrt.js';
import type { RasterTimeMetadata } from './acquisition.time.js';
import { computeWgs84Footprint } from './footprint.transform.js';
import { isDefaultGeoTransform, type GeoTransform } from './geo.transform.js';

/** The parts of `gdalinfo -json` this module reads. */
interface GdalInfoJson {
  coordinateSystem?: { wkt?: string };
  stac?: { 'proj:projjson'?: unknown };
  metadata?: Record<string, Record<string, string> | undefined>;
}

export async function readGdalInfo(dataset: gdal.Dataset): Promise<GdalInfoJson> {
  // GDAL 3.6 writes a NaN or infinite scale, offset or nodata as bare `nan`/`inf`, which is not JSON.
  const text = (await gdal.infoAsync(dataset, ['-json', '-nomd', '-norat', '-noct'])).replace(/([:[,]\s*)-?(?:nan|inf(?:inity)?)(?=\s*[,\]}])/gi, '$1null');
  return JSON.parse(text) as GdalInfoJson;
}

/**
 * The CRS of a dataset: its EPSG code when the definition carries one, plus WKT2 and PROJJSON
 * (from GDAL's JSON report, the only place gdal-async exposes WKT2 and PROJJSON), or `null`.
 */
export async function readCrs(dataset: gdal.Dataset): Promise<CrsInfo | null> {
  const srs = dataset.srs;
  if (!srs) return null;
  const info = await readGdalInfo(dataset);
  const wkt2 = info.coordinateSystem?.wkt;
  if (!wkt2) return null;
  const authority = srs.getAuthorityName(null);
  const code = authority && authority.toUpperCase() === 'EPSG' ? srs.getAuthorityCode(null) : null;
  return {
    code: code ? `EPSG:${code}` : null,
    wkt2,
    projjson: info.stac?.['proj:projjson'] ?? null,
  };
}

/** String-valued metadata of one domain (GDAL returns `{}` for a domain it does not have). */
function readMetadataDomain(object: gdal.Dataset | gdal.RasterBand, domain?: string): Record<string, string> {
  const values = (object.getMetadata(domain) ?? {}) as Record<string, unknown>;
  return Object.fromEntries(Object.entries(values).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
}

/** The metadata `findAcquisitionTime` decides from: of every band, or of `band` (1-based) alone. */
export function readTimeMetadata(dataset: gdal.Dataset, band?: number): RasterTimeMetadata {
  const bands: Array<Record<string, string>> = [];
  if (band !== undefined) bands.push(readMetadataDomain(dataset.bands.get(band)));
  else for (let i = 1; i <= dataset.bands.count(); i++) bands.push(readMetadataDomain(dataset.bands.get(i)));
  return { dataset: readMetadataDomain(dataset), imagery: readMetadataDomain(dataset, 'IMAGERY'), bands };
}

export function readBandInfo(band: gdal.RasterBand): BandInfo {
  const unit = band.unitType;
  // Packed values (CF scale_factor/add_offset): kept as they are, with how to unpack them. Only
  // finite values: `metadata.bounds.ts` leaves the others out of the COG, with a note.
  const { scale, offset } = band;
  return {
    gdalDataType: band.dataType ?? 'Unknown',
    nodata: toNodata(band.noDataValue),
    colorInterpretation: band.colorInterpretation ?? 'Undefined',
    hasColorTable: (band.colorTable?.count() ?? 0) > 0,
    description: band.description,
    unit: unit ? unit : null,
    ...(typeof scale === 'number' && Number.isFinite(scale) && scale !== 1 ? { scale } : {}),
    ...(typeof offset === 'number' && Number.isFinite(offset) && offset !== 0 ? { offset } : {}),
  };
}

export async function readRasterInfo(dataset: gdal.Dataset): Promise<RasterInfo> {
  const bands: BandInfo[] = [];
  for (let i = 1; i <= dataset.bands.count(); i++) bands.push(readBandInfo(dataset.bands.get(i)));
  const gt = dataset.geoTransform;
  return {
    driver: dataset.driver.description,
    width: dataset.rasterSize.x,
    height: dataset.rasterSize.y,
    bands,
    crs: await readCrs(dataset),
    geoTransform: (gt ?? [0, 1, 0, 0, 0, 1]) as GeoTransform,
  };
}

/** Why a dataset that GDAL opened still cannot become a georeferenced COG, or `null` when it can. */
export function findGeoreferencingProblem(dataset: gdal.Dataset): string | null {
  const gt = dataset.geoTransform as GeoTransform | null;
  const hasGeoTransform = gt !== null && !isDefaultGeoTransform(gt);
  if (!hasGeoTransform) {
    const gcps = dataset.getGCPs();
    if (gcps.length > 0) {
      return (
        `it is georeferenced only by ${gcps.length} ground control points, not a geotransform; ` +
        'warp it to a grid first (for example `gdalwarp -t_srs EPSG:4326 in.tif out.tif`) and upload the result'
      );
    }
    return (
      'it has no georeferencing (no geotransform), so its tiles cannot be placed on a map; ' +
      'add it (for example `gdal_translate -a_ullr <ulx> <uly> <lrx> <lry> -a_srs EPSG:<code>`) and upload again'
    );
  }
  if (!dataset.srs) {
    return (
      'it has a geotransform but no coordinate reference system, so its footprint cannot be computed; ' +
      'assign one (for example `gdal_edit.py -a_srs EPSG:<code> file.tif`) and upload again'
    );
  }
  if (gt[1] === 0 && gt[2] === 0) return `its geotransform [${gt.join(', ')}] has a zero pixel width`;
  if (gt[4] === 0 && gt[5] === 0) return `its geotransform [${gt.join(', ')}] has a zero pixel height`;
  const srs = dataset.srs;
  const crsName = srs.getAttrValue(srs.isLocal() ? 'LOCAL_CS' : srs.isProjected() ? 'PROJCS' : 'GEOGCS') || 'unnamed';
  if (srs.isLocal()) {
    return `its CRS "${crsName}" is a local engineering CRS, which cannot be placed on the Earth; assign a real one (for example \`gdal_edit.py -a_srs EPSG:<code> file.tif\`) and upload again`;
  }
  try {
    computeWgs84Footprint(srs, gt, dataset.rasterSize.x, dataset.rasterSize.y);
  } catch (error) {
    return `its outline cannot be transformed from its CRS "${crsName}" to WGS84 (${(error as Error).message}); check the CRS and geotransform`;
  }
  return null;
}

/** How GDAL reports an allocation it could not make. */
const outOfMemory = /cannot allocate|out of memory|bad_alloc/i;

/**
 * Reads blocks at the end of every band. GDAL opens a truncated TIFF from its headers alone; the
 * missing bytes only show when pixels stored at the end of the file are read. Writers store
 * blocks in order, so the bottom block row holds the last bytes; up to 8 of its blocks (always
 * the last) are read, so a 200,000-pixel-wide raster costs 8 blocks a band, not a whole row.
 */
export async function findUnreadablePixels(dataset: gdal.Dataset): Promise<string | null> {
  const { x: width, y: height } = dataset.rasterSize;
  for (let i = 1; i <= dataset.bands.count(); i++) {
    const band = dataset.bands.get(i);
    const blockWidth = Math.max(1, Math.min(width, band.blockSize.x));
    const blockColumns = Math.ceil(width / blockWidth);
    const sampled = new Set<number>();
    for (let k = 0; k < 8; k++) sampled.add(Math.round(((blockColumns - 1) * k) / 7));
    for (const column of sampled) {
      const x = column * blockWidth;
      try {
        // As Float64: gdal-async has no arrays for complex types; GDAL converts (real part).
        // One row: the whole block is still decoded (a missing byte still shows), but only a row is kept.
        await band.pixels.readAsync(x, height - 1, Math.min(blockWidth, width - x), 1, undefined, { data_type: gdal.GDT_Float64 });
      } catch (error) {
        if (outOfMemory.test((error as Error).message)) {
          throw new FailureError({ code: 'INPUT_LIMIT', message: `decoding one block of band ${i} needs more memory than validation may use (setting INGEST_INSPECT_MEMORY_MB); re-tile it into smaller blocks first (for example \`gdal_translate -co TILED=YES in.tif out.tif\`)` });
        }
        return `band ${i} cannot be read to the end (${(error as Error).message}); the file is probably truncated or corrupt — upload it again`;
      }
    }
  }
  return null;
}

/** Descriptions of the subdatasets a container format (netCDF, HDF) offers instead of one raster, e.g. `[2000x2000] Band1 (8-bit integer)`. */
export function listSubdatasets(dataset: gdal.Dataset): string[] {
  const metadata = (dataset.getMetadata('SUBDATASETS') ?? {}) as Record<string, string>;
  // The _DESC entries, not _NAME: names embed the local scratch path.
  return Object.entries(metadata)
    .filter(([key]) => key.endsWith('_DESC'))
    .map(([, value]) => value);
}

/** Band descriptions for a VRT mosaic of this dataset, colour tables included. */
export function readMosaicBands(dataset: gdal.Dataset): MosaicBand[] {
  const bands: MosaicBand[] = [];
  for (let i = 1; i <= dataset.bands.count(); i++) {
    const band = dataset.bands.get(i);
    const info = readBandInfo(band);
    const table = band.colorTable;
    const colorTable: MosaicBand['colorTable'] = [];
    for (let entry = 0; table && entry < table.count(); entry++) {
      const { c1, c2, c3, c4 } = table.get(entry);
      colorTable.push([c1, c2, c3, c4]);
    }
    bands.push({ gdalDataType: info.gdalDataType, nodata: info.nodata, colorInterpretation: info.colorInterpretation, ...(colorTable.length > 0 ? { colorTable } : {}) });
  }
  return bands;
}
