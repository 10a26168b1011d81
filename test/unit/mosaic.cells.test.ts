/** The collection mosaic's cells (issue 22): which cells a tile touches, how a cell changes, what its VRTs say. */
import { describe, expect, it } from 'vitest';
import { buildCellVrt, buildGroupVrt, cellBounds, cellPixels, cellsOfTile, cellSummary, contains, lonLatOfBounds, newGroupManifest, paddedOverviewExtent, pixelWindow, placeSource, updateCell, wrappedOverviewExtent, type MosaicGroupManifest } from '../../src/raster/mosaic.cells.js';
import type { CollectionMosaicSource } from '../../src/raster/mosaic.collection.js';
import type { MosaicBand } from '../../src/raster/mosaic.vrt.js';

const rgb: MosaicBand[] = ['Red', 'Green', 'Blue'].map((colorInterpretation) => ({ gdalDataType: 'Byte', nodata: null, colorInterpretation }));
const cellMetres = cellPixels * 10;

/** A source of 10 m pixels whose tiles are [west, north, width px, height px]. */
function source(key: string, tiles: Array<[number, number, number, number]>): CollectionMosaicSource {
  return {
    sourceKey: key,
    crsCode: 'EPSG:32633',
    srsWkt: 'WKT',
    bands: rgb,
    pixelWidth: 10,
    pixelHeight: 10,
    tiles: tiles.map(([west, north, width, height], i) => ({ path: `${key}/v1/${key}-${i}.tif`, bounds: [west, north - height * 10, west + width * 10, north], width, height })),
  };
}

