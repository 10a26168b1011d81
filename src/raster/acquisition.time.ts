/**
 * When a raster was acquired, from the metadata GDAL exposes for it. Pure: `raster.inspect.ts`
 * reads the metadata with GDAL, this decides. Times without a zone are taken as UTC.
 */

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

/** `YYYY-MM-DD[( |T)hh:mm[:ss[.fff]]][Z|±hh[:mm]| UTC]`, also `YYYY:MM:DD hh:mm:ss` (TIFF, EXIF). */
const dateTimePattern =
  /^(\d{4})[-:](\d{1,2})[-:](\d{1,2})(?:[ T](\d{1,2}):(\d{1,2})(?::(\d{1,2})(\.\d+)?)?)?\s*(Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?$/i;

/** Parses a calendar date-time to epoch milliseconds; `null` for anything that is not a real date. */
export function parseDateTime(text: string): number | null {
  const match = dateTimePattern.exec(text.trim());
  if (!match) return null;
  const [, y, mo, d, h = '0', mi = '0', s = '0', fraction = '', zone = ''] = match;
  const parts = [y, mo, d, h, mi, s].map(Number) as [number, number, number, number, number, number];
  const [year, month, day, hour, minute, second] = parts;
  if (year < 1 || month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 60) return null;
  const ms = Date.UTC(year, month - 1, day, hour, minute, Math.min(second, 59), fraction ? Math.round(Number(fraction) * 1000) : 0);
  const check = new Date(ms);
  // Date.UTC maps years 0-99 to 1900-1999, and rolls 31 April over to 1 May: reject both.
  if (check.getUTCFullYear() !== year || check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day) return null;
  return ms - zoneOffsetMinutes(zone) * 60_000;
}

function zoneOffsetMinutes(zone: string): number {
  const match = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone);
  if (!match) return 0; // '', Z, UTC, GMT
  const minutes = Number(match[2]) * 60 + Number(match[3] ?? '0');
  return match[1] === '-' ? -minutes : minutes;
}

/** NITF `IDATIM`: `CCYYMMDDhhmmss`, UTC. */
function parseNitfDateTime(text: string): number | null {
  const match = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(text.trim());
  return match ? parseDateTime(`${match[1]}-${match[2]}-${match[3]} ${match[4]}:${match[5]}:${match[6]}`) : null;
}

const unitMilliseconds: Readonly<Record<string, number>> = {
  second: 1000,
  seconds: 1000,
  sec: 1000,
  secs: 1000,
  s: 1000,
  minute: 60_000,
  minutes: 60_000,
  min: 60_000,
  mins: 60_000,
  hour: 3_600_000,
  hours: 3_600_000,
  hr: 3_600_000,
  hrs: 3_600_000,
  h: 3_600_000,
  day: 86_400_000,
  days: 86_400_000,
  d: 86_400_000,
};

/**
 * Calendars whose dates are real dates. CF's `standard`/`gregorian` is Julian before 1582; rasters
 * from then are not a concern, so it is treated as proleptic Gregorian. `360_day`, `noleap` and
 * the like are model calendars: their dates do not map to real instants, so they are not used.
 */
const realCalendars = new Set(['standard', 'gregorian', 'proleptic_gregorian']);

/**
 * The time coordinate of a netCDF raster (CF conventions as GDAL's netCDF driver exposes them):
 * an extra dimension named in `NETCDF_DIM_EXTRA` whose `standard_name` is `time` or `axis` is
 * `T`, with units `<unit> since <date>`; each band's value in `NETCDF_DIM_<name>`.
 */
