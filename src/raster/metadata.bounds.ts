/**
 * Bounds on the metadata an upload carries, checked before any of it reaches a STAC item, a COG
 * or the orchestration history (a tile's result is stored there, and sent over a 64 KB queue
 * message on the worker route). A value out of bounds is left out (a long name is cut with
 * `boundText`) and a short note says so; the raster itself is still ingested. What cannot be
 * ingested at all (too many bands for a TIFF, a data type with no STAC name) is an `INVALID_INPUT`
 * failure saying what to change. Pure.
 */
import { boundText } from '../pipeline/bounded.text.js';
import type { BandInfo, BandStatistics, CrsInfo } from '../pipeline/contracts.js';
import { FailureError } from '../pipeline/failure.js';
import { hasStacDataType, toNodata } from './data.type.js';

export const metadataBounds = {
  /** A band's description (its STAC `name`) is cut to this many characters. */
  bandName: 200,
  /** A unit longer than this is no unit a program can read: left out. UDUNITS strings are far shorter. */
  unit: 100,
  /** WKT2, and PROJJSON as JSON, of a CRS without an EPSG code: longer ones are left out (a real one is a few KB). */
  crsDefinition: 16 * 1024,
  /** Notes kept per item (the last one then says how many more there were). */
  notes: 20,
  /** Characters per note. */
  noteLength: 300,
  /** Characters of an upload's value quoted in a note. */
  quotedValue: 60,
  /** TIFF's SamplesPerPixel is 16 bits: a COG holds at most this many bands (GDAL refuses more). */
  bands: 65_535,
} as const;

/** An upload's value as a note quotes it: cut short, in JSON quotes (control characters escaped, so visible). */
export function quoteValue(text: string): string {
  return JSON.stringify(boundText(text, metadataBounds.quotedValue));
}

/** Notes as an item carries them: duplicates dropped, each cut to `noteLength`, at most `notes` of them. */
export function boundNotes(notes: readonly string[]): string[] {
  const unique = [...new Set(notes.map((note) => boundText(note, metadataBounds.noteLength)))];
  if (unique.length <= metadataBounds.notes) return unique;
  const kept = unique.slice(0, metadataBounds.notes - 1);
  return [...kept, `${unique.length - kept.length} more notes left out`];
}

/** Throws an `INVALID_INPUT` failure when a raster has more bands than a TIFF holds (checked before each band is read). */
export function checkBandCount(count: number): void {
  if (count <= metadataBounds.bands) return;
  throw new FailureError({
    code: 'INVALID_INPUT',
    message: `it has ${count} bands, and a COG (a TIFF) holds at most ${metadataBounds.bands}; split it into files with fewer bands (for example \`gdal_translate -b 1 -b 2 … in.nc part1.tif\`) and upload those`,
  });
}

/**
 * Throws an `INVALID_INPUT` failure when the bands cannot become a COG and a STAC item at all:
 * more bands than a TIFF holds, or a GDAL data type without a STAC `data_type`.
 */
export function checkIngestibleBands(bands: readonly Pick<BandInfo, 'gdalDataType'>[]): void {
  checkBandCount(bands.length);
  const index = bands.findIndex((band) => !hasStacDataType(band.gdalDataType));
  if (index >= 0) {
    throw new FailureError({
      code: 'INVALID_INPUT',
      message: `its band ${index + 1} has the GDAL data type ${quoteValue(bands[index]!.gdalDataType)}, which STAC cannot name; convert it (for example \`gdal_translate -ot Float32 in out.tif\`) and upload again`,
    });
  }
}

/** A band's description, unit and nodata within bounds (noted in `notes` when something was cut or left out). */
export function boundBandInfo<Band extends BandInfo>(band: Band, index: number, notes: string[]): Band {
  const label = `band ${index + 1}`;
  let { description, unit, nodata } = band;
  if (typeof description !== 'string') description = '';
  if (description.length > metadataBounds.bandName) {
    notes.push(`${label} description: ${description.length} characters, cut to ${metadataBounds.bandName}`);
    description = boundText(description, metadataBounds.bandName);
  }
  if (typeof unit === 'string' && unit.length > metadataBounds.unit) {
    notes.push(unitNote(label, unit.length));
    unit = null;
  }
  // JSON has no NaN or Infinity: STAC names them "nan", "inf", "-inf".
  if (typeof nodata === 'number' && !Number.isFinite(nodata)) nodata = toNodata(nodata);
  return { ...band, description, unit, nodata };
}

