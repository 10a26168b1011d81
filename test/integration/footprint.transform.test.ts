import { describe, expect, it } from 'vitest';
import gdal from 'gdal-async';
import { computeWgs84Footprint } from '../../src/raster/footprint.transform.js';
import type { GeoTransform } from '../../src/raster/geo.transform.js';

/** Transformations are cached by CRS: each CRS must still get its own, whatever came before. */
describe('computeWgs84Footprint with cached transformations', () => {
  const utm = (zone: number): gdal.SpatialReference => gdal.SpatialReference.fromEPSG(32600 + zone);
  // 10 km square with its corner at easting 500 000 (the zone's central meridian), northing 5 000 000.
  const utmGrid: GeoTransform = [500_000, 100, 0, 5_000_000, 0, -100];

  it('gives a lat-first CRS (EPSG:4326) a lon-first footprint, before and after other CRSs', () => {
    const geographic = gdal.SpatialReference.fromEPSG(4326);
    const grid: GeoTransform = [10, 0.5, 0, 50, 0, -0.5];
    const first = computeWgs84Footprint(geographic, grid, 8, 8);
    expect(first.bbox).toEqual([10, 46, 14, 50]);
    computeWgs84Footprint(utm(31), utmGrid, 100, 100);
    expect(computeWgs84Footprint(gdal.SpatialReference.fromEPSG(4326), grid, 8, 8)).toEqual(first);
  });

  it('places the same grid in two UTM zones six degrees apart, alternating', () => {
    const zone31 = computeWgs84Footprint(utm(31), utmGrid, 100, 100);
    const zone32 = computeWgs84Footprint(utm(32), utmGrid, 100, 100);
    // Zone 31's central meridian is 3° E, zone 32's 9° E.
    expect(zone31.bbox[0]).toBeCloseTo(3, 5);
    expect(zone32.bbox[0]).toBeCloseTo(9, 5);
    expect(computeWgs84Footprint(utm(31), utmGrid, 100, 100)).toEqual(zone31);
  });

  it('tells apart CRSs that differ only in a datum shift', () => {
    const plain = gdal.SpatialReference.fromProj4('+proj=longlat +ellps=intl +no_defs');
    const shifted = gdal.SpatialReference.fromProj4('+proj=longlat +ellps=intl +towgs84=-87,-98,-121,0,0,0,0 +no_defs');
    const grid: GeoTransform = [10, 0.5, 0, 50, 0, -0.5];
    const withoutShift = computeWgs84Footprint(plain, grid, 8, 8);
    const withShift = computeWgs84Footprint(shifted, grid, 8, 8);
    expect(withShift.bbox[0]).not.toBeCloseTo(withoutShift.bbox[0], 5);
    expect(computeWgs84Footprint(plain, grid, 8, 8)).toEqual(withoutShift);
  });
});
