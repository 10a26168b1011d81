import { describe, expect, it } from 'vitest';
import { findCrsFileReference, type CrsReferenceRules } from '../../src/raster/crs.references.js';

/**
 * WKT may open its nodes with `(` as well as `[`, and PROJ reads both: a netCDF `crs_wkt` holding
 * `BOUNDCRS(...PARAMETERFILE("…","/path"))` made validation open the path (found by probing with
 * a FIFO). Every WKT form the bracket cases cover is refused with parentheses too.
 */
const rules: CrsReferenceRules = { hasDataFile: (name) => name === 'ntf_r93.gsb' };
const at = (text: string) => [{ where: 'variable crs attribute crs_wkt', text }];

describe('CRS file references in WKT written with parentheses', () => {
  it.each([
    ['a WKT2 PARAMETERFILE path', 'BOUNDCRS(SOURCECRS(GEOGCRS("NTF")),ABRIDGEDTRANSFORMATION("t",METHOD("NTv2",ID("EPSG",9615)),PARAMETERFILE("Latitude and longitude difference file","/tmp/fifo")))', 'PARAMETERFILE'],
    ['a WKT2 PARAMETERFILE with spaces before the parenthesis', 'PARAMETERFILE  ( "Geoid (height correction) model file" , "../../x.gtx" )', 'PARAMETERFILE'],
    ['a WKT1 PROJ4_GRIDS extension', 'GEOGCS("x",DATUM("d",SPHEROID("s",6378249.2,293.46)),EXTENSION("PROJ4_GRIDS","/tmp/fifo"))', 'PROJ4_GRIDS'],
    ['an ESRI GEOGTRAN dataset', 'GEOGTRAN("NTF_To_WGS_1984_NTv2",GEOGCS("GCS_NTF"),GEOGCS("GCS_WGS_1984"),METHOD("NTv2"),PARAMETER("Dataset_/tmp/fifo",0.0))', 'Dataset_'],
    ['a mix of both delimiters', 'BOUNDCRS[ABRIDGEDTRANSFORMATION("t",PARAMETERFILE["a","ntf_r93.gsb"],PARAMETERFILE("b","https://127.0.0.1:9/x.gsb"))]', 'PARAMETERFILE'],
  ])('refuses %s', (_name, text, parameter) => {
    expect(findCrsFileReference(at(text), rules)).toMatchObject({ parameter, why: 'a path or URL' });
  });

  it('accepts a grid from PROJ\'s data named in parentheses', () => {
    expect(findCrsFileReference(at('ABRIDGEDTRANSFORMATION("t",METHOD("NTv2"),PARAMETERFILE("Latitude and longitude difference file","ntf_r93.gsb"))'), rules)).toBeNull();
  });
});
