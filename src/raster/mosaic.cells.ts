/**
 * The collection mosaic as a hierarchy, so that one new or replaced source costs the same however
 * many sources the collection holds: each group's grid (one CRS and band types, see
 * `mosaic.collection.ts`) is cut into square cells of `cellPixels` pixels, anchored on the first
 * source's grid so cell edges fall on pixel edges. A cell keeps an index of the sources whose tiles
 * touch it, its own VRT of those tiles, and a small overview image; the group's VRT (the
 * collection's `mosaic` asset) places the cells' VRTs, one source per cell. A source that changes
 * rewrites the cells it touches (before and after) and the group's VRT, which lists cells, not
 * tiles. Pure: the activity reads and writes what this computes.
 */
import { bandSignature, type CollectionMosaicSource, type CollectionMosaicTile } from './mosaic.collection.js';
import { escapeXml, writeVrt, type MosaicBand } from './mosaic.vrt.js';

/** A cell's side in the group's pixels: at most (2048 / 128)² = 256 small sources per cell. */
export const cellPixels = 2048;
/** A cell overview's long side (1/8 of a full cell's): the collection overview is warped from these, never from the tiles. */
export const cellOverviewMaxSide = 256;

/** One source in one cell: all of its tiles that touch the cell (a tile may touch several cells). */
export interface CellEntry {
  sourceKey: string;
  tiles: CollectionMosaicTile[];
}

/** A cell's index: the sources that touch it, by source key (the flat mosaic's order, so pixels match where sources overlap). */
export interface MosaicCell {
  key: string;
  entries: CellEntry[];
}

/** Where the group's cells are: the pixel size and anchor are the first source's and never change. */
export interface CellGrid {
  pixelWidth: number;
  pixelHeight: number;
  /** A corner of the first source's grid; cell (0, 0) starts there, x east and y south. */
  anchorX: number;
  anchorY: number;
}

/** What a group's VRT needs of one cell: the cell's data extent and its size. */
export interface CellSummary {
  bounds: [number, number, number, number];
  sources: number;
  tiles: number;
  /** The cell's data extent in EPSG:4326 (west, south, east, north): which part of the collection overview it paints. */
  lonLat?: [number, number, number, number];
  /** The ETag of the cell's overview as last written: its signed URLs carry it, so GDAL never reads a replaced one from its cache. */
  overviewEtag?: string;
}

export type Extent = [number, number, number, number];

export function unionOf(extents: readonly Extent[]): Extent | undefined {
  if (extents.length === 0) return undefined;
  return [Math.min(...extents.map((e) => e[0])), Math.min(...extents.map((e) => e[1])), Math.max(...extents.map((e) => e[2])), Math.max(...extents.map((e) => e[3]))];
}

export function intersects(a: Extent, b: Extent): boolean {
  return a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3];
}

export function contains(outer: Extent, inner: Extent): boolean {
  return outer[0] <= inner[0] && outer[1] <= inner[1] && outer[2] >= inner[2] && outer[3] >= inner[3];
}

/**
 * The collection overview's extent for `data`: a quarter of its size added on every side (within
 * the globe), so a collection growing outward is re-laid now and then, not at every upload.
 */
export function paddedOverviewExtent(data: Extent): Extent {
  const padX = (data[2] - data[0]) / 4;
  const padY = (data[3] - data[1]) / 4;
  return [Math.max(-180, data[0] - padX), Math.max(-90, data[1] - padY), Math.min(180, data[2] + padX), Math.min(90, data[3] + padY)];
}

/** The pixel window of `region` in a north-up raster of `extent` and `size`, whole pixels, clipped to the raster. */
export function pixelWindow(extent: Extent, size: { width: number; height: number }, region: Extent): { x: number; y: number; width: number; height: number } | undefined {
  const pixelWidth = (extent[2] - extent[0]) / size.width;
  const pixelHeight = (extent[3] - extent[1]) / size.height;
  const x0 = Math.max(0, Math.floor((region[0] - extent[0]) / pixelWidth));
  const x1 = Math.min(size.width, Math.ceil((region[2] - extent[0]) / pixelWidth));
  const y0 = Math.max(0, Math.floor((extent[3] - region[3]) / pixelHeight));
  const y1 = Math.min(size.height, Math.ceil((extent[3] - region[1]) / pixelHeight));
  return x1 > x0 && y1 > y0 ? { x: x0, y: y0, width: x1 - x0, height: y1 - y0 } : undefined;
}

