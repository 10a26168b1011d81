import { describe, expect, it } from 'vitest';
import { findAcquisitionTime, parseDateTime, type RasterTimeMetadata } from '../../src/raster/acquisition.time.js';

const metadata = (dataset: Record<string, string> = {}, bands: Array<Record<string, string>> = [{}], imagery: Record<string, string> = {}): RasterTimeMetadata => ({
  dataset,
  imagery,
  bands,
});

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

describe('parseDateTime', () => {
  it('reads ISO 8601, TIFF/EXIF colons, zones, and takes zone-less times as UTC', () => {
    expect(iso(parseDateTime('2021:06:14 10:32:05'))).toBe('2021-06-14T10:32:05.000Z');
    expect(iso(parseDateTime('2021-06-14T10:32:05Z'))).toBe('2021-06-14T10:32:05.000Z');
    expect(iso(parseDateTime('2021-06-14T12:32:05+02:00'))).toBe('2021-06-14T10:32:05.000Z');
    expect(iso(parseDateTime('2021-06-14 10:32:05.25'))).toBe('2021-06-14T10:32:05.250Z');
    expect(iso(parseDateTime('2000-1-1'))).toBe('2000-01-01T00:00:00.000Z');
    expect(iso(parseDateTime('2000-01-01 00:00:00 UTC'))).toBe('2000-01-01T00:00:00.000Z');
  });

  it('rejects what is not a real date (zeroed TIFF dates, 31 April, free text)', () => {
    expect(parseDateTime('0000:00:00 00:00:00')).toBeNull();
    expect(parseDateTime('2021-04-31')).toBeNull();
    expect(parseDateTime('2021-13-01')).toBeNull();
    expect(parseDateTime('yesterday')).toBeNull();
    expect(parseDateTime('')).toBeNull();
  });
});

describe('findAcquisitionTime', () => {
  it('returns null when the metadata holds no time (the item then uses the ingestion time)', () => {
    expect(findAcquisitionTime(metadata({ AREA_OR_POINT: 'Area' }))).toBeNull();
  });

  it('reads TIFFTAG_DATETIME as an instant', () => {
    expect(findAcquisitionTime(metadata({ TIFFTAG_DATETIME: '2021:06:14 10:32:05' }))).toEqual({
      start: '2021-06-14T10:32:05.000Z',
      end: '2021-06-14T10:32:05.000Z',
      source: 'TIFFTAG_DATETIME',
    });
  });

  it('prefers an acquisition time over EXIF capture time over the TIFF creation time', () => {
    const all = { TIFFTAG_DATETIME: '2023:01:01 00:00:00', EXIF_DateTimeOriginal: '2022:05:05 05:05:05', ACQUISITION_DATE: '2020-02-02' };
    expect(findAcquisitionTime(metadata(all))?.source).toBe('ACQUISITION_DATE');
    const withoutAcquisition = { TIFFTAG_DATETIME: all.TIFFTAG_DATETIME, EXIF_DateTimeOriginal: all.EXIF_DateTimeOriginal };
    expect(findAcquisitionTime(metadata(withoutAcquisition))?.start).toBe('2022-05-05T05:05:05.000Z');
    expect(findAcquisitionTime(metadata({ ...all }, [{}], { ACQUISITIONDATETIME: '2019-09-09 09:09:09' }))).toMatchObject({
      start: '2019-09-09T09:09:09.000Z',
      source: 'IMAGERY:ACQUISITIONDATETIME',
    });
  });

  it('matches driver keys case-insensitively and reads NITF IDATIM', () => {
    expect(findAcquisitionTime(metadata({ Date_Acquired: '2014-04-07' }))).toMatchObject({ start: '2014-04-07T00:00:00.000Z', source: 'Date_Acquired' });
    expect(findAcquisitionTime(metadata({ NITF_IDATIM: '20140407101241' }))?.start).toBe('2014-04-07T10:12:41.000Z');
  });

  it('reads the CF time coordinate of netCDF bands, as a range when bands differ', () => {
    const dataset = {
      NETCDF_DIM_EXTRA: '{time}',
      'time#units': 'days since 2000-01-01 00:00:00',
      'time#standard_name': 'time',
      'time#calendar': 'gregorian',
      TIFFTAG_DATETIME: '2023:01:01 00:00:00',
    };
    const found = findAcquisitionTime(metadata(dataset, [{ NETCDF_DIM_time: '8766.5' }, { NETCDF_DIM_time: '8767.5' }]));
    expect(found).toEqual({ start: '2024-01-01T12:00:00.000Z', end: '2024-01-02T12:00:00.000Z', source: 'netCDF time (days since 2000-01-01 00:00:00)' });
    const hourly = findAcquisitionTime(metadata({ NETCDF_DIM_EXTRA: '{t}', 't#axis': 'T', 't#units': 'hours since 1970-01-01' }, [{ NETCDF_DIM_t: '24' }]));
    expect(hourly?.start).toBe('1970-01-02T00:00:00.000Z');
  });

  it('ignores model calendars and month/year units, whose values are not real instants', () => {
    const base = { NETCDF_DIM_EXTRA: '{time}', 'time#standard_name': 'time' };
    expect(findAcquisitionTime(metadata({ ...base, 'time#units': 'days since 2000-01-01', 'time#calendar': '360_day' }, [{ NETCDF_DIM_time: '30' }]))).toBeNull();
    expect(findAcquisitionTime(metadata({ ...base, 'time#units': 'months since 2000-01-01' }, [{ NETCDF_DIM_time: '3' }]))).toBeNull();
  });

  it('reads ACDD time coverage', () => {
    const found = findAcquisitionTime(metadata({ 'NC_GLOBAL#time_coverage_start': '2020-03-01T00:00:00Z', 'NC_GLOBAL#time_coverage_end': '2020-03-31T23:59:59Z' }));
    expect(found).toMatchObject({ start: '2020-03-01T00:00:00.000Z', end: '2020-03-31T23:59:59.000Z' });
  });
});
