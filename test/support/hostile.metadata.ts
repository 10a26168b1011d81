/**
 * Issue 18, class E: metadata values out of range. A netCDF time coordinate of 1e300 days made the
 * item's datetime a `RangeError` after the COG was written, the tile was retried four times and
 * the job failed as INTERNAL. Such a value must be left out of the item, with a note
 * (`raster-ingest:notes`) saying so, and the raster still ingested.
 */
import { deflateSync } from 'node:zlib';
import type { CorpusContext } from './hostile.corpus.js';
import type { Expectation } from './hostile.cases.js';
import { geoKeys, modelTypes, tiffTags, writeGeoTiff } from './hostile.geotiff.js';
import { writeNetcdfClassic } from './hostile.netcdf.js';

/** A 16 × 16 float32 netCDF classic raster on lat/lon with a CF time coordinate of `times` (one band each). */
export function writeTimeNetcdf(path: string, time: { units: string; values: number[]; calendar?: string }): string {
  const n = 16;
  return writeNetcdfClassic(path, {
    dimensions: [
      ['time', time.values.length],
      ['lat', n],
      ['lon', n],
    ],
    attributes: { Conventions: 'CF-1.7' },
    variables: [
      // A CF grid mapping gives GDAL the CRS; lat/lon coordinates alone only give it the geotransform.
      { name: 'crs', dimensions: [], type: 'int', attributes: { grid_mapping_name: 'latitude_longitude', semi_major_axis: 6378137, inverse_flattening: 298.257223563 }, value: () => 0 },
      {
        name: 'time',
        dimensions: ['time'],
        type: 'double',
        attributes: { standard_name: 'time', axis: 'T', units: time.units, calendar: time.calendar ?? 'standard' },
        value: (i) => time.values[i]!,
      },
      { name: 'lat', dimensions: ['lat'], type: 'double', attributes: { standard_name: 'latitude', units: 'degrees_north' }, value: (i) => 50 - (i + 0.5) * 0.01 },
      { name: 'lon', dimensions: ['lon'], type: 'double', attributes: { standard_name: 'longitude', units: 'degrees_east' }, value: (i) => 10 + (i + 0.5) * 0.01 },
      { name: 'z', dimensions: ['time', 'lat', 'lon'], type: 'float', attributes: { units: 'K', grid_mapping: 'crs' }, value: (i) => 270 + (i % 30) },
    ],
  });
}

/** A 16 × 16 Byte GeoTIFF in EPSG:4326 whose TIFF DateTime tag (306) holds `dateTime` as raw bytes. */
export function writeDateTimeTiff(path: string, dateTime: string): string {
  return writeGeoTiff(path, {
    width: 16,
    height: 16,
    compression: 8,
    block: () => deflateSync(Buffer.from(Array.from({ length: 256 }, (_, i) => i % 200))),
    georeferencing: { origin: [10, 50], pixelSize: [0.01, 0.01] },
    geoKeys: { [geoKeys.modelType]: modelTypes.geographic, [geoKeys.rasterType]: 1, [geoKeys.geographicType]: 4326 },
    extraFields: [{ tag: tiffTags.dateTime, type: 'ascii', values: dateTime }],
  });
}

export function writeMetadataCases(context: CorpusContext): void {
  const noted: Expectation = { outcome: 'job-completed-clean', notes: /time|date/i };
  const nc = (id: string, attack: string, time: { units: string; values: number[] }): void =>
    context.fileCase({ id, category: 'metadata range', attack, files: [writeTimeNetcdf(context.caseFile(id, 'scene.nc'), time)], expect: noted });
  const tif = (id: string, attack: string, dateTime: string): void =>
    context.fileCase({ id, category: 'metadata range', attack, files: [writeDateTimeTiff(context.caseFile(id, 'scene.tif'), dateTime)], expect: noted });

  const epochDays = 'days since 1970-01-01 00:00:00';
  nc('meta-nc-time-1e300', 'a netCDF time coordinate of 1e300 days since 1970 (the issue: RangeError after the COG, 4 retries, INTERNAL)', { units: epochDays, values: [1e300] });
  nc('meta-nc-time-minus-1e300', 'a time coordinate of -1e300 days', { units: epochDays, values: [-1e300] });
  nc('meta-nc-time-nan', 'a time coordinate that is NaN', { units: epochDays, values: [Number.NaN] });
  nc('meta-nc-time-infinity', 'a time coordinate that is +Infinity', { units: epochDays, values: [Number.POSITIVE_INFINITY] });
  nc('meta-nc-time-past-max-date', 'a time coordinate of 100,000,001 days: finite, small, one day past the last instant a date can hold', { units: epochDays, values: [100_000_001] });
  nc('meta-nc-time-huge-seconds', 'a time coordinate of 9.2e18 seconds since 1970 (an int64 fill value read as time)', { units: 'seconds since 1970-01-01', values: [9.2e18] });
  nc('meta-nc-time-epoch-year-99999', 'time units "days since 99999-01-01": an epoch no calendar date can hold', { units: 'days since 99999-01-01', values: [0] });
  // Each time step is its own item since issue 20, so each step's value is judged alone: both out of range.
  nc('meta-nc-time-range-one-bad', 'two time steps, 1e300 and -1e300 days: each step its own item, each time out of range', { units: epochDays, values: [1e300, -1e300] });
  tif('meta-tif-datetime-garbage', 'a GeoTIFF whose DateTime tag is text that is no date', 'not a date; DROP TABLE items; \u0007');
  tif('meta-tif-datetime-out-of-range', 'a GeoTIFF whose DateTime tag is 9999:99:99 99:99:99', '9999:99:99 99:99:99');
  tif('meta-tif-datetime-year-zero', 'a GeoTIFF whose DateTime tag is 0000:00:00 00:00:00 (what some cameras write for "unknown")', '0000:00:00 00:00:00');
  tif('meta-tif-datetime-long', 'a GeoTIFF whose DateTime tag is 5,000 characters', `2024:01:01 00:00:00${'9'.repeat(4981)}`);
}