describe('collection mosaic cells', () => {
  const first = source('a', [[500000, 6000000, 128, 128]]);
  const grid = newGroupManifest('epsg-32633-3xbyte', first).grid;

  it('anchors cells on the first source, so cell edges fall on its pixel edges', () => {
    expect(grid).toEqual({ pixelWidth: 10, pixelHeight: 10, anchorX: 500000, anchorY: 6000000 });
    expect(cellBounds(grid, '0_0')).toEqual([500000, 6000000 - cellMetres, 500000 + cellMetres, 6000000]);
    expect(cellBounds(grid, '-1_2')).toEqual([500000 - cellMetres, 6000000 - 3 * cellMetres, 500000, 6000000 - 2 * cellMetres]);
  });

  it('puts a tile in every cell it touches, and not in the next one when it ends on the edge', () => {
    expect(cellsOfTile(grid, { bounds: [500000, 6000000 - cellMetres, 500000 + cellMetres, 6000000] })).toEqual(['0_0']);
    expect(cellsOfTile(grid, { bounds: [500000 + cellMetres - 10, 6000000 - cellMetres - 10, 500000 + cellMetres + 10, 6000000 - cellMetres + 10] })).toEqual(['0_0', '1_0', '0_1', '1_1']);
    expect(cellsOfTile(grid, { bounds: [499990, 5999990, 500010, 6000010] })).toEqual(['-1_-1', '0_-1', '-1_0', '0_0']);
  });

  it('replaces a source in a cell, keeps the others, orders by source key like the flat mosaic, and empties', () => {
    const b = source('b', [[500000 + 1280, 6000000, 128, 128]]);
    let cell = { key: '0_0', entries: [] as Array<{ sourceKey: string; tiles: CollectionMosaicSource['tiles'] }> };
    cell = updateCell(cell, 'b', placeSource(grid, b).get('0_0'));
    cell = updateCell(cell, 'a', placeSource(grid, first).get('0_0'));
    expect(cell.entries.map((entry) => entry.sourceKey)).toEqual(['a', 'b']);
    const b2 = source('b', [[500000 + 2560, 6000000, 64, 64]]);
    cell = updateCell(cell, 'b', placeSource(grid, b2).get('0_0'));
    expect(cell.entries.map((entry) => entry.tiles[0]!.bounds[0])).toEqual([500000, 502560]);
    expect(cellSummary(grid, cell)).toEqual({ bounds: [500000, 6000000 - 1280, 502560 + 640, 6000000], sources: 2, tiles: 2 });
    cell = updateCell(updateCell(cell, 'a', undefined), 'b', undefined);
    expect(cellSummary(grid, cell)).toBeUndefined();
  });

  it('cuts a cell\'s extent to the cell, and lays tiles and cells on the group grid in relative paths', () => {
    const manifest = newGroupManifest('g', first);
    const wide = source('w', [[500000 + cellMetres - 640, 6000000, 128, 64]]);
    const placed = placeSource(grid, wide);
    expect([...placed.keys()]).toEqual(['0_0', '1_0']);
    const left = { key: '0_0', entries: [placed.get('0_0')!] };
    const summary = cellSummary(grid, left)!;
    expect(summary.bounds).toEqual([500000 + cellMetres - 640, 6000000 - 640, 500000 + cellMetres, 6000000]);
    const xml = buildCellVrt(manifest, left, summary);
    expect(xml).toContain('<VRTDataset rasterXSize="64" rasterYSize="64">');
    // The tile sticks out of the cell on the east: GDAL clips what lies outside.
    expect(xml).toContain('<DstRect xOff="0" yOff="0" xSize="128" ySize="64"/>');
    expect(xml).toContain('<SourceFilename relativeToVRT="1">w/v1/w-0.tif</SourceFilename>');
    manifest.cells = { '0_0': summary, '1_0': cellSummary(grid, { key: '1_0', entries: [placed.get('1_0')!] })! };
    const group = buildGroupVrt(manifest, (cell) => ({ path: `g.cell.${cell}.vrt`, relative: true }));
    expect(group).toContain('<VRTDataset rasterXSize="128" rasterYSize="64">');
    expect(group).toContain('<SourceFilename relativeToVRT="1">g.cell.1_0.vrt</SourceFilename>');
    expect(group).toContain('<DstRect xOff="64" yOff="0" xSize="64" ySize="64"/>');
  });

  it('pads the overview extent within the globe and finds a region\'s pixel window in it', () => {
    expect(paddedOverviewExtent([10, 40, 14, 44])).toEqual([9, 39, 15, 45]);
    expect(paddedOverviewExtent([-179, -89, 179, 89])).toEqual([-180, -90, 180, 90]);
    expect(contains([9, 39, 15, 45], [10, 40, 14, 44])).toBe(true);
    expect(contains([9, 39, 15, 45], [8, 40, 14, 44])).toBe(false);
    expect(pixelWindow([0, 0, 10, 10], { width: 100, height: 100 }, [2.05, 7.01, 3, 8])).toEqual({ x: 20, y: 20, width: 10, height: 10 });
    expect(pixelWindow([0, 0, 10, 10], { width: 100, height: 100 }, [11, 0, 12, 1])).toBeUndefined();
  });

  /** A lon/lat group (or `crsCode`'s) whose cells have these bounds. */
  function group(crsCode: string, ...bounds: Array<[number, number, number, number]>): MosaicGroupManifest {
    const manifest = newGroupManifest(`g-${crsCode}`, { ...source('s', [[0, 0, 1, 1]]), crsCode });
    bounds.forEach((cellBounds, i) => (manifest.cells[`${i}_0`] = { bounds: cellBounds, sources: 1, tiles: 1 }));
    return manifest;
  }

  it('places lon/lat groups on 0–360° at −180…180 (one longitude wrap), from their own bounds, and no other', () => {
    // etopo5's cells: centres 0…359.92° E, edges half a pixel past the poles.
    const etopo5 = group('EPSG:4326', [-0.0417, -80.625, 170.627, 90.0417], [170.627, -90.0417, 341.295, -80.625], [341.295, -80.625, 359.962, 90.0417]);
    expect(wrappedOverviewExtent([etopo5])).toEqual([-180, -90, 180, 90]);
    expect(wrappedOverviewExtent([group('EPSG:4326', [200, 10, 220, 30])])).toEqual([-180, 10, 180, 30]);
    // Inside −180…180, mixed with a grid west of 90° W, projected, or nothing: the warper places it.
    expect(wrappedOverviewExtent([group('EPSG:4326', [-10, 10, 170, 30])])).toBeUndefined();
    expect(wrappedOverviewExtent([etopo5, group('EPSG:4326', [-120, 10, -100, 30])])).toBeUndefined();
    expect(wrappedOverviewExtent([etopo5, group('EPSG:32633', [500000, 0, 600000, 100000])])).toBeUndefined();
    expect(wrappedOverviewExtent([])).toBeUndefined();
  });

  it('takes a lon/lat cell\'s EPSG:4326 extent from its bounds, latitudes cut at the poles and longitudes as the grid has them', () => {
    expect(lonLatOfBounds([-0.0417, -80.625, 170.627, 90.0417])).toEqual([-0.0417, -80.625, 170.627, 90]);
    expect(lonLatOfBounds([341.295, -90.0417, 359.962, -80.625])).toEqual([341.295, -90, 359.962, -80.625]);
  });
});