/** A group of the collection mosaic: its grid, bands and cells (one entry per cell, not per source). */
export interface MosaicGroupManifest {
  key: string;
  bandSignature: string;
  crsCode: string | null;
  srsWkt: string;
  bands: MosaicBand[];
  grid: CellGrid;
  cells: Record<string, CellSummary>;
  /** Sources and tiles in the group (each once, however many cells it touches). */
  sources: number;
  tiles: number;
}

/** Where a source was placed, so a replacement or removal finds the cells to clear. */
export interface SourcePlacement {
  sourceKey: string;
  version: string;
  group: string;
  cells: string[];
  tiles: number;
}

/** A tiny tolerance (in pixels) so a tile ending exactly on a cell edge does not touch the next cell. */
const edge = 1e-6;

export function newGroupManifest(key: string, source: CollectionMosaicSource): MosaicGroupManifest {
  const first = source.tiles[0]!;
  return {
    key,
    bandSignature: bandSignature(source.bands),
    crsCode: source.crsCode,
    srsWkt: source.srsWkt,
    bands: source.bands,
    grid: { pixelWidth: source.pixelWidth, pixelHeight: source.pixelHeight, anchorX: first.bounds[0], anchorY: first.bounds[3] },
    cells: {},
    sources: 0,
    tiles: 0,
  };
}

export function cellKey(column: number, row: number): string {
  return `${column}_${row}`;
}

function parseCellKey(key: string): { column: number; row: number } {
  const [column, row] = key.split('_').map(Number);
  return { column: column!, row: row! };
}

/** A cell's extent in CRS units: [minX, minY, maxX, maxY]. */
export function cellBounds(grid: CellGrid, key: string): [number, number, number, number] {
  const { column, row } = parseCellKey(key);
  const width = cellPixels * grid.pixelWidth;
  const height = cellPixels * grid.pixelHeight;
  const west = grid.anchorX + column * width;
  const north = grid.anchorY - row * height;
  return [west, north - height, west + width, north];
}

/** The cells a tile touches. */
export function cellsOfTile(grid: CellGrid, tile: Pick<CollectionMosaicTile, 'bounds'>): string[] {
  const width = cellPixels * grid.pixelWidth;
  const height = cellPixels * grid.pixelHeight;
  const [minX, minY, maxX, maxY] = tile.bounds;
  const firstColumn = Math.floor((minX - grid.anchorX) / width + edge);
  const lastColumn = Math.floor((maxX - grid.anchorX) / width - edge);
  const firstRow = Math.floor((grid.anchorY - maxY) / height + edge);
  const lastRow = Math.floor((grid.anchorY - minY) / height - edge);
  const keys: string[] = [];
  for (let row = firstRow; row <= lastRow; row++) for (let column = firstColumn; column <= lastColumn; column++) keys.push(cellKey(column, row));
  return keys;
}

/** The source's tiles cell by cell. */
export function placeSource(grid: CellGrid, source: CollectionMosaicSource): Map<string, CellEntry> {
  const cells = new Map<string, CellEntry>();
  for (const tile of source.tiles) {
    for (const key of cellsOfTile(grid, tile)) {
      const entry = cells.get(key) ?? { sourceKey: source.sourceKey, tiles: [] };
      entry.tiles.push(tile);
      cells.set(key, entry);
    }
  }
  return cells;
}

/** The cell with `sourceKey` removed, and `entry` (the source's tiles in this cell) added, in source-key order. */
export function updateCell(cell: MosaicCell, sourceKey: string, entry: CellEntry | undefined): MosaicCell {
  const entries = cell.entries.filter((existing) => existing.sourceKey !== sourceKey);
  if (entry) entries.push(entry);
  entries.sort((a, b) => (a.sourceKey < b.sourceKey ? -1 : a.sourceKey > b.sourceKey ? 1 : 0));
  return { key: cell.key, entries };
}

