/**
 * A CRS for sources that declare none but whose grid says what it is. CF (section 4.1, 4.2): a
 * coordinate variable in degrees_east / degrees_north is longitude / latitude, so a netCDF grid on
 * such coordinates without a grid_mapping is on WGS 84 longitude and latitude; xarray and
 * rioxarray users assign EPSG:4326 to it every day. GDAL 3.6 gives such a grid a geotransform but
 * no CRS. Decided from the file's own header (`container.header.ts`), the same way in validation
 * and in every tile; setting INGEST_ASSUME_CF_LONLAT=false turns it off. Items say it was assumed.
 */
import type gdal from 'gdal-async';
import { openByteSource } from './byte.source.js';
import { readContainerHeader } from './container.header.js';
import { readVariableName } from './source.variables.js';
import { formatSniffBytes, identifySourceFormat } from './source.format.js';

export const cfLonLatCrs = 'EPSG:4326';

/** The note every item of such a source carries. */
export const cfLonLatNote = 'CRS EPSG:4326 assumed: the grid lies on CF longitude and latitude coordinates (degrees east and north) and names no grid_mapping';

/**
 * EPSG:4326 for a netCDF grid on CF longitude/latitude coordinates that declares no CRS; otherwise
 * `null`. `dataset` is one variable's raster (the file itself when it holds one, or the variable
 * opened alone); which variable it is comes from GDAL's `NETCDF_VARNAME`. Validation decides this
 * once and tiles are told (`CreateTileCogInput.assumedCrs`); only tiles of older jobs decide again.
 */
export async function findAssumedCrs(path: string, dataset: gdal.Dataset, policy: { assumeCfLonLat: boolean; size: number }): Promise<string | null> {
  if (!policy.assumeCfLonLat || dataset.srs || dataset.driver.description !== 'netCDF') return null;
  const bytes = await openByteSource(path, policy.size);
  try {
    // netCDF classic or netCDF-4 (HDF5): the same CF reading of either header.
    const format = identifySourceFormat(await bytes.read(0, Math.min(formatSniffBytes, bytes.size)), bytes.size);
    if (!format.ok || (format.driver !== 'netCDF' && format.driver !== 'HDF5')) return null;
    const header = await readContainerHeader(bytes, format.driver);
    if (!header.ok) return null;
    const { rasters } = header.header;
    const variable = readVariableName(dataset);
    const raster = variable === null ? (rasters.length === 1 ? rasters[0] : undefined) : rasters.find((candidate) => candidate.name === `variable ${variable}`);
    return raster?.cfLonLat ? cfLonLatCrs : null;
  } finally {
    await bytes.close();
  }
}
