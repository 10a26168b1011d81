/**
 * When a raster was acquired, from the metadata GDAL exposes for it. Pure: `raster.inspect.ts`
 * reads the metadata with GDAL, this decides. Times without a zone are taken as UTC.
 *
 * Every value comes from an upload, so nothing here may throw on one: a value that is not a
 * date, whose date lies outside the years 0001–9999 (what RFC 3339, and so STAC, can write), or
 * that is too long to be a date is not used, and a note says so.
 */
import { boundText } from '../pipeline/bounded.text.js';
import { quoteValue } from './metadata.bounds.js';

/** The metadata this module looks at, as GDAL reports it. */
export interface RasterTimeMetadata {
  /** Default-domain dataset metadata (TIFF tags, netCDF attributes, EXIF, driver keys). */
  dataset: Readonly<Record<string, string>>;
  /** GDAL's normalised `IMAGERY` domain, filled by its imagery metadata readers. */
  imagery: Readonly<Record<string, string>>;
  /** Default-domain metadata of each band (netCDF puts each band's time coordinate here). */
  bands: ReadonlyArray<Readonly<Record<string, string>>>;
}

/** An instant (`start === end`) or a range, as ISO 8601 UTC strings, and the metadata key it came from. */
export interface AcquisitionTime {
  start: string;
  end: string;
  source: string;
}

/** The acquisition time found (or `null`), and a note for each time value that was there but could not be used. */
export interface AcquisitionTimeFinding {
  acquired: AcquisitionTime | null;
  /** Short sentences, in the order the sources were tried, e.g. `datetime: TIFFTAG_DATETIME "…" is not a date; not used`. */
  notes: string[];
}

/** 0001-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z: the instants an RFC 3339 timestamp can hold. */
export const earliestInstantMs = -62_135_596_800_000;
export const latestInstantMs = 253_402_300_799_999;

/** Whether `ms` is an instant STAC can write (RFC 3339 has four-digit years, 0001–9999). */
export function isWritableInstant(ms: number): boolean {
  return Number.isFinite(ms) && ms >= earliestInstantMs && ms <= latestInstantMs;
}

/** Whether `text` is an ISO 8601 UTC timestamp as this module writes them, within the years 0001–9999. */
export function isWritableTimestamp(text: unknown): text is string {
  return typeof text === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/.test(text) && isWritableInstant(Date.parse(text));
}

/** A date-time text longer than this is no date (the longest form above is about 35 characters); it is never matched. */
const maxDateTimeLength = 64;
/** CF units longer than this are no `<unit> since <date>`; they are never matched. */
const maxUnitsLength = 128;

/** `YYYY-MM-DD[( |T)hh:mm[:ss[.fff]]][Z|±hh[:mm]| UTC]`, also `YYYY:MM:DD hh:mm:ss` (TIFF, EXIF). */
const dateTimePattern =
  /^(\d{4})[-:](\d{1,2})[-:](\d{1,2})(?:[ T](\d{1,2}):(\d{1,2})(?::(\d{1,2})(\.\d+)?)?)?\s*(Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?$/i;

/**
 * Parses a calendar date-time to epoch milliseconds; `null` for anything that is not a real date.
 * A zone offset may move a date just past the years 0001–9999; `isWritableInstant` tells.
 */
export function parseDateTime(text: string): number | null {
  if (text.length > maxDateTimeLength) return null;
  const match = dateTimePattern.exec(text.trim());
  if (!match) return null;
  const [, y, mo, d, h = '0', mi = '0', s = '0', fraction = '', zone = ''] = match;
  const parts = [y, mo, d, h, mi, s].map(Number) as [number, number, number, number, number, number];
  const [year, month, day, hour, minute, second] = parts;
  if (year < 1 || month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 60) return null;
  // Date.UTC maps years 0-99 to 1900-1999: the year is set on its own. A leap second becomes :59,
  // and sub-milliseconds are cut, so the time of day never rolls over into the next day.
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, Math.min(second, 59), Number(fraction.slice(1, 4).padEnd(3, '0')));
  // 31 April rolls over to 1 May: reject it.
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return null;
  return date.getTime() - zoneOffsetMinutes(zone) * 60_000;
}

function zoneOffsetMinutes(zone: string): number {
  const match = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone);
  if (!match) return 0; // '', Z, UTC, GMT
  const minutes = Number(match[2]) * 60 + Number(match[3] ?? '0');
  return match[1] === '-' ? -minutes : minutes;
}

/** A date-time value read, or why it cannot be used (for a note). */
type Reading = { ok: true; ms: number } | { ok: false; why: string };