function findNetcdfTime(metadata: RasterTimeMetadata): AcquisitionTime | null {
  const extra = metadata.dataset['NETCDF_DIM_EXTRA'];
  if (!extra) return null;
  const dimensions = extra.replace(/[{}]/g, '').split(',').map((name) => name.trim()).filter(Boolean);
  for (const name of dimensions) {
    const attribute = (key: string): string | undefined => metadata.dataset[`${name}#${key}`];
    const isTime = attribute('standard_name') === 'time' || attribute('axis')?.toUpperCase() === 'T' || name === 'time';
    if (!isTime) continue;
    const calendar = (attribute('calendar') ?? 'standard').toLowerCase();
    if (!realCalendars.has(calendar)) continue;
    const units = /^\s*(\w+)\s+since\s+(.+?)\s*$/i.exec(attribute('units') ?? '');
    const step = units ? unitMilliseconds[units[1]!.toLowerCase()] : undefined;
    const epoch = units ? parseDateTime(units[2]!) : null;
    if (step === undefined || epoch === null) continue;
    const values = metadata.bands.map((band) => Number(band[`NETCDF_DIM_${name}`] ?? Number.NaN)).filter(Number.isFinite);
    if (values.length === 0) continue;
    const times = values.map((value) => epoch + value * step);
    return range(Math.min(...times), Math.max(...times), `netCDF ${name} (${attribute('units')!.trim()})`);
  }
  return null;
}

/** ACDD global attributes `time_coverage_start` / `time_coverage_end`, common in netCDF products. */
function findCoverage(metadata: RasterTimeMetadata): AcquisitionTime | null {
  const start = parseDateTime(metadata.dataset['NC_GLOBAL#time_coverage_start'] ?? '');
  if (start === null) return null;
  const end = parseDateTime(metadata.dataset['NC_GLOBAL#time_coverage_end'] ?? '');
  return range(start, end !== null && end >= start ? end : start, 'NC_GLOBAL#time_coverage_start');
}

/** Driver metadata keys that name an acquisition time (case-insensitive), best first. */
const acquisitionKeys = ['ACQUISITION_DATETIME', 'ACQUISITIONDATETIME', 'ACQUISITION_DATE', 'DATE_ACQUIRED', 'SENSING_TIME'];

function findNamedKey(metadata: RasterTimeMetadata): AcquisitionTime | null {
  const byUpperKey = new Map(Object.entries(metadata.dataset).map(([key, value]) => [key.toUpperCase(), { key, value }]));
  for (const wanted of acquisitionKeys) {
    const found = byUpperKey.get(wanted);
    const ms = found ? parseDateTime(found.value) : null;
    if (found && ms !== null) return range(ms, ms, found.key);
  }
  const nitf = metadata.dataset['NITF_IDATIM'];
  const nitfMs = nitf ? parseNitfDateTime(nitf) : null;
  return nitfMs !== null ? range(nitfMs, nitfMs, 'NITF_IDATIM') : null;
}

function fromKey(values: Readonly<Record<string, string>>, key: string, source = key): AcquisitionTime | null {
  const text = values[key];
  const ms = text ? parseDateTime(text) : null;
  return ms !== null ? range(ms, ms, source) : null;
}

function range(startMs: number, endMs: number, source: string): AcquisitionTime {
  return { start: new Date(startMs).toISOString(), end: new Date(endMs).toISOString(), source };
}

/**
 * The raster's acquisition time, or `null` when its metadata holds none. Sources, best first:
 * GDAL's `IMAGERY` ACQUISITIONDATETIME; the netCDF time coordinate of its bands; ACDD
 * time_coverage_start/end; driver keys naming an acquisition (ACQUISITION_DATE, DATE_ACQUIRED,
 * NITF_IDATIM, ...); EXIF DateTimeOriginal; TIFFTAG_DATETIME last, as the TIFF spec defines it
 * as the image's creation time, which for most files is when it was produced.
 */
export function findAcquisitionTime(metadata: RasterTimeMetadata): AcquisitionTime | null {
  return (
    fromKey(metadata.imagery, 'ACQUISITIONDATETIME', 'IMAGERY:ACQUISITIONDATETIME') ??
    findNetcdfTime(metadata) ??
    findCoverage(metadata) ??
    findNamedKey(metadata) ??
    fromKey(metadata.dataset, 'EXIF_DateTimeOriginal') ??
    fromKey(metadata.dataset, 'TIFFTAG_DATETIME')
  );
}
