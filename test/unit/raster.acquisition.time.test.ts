import { describe, expect, it } from 'vitest';
import { findAcquisitionTime as findWithNotes, isWritableTimestamp, parseDateTime, type AcquisitionTime, type RasterTimeMetadata } from '../../src/raster/acquisition.time.js';

const metadata = (dataset: Record<string, string> = {}, bands: Array<Record<string, string>> = [{}], imagery: Record<string, string> = {}): RasterTimeMetadata => ({
  dataset,
  imagery,
  bands,
});

/** The time alone, for the tests that predate the notes. */
const findAcquisitionTime = (input: RasterTimeMetadata): AcquisitionTime | null => findWithNotes(input).acquired;

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

/** A CF netCDF time coordinate with these units and one band per value. */
const netcdf = (units: string, values: readonly string[], attributes: Record<string, string> = {}): RasterTimeMetadata =>
  metadata({ NETCDF_DIM_EXTRA: '{time}', 'time#standard_name': 'time', 'time#units': units, ...attributes }, values.map((value) => ({ NETCDF_DIM_time: value })));

/** Every instant a finding holds is one STAC can write. */
function expectWritable(found: AcquisitionTime | null): void {
  if (!found) return;
  for (const text of [found.start, found.end]) {
    expect(text).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect(isWritableTimestamp(text)).toBe(true);
  }
}

