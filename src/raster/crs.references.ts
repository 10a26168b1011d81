/**
 * A CRS is input too. PROJ strings and WKT can name files (`+init=`, `+nadgrids=`, `+geoidgrids=`,
 * `+grids=`, `+file=`, WKT `PARAMETERFILE`, GDAL's `PROJ4_GRIDS`, ESRI's `Dataset_…`), and PROJ
 * opens an absolute or relative path as given, and a URL when its network is on. So a CRS may
 * name only what resolves inside PROJ's own data: authority codes (`+init=epsg:4326`) and plain
 * grid names found in the pinned data folder (`ntf_r93.gsb`, `@null`). Anything path-like or
 * URL-like is refused, with the parameter named; the value itself is never echoed (it may be a
 * local path). Pure apart from the data-folder lookup, which is injected.
 */
import { boundText } from '../pipeline/bounded.text.js';
import type { Failure } from '../pipeline/failure.js';
import type { CrsText } from './container.header.js';

/** Init files PROJ resolves from its database, not from a file. */
const databaseInitFiles = new Set(['epsg', 'esri', 'ignf', 'iau_2015', 'nkg', 'ogc', 'iau']);

/** Grid names PROJ handles itself. */
const builtInGrids = new Set(['null']);

/** PROJ parameters whose values are file names (comma-separated lists for the grid ones). */
const fileParameters = ['init', 'nadgrids', 'geoidgrids', 'grids', 'file', 'model', 'xy_grids', 'z_grids', 'grid', 'catalog', 'ntv2', 'ntv1', 'gtx', 'ctable', 'ctable2'];

const projParameterPattern = new RegExp(`(?:^|[\\s"'(,;\\[])\\+?(${fileParameters.join('|')})\\s*=\\s*"?([^\\s"'|\\]\\)]*)`, 'gi');
// WKT opens a node with `[` or `(` (both are in the standard, and PROJ reads both).
const parameterFilePattern = /PARAMETERFILE\s*[[(]\s*"(?:[^"]|"")*"\s*,\s*"((?:[^"]|"")*)"/gi;
const proj4GridsPattern = /EXTENSION\s*[[(]\s*"PROJ4_GRIDS"\s*,\s*"((?:[^"]|"")*)"/gi;
const esriDatasetPattern = /PARAMETER\s*[[(]\s*"Dataset_((?:[^"]|"")*)"/gi;

/** A plain file name: no folder, drive, scheme, home or parent reference. */
const plainName = /^[A-Za-z0-9_][A-Za-z0-9_.+-]{0,127}$/;

export interface CrsReference {
  /** The parameter as a person would search for it, e.g. `+nadgrids` or `PARAMETERFILE`. */
  parameter: string;
  /** Where the CRS text was found, e.g. `variable crs attribute spatial_ref`. */
  where: string;
  /** Why the value is refused (without the value). */
  why: 'a path or URL' | 'a grid that is not in PROJ\'s data' | 'an init file that is not in PROJ\'s data' | 'an empty name';
}

export interface CrsReferenceRules {
  /** Whether PROJ's pinned data folder holds a file of this plain name. */
  hasDataFile(name: string): boolean;
  /**
   * Refuse plain names PROJ's data lacks (default). Off for a CRS GDAL derived from authority
   * codes: PROJ's database named those grids, not the upload, and only paths and URLs matter.
   */
  requirePresent?: boolean;
}

function judgeGridName(raw: string, rules: CrsReferenceRules): CrsReference['why'] | null {
  const optional = raw.startsWith('@');
  const name = optional ? raw.slice(1) : raw;
  if (name === '') return optional ? null : 'an empty name';
  if (!plainName.test(name) || name.includes('..')) return 'a path or URL';
  if (rules.requirePresent === false || builtInGrids.has(name.toLowerCase()) || rules.hasDataFile(name)) return null;
  // PROJ skips an optional grid it cannot find; a required one would fail the transformation anyway.
  return optional ? null : "a grid that is not in PROJ's data";
}

function judgeInit(value: string, rules: CrsReferenceRules): CrsReference['why'] | null {
  const colon = value.indexOf(':');
  const file = colon >= 0 ? value.slice(0, colon) : value;
  if (!plainName.test(file) || file.includes('..')) return 'a path or URL';
  if (rules.requirePresent === false || databaseInitFiles.has(file.toLowerCase()) || rules.hasDataFile(file)) return null;
  return "an init file that is not in PROJ's data";
}

/** The first file or URL a CRS text names outside PROJ's data, or `null` when it names none. */
export function findCrsFileReference(texts: readonly CrsText[], rules: CrsReferenceRules): CrsReference | null {
  for (const { where, text } of texts) {
    for (const match of text.matchAll(projParameterPattern)) {
      const parameter = match[1]!.toLowerCase();
      const value = match[2] ?? '';
      const names = parameter === 'init' ? [value] : value.split(',');
      for (const name of names) {
        const why = parameter === 'init' ? judgeInit(name, rules) : judgeGridName(name.trim(), rules);
        if (why) return { parameter: `+${parameter}`, where, why };
      }
    }
    for (const [pattern, parameter] of [
      [parameterFilePattern, 'PARAMETERFILE'],
      [proj4GridsPattern, 'PROJ4_GRIDS'],
      [esriDatasetPattern, 'Dataset_'],
    ] as const) {
      for (const match of text.matchAll(pattern)) {
        for (const name of (match[1] ?? '').replaceAll('""', '"').split(',')) {
          const why = judgeGridName(name.trim(), rules);
          if (why) return { parameter, where, why };
        }
      }
    }
  }
  return null;
}

/** The failure for a refused reference: names the parameter and where it was, never the value. */
export function crsReferenceFailure(reference: CrsReference): Failure {
  return {
    code: 'INVALID_INPUT',
    message:
      `its coordinate reference system (${boundText(reference.where, 100)}) names ${reference.why} through ${reference.parameter}; ` +
      "a CRS may name only authority codes and grids from PROJ's own data — assign a plain CRS (for example `gdal_edit.py -a_srs EPSG:<code> file.tif`) and upload again",
  };
}
