/** Tiles placed by their row and column, as they lie in the source raster. */
import type { TileEntry } from '../src/api/contract.js';

export interface TileGridLayout {
  rows: number;
  cols: number;
  /** cells[row][col]: the tile there, or null where the ledger has none (not listed yet). */
  cells: Array<Array<TileEntry | null>>;
}

/**
 * A netCDF source of several variables or time steps plans the same rows and columns once per
 * variable and step (in plan order): each repeat of a cell is drawn as a further block of rows
 * below the first, so no tile hides another and the grid holds every tile the totals count.
 */
export function layoutTileGrid(tiles: readonly TileEntry[]): TileGridLayout {
  const sourceRows = tiles.reduce((max, tile) => Math.max(max, tile.row + 1), 0);
  const cols = tiles.reduce((max, tile) => Math.max(max, tile.col + 1), 0);
  const seen = new Map<string, number>();
  const placed: Array<{ row: number; tile: TileEntry }> = [];
  for (const tile of tiles) {
    if (tile.row < 0 || tile.col < 0) continue;
    const key = `${tile.row},${tile.col}`;
    const layer = seen.get(key) ?? 0;
    seen.set(key, layer + 1);
    placed.push({ row: layer * sourceRows + tile.row, tile });
  }
  const rows = placed.reduce((max, { row }) => Math.max(max, row + 1), 0);
  const cells: Array<Array<TileEntry | null>> = Array.from({ length: rows }, () => Array.from({ length: cols }, () => null));
  for (const { row, tile } of placed) cells[row]![tile.col] = tile;
  return { rows, cols, cells };
}

/** A page of the grid: rows and columns from start (inclusive) to end (exclusive). */
export interface GridWindow {
  rowStart: number;
  rowEnd: number;
  colStart: number;
  colEnd: number;
}

/** Rows and columns of one page of the grid: a raster of hundreds of tiles is shown a block at a time. */
export const gridPageRows = 12;
export const gridPageCols = 16;

/** The grid cut into blocks of at most `pageRows` × `pageCols`, row by row; one window for an empty grid. */
export function gridWindows(rows: number, cols: number, pageRows = gridPageRows, pageCols = gridPageCols): GridWindow[] {
  const windows: GridWindow[] = [];
  for (let rowStart = 0; rowStart < Math.max(rows, 1); rowStart += pageRows) {
    for (let colStart = 0; colStart < Math.max(cols, 1); colStart += pageCols) {
      windows.push({ rowStart, rowEnd: Math.min(rows, rowStart + pageRows), colStart, colEnd: Math.min(cols, colStart + pageCols) });
    }
  }
  return windows;
}

/** The window holding the cell at `row`, `col` (0 when none does). */
export function windowIndexOf(windows: readonly GridWindow[], row: number, col: number): number {
  const index = windows.findIndex((w) => row >= w.rowStart && row < w.rowEnd && col >= w.colStart && col < w.colEnd);
  return Math.max(index, 0);
}
