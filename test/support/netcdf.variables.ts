/**
 * netCDF files of several variables with a time dimension, made at test time from a real raster
 * with GDAL's own multidimensional netCDF driver (`gdalmdimtranslate` over a multidimensional VRT),
 * never committed. From a six-band source: `visible` (bands 1–3 as three time steps, packed with
 * scale_factor 0.004, add_offset 0.1 and _FillValue 0) and `infrared` (bands 4–6, _FillValue -1),
 * both short integers with the source's CRS as a CF grid_mapping, and a CF time coordinate
 * (days since 2002-01-01, standard calendar).
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import gdal from 'gdal-async';

export interface TimeAxis {
  /** CF `units` of the time coordinate, e.g. `days since 2002-01-01`. */
  units: string;
  calendar: string;
  /** One value per step (the source's bands are spread over them, modulo its band count). */
  values: number[];
}

export const sampleTimeAxis: TimeAxis = { units: 'days since 2002-01-01', calendar: 'standard', values: [0, 31, 59] };

/** The variables the file holds: name → source bands (one per time step), packing, fill value. */
export const sampleVariables = {
  visible: { bands: [1, 2, 3], scale: 0.004, offset: 0.1, fill: 0 },
  infrared: { bands: [4, 5, 6], scale: null, offset: null, fill: -1 },
} as const;

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function attribute(name: string, value: string): string {
  return `<Attribute name="${name}"><DataType>String</DataType><Value>${escapeXml(value)}</Value></Attribute>`;
}

/**
 * Writes the netCDF classic file at `outPath` from the raster at `sourcePath` (at least six bands,
 * a north-up grid with an EPSG CRS). `time` replaces the time axis (hostile variants: absurd units,
 * huge values); its steps take each variable's bands in turn. Each variable is first written alone
 * by GDAL's classic netCDF driver (a 3-D short array), then all are joined by its multidimensional
 * one, with their CF attributes set there.
 */
export function writeMultiVariableNetcdf(sourcePath: string, outPath: string, time: TimeAxis = sampleTimeAxis): string {
  const source = gdal.open(sourcePath);
  const [ox, px, , oy, , py] = source.geoTransform!;
  const { x: width, y: height } = source.rasterSize;
  const epsg = source.srs!.getAuthorityCode(null);
  const steps = time.values.length;
  const variables = Object.entries(sampleVariables).map(([name, spec]) => {
    const bands = Array.from({ length: steps }, (_, t) => ((spec.bands[t % spec.bands.length]! - 1) % source.bands.count()) + 1);
    const stack = gdal.translate('', source, ['-of', 'MEM', '-ot', 'Int16', ...bands.flatMap((band) => ['-b', String(band)])]);
    // Three dimensions (time, y, x), rows stored north first as the joined file will say.
    stack.setMetadata({ NETCDF_DIM_EXTRA: '{time}', NETCDF_DIM_time_DEF: `{${steps},6}`, NETCDF_DIM_time_VALUES: `{${Array.from({ length: steps }, (_, t) => t).join(',')}}` });
    for (let t = 1; t <= steps; t++) stack.bands.get(t).setMetadata({ NETCDF_VARNAME: name, NETCDF_DIM_time: String(t - 1) });
    const alone = `${outPath}.${name}.nc`;
    gdal.translate(alone, stack, ['-of', 'netCDF', '-co', 'FORMAT=NC', '-co', 'WRITE_BOTTOMUP=NO']).close();
    stack.close();
    const packing = spec.scale === null ? '' : `<Offset>${spec.offset}</Offset><Scale>${spec.scale}</Scale>`;
    return `<Array name="${name}"><DataType>Int16</DataType><DimensionRef ref="time"/><DimensionRef ref="y"/><DimensionRef ref="x"/>
      <SRS>EPSG:${epsg}</SRS><NoDataValue>${spec.fill}</NoDataValue>${packing}
      <Source><SourceFilename>${alone}</SourceFilename><SourceArray>${name}</SourceArray></Source></Array>`;
  });
  source.close();
  const vrt = `<VRTDataset><Group name="/">
  <Dimension name="time" type="TEMPORAL" size="${steps}" indexingVariable="time"/>
  <Dimension name="y" type="HORIZONTAL_Y" size="${height}" indexingVariable="y"/>
  <Dimension name="x" type="HORIZONTAL_X" size="${width}" indexingVariable="x"/>
  <Array name="time"><DataType>Float64</DataType><DimensionRef ref="time"/>
    <InlineValuesWithValueElement>${time.values.map((value) => `<Value>${value}</Value>`).join('')}</InlineValuesWithValueElement>
    ${attribute('units', time.units)}${attribute('calendar', time.calendar)}${attribute('standard_name', 'time')}${attribute('axis', 'T')}</Array>
  <Array name="y"><DataType>Float64</DataType><DimensionRef ref="y"/><RegularlySpacedValues start="${oy + py / 2}" increment="${py}"/>
    ${attribute('standard_name', 'projection_y_coordinate')}${attribute('units', 'm')}</Array>
  <Array name="x"><DataType>Float64</DataType><DimensionRef ref="x"/><RegularlySpacedValues start="${ox + px / 2}" increment="${px}"/>
    ${attribute('standard_name', 'projection_x_coordinate')}${attribute('units', 'm')}</Array>
  ${variables.join('\n  ')}
</Group></VRTDataset>`;
  writeFileSync(`${outPath}.vrt`, vrt);
  execFileSync('gdalmdimtranslate', ['-of', 'netCDF', '-co', 'FORMAT=NC', `${outPath}.vrt`, outPath], { stdio: 'pipe', timeout: 60_000 });
  return outPath;
}
