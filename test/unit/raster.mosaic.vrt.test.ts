import { describe, expect, it } from 'vitest';
import { buildMosaicVrt, virtualOverviewFactors } from '../../src/raster/mosaic.vrt.js';

describe('buildMosaicVrt', () => {
  const xml = buildMosaicVrt({
    width: 700,
    height: 500,
    srsWkt: 'PROJCRS["A & B"]',
    geoTransform: [400000, 30, 0, 5500000, 0, -30],
    bands: [{ gdalDataType: 'Byte', nodata: null, colorInterpretation: 'Palette', colorTable: [[1, 2, 3, 255]] }, { gdalDataType: 'Float32', nodata: 'nan', colorInterpretation: 'Gray' }],
    tiles: [
      { file: 'a-r0-c0.tif', window: { index: 0, row: 0, col: 0, x: 0, y: 0, width: 512, height: 500 } },
      { file: 'a-r0-c1.tif', window: { index: 1, row: 0, col: 1, x: 512, y: 0, width: 188, height: 500 } },
    ],
  });

  it('places each tile at its window, with paths relative to the VRT', () => {
    expect(xml).toContain('<VRTDataset rasterXSize="700" rasterYSize="500">');
    expect(xml).toContain('<SourceFilename relativeToVRT="1">a-r0-c1.tif</SourceFilename>');
    expect(xml).toContain('<DstRect xOff="512" yOff="0" xSize="188" ySize="500"/>');
    expect(xml.match(/<SimpleSource>/g)).toHaveLength(4);
  });

  it('carries nodata, colour tables and an escaped CRS', () => {
    expect(xml).toContain('<NoDataValue>nan</NoDataValue>');
    expect(xml).toContain('<Entry c1="1" c2="2" c3="3" c4="255"/>');
    expect(xml).toContain('PROJCRS[&quot;A &amp; B&quot;]');
    expect(xml).toContain('<GeoTransform>400000.00000000000, 30.000000000000000, 0.0000000000000000, 5500000.0000000000, 0.0000000000000000, -30.000000000000000</GeoTransform>');
  });

  it('declares virtual overviews, nearest for a colour table', () => {
    expect(xml).toContain('<OverviewList resampling="nearest">2</OverviewList>');
  });
});

describe('virtualOverviewFactors', () => {
  it('halves the long side until it would drop below 256 pixels', () => {
    expect(virtualOverviewFactors(9000, 9000)).toEqual([2, 4, 8, 16, 32]);
    expect(virtualOverviewFactors(300, 12960)).toEqual([2, 4, 8, 16, 32]);
    expect(virtualOverviewFactors(512, 100)).toEqual([2]);
    expect(virtualOverviewFactors(511, 511)).toEqual([]);
  });
});
