/**
 * The gridded variables of a netCDF source, read with GDAL. A file of several variables opens as a
 * container of subdatasets; each variable is then opened alone through a dataset name of our own
 * (`NETCDF:"<local path>":<variable>`, with the netCDF driver only), never through a name the
 * upload wrote. A variable's extra dimensions (time, level) are its bands, one per step.
 */
import type gdal from 'gdal-async';
import { isSafeVariableName } from '../pipeline/variable.name.js';

/** The GDAL dataset name of one variable of the netCDF file at `path`. */
export function variableDatasetName(path: string, variable: string): string {
  // Both parts are ours or checked: a quote in the path, or an unsafe name, would change what GDAL opens.
  if (path.includes('"')) throw new Error('a source path holds a quote');
  if (!isSafeVariableName(variable)) throw new Error('a variable name is not safe in a dataset name');
  return `NETCDF:"${path}":${variable}`;
}

/** CF attributes naming variables that describe others rather than hold data of their own. */
const describingAttributes = ['bounds', 'climatology', 'coordinates', 'grid_mapping'];

/**
 * Names of variables other variables name as their bounds, climatology bounds, auxiliary
 * coordinates or grid mapping (CF 5, 7.1, 7.4), from the `<variable>#<attribute>` metadata GDAL
 * reports for the file.
 */
function findDescribingVariables(metadata: Record<string, unknown>): Set<string> {
  const names = new Set<string>();
  for (const [key, value] of Object.entries(metadata)) {
    const attribute = key.slice(key.lastIndexOf('#') + 1);
    if (!describingAttributes.includes(attribute) || typeof value !== 'string') continue;
    // `grid_mapping` may be `crs: x y` (CF 5.6's extended form): every word but the coordinates is a name anyway.
    for (const word of value.split(/[\s:]+/)) if (word) names.add(word);
  }
  return names;
}

export interface VariableCandidates {
  /** Variables of two or more dimensions that describe no other, in the file's order. */
  names: string[];
  /** Of those, names the app will not put in a dataset name (`variable.name.ts`). */
  unsafe: string[];
}

/**
 * The variables a netCDF container offers as subdatasets, without those that only describe others
 * (bounds, auxiliary coordinates, grid mappings). Whether each is a grid is decided when it is
 * opened (it must have a geotransform).
 */
export function listVariableCandidates(container: gdal.Dataset, path: string): VariableCandidates {
  const subdatasets = (container.getMetadata('SUBDATASETS') ?? {}) as Record<string, unknown>;
  const prefix = `NETCDF:"${path}":`;
  const describing = findDescribingVariables((container.getMetadata() ?? {}) as Record<string, unknown>);
  const names: string[] = [];
  for (const [key, value] of Object.entries(subdatasets)) {
    if (!key.endsWith('_NAME') || typeof value !== 'string' || !value.startsWith(prefix)) continue;
    const name = value.slice(prefix.length);
    if (!describing.has(name) && !describing.has(name.replace(/^\//, ''))) names.push(name);
  }
  return { names, unsafe: names.filter((name) => !isSafeVariableName(name)) };
}

/** The variable a dataset of one netCDF variable holds (GDAL's `NETCDF_VARNAME`), or `null`. */
export function readVariableName(dataset: gdal.Dataset): string | null {
  if (dataset.bands.count() === 0) return null;
  const name = (dataset.bands.get(1).getMetadata() as Record<string, unknown>)['NETCDF_VARNAME'];
  return typeof name === 'string' && name.length > 0 ? name : null;
}

/**
 * How the bands of one variable's dataset are its steps: `t` when its one extra dimension is
 * time (CF: `axis` T or `standard_name` time, or the dimension's units are `<unit> since <date>`),
 * `b` for other or several extra dimensions, `null` when it has none (one band, cut whole).
 */
export function readStepLabel(dataset: gdal.Dataset): 't' | 'b' | null {
  const metadata = (dataset.getMetadata() ?? {}) as Record<string, unknown>;
  const extra = typeof metadata['NETCDF_DIM_EXTRA'] === 'string' ? metadata['NETCDF_DIM_EXTRA'].replace(/^\{|\}$/g, '').split(',').filter(Boolean) : [];
  if (extra.length === 0) return dataset.bands.count() > 1 ? 'b' : null;
  if (extra.length > 1) return 'b';
  const dimension = extra[0]!;
  const text = (attribute: string): string => String(metadata[`${dimension}#${attribute}`] ?? '').trim().toLowerCase();
  const isTime = text('axis') === 't' || text('standard_name') === 'time' || /^\s*\w+\s+since\s/.test(text('units'));
  return isTime ? 't' : 'b';
}