/** Where the cell holds data: the union of its tiles, cut to the cell, on the group's pixel grid. */
export function cellSummary(grid: CellGrid, cell: MosaicCell): CellSummary | undefined {
  const tiles = cell.entries.flatMap((entry) => entry.tiles);
  if (tiles.length === 0) return undefined;
  const [cellWest, cellSouth, cellEast, cellNorth] = cellBounds(grid, cell.key);
  const west = Math.max(cellWest, Math.min(...tiles.map((tile) => tile.bounds[0])));
  const south = Math.max(cellSouth, Math.min(...tiles.map((tile) => tile.bounds[1])));
  const east = Math.min(cellEast, Math.max(...tiles.map((tile) => tile.bounds[2])));
  const north = Math.min(cellNorth, Math.max(...tiles.map((tile) => tile.bounds[3])));
  return { bounds: [west, south, east, north], sources: cell.entries.length, tiles: tiles.length };
}

/** Pixel offsets that are whole numbers up to rounding are written as whole numbers. */
function pixels(value: number): string {
  const rounded = Math.round(value);
  return Math.abs(value - rounded) < 1e-6 ? String(rounded) : value.toPrecision(15);
}

function gridSize(bounds: readonly number[], grid: CellGrid): { width: number; height: number } {
  const [minX, minY, maxX, maxY] = bounds as [number, number, number, number];
  return { width: Math.max(1, Math.ceil((maxX - minX) / grid.pixelWidth - edge)), height: Math.max(1, Math.ceil((maxY - minY) / grid.pixelHeight - edge)) };
}

interface Placed {
  path: string;
  relative: boolean;
  bounds: readonly number[];
  width: number;
  height: number;
}

/** A VRT over `extent` placing each `placed` raster at its bounds; `ComplexSource` with the band's nodata when it has one. */
function placedVrt(manifest: MosaicGroupManifest, extent: readonly number[], placed: readonly Placed[]): string {
  const { grid } = manifest;
  const [west, , , north] = extent as [number, number, number, number];
  const size = gridSize(extent, grid);
  return writeVrt(
    { ...size, srsWkt: manifest.srsWkt, geoTransform: [west, grid.pixelWidth, 0, north, 0, -grid.pixelHeight] },
    manifest.bands,
    (band, bandNumber) => {
      const kind = band.nodata !== null ? 'ComplexSource' : 'SimpleSource';
      return placed.flatMap((item) => {
        const [minX, minY, maxX, maxY] = item.bounds as [number, number, number, number];
        return [
          `    <${kind}>`,
          `      <SourceFilename relativeToVRT="${item.relative ? 1 : 0}">${escapeXml(item.path)}</SourceFilename>`,
          `      <SourceBand>${bandNumber}</SourceBand>`,
          `      <SrcRect xOff="0" yOff="0" xSize="${item.width}" ySize="${item.height}"/>`,
          `      <DstRect xOff="${pixels((minX - west) / grid.pixelWidth)}" yOff="${pixels((north - maxY) / grid.pixelHeight)}" xSize="${pixels((maxX - minX) / grid.pixelWidth)}" ySize="${pixels((maxY - minY) / grid.pixelHeight)}"/>`,
          ...(kind === 'ComplexSource' ? [`      <NODATA>${band.nodata}</NODATA>`] : []),
          `    </${kind}>`,
        ];
      });
    },
  );
}

/**
 * A cell's VRT: its data extent, every tile touching it (GDAL clips the parts outside), in source-key
 * order. `pathOf` gives each tile's path as the VRT names it (relative in storage; signed for a
 * local build of the overview).
 */
