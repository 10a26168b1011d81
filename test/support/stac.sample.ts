/** A tile and its URLs as the activities produce them, shared by the STAC builder and STAC API tests. */
import type { TileCog } from '../../src/pipeline/contracts.js';

export const base = 'http://127.0.0.1:10000/devstoreaccount1';

export function sampleTile(overrides: Partial<TileCog> = {}): TileCog {
  return {
    itemId: 'dem-r0-c1',
    window: { index: 1, row: 0, col: 1, x: 512, y: 0, width: 512, height: 300 },
    blob: { container: 'cogs', name: 'dems/dem/dem-r0-c1.tif', url: `${base}/cogs/dems/dem/dem-r0-c1.tif` },
    size: 123456,
    checksum: `1220${'ab'.repeat(32)}`,
    width: 512,
    height: 300,
    geoTransform: [505120, 10, 0, 6000000, 0, -10],
    crs: { code: 'EPSG:32633', wkt2: 'PROJCRS["WGS 84 / UTM zone 33N"]', projjson: { type: 'ProjectedCRS' } },
    bands: [
      {
        gdalDataType: 'Float32',
        nodata: 'nan',
        colorInterpretation: 'Gray',
        hasColorTable: false,
        description: '',
        unit: 'metre',
        statistics: { minimum: 1, maximum: 9, mean: 5, stddev: 2, valid_percent: 97.5, approximate: false },
      },
    ],
    geometry: { type: 'Polygon', coordinates: [[[15, 54], [15, 53.9], [15.1, 53.9], [15.1, 54], [15, 54]]] },
    bbox: [15, 53.9, 15.1, 54],
    nativeBbox: [505120, 5997000, 510240, 6000000],
    ...overrides,
  };
}

export const itemUrls = {
  item: `${base}/stac/dems/dem-r0-c1/dem-r0-c1.json`,
  collection: `${base}/stac/dems/collection.json`,
  catalog: `${base}/stac/catalog.json`,
};

/** The source blob `sampleTile` was cut from. */
export const sampleSource = { container: 'uploads', name: 'dem.tif', etag: '"0x8DD0000000000001"', lastModified: '2026-11-25T16:00:00.000Z' };
