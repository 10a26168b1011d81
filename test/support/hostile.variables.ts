/**
 * Issue 20: netCDF as users hold it — several variables, time steps, CF packing — and what an
 * upload or a request can do with them. The `variable` option names what GDAL opens (inside a
 * dataset name of our own), so a path, a URL, a dataset name, a format string or huge text must be
 * refused at the door; a time coordinate with absurd units or values must leave its steps' times
 * out (noted) without failing; thousands of steps must hit the tiles-per-job cap, counted as
 * variables × steps × windows, before any tile is planned; packing attributes that are text, NaN or
 * infinite must not reach a COG or an item as numbers. Files are written byte by byte
 * (`hostile.netcdf.ts`).
 */
import type { CorpusContext } from './hostile.corpus.js';
import type { Expectation } from './hostile.cases.js';
import { writeNetcdfClassic, type NetcdfAttributeValue, type NetcdfVariable } from './hostile.netcdf.js';

interface GridSpec {
  steps: number;
  width?: number;
  height?: number;
  /** Variable names, each a `(time, lat, lon)` short grid. */
  variables?: string[];
  time?: { units: string; calendar?: string; value?: (step: number) => number };
  /** Attributes of every data variable (packing, fill values). */
  dataAttributes?: Record<string, NetcdfAttributeValue>;
  type?: NetcdfVariable['type'];
}

/** A netCDF classic file of `variables` on one lat/lon grid with a CF grid mapping and a time coordinate of `steps`. */
export function writeVariablesNetcdf(path: string, spec: GridSpec): string {
  const width = spec.width ?? 8;
  const height = spec.height ?? 8;
  const time = spec.time ?? { units: 'days since 2020-01-01' };
  return writeNetcdfClassic(path, {
    dimensions: [
      ['time', spec.steps],
      ['lat', height],
      ['lon', width],
    ],
    attributes: { Conventions: 'CF-1.8' },
    variables: [
      { name: 'crs', dimensions: [], type: 'int', attributes: { grid_mapping_name: 'latitude_longitude', semi_major_axis: 6378137, inverse_flattening: 298.257223563 }, value: () => 0 },
      { name: 'time', dimensions: ['time'], type: 'double', attributes: { standard_name: 'time', axis: 'T', units: time.units, calendar: time.calendar ?? 'standard' }, value: time.value ?? ((i) => i) },
      { name: 'lat', dimensions: ['lat'], type: 'double', attributes: { standard_name: 'latitude', units: 'degrees_north' }, value: (i) => 50 - (i + 0.5) * 0.01 },
      { name: 'lon', dimensions: ['lon'], type: 'double', attributes: { standard_name: 'longitude', units: 'degrees_east' }, value: (i) => 10 + (i + 0.5) * 0.01 },
      ...(spec.variables ?? ['tas']).map(
        (name): NetcdfVariable => ({ name, dimensions: ['time', 'lat', 'lon'], type: spec.type ?? 'short', attributes: { units: 'K', grid_mapping: 'crs', ...spec.dataAttributes }, value: (i) => (spec.type === 'byte' ? i % 100 : 100 + (i % 50)) }),
      ),
    ],
  });
}