export function buildCellVrt(manifest: MosaicGroupManifest, cell: MosaicCell, summary: CellSummary, pathOf: (tile: CollectionMosaicTile) => { path: string; relative: boolean } = (tile) => ({ path: tile.path, relative: true })): string {
  return placedVrt(
    manifest,
    summary.bounds,
    cell.entries.flatMap((entry) => entry.tiles.map((tile) => ({ ...pathOf(tile), bounds: tile.bounds, width: tile.width, height: tile.height }))),
  );
}

/** The group's extent: the union of its cells' data extents. */
export function groupBounds(manifest: MosaicGroupManifest): [number, number, number, number] | undefined {
  const cells = Object.values(manifest.cells);
  if (cells.length === 0) return undefined;
  return [Math.min(...cells.map((c) => c.bounds[0])), Math.min(...cells.map((c) => c.bounds[1])), Math.max(...cells.map((c) => c.bounds[2])), Math.max(...cells.map((c) => c.bounds[3]))];
}

/**
 * The group's VRT: each cell's raster placed at its extent (cells never overlap). `pathOf` names a
 * cell's VRT, or its overview; `sizeOf` gives the size of that raster (the overview's is smaller:
 * GDAL scales it into place).
 */
export function buildGroupVrt(
  manifest: MosaicGroupManifest,
  pathOf: (cellKey: string) => { path: string; relative: boolean },
  sizeOf: (summary: CellSummary) => { width: number; height: number } = (summary) => gridSize(summary.bounds, manifest.grid),
): string {
  const extent = groupBounds(manifest);
  if (!extent) throw new Error(`the mosaic group ${manifest.key} has no cells`);
  const keys = Object.keys(manifest.cells).sort();
  return placedVrt(
    manifest,
    extent,
    keys.map((key) => {
      const summary = manifest.cells[key]!;
      return { ...pathOf(key), bounds: summary.bounds, ...sizeOf(summary) };
    }),
  );
}

/**
 * Whether the group's grid is longitude/latitude in degrees (EPSG:4326 in GDAL's east-north order):
 * then a cell's EPSG:4326 extent is its own bounds, and no warper has to guess it.
 */
export function isLonLatGrid(manifest: Pick<MosaicGroupManifest, 'crsCode'>): boolean {
  return manifest.crsCode === 'EPSG:4326';
}

/**
 * A longitude/latitude cell's extent in EPSG:4326: its bounds, latitudes cut at the poles (a global
 * grid of cell centres reaches half a pixel past them), longitudes as the grid has them (0–360 on a
 * CF grid). The warper's suggested output is not used for these: for a cell past a pole it spans
 * −180…180, which hid a 0–360 collection's longitudes.
 */
export function lonLatOfBounds(bounds: readonly number[]): Extent {
  return [bounds[0]!, Math.max(-90, bounds[1]!), bounds[2]!, Math.min(90, bounds[3]!)];
}

/**
 * The collection overview's extent when its groups are all longitude/latitude grids reaching past
 * 180° E and none west of 90° W (CF grids on 0–360°, such as etopo5): −180…180, where maps draw it,
 * read with one longitude wrap. Mixed with grids on −180…180, no one wrap reads both: `undefined`,
 * and the warper's own placement stands. Decided from the groups' own bounds, never from the cells'
 * stored EPSG:4326 extents.
 */
export function wrappedOverviewExtent(manifests: readonly MosaicGroupManifest[]): Extent | undefined {
  if (manifests.length === 0 || !manifests.every(isLonLatGrid)) return undefined;
  const bounds = unionOf(manifests.flatMap((manifest) => {
    const group = groupBounds(manifest);
    return group ? [group] : [];
  }));
  if (!bounds || bounds[2] <= 180 + 1e-9 || bounds[0] < -90) return undefined;
  return [-180, Math.max(-90, bounds[1]), 180, Math.min(90, bounds[3])];
}

/** A cell overview's size: the cell's data extent with its long side at most `cellOverviewMaxSide`. */
export function cellOverviewSize(manifest: MosaicGroupManifest, summary: CellSummary): { width: number; height: number } {
  const { width, height } = gridSize(summary.bounds, manifest.grid);
  const scale = Math.min(1, cellOverviewMaxSide / Math.max(width, height));
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}