function unitNote(label: string, length: number): string {
  return `${label} unit: ${length} characters, over ${metadataBounds.unit}; left out`;
}

const statisticsKeys = ['minimum', 'maximum', 'mean', 'stddev', 'valid_percent'] as const;

/**
 * Statistics JSON can carry, or `null` with a note: a band holding infinite values gets an
 * infinite maximum and a NaN mean from GDAL, which JSON would write as `null` (invalid STAC).
 */
export function boundStatistics(statistics: BandStatistics | null, index: number, notes: string[]): BandStatistics | null {
  if (!statistics) return null;
  const notFinite = statisticsKeys.filter((key) => typeof statistics[key] !== 'number' || !Number.isFinite(statistics[key]));
  if (notFinite.length === 0) return statistics;
  notes.push(`band ${index + 1} statistics: ${notFinite.map((key) => `${key} ${String(statistics[key])}`).join(', ')} (not finite numbers); left out`);
  return null;
}

export type MeasuredBand = BandInfo & { statistics: BandStatistics | null };

export function boundMeasuredBand(band: MeasuredBand, index: number, notes: string[]): MeasuredBand {
  return { ...boundBandInfo(band, index, notes), statistics: boundStatistics(band.statistics, index, notes) };
}

/**
 * A CRS an item can carry: a code only when it is `EPSG:<digits>`, and WKT2/PROJJSON only within
 * `crsDefinition` characters (when no code stands in for them, a note says they were left out).
 */
export function boundCrs(crs: CrsInfo | null, notes: string[]): CrsInfo | null {
  if (!crs) return null;
  let code = crs.code;
  if (code !== null && !/^EPSG:\d{1,9}$/.test(code)) {
    notes.push(`crs: code ${quoteValue(code)} is not an EPSG code; left out`);
    code = null;
  }
  let wkt2 = typeof crs.wkt2 === 'string' ? crs.wkt2 : '';
  if (wkt2.length > metadataBounds.crsDefinition) {
    if (code === null) notes.push(`crs: WKT2 of ${wkt2.length} characters, over ${metadataBounds.crsDefinition}; proj:wkt2 left out`);
    wkt2 = '';
  }
  let projjson = crs.projjson ?? null;
  const projjsonLength = projjson === null ? 0 : JSON.stringify(projjson).length;
  if (projjsonLength > metadataBounds.crsDefinition) {
    if (code === null) notes.push(`crs: PROJJSON of ${projjsonLength} characters, over ${metadataBounds.crsDefinition}; proj:projjson left out`);
    projjson = null;
  }
  return { code, wkt2, projjson };
}

/** The band values of a source that the COG would copy, as GDAL reports them. */
export interface CogBandValues {
  unit: string;
  scale: number | null;
  offset: number | null;
}

/** What the COG's band gets instead of the source's value, where that value is out of bounds. */
export interface CogBandOverride {
  unit?: string;
  scale?: number;
  offset?: number;
}

/**
 * The overrides that keep out-of-bounds values out of a band's COG, or `null` when it needs none:
 * a unit over `unit` characters is dropped (as in the item), and a NaN or infinite scale or offset
 * (which would turn every value into NaN for readers that apply them) becomes 1 or 0, i.e. none.
 */
export function findCogBandOverride(band: CogBandValues, index: number, notes: string[]): CogBandOverride | null {
  const label = `band ${index + 1}`;
  const override: CogBandOverride = {};
  if (band.unit.length > metadataBounds.unit) {
    notes.push(unitNote(label, band.unit.length));
    override.unit = '';
  }
  if (band.scale !== null && !Number.isFinite(band.scale)) {
    notes.push(`${label} scale: ${band.scale} is not a finite number; left out of the COG`);
    override.scale = 1;
  }
  if (band.offset !== null && !Number.isFinite(band.offset)) {
    notes.push(`${label} offset: ${band.offset} is not a finite number; left out of the COG`);
    override.offset = 0;
  }
  return Object.keys(override).length > 0 ? override : null;
}
