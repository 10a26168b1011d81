import { describe, expect, it } from 'vitest';
import { bandSignature, buildCollectionMosaicVrt, groupMosaicSources, mosaicGrid, overviewSize, type CollectionMosaicSource } from '../../src/raster/mosaic.collection.js';
import type { MosaicBand } from '../../src/raster/mosaic.vrt.js';

const rgb: MosaicBand[] = ['Red', 'Green', 'Blue'].map((colorInterpretation) => ({ gdalDataType: 'Byte', nodata: null, colorInterpretation }));
const dem: MosaicBand[] = [{ gdalDataType: 'Float32', nodata: 'nan', colorInterpretation: 'Gray' }];

function source(key: string, crsCode: string | null, bands: MosaicBand[], pixel: number, tiles: Array<[number, number, number, number]>): CollectionMosaicSource {
  return {
    sourceKey: key,
    crsCode,
    srsWkt: `WKT of ${crsCode ?? key}`,
    bands,
    pixelWidth: pixel,
    pixelHeight: pixel,
    tiles: tiles.map((bounds, i) => ({ path: `${key}/v1/${key}-${i}.tif`, bounds, width: Math.round((bounds[2] - bounds[0]) / pixel), height: Math.round((bounds[3] - bounds[1]) / pixel) })),
  };
}

describe('collection mosaic groups and VRT', () => {
  it('groups sources by CRS and band types, largest group first; a CRS without a code goes by its WKT', () => {
    const groups = groupMosaicSources([
      source('a', 'EPSG:32633', rgb, 10, [[0, 0, 100, 100]]),
      source('b', 'EPSG:32633', dem, 10, [[0, 0, 100, 100]]),
      source('c', 'EPSG:32633', rgb, 10, [[100, 0, 200, 100], [200, 0, 300, 100]]),
      source('d', null, rgb, 10, [[0, 0, 100, 100]]),
      source('e', 'EPSG:4326', rgb, 0.001, []),
    ]);
    expect(groups.map((g) => [g.key.replace(/crs-[0-9a-f]{12}/, 'crs-<hash>'), g.sources.map((s) => s.sourceKey), g.tileCount])).toEqual([
      ['epsg-32633-3xbyte', ['a', 'c'], 3],
      ['crs-<hash>-3xbyte', ['d'], 1],
      ['epsg-32633-1xfloat32', ['b'], 1],
    ]);
    expect(bandSignature([...dem, { gdalDataType: 'Byte', nodata: null, colorInterpretation: 'Alpha' }])).toBe('float32.byte');
  });

  it('lays tiles on the union grid at the finest pixel size; coarser sources are scaled into it', () => {
    const [group] = groupMosaicSources([source('fine', 'EPSG:32633', rgb, 10, [[0, 0, 100, 50]]), source('coarse', 'EPSG:32633', rgb, 20, [[100, -50, 200, 50]])]);
    expect(mosaicGrid(group!)).toEqual({ width: 20, height: 10, geoTransform: [0, 10, 0, 50, 0, -10] });
    const xml = buildCollectionMosaicVrt(group!);
    expect(xml).toContain('<DstRect xOff="0" yOff="0" xSize="10" ySize="5"/>');
    expect(xml).toContain('<SrcRect xOff="0" yOff="0" xSize="5" ySize="5"/>');
    expect(xml).toContain('<DstRect xOff="10" yOff="0" xSize="10" ySize="10"/>');
    expect(xml).toContain('<SourceFilename relativeToVRT="1">coarse/v1/coarse-0.tif</SourceFilename>');
    expect(xml.match(/<SimpleSource>/g)).toHaveLength(2 * 3);
  });

  it('uses ComplexSource with the nodata value, so one source\'s nodata does not paint over another', () => {
    const [group] = groupMosaicSources([source('dem', 'EPSG:32633', dem, 10, [[0, 0, 100, 100]])]);
    const xml = buildCollectionMosaicVrt(group!, false);
    expect(xml).toContain('<NoDataValue>nan</NoDataValue>');
    expect(xml).toContain('<NODATA>nan</NODATA>');
    expect(xml).toContain('<SourceFilename relativeToVRT="0">dem/v1/dem-0.tif</SourceFilename>');
  });

  it('sizes the overview to at most the limit on the long side, never above full resolution', () => {
    expect(overviewSize(10000, 5000, 2048)).toEqual({ width: 2048, height: 1024 });
    expect(overviewSize(300, 200, 2048)).toEqual({ width: 300, height: 200 });
  });
});

