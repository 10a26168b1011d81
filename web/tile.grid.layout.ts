/** Tiles placed by their row and column, as they lie in the source raster. */
import type { TileEntry } from '../src/api/contract.js';

export interface TileGridLayout {
  rows: number;
  cols: number;
  /** cells[row][col]: the tile there, or null where the ledger has none (not listed yet). */
  cells: Array<Array<TileEntry | null>>;
}

export function layoutTileGrid(tiles: readonly TileEntry[]): TileGridLayout {
  const rows = tiles.reduce((max, tile) => Math.max(max, tile.row + 1), 0);
  const cols = tiles.reduce((max, tile) => Math.max(max, tile.col + 1), 0);
  const cells: Array<Array<TileEntry | null>> = Array.from({ length: rows }, () => Array.from({ length: cols }, () => null));
  for (const tile of tiles) {
    if (tile.row >= 0 && tile.col >= 0) cells[tile.row]![tile.col] = tile;
  }
  return { rows, cols, cells };
}
