/**
 * The tiling plan: which pixel windows of a source become one COG each. Pure (no GDAL), so the
 * orchestrator can import it and replays compute the same plan.
 */
import type { TileWindow } from '../pipeline/contracts.js';

/**
 * Splits a `width` × `height` raster into windows of at most `tileSize` pixels a side, row by
 * row from the top-left. Edge tiles are narrower or shorter; no window is empty.
 */
export function planTiles(width: number, height: number, tileSize: number): TileWindow[] {
  for (const [name, value] of [['width', width], ['height', height], ['tileSize', tileSize]] as const) {
    if (!Number.isInteger(value) || value <= 0) throw new Error(`planTiles: ${name} must be a positive integer, got ${value}`);
  }
  const cols = Math.ceil(width / tileSize);
  const rows = Math.ceil(height / tileSize);
  const windows: TileWindow[] = [];
  for (let row = 0; row < rows; row++) {
    for (let col = 0; col < cols; col++) {
      const x = col * tileSize;
      const y = row * tileSize;
      windows.push({
        index: windows.length,
        row,
        col,
        x,
        y,
        width: Math.min(tileSize, width - x),
        height: Math.min(tileSize, height - y),
      });
    }
  }
  return windows;
}
