/**
 * The VRT mosaic of a whole collection: every tile COG of every source, placed on one grid per
 * group of sources that can share a grid (same CRS, same bands). Pure: the activity measures one
 * tile COG per source and says where each tile lives; this builds the groups and the XML.
 */
import { createHash } from 'node:crypto';
import { escapeXml, writeVrt, type MosaicBand } from './mosaic.vrt.js';

/** One tile COG: where it is and which part of its source's grid it covers (native CRS units). */
export interface CollectionMosaicTile {
  /** Relative to the VRT (`<source key>/<version>/<item>.tif`), or an absolute GDAL path for a local build. */
  path: string;
  /** [minX, minY, maxX, maxY] */
  bounds: [number, number, number, number];
  width: number;
  height: number;
}

/** One source as the mosaic needs it: its CRS, bands and pixel size (all its tiles share them). */
export interface CollectionMosaicSource {
  sourceKey: string;
  /** `EPSG:32633`, or `null` for a CRS without a code (then the WKT decides the group). */
  crsCode: string | null;
  srsWkt: string;
  bands: MosaicBand[];
  /** Pixel size, both positive (north-up grids only). */
  pixelWidth: number;
  pixelHeight: number;
  tiles: CollectionMosaicTile[];
}

export interface CollectionMosaicGroup {
  /** `epsg-32633-3xbyte`: the CRS and the bands' data types, safe in a blob name. */
  key: string;
  /** The bands' data types alone (`3xbyte`): groups with the same one can share an overview. */
  bandSignature: string;
  srsWkt: string;
  bands: MosaicBand[];
  sources: CollectionMosaicSource[];
  tileCount: number;
}

export function bandSignature(bands: readonly MosaicBand[]): string {
  const types = bands.map((band) => band.gdalDataType.toLowerCase());
  return types.every((type) => type === types[0]) ? `${types.length}x${types[0] ?? 'none'}` : types.join('.');
}

function crsKey(source: Pick<CollectionMosaicSource, 'crsCode' | 'srsWkt'>): string {
  if (source.crsCode) return source.crsCode.toLowerCase().replace(/[^a-z0-9]+/g, '-');
  return `crs-${createHash('sha256').update(source.srsWkt).digest('hex').slice(0, 12)}`;
}

/**
 * Sources that share a CRS and band types share a grid; the others get a mosaic of their own (a VRT
 * has one CRS and one type per band). Largest group (by tiles) first.
 */
export function groupMosaicSources(sources: readonly CollectionMosaicSource[]): CollectionMosaicGroup[] {
  const groups = new Map<string, CollectionMosaicGroup>();
  for (const source of sources) {
    if (source.tiles.length === 0) continue;
    const signature = bandSignature(source.bands);
    const key = `${crsKey(source)}-${signature}`;
    const group = groups.get(key) ?? { key, bandSignature: signature, srsWkt: source.srsWkt, bands: source.bands, sources: [], tileCount: 0 };
    group.sources.push(source);
    group.tileCount += source.tiles.length;
    groups.set(key, group);
  }
  return [...groups.values()].sort((a, b) => b.tileCount - a.tileCount || a.key.localeCompare(b.key));
}

export interface MosaicGrid {
  width: number;
  height: number;
  /** GDAL order, north-up. */
  geoTransform: [number, number, number, number, number, number];
}

/** The group's grid: the union of its tiles at the finest pixel size among its sources. */
export function mosaicGrid(group: CollectionMosaicGroup): MosaicGrid {
  const tiles = group.sources.flatMap((source) => source.tiles);
  const pixelWidth = Math.min(...group.sources.map((source) => source.pixelWidth));
  const pixelHeight = Math.min(...group.sources.map((source) => source.pixelHeight));
  const west = Math.min(...tiles.map((tile) => tile.bounds[0]));
  const south = Math.min(...tiles.map((tile) => tile.bounds[1]));
  const east = Math.max(...tiles.map((tile) => tile.bounds[2]));
  const north = Math.max(...tiles.map((tile) => tile.bounds[3]));
  // A hair of tolerance so a grid that fits exactly is not one pixel too wide from rounding.
  const width = Math.max(1, Math.ceil((east - west) / pixelWidth - 1e-6));
  const height = Math.max(1, Math.ceil((north - south) / pixelHeight - 1e-6));
  return { width, height, geoTransform: [west, pixelWidth, 0, north, 0, -pixelHeight] };
}

/** Pixel offsets that are whole numbers up to rounding are written as whole numbers. */
function pixels(value: number): string {
  const rounded = Math.round(value);
  return Math.abs(value - rounded) < 1e-6 ? String(rounded) : value.toPrecision(15);
}

/**
 * The group's VRT. Tiles are `ComplexSource`s with the band's nodata when it has one (as
 * gdalbuildvrt does), so a source's nodata never paints over a neighbour's pixels where sources
 * overlap; where both have data the later source wins.
 */
export function buildCollectionMosaicVrt(group: CollectionMosaicGroup, relativePaths = true): string {
  const grid = mosaicGrid(group);
  const [west, pixelWidth, , north, , negativePixelHeight] = grid.geoTransform;
  const pixelHeight = -negativePixelHeight;
  return writeVrt(
    { width: grid.width, height: grid.height, srsWkt: group.srsWkt, geoTransform: grid.geoTransform },
    group.bands,
    (band, bandNumber) => {
      const kind = band.nodata !== null ? 'ComplexSource' : 'SimpleSource';
      return group.sources.flatMap((source) =>
        source.tiles.flatMap((tile) => {
          const [minX, minY, maxX, maxY] = tile.bounds;
          return [
            `    <${kind}>`,
            `      <SourceFilename relativeToVRT="${relativePaths ? 1 : 0}">${escapeXml(tile.path)}</SourceFilename>`,
            `      <SourceBand>${bandNumber}</SourceBand>`,
            `      <SrcRect xOff="0" yOff="0" xSize="${tile.width}" ySize="${tile.height}"/>`,
            `      <DstRect xOff="${pixels((minX - west) / pixelWidth)}" yOff="${pixels((north - maxY) / pixelHeight)}" xSize="${pixels((maxX - minX) / pixelWidth)}" ySize="${pixels((maxY - minY) / pixelHeight)}"/>`,
            ...(kind === 'ComplexSource' ? [`      <NODATA>${band.nodata}</NODATA>`] : []),
            `    </${kind}>`,
          ];
        }),
      );
    },
  );
}

/**
 * The source CRS the collection overview's warp reads longitude/latitude grids past 180° E with
 * (CF grids on 0–360°, such as etopo5): WGS 84 with longitudes wrapped to 0–360, so the
 * overview's −70° comes from their 290° column.
 */
export const lonLatSourceWrap = '+proj=longlat +datum=WGS84 +lon_wrap=180 +no_defs';

/** The overview's size: the long side at most `maxSide` pixels, never more than full resolution. */
export function overviewSize(fullWidth: number, fullHeight: number, maxSide: number): { width: number; height: number } {
  const scale = Math.min(1, maxSide / Math.max(fullWidth, fullHeight));
  return { width: Math.max(1, Math.round(fullWidth * scale)), height: Math.max(1, Math.round(fullHeight * scale)) };
}