function readDateTime(text: string, parse: (text: string) => number | null = parseDateTime): Reading {
  if (text.length > maxDateTimeLength) return { ok: false, why: `is ${text.length} characters long, not a date` };
  const ms = parse(text);
  if (ms === null) return { ok: false, why: 'is not a date' };
  if (!isWritableInstant(ms)) return { ok: false, why: 'is outside the years 0001–9999' };
  return { ok: true, ms };
}

function noteUnused(notes: string[], source: string, text: string, why: string): void {
  notes.push(`datetime: ${source} ${quoteValue(text)} ${why}; not used`);
}

/** NITF `IDATIM`: `CCYYMMDDhhmmss`, UTC. */
function parseNitfDateTime(text: string): number | null {
  const match = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(text.trim());
  return match ? parseDateTime(`${match[1]}-${match[2]}-${match[3]} ${match[4]}:${match[5]}:${match[6]}`) : null;
}

/** Milliseconds per CF time unit. A Map: a unit named `constructor` or `__proto__` must find nothing. */
const unitMilliseconds: ReadonlyMap<string, number> = new Map([
  ...['second', 'seconds', 'sec', 'secs', 's'].map((unit): [string, number] => [unit, 1000]),
  ...['minute', 'minutes', 'min', 'mins'].map((unit): [string, number] => [unit, 60_000]),
  ...['hour', 'hours', 'hr', 'hrs', 'h'].map((unit): [string, number] => [unit, 3_600_000]),
  ...['day', 'days', 'd'].map((unit): [string, number] => [unit, 86_400_000]),
]);

/**
 * Calendars whose dates are real dates. CF's `standard`/`gregorian` is Julian before 1582; rasters
 * from then are not a concern, so it is treated as proleptic Gregorian. `360_day`, `noleap` and
 * the like are model calendars: their dates do not map to real instants, so they are not used.
 */
const realCalendars = new Set(['standard', 'gregorian', 'proleptic_gregorian']);

/** Smallest and largest of many numbers, without spreading them into arguments (a netCDF may have 100,000 time steps). */
function extremes(values: readonly number[]): [number, number] {
  let low = Infinity;
  let high = -Infinity;
  for (const value of values) {
    if (value < low) low = value;
    if (value > high) high = value;
  }
  return [low, high];
}

/**
 * The time coordinate of a netCDF raster (CF conventions as GDAL's netCDF driver exposes them):
 * an extra dimension named in `NETCDF_DIM_EXTRA` whose `standard_name` is `time` or `axis` is
 * `T`, with units `<unit> since <date>`; each band's value in `NETCDF_DIM_<name>`. Values that
 * are not numbers are skipped (noted); a value whose instant lies outside the years 0001–9999
 * makes the whole coordinate unusable (noted), as its other values are then suspect too.
 */
function findNetcdfTime(metadata: RasterTimeMetadata, notes: string[]): AcquisitionTime | null {
  const extra = metadata.dataset['NETCDF_DIM_EXTRA'];
  if (!extra) return null;
  const dimensions = extra.replace(/[{}]/g, '').split(',').map((name) => name.trim()).filter(Boolean);
  for (const name of dimensions) {
    const attribute = (key: string): string | undefined => metadata.dataset[`${name}#${key}`];
    const isTime = attribute('standard_name') === 'time' || attribute('axis')?.toUpperCase() === 'T' || name === 'time';
    if (!isTime) continue;
    const label = `netCDF ${boundText(name, 40)}`;
    const calendar = (attribute('calendar') ?? 'standard').toLowerCase();
    if (!realCalendars.has(calendar)) {
      notes.push(`datetime: ${label} uses the calendar ${quoteValue(calendar)}, whose dates are not real instants; not used`);
      continue;
    }
    const unitsText = (attribute('units') ?? '').trim();
    const units = unitsText.length <= maxUnitsLength ? /^(\w+)\s+since\s+(.+)$/i.exec(unitsText) : null;
    if (!units) {
      notes.push(`datetime: ${label} units ${quoteValue(unitsText)} are not "<seconds|minutes|hours|days> since <date>"; not used`);
      continue;
    }
    const step = unitMilliseconds.get(units[1]!.toLowerCase());
    if (step === undefined) {
      notes.push(`datetime: ${label} units ${quoteValue(unitsText)} count ${quoteValue(units[1]!)}, not seconds, minutes, hours or days; not used`);
      continue;
    }
    const epoch = readDateTime(units[2]!);
    if (!epoch.ok) {
      notes.push(`datetime: ${label} units ${quoteValue(unitsText)}: the epoch ${epoch.why}; not used`);
      continue;
    }
    const texts = metadata.bands.map((band) => band[`NETCDF_DIM_${name}`]).filter((text): text is string => text !== undefined);
    const values = texts.map(Number).filter(Number.isFinite);
    if (values.length === 0) {
      notes.push(`datetime: ${label} has no numeric value${texts.length > 0 ? ` (${quoteValue(texts[0]!)})` : ''}; not used`);
      continue;
    }
    if (values.length < texts.length) notes.push(`datetime: ${label}: ${texts.length - values.length} of ${texts.length} values are not numbers; left out`);
    const [low, high] = extremes(values);
    const outside = [low, high].find((value) => !isWritableInstant(epoch.ms + value * step));
    if (outside !== undefined) {
      notes.push(`datetime: ${label} value ${outside} (${boundText(unitsText, 60)}) is outside the years 0001–9999; not used`);
      continue;
    }
    return range(epoch.ms + low * step, epoch.ms + high * step, `${label} (${unitsText})`);
  }
  return null;
}