export function writeVariableCases(context: CorpusContext): void {
  // --- The variable option: refused at the door, naming the field, never echoing the value. ----
  const refused: Expectation = { outcome: 'http-400', fields: ['options.variable'] };
  // The body is refused before the blob is looked at: any plain source will do.
  const source = `incoming/${context.folder}/variables/scene.nc`;
  const request = (id: string, attack: string, variable: unknown): void =>
    context.addCase({ kind: 'request', id, category: 'netCDF variables', endpoint: '/api/jobs', attack, body: JSON.stringify({ source, options: { variable } }), expect: refused });
  request('variable-path-traversal', 'a variable option that climbs out of the scratch folder (../../etc/passwd)', '../../etc/passwd');
  request('variable-absolute-path', 'a variable option that is an absolute path (/proc/self/environ)', '/proc/self/environ/..');
  request('variable-dataset-name', 'a variable option that closes our dataset name and opens another file (x":/etc/passwd)', 'x":/etc/passwd');
  request('variable-netcdf-prefix', 'a variable option that is a whole GDAL dataset name (NETCDF:"/etc/passwd":x)', 'NETCDF:"/etc/passwd":x');
  request('variable-url', `a variable option that is a URL (${context.canaryUrl('variable-url', 'x')})`, context.canaryUrl('variable-url', 'x'));
  request('variable-vsicurl', 'a variable option that is a /vsicurl/ path to the instance metadata endpoint', '/vsicurl/http://169.254.169.254/metadata');
  request('variable-format-string', 'a variable option of printf format directives (%s%n%x)', '%s%s%n%x');
  request('variable-huge', 'a variable option of 60,000 characters', 'v'.repeat(60_000));
  request('variable-control-characters', 'a variable option with a newline and a NUL', 'tas\n\u0000evil');
  request('variable-not-text', 'a variable option that is an object', { $ne: null });

  // --- Variables and steps a file declares: the cap counts variables × steps × windows. --------
  const capped: Expectation = { outcome: 'job-failed', reason: /tiles|limit|steps/i, codes: ['INPUT_LIMIT'], tilesTotal: 0, oneAttempt: true };
  const file = (id: string, attack: string, name: string, spec: GridSpec, expect: Expectation, options?: Record<string, unknown>): void =>
    context.fileCase({ id, category: 'netCDF variables', attack, files: [writeVariablesNetcdf(context.caseFile(id, name), spec)], expect, host: 'memory-capped', ...(options ? { options } : {}) });
  file('variables-steps-5000', 'one variable of 5,000 time steps of 8 × 8 (each step a tile): over the 2,500 tiles a job may plan, refused from the header before GDAL makes 5,000 bands', 'steps.nc', { steps: 5000 }, capped);
  file('variables-steps-two-times-1300', 'two variables of 1,300 time steps each: each under the cap alone, 2,600 tiles together', 'two.nc', { steps: 1300, variables: ['tas', 'pr'] }, capped);
  file(
    'variables-steps-times-windows',
    'one variable of 1,300 steps on a 600 × 2 grid at 512-pixel tiles: 1,300 steps pass the header, 2 windows a step make 2,600 tiles',
    'windows.nc',
    { steps: 1300, width: 600, height: 2, type: 'byte' },
    capped,
    { tileSize: 512 },
  );
  file('variables-unknown-variable', 'a variable option naming a variable the file does not hold', 'unknown.nc', { steps: 2, variables: ['tas', 'pr'] }, { outcome: 'job-failed', reason: /no variable .*huss.*its variables are .*tas.*pr/, codes: ['INVALID_INPUT'], tilesTotal: 0, oneAttempt: true }, { variable: 'huss' });

  // --- Time coordinates no calendar can place: every step's time left out, noted; ingested. ----
  const noted: Expectation = { outcome: 'job-completed-clean', notes: /time|date/i };
  const timed = (id: string, attack: string, time: NonNullable<GridSpec['time']>): void =>
    context.fileCase({ id, category: 'netCDF variables', attack, files: [writeVariablesNetcdf(context.caseFile(id, 'time.nc'), { steps: 3, variables: ['tas', 'pr'], time })], expect: noted });
  timed('variables-time-units-absurd', 'time units "fortnights since the dawn of time"', { units: 'fortnights since the dawn of time' });
  timed('variables-time-units-injection', 'time units holding a shell command and a URL', { units: `days since $(curl ${context.canaryUrl('variables-time-units-injection', 'x')})` });
  timed('variables-time-units-long', 'time units of 5,000 characters', { units: `days since 2020-01-01${' '.repeat(10)}${'9'.repeat(4990)}` });
  timed('variables-time-huge', 'time values of 1e300 days, one per step', { units: 'days since 1970-01-01', value: (i) => 1e300 * (i + 1) });
  timed('variables-time-nan', 'time values that are NaN', { units: 'days since 1970-01-01', value: () => Number.NaN });
  timed('variables-time-360-day', 'a 360_day model calendar: its days are not real instants (left out, noted)', { units: 'days since 2000-01-01', calendar: '360_day', value: (i) => i * 30 });
  timed('variables-time-noleap', 'a noleap calendar: left out, noted, as documented', { units: 'days since 2000-01-01', calendar: 'noleap', value: (i) => 59 + i });

  // --- Packing attributes that are not finite numbers: never a number in a COG or an item. ------
  const clean: Expectation = { outcome: 'job-completed-clean' };
  const packed = (id: string, attack: string, dataAttributes: Record<string, NetcdfAttributeValue>, type?: NetcdfVariable['type']): void =>
    context.fileCase({ id, category: 'netCDF variables', attack, files: [writeVariablesNetcdf(context.caseFile(id, 'packed.nc'), { steps: 2, variables: ['tas', 'pr'], dataAttributes, ...(type ? { type } : {}) })], expect: clean });
  packed('variables-scale-string', 'scale_factor and add_offset as text ("0.01; rm -rf /", "1e999")', { scale_factor: '0.01; rm -rf /', add_offset: '1e999' });
  packed('variables-scale-nan', 'scale_factor NaN and add_offset NaN', { scale_factor: Number.NaN, add_offset: Number.NaN });
  packed('variables-scale-infinite', 'scale_factor +Infinity and add_offset -Infinity', { scale_factor: Number.POSITIVE_INFINITY, add_offset: Number.NEGATIVE_INFINITY });
  context.fileCase({
    id: 'variables-fill-string',
    category: 'netCDF variables',
    attack: '_FillValue as text on a short variable (the netCDF library may refuse to read such a variable)',
    files: [writeVariablesNetcdf(context.caseFile('variables-fill-string', 'packed.nc'), { steps: 2, variables: ['tas', 'pr'], dataAttributes: { _FillValue: 'none at all' } })],
    expect: { outcome: 'job-completed-or-refused', reason: /netCDF|read|corrupt|variable/i, codes: ['INVALID_INPUT'] },
  });
  packed('variables-fill-nan-float', '_FillValue NaN on a float variable', { _FillValue: { type: 'float', values: [Number.NaN] } }, 'float');
  packed('variables-fill-infinite-float', '_FillValue +Infinity and missing_value -Infinity on a float variable', { _FillValue: { type: 'float', values: [Number.POSITIVE_INFINITY] }, missing_value: { type: 'float', values: [Number.NEGATIVE_INFINITY] } }, 'float');
}
