/**
 * A GDAL VRT that puts a source's tile COGs back together, so the whole ingested raster opens as
 * one dataset. Pure: the XML is built from the source's description and the tile windows; tile
 * paths are relative to the VRT, which sits next to its tiles.
 */
import type { TileWindow } from '../pipeline/contracts.js';
import type { GeoTransform } from './geo.transform.js';

export interface MosaicBand {
  gdalDataType: string;
  /** `null` for none; NaN and infinities as GDAL writes them (`nan`, `inf`, `-inf`). */
  nodata: number | 'nan' | 'inf' | '-inf' | null;
  colorInterpretation: string;
  /** RGBA entries of a colour table, if any. */
  colorTable?: Array<[number, number, number, number]>;
}

export interface MosaicDescription {
  width: number;
  height: number;
  srsWkt: string;
  geoTransform: GeoTransform;
  bands: MosaicBand[];
  tiles: Array<{ file: string; window: TileWindow }>;
}

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** The grid a VRT lays its sources on. */
export interface VrtGrid {
  width: number;
  height: number;
  srsWkt: string;
  geoTransform: GeoTransform;
}

/**
 * A VRT document: the grid, then per band its header (nodata, colour interpretation and table)
 * followed by the source elements `sourcesOf` gives for that band (1-based band number).
 */
export function writeVrt(grid: VrtGrid, bands: MosaicBand[], sourcesOf: (band: MosaicBand, bandNumber: number) => string[]): string {
  const lines: string[] = [`<VRTDataset rasterXSize="${grid.width}" rasterYSize="${grid.height}">`];
  lines.push(`  <SRS dataAxisToSRSAxisMapping="1,2">${escapeXml(grid.srsWkt)}</SRS>`);
  lines.push(`  <GeoTransform>${grid.geoTransform.map((v) => v.toPrecision(17)).join(', ')}</GeoTransform>`);
  bands.forEach((band, index) => {
    lines.push(`  <VRTRasterBand dataType="${band.gdalDataType}" band="${index + 1}">`);
    if (band.nodata !== null) lines.push(`    <NoDataValue>${band.nodata}</NoDataValue>`);
    lines.push(`    <ColorInterp>${escapeXml(band.colorInterpretation)}</ColorInterp>`);
    if (band.colorTable && band.colorTable.length > 0) {
      lines.push('    <ColorTable>');
      for (const [c1, c2, c3, c4] of band.colorTable) lines.push(`      <Entry c1="${c1}" c2="${c2}" c3="${c3}" c4="${c4}"/>`);
      lines.push('    </ColorTable>');
    }
    lines.push(...sourcesOf(band, index + 1));
    lines.push('  </VRTRasterBand>');
  });
  const factors = virtualOverviewFactors(grid.width, grid.height);
  if (factors.length > 0) {
    const paletted = bands.some((band) => (band.colorTable?.length ?? 0) > 0);
    lines.push(`  <OverviewList resampling="${paletted ? 'nearest' : 'average'}">${factors.join(' ')}</OverviewList>`);
  }
  lines.push('</VRTDataset>', '');
  return lines.join('\n');
}

/** A mosaic's virtual overviews stop here: below this long side a reader gains nothing from them. */
export const smallestVirtualOverview = 256;

/**
 * The VRT's virtual overview factors (GDAL's `OverviewList`, 3.2 and later): powers of two while
 * the long side stays at least `smallestVirtualOverview`. Each one reads the tiles' own overviews
 * where they have them, so a zoomed-out read (a client's, or the collection overview's warp)
 * costs a fraction of the pixels; without it GDAL 3.6 gives a mosaic of `ComplexSource`s no
 * overviews at all and reads every full-resolution pixel.
 */
export function virtualOverviewFactors(width: number, height: number): number[] {
  const factors: number[] = [];
  for (let factor = 2; Math.max(width, height) / factor >= smallestVirtualOverview; factor *= 2) factors.push(factor);
  return factors;
}

export function buildMosaicVrt(mosaic: MosaicDescription): string {
  return writeVrt(mosaic, mosaic.bands, (_band, bandNumber) =>
    mosaic.tiles.flatMap(({ file, window }) => [
      '    <SimpleSource>',
      `      <SourceFilename relativeToVRT="1">${escapeXml(file)}</SourceFilename>`,
      `      <SourceBand>${bandNumber}</SourceBand>`,
      `      <SrcRect xOff="0" yOff="0" xSize="${window.width}" ySize="${window.height}"/>`,
      `      <DstRect xOff="${window.x}" yOff="${window.y}" xSize="${window.width}" ySize="${window.height}"/>`,
      '    </SimpleSource>',
    ]),
  );
}