/** ACDD global attributes `time_coverage_start` / `time_coverage_end`, common in netCDF products. */
function findCoverage(metadata: RasterTimeMetadata, notes: string[]): AcquisitionTime | null {
  const startKey = 'NC_GLOBAL#time_coverage_start';
  const endKey = 'NC_GLOBAL#time_coverage_end';
  const startText = metadata.dataset[startKey];
  if (!startText?.trim()) return null;
  const start = readDateTime(startText);
  if (!start.ok) {
    noteUnused(notes, startKey, startText, start.why);
    return null;
  }
  let endMs = start.ms;
  const endText = metadata.dataset[endKey];
  if (endText?.trim()) {
    const end = readDateTime(endText);
    if (!end.ok) noteUnused(notes, endKey, endText, end.why);
    else if (end.ms < start.ms) noteUnused(notes, endKey, endText, 'is before time_coverage_start');
    else endMs = end.ms;
  }
  return range(start.ms, endMs, startKey);
}

/** Driver metadata keys that name an acquisition time (case-insensitive), best first. */
const acquisitionKeys = ['ACQUISITION_DATETIME', 'ACQUISITIONDATETIME', 'ACQUISITION_DATE', 'DATE_ACQUIRED', 'SENSING_TIME'];

function findNamedKey(metadata: RasterTimeMetadata, notes: string[]): AcquisitionTime | null {
  const byUpperKey = new Map(Object.entries(metadata.dataset).map(([key, value]) => [key.toUpperCase(), { key, value }]));
  for (const wanted of acquisitionKeys) {
    const found = byUpperKey.get(wanted);
    const time = found ? fromText(found.value, found.key, notes) : null;
    if (time) return time;
  }
  const nitf = metadata.dataset['NITF_IDATIM'];
  return nitf ? fromText(nitf, 'NITF_IDATIM', notes, parseNitfDateTime) : null;
}

/** The instant `text` names, or `null` (noted unless the text is empty). */
function fromText(text: string, source: string, notes: string[], parse?: (text: string) => number | null): AcquisitionTime | null {
  if (!text.trim()) return null;
  const reading = readDateTime(text, parse);
  if (reading.ok) return range(reading.ms, reading.ms, source);
  noteUnused(notes, source, text, reading.why);
  return null;
}

function fromKey(values: Readonly<Record<string, string>>, key: string, notes: string[], source = key): AcquisitionTime | null {
  const text = Object.hasOwn(values, key) ? values[key] : undefined;
  return typeof text === 'string' ? fromText(text, source, notes) : null;
}

/** Both ends are writable instants (checked by every caller), so `toISOString` cannot throw. */
function range(startMs: number, endMs: number, source: string): AcquisitionTime {
  return { start: new Date(startMs).toISOString(), end: new Date(endMs).toISOString(), source };
}

/**
 * The raster's acquisition time, or `null` when its metadata holds none, with a note for each
 * time value tried but not used. Sources, best first: GDAL's `IMAGERY` ACQUISITIONDATETIME; the
 * netCDF time coordinate of its bands; ACDD time_coverage_start/end; driver keys naming an
 * acquisition (ACQUISITION_DATE, DATE_ACQUIRED, NITF_IDATIM, ...); EXIF DateTimeOriginal;
 * TIFFTAG_DATETIME last, as the TIFF spec defines it as the image's creation time, which for most
 * files is when it was produced. Sources after the one used are not looked at.
 */
export function findAcquisitionTime(metadata: RasterTimeMetadata): AcquisitionTimeFinding {
  const notes: string[] = [];
  const finders = [
    () => fromKey(metadata.imagery, 'ACQUISITIONDATETIME', notes, 'IMAGERY:ACQUISITIONDATETIME'),
    () => findNetcdfTime(metadata, notes),
    () => findCoverage(metadata, notes),
    () => findNamedKey(metadata, notes),
    () => fromKey(metadata.dataset, 'EXIF_DateTimeOriginal', notes),
    () => fromKey(metadata.dataset, 'TIFFTAG_DATETIME', notes),
  ];
  for (const find of finders) {
    const acquired = find();
    if (acquired) return { acquired, notes };
  }
  return { acquired: null, notes };
}
