/**
 * The tiling plan: which pixel windows of a source become one COG each. Pure (no GDAL), so the
 * orchestrator can import it and replays compute the same plan.
 */
import type { GridSlices, TileWindow } from '../pipeline/contracts.js';

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

/** A variable as the plan needs it (`RasterVariable`, or the compact form in a job's status). */
export interface PlanVariable {
  name: string;
  key: string;
  /** Opened alone (`RasterVariable.subdataset`). */
  subdataset: boolean;
  width: number;
  height: number;
  steps: number;
  stepLabel: 't' | 'b' | null;
}

/** How many windows `planTiles` makes of a `width` × `height` raster. */
export function countTiles(width: number, height: number, tileSize: number): number {
  return Math.ceil(width / tileSize) * Math.ceil(height / tileSize);
}

/** Tiles a plan of these variables holds: variables × steps × windows. */
export function countVariableTiles(variables: readonly Pick<PlanVariable, 'width' | 'height' | 'steps'>[], tileSize: number): number {
  return variables.reduce((sum, variable) => sum + variable.steps * countTiles(variable.width, variable.height, tileSize), 0);
}

/**
 * The plan of a source of variables: for each variable in order, for each of its steps (bands),
 * its windows row by row. Indexes run over the whole plan, so each (variable, step, window) has
 * its own tile branch; a variable without extra dimensions (one step, no label) is cut whole.
 */
export function planVariableTiles(variables: readonly PlanVariable[], tileSize: number): TileWindow[] {
  const windows: TileWindow[] = [];
  for (const variable of variables) {
    if (!Number.isInteger(variable.steps) || variable.steps <= 0) throw new Error(`planVariableTiles: steps must be a positive integer, got ${variable.steps}`);
    const grid = planTiles(variable.width, variable.height, tileSize);
    for (let band = 1; band <= variable.steps; band++) {
      const stepped = variable.stepLabel !== null;
      const slice = {
        variable: variable.name,
        variableKey: variable.key,
        ...(variable.subdataset ? { subdataset: true as const } : {}),
        ...(stepped ? { band, stepLabel: variable.stepLabel! } : {}),
      };
      for (const window of grid) windows.push({ ...window, index: windows.length, slice });
    }
  }
  return windows;
}

/**
 * The plan a job's status records (`IngestProgress.grid`), planned again as the job planned it: by
 * the tile ledger, which needs ids and windows but never a variable's name (its key stands in).
 */
export function planRecordedGrid(grid: { width: number; height: number; tileSize: number; slices?: GridSlices[] }): TileWindow[] {
  if (!grid.slices) return planTiles(grid.width, grid.height, grid.tileSize);
  const variables = grid.slices.flatMap((slice) =>
    slice.keys.map((key): PlanVariable => ({ name: key, key, subdataset: false, width: slice.width, height: slice.height, steps: slice.steps, stepLabel: slice.stepLabel })),
  );
  return planVariableTiles(variables, grid.tileSize);
}
