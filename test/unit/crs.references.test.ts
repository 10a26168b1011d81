import { describe, expect, it } from 'vitest';
import { crsReferenceFailure, findCrsFileReference, type CrsReferenceRules } from '../../src/raster/crs.references.js';

/** PROJ's data as Debian ships it (a few grids), without touching the disk. */
const rules: CrsReferenceRules = { hasDataFile: (name) => ['ntf_r93.gsb', 'BETA2007.gsb', 'egm96_15.gtx', 'nad27', 'world'].includes(name) };
const at = (text: string) => [{ where: 'variable crs attribute proj4', text }];

describe('CRS file references (a CRS may name only what resolves inside PROJ\'s own data)', () => {
  it.each([
    ['a plain longlat', '+proj=longlat +datum=WGS84 +no_defs'],
    ['an init code in the database', '+init=epsg:4326'],
    ['an init code, upper case', '+init=EPSG:32633 +units=m'],
    ['an init file in the data folder', '+init=nad27:4267'],
    ['the null grid, optional', '+proj=longlat +ellps=GRS80 +nadgrids=@null +no_defs'],
    ['the null grid, required', '+nadgrids=null'],
    ['a datum grid in the data folder', '+proj=longlat +ellps=clrk80ign +nadgrids=ntf_r93.gsb +no_defs'],
    ['optional grids, some absent (NAD27)', '+proj=longlat +ellps=clrk66 +nadgrids=@conus,@alaska,@ntv2_0.gsb,@ntv1_can.dat'],
    ['a geoid grid in the data folder', '+proj=longlat +datum=WGS84 +geoidgrids=egm96_15.gtx'],
    ['a pipeline of grids in the data folder', '+proj=pipeline +step +proj=hgridshift +grids=BETA2007.gsb'],
    ['WKT2 with a grid file by name', 'BOUNDCRS[SOURCECRS[GEOGCRS["x"]],ABRIDGEDTRANSFORMATION["t",METHOD["NTv2"],PARAMETERFILE["Latitude and longitude difference file","ntf_r93.gsb"]]]'],
    ['WKT1 with a PROJ4 extension by name', 'GEOGCS["x",DATUM["d",SPHEROID["s",6378137,298.25]],EXTENSION["PROJ4","+proj=longlat +nadgrids=@null"]]'],
    ['GDAL citation text', 'GCS Name = unknown|Datum = Unknown based on GRS80 ellipsoid using nadgrids=@null|Primem = Greenwich||'],
    ['WKT2 with ID URIs', 'GEOGCRS["WGS 84",ID["EPSG",4326,URI["http://www.opengis.net/def/crs/EPSG/0/4326"]]]'],
  ])('accepts %s', (_name, text) => {
    expect(findCrsFileReference(at(text), rules)).toBeNull();
  });

  it.each([
    ['an absolute grid path', '+proj=longlat +datum=WGS84 +nadgrids=/etc/passwd', '+nadgrids', 'a path or URL'],
    ['an optional absolute grid path', '+proj=longlat +nadgrids=@/tmp/sentinel.gsb', '+nadgrids', 'a path or URL'],
    ['a path among optional grids', '+nadgrids=@conus,@/tmp/x.gsb', '+nadgrids', 'a path or URL'],
    ['a climbing grid path', '+nadgrids=../../../../etc/passwd', '+nadgrids', 'a path or URL'],
    ['a relative grid path', '+geoidgrids=./geoid.gtx', '+geoidgrids', 'a path or URL'],
    ['a home-relative grid', '+geoidgrids=~/geoid.gtx', '+geoidgrids', 'a path or URL'],
    ['a URL grid', '+nadgrids=http://127.0.0.1:9/x.gsb', '+nadgrids', 'a path or URL'],
    ['an https grid in a pipeline', '+proj=pipeline +step +proj=vgridshift +grids=https://cdn.example/x.tif', '+grids', 'a path or URL'],
    ['a /vsicurl/ grid', '+nadgrids=/vsicurl/http://169.254.169.254/latest', '+nadgrids', 'a path or URL'],
    ['a quoted path', '+nadgrids="/tmp/with space.gsb"', '+nadgrids', 'a path or URL'],
    ['spaces around =', '+nadgrids = /etc/passwd', '+nadgrids', 'a path or URL'],
    ['no plus sign', 'proj=longlat nadgrids=/etc/passwd', '+nadgrids', 'a path or URL'],
    ['upper case', '+NADGRIDS=/etc/passwd', '+nadgrids', 'a path or URL'],
    ['an init file by path', '+init=/etc/passwd:root', '+init', 'a path or URL'],
    ['an init file by relative path', '+init=../../proc/self/environ:x', '+init', 'a path or URL'],
    ['an unknown init file', '+init=sentinel:1', '+init', "an init file that is not in PROJ's data"],
    ['a tinshift file', '+proj=tinshift +file=/tmp/evil.json', '+file', 'a path or URL'],
    ['a tinshift URL', '+proj=tinshift +file=http://127.0.0.1:9/t.json', '+file', 'a path or URL'],
    ['a deformation model', '+proj=defmodel +model=/tmp/model.json', '+model', 'a path or URL'],
    ['deformation grids', '+proj=deformation +xy_grids=/tmp/a.tif +t_epoch=2000', '+xy_grids', 'a path or URL'],
    ['a missing required grid', '+nadgrids=sentinel.gsb', '+nadgrids', "a grid that is not in PROJ's data"],
    ['an empty grid name', '+nadgrids=', '+nadgrids', 'an empty name'],
    ['WKT1 PROJ4 extension with a path', 'GEOGCS["x",DATUM["d",SPHEROID["s",6378137,298.25]],EXTENSION["PROJ4","+proj=longlat +datum=WGS84 +nadgrids=/tmp/sentinel.gsb +no_defs"]]', '+nadgrids', 'a path or URL'],
    ['WKT2 PARAMETERFILE with a path', 'BOUNDCRS[ABRIDGEDTRANSFORMATION["t",METHOD["NTv2"],PARAMETERFILE["Latitude and longitude difference file","/tmp/sentinel.gsb"]]]', 'PARAMETERFILE', 'a path or URL'],
    ['WKT2 PARAMETERFILE with a URL', 'PARAMETERFILE["Geoid (height correction) model file","https://127.0.0.1:9/g.tif"]', 'PARAMETERFILE', 'a path or URL'],
    ['WKT2 PROJ-based method', 'CONVERSION["c",METHOD["PROJ-based operation method: +proj=pipeline +step +proj=hgridshift +grids=/tmp/x.gsb"]]', '+grids', 'a path or URL'],
    ['GDAL PROJ4_GRIDS extension', 'DATUM["d",SPHEROID["s",6378137,298.25],EXTENSION["PROJ4_GRIDS","@conus,/tmp/sentinel.gsb"]]', 'PROJ4_GRIDS', 'a path or URL'],
    ['ESRI NTv2 dataset', 'GEOGTRAN["t",GEOGCS["a"],GEOGCS["b"],METHOD["NTv2"],PARAMETER["Dataset_../../../../tmp/sentinel",0.0]]', 'Dataset_', 'a path or URL'],
    ['an ESRI PE citation', 'ESRI PE String = GEOGCS["x",DATUM["d",SPHEROID["s",6378137,298.25]],EXTENSION["PROJ4","+proj=longlat +nadgrids=@/tmp/s.gsb"]]|', '+nadgrids', 'a path or URL'],
  ])('refuses %s', (_name, text, parameter, why) => {
    expect(findCrsFileReference(at(text), rules)).toEqual({ parameter, where: 'variable crs attribute proj4', why });
  });

  it('lets GDAL-derived CRSs name grids PROJ lacks, but never paths', () => {
    const derived = { ...rules, requirePresent: false };
    expect(findCrsFileReference(at('+nadgrids=conus'), derived)).toBeNull();
    expect(findCrsFileReference(at('+nadgrids=/tmp/x'), derived)).toMatchObject({ why: 'a path or URL' });
  });

  it('names the parameter and where, never the value, and bounds where', () => {
    const failure = crsReferenceFailure({ parameter: '+nadgrids', where: `variable ${'v'.repeat(1000)} attribute crs_wkt`, why: 'a path or URL' });
    expect(failure.code).toBe('INVALID_INPUT');
    expect(failure.message).toMatch(/\+nadgrids/);
    expect(failure.message).not.toMatch(/\/etc|\/tmp/);
    expect(failure.message.length).toBeLessThan(400);
  });
});