describe('hostile time metadata: nothing throws, no instant outside 0001–9999, a note for each value not used', () => {
  // [variant, metadata, the note expected]; each falls back to the ingestion time (acquired null).
  const unusable: Array<[string, RasterTimeMetadata, RegExp]> = [
    ['netCDF 1e300 days since 1970', netcdf('days since 1970-01-01', ['1e300']), /^datetime: netCDF time value 1e\+300 \(days since 1970-01-01\) is outside the years 0001–9999; not used$/],
    ['netCDF -1e300 days since 1970', netcdf('days since 1970-01-01', ['-1e300']), /value -1e\+300 .* outside the years 0001–9999/],
    ['netCDF 1e308 seconds (overflows to Infinity)', netcdf('seconds since 1970-01-01', ['1.7e308']), /value 1\.7e\+308 .* outside/],
    ['netCDF 3e6 days since 1970 (year 10183)', netcdf('days since 1970-01-01', ['3000000']), /value 3000000 .* outside/],
    ['netCDF in-range step next to a 1e300 one', netcdf('days since 1970-01-01', ['10', '1e300']), /value 1e\+300 .* outside/],
    ['netCDF NaN time values', netcdf('days since 1970-01-01', ['nan', 'NaN']), /^datetime: netCDF time has no numeric value \("nan"\); not used$/],
    ['netCDF Infinity time values', netcdf('days since 1970-01-01', ['Infinity', '-inf']), /has no numeric value/],
    ['netCDF epoch 99999-01-01', netcdf('days since 99999-01-01', ['1']), /units "days since 99999-01-01": the epoch is not a date; not used/],
    ['netCDF epoch year 0000', netcdf('days since 0000-01-01', ['1']), /the epoch is not a date/],
    ['netCDF negative epoch -4713-01-01', netcdf('days since -4713-01-01 12:00:00', ['2451545']), /the epoch is not a date/],
    ['netCDF epoch 1e300', netcdf('days since 1e300', ['0']), /the epoch is not a date/],
    ['netCDF epoch 9999-12-31 plus one day', netcdf('days since 9999-12-31', ['1']), /value 1 .* outside/],
    ['netCDF epoch 0001-01-01 minus one day', netcdf('days since 0001-01-01', ['-1']), /value -1 .* outside/],
    ['netCDF epoch 9999-12-31 23:59 -23:59 (zone pushes it to year 10000)', netcdf('days since 9999-12-31 23:59 -23:59', ['0']), /the epoch is outside the years 0001–9999/],
    ['netCDF units "fortnights since"', netcdf('fortnights since 2000-01-01', ['1']), /count "fortnights", not seconds, minutes, hours or days; not used/],
    ['netCDF units "constructor since" (an Object prototype key)', netcdf('constructor since 2000-01-01', ['1']), /count "constructor"/],
    ['netCDF units "__proto__ since"', netcdf('__proto__ since 2000-01-01', ['1']), /count "__proto__"/],
    ['netCDF units "hasOwnProperty since"', netcdf('hasOwnProperty since 2000-01-01', ['1']), /count "hasOwnProperty"/],
    ['netCDF units without "since"', netcdf('days after 2000-01-01', ['1']), /are not "<seconds\|minutes\|hours\|days> since <date>"/],
    ['netCDF units of 100 kB', netcdf(`days since 2000-01-01${' '.repeat(100_000)}x`, ['1']), /are not "<seconds/],
    ['netCDF 360_day calendar', netcdf('days since 2000-01-01', ['1'], { 'time#calendar': '360_day' }), /uses the calendar "360_day", whose dates are not real instants/],
    ['TIFFTAG_DATETIME 0000:00:00 00:00:00', metadata({ TIFFTAG_DATETIME: '0000:00:00 00:00:00' }), /^datetime: TIFFTAG_DATETIME "0000:00:00 00:00:00" is not a date; not used$/],
    ['TIFFTAG_DATETIME 9999-99-99', metadata({ TIFFTAG_DATETIME: '9999-99-99' }), /TIFFTAG_DATETIME "9999-99-99" is not a date/],
    ['TIFFTAG_DATETIME 9999:99:99 99:99:99', metadata({ TIFFTAG_DATETIME: '9999:99:99 99:99:99' }), /is not a date/],
    ['TIFFTAG_DATETIME 31 April', metadata({ TIFFTAG_DATETIME: '2021:04:31 10:00:00' }), /is not a date/],
    ['TIFFTAG_DATETIME 29 February of a common year', metadata({ TIFFTAG_DATETIME: '2023:02:29 10:00:00' }), /is not a date/],
    ['TIFFTAG_DATETIME 9999-12-31T23:59:59-01:00 (year 10000 in UTC)', metadata({ TIFFTAG_DATETIME: '9999-12-31T23:59:59-01:00' }), /is outside the years 0001–9999/],
    ['TIFFTAG_DATETIME 0001-01-01T00:00:00+01:00 (year 0 in UTC)', metadata({ TIFFTAG_DATETIME: '0001-01-01T00:00:00+01:00' }), /is outside the years 0001–9999/],
    ['TIFFTAG_DATETIME of 100 kB', metadata({ TIFFTAG_DATETIME: `2021:06:14 10:32:05${'0'.repeat(100_000)}` }), /^datetime: TIFFTAG_DATETIME "2021:06:14 10:32:05.{20,60}" is 100019 characters long, not a date; not used$/],
    ['TIFFTAG_DATETIME with control characters', metadata({ TIFFTAG_DATETIME: '\u0000\n2021' }), /TIFFTAG_DATETIME "\\u0000\\n2021" is not a date/],
    ['EXIF_DateTimeOriginal 0000:00:00 00:00:00', metadata({ EXIF_DateTimeOriginal: '0000:00:00 00:00:00' }), /EXIF_DateTimeOriginal "0000:00:00 00:00:00" is not a date/],
    ['IMAGERY ACQUISITIONDATETIME garbage', metadata({}, [{}], { ACQUISITIONDATETIME: 'soon' }), /IMAGERY:ACQUISITIONDATETIME "soon" is not a date/],
    ['ACDD time_coverage_start 1e300', metadata({ 'NC_GLOBAL#time_coverage_start': '1e300' }), /NC_GLOBAL#time_coverage_start "1e300" is not a date/],
    ['ACQUISITION_DATE 10000-01-01', metadata({ ACQUISITION_DATE: '10000-01-01' }), /ACQUISITION_DATE "10000-01-01" is not a date/],
    ['NITF_IDATIM 99999999999999', metadata({ NITF_IDATIM: '99999999999999' }), /NITF_IDATIM "99999999999999" is not a date/],
  ];
  it.each(unusable)('%s: not used, with a note', (_variant, input, note) => {
    const found = findWithNotes(input);
    expect(found.acquired).toBeNull();
    expect(found.notes).toContainEqual(expect.stringMatching(note));
    for (const text of found.notes) expect(text.length).toBeLessThanOrEqual(300);
  });

  it('reads 100 kB units in linear time (the old units pattern backtracked quadratically: seconds for 100 kB, minutes for 1 MB)', () => {
    const started = performance.now();
    findWithNotes(netcdf(`days since 2000-01-01${' '.repeat(100_000)}x`, ['1']));
    expect(performance.now() - started).toBeLessThan(200);
  });

  it('reads a time coordinate of 200,000 steps (too many to spread into Math.min)', () => {
    const values = Array.from({ length: 200_000 }, (_, i) => String(i));
    const found = findWithNotes(netcdf('hours since 2000-01-01', values));
    expect(found.acquired).toMatchObject({ start: '2000-01-01T00:00:00.000Z', end: '2022-10-25T07:00:00.000Z' });
  });

  it('falls back to the next source, noting the one it skipped', () => {
    const found = findWithNotes(netcdf('days since 1970-01-01', ['1e300'], { TIFFTAG_DATETIME: '2021:06:14 10:32:05' }));
    expect(found.acquired).toEqual({ start: '2021-06-14T10:32:05.000Z', end: '2021-06-14T10:32:05.000Z', source: 'TIFFTAG_DATETIME' });
    expect(found.notes).toEqual(['datetime: netCDF time value 1e+300 (days since 1970-01-01) is outside the years 0001–9999; not used']);
    const exif = findWithNotes(metadata({ EXIF_DateTimeOriginal: '0000:00:00 00:00:00', TIFFTAG_DATETIME: '2021:06:14 10:32:05' }));
    expect(exif.acquired?.source).toBe('TIFFTAG_DATETIME');
    expect(exif.notes).toHaveLength(1);
  });

  it('keeps an ACDD start whose end is garbage or earlier, and says so', () => {
    const garbage = findWithNotes(metadata({ 'NC_GLOBAL#time_coverage_start': '2020-03-01T00:00:00Z', 'NC_GLOBAL#time_coverage_end': '99999' }));
    expect(garbage.acquired).toMatchObject({ start: '2020-03-01T00:00:00.000Z', end: '2020-03-01T00:00:00.000Z' });
    expect(garbage.notes).toEqual(['datetime: NC_GLOBAL#time_coverage_end "99999" is not a date; not used']);
    const earlier = findWithNotes(metadata({ 'NC_GLOBAL#time_coverage_start': '2020-03-01', 'NC_GLOBAL#time_coverage_end': '2019-03-01' }));
    expect(earlier.notes).toEqual(['datetime: NC_GLOBAL#time_coverage_end "2019-03-01" is before time_coverage_start; not used']);
  });

  it('uses the numeric steps of a coordinate with some NaN ones, noting how many were left out', () => {
    const found = findWithNotes(netcdf('days since 2000-01-01', ['nan', '1', '2']));
    expect(found.acquired).toMatchObject({ start: '2000-01-02T00:00:00.000Z', end: '2000-01-03T00:00:00.000Z' });
    expect(found.notes).toEqual(['datetime: netCDF time: 1 of 3 values are not numbers; left out']);
  });

  it('accepts what is in range: the first and last instants, fractional epochs and steps, years before 100', () => {
    const cases: Array<[RasterTimeMetadata, string]> = [
      [netcdf('days since 9999-12-31 23:59:59.999', ['0']), '9999-12-31T23:59:59.999Z'],
      [netcdf('days since 0001-01-01', ['0']), '0001-01-01T00:00:00.000Z'],
      [netcdf('days since 2000-01-01 00:00:00.5', ['0.5']), '2000-01-01T12:00:00.500Z'],
      [netcdf('seconds since 1970-01-01 00:00:00.29', ['0']), '1970-01-01T00:00:00.290Z'],
      [netcdf('days since 1970-01-01', ['-1']), '1969-12-31T00:00:00.000Z'],
      [metadata({ TIFFTAG_DATETIME: '0079:08:24 13:00:00' }), '0079-08-24T13:00:00.000Z'],
      [metadata({ TIFFTAG_DATETIME: '2016-12-31 23:59:60' }), '2016-12-31T23:59:59.000Z'],
    ];
    for (const [input, start] of cases) {
      const found = findWithNotes(input);
      expect(found.acquired?.start).toBe(start);
      expect(found.notes).toEqual([]);
      expectWritable(found.acquired);
    }
  });
});

describe('isWritableTimestamp', () => {
  it('accepts ISO 8601 UTC timestamps of the years 0001–9999 only', () => {
    expect(isWritableTimestamp('2021-06-14T10:32:05.000Z')).toBe(true);
    expect(isWritableTimestamp('0001-01-01T00:00:00.000Z')).toBe(true);
    expect(isWritableTimestamp('9999-12-31T23:59:59.999Z')).toBe(true);
    expect(isWritableTimestamp('0000-12-31T23:59:59.999Z')).toBe(false);
    expect(isWritableTimestamp('+010000-01-01T00:00:00.000Z')).toBe(false);
    expect(isWritableTimestamp('-000001-01-01T00:00:00.000Z')).toBe(false);
    expect(isWritableTimestamp('2021-06-14 10:32:05')).toBe(false);
    expect(isWritableTimestamp(1e300)).toBe(false);
    expect(isWritableTimestamp(null)).toBe(false);
  });
});
