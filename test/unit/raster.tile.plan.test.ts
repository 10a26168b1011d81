import { describe, expect, it } from 'vitest';
import { planTiles } from '../../src/raster/tile.plan.js';

describe('planTiles', () => {
  it('covers the raster exactly once, row by row, with short edge tiles', () => {
    const tiles = planTiles(1000, 700, 512);
    expect(tiles.map((t) => [t.index, t.row, t.col, t.x, t.y, t.width, t.height])).toEqual([
      [0, 0, 0, 0, 0, 512, 512],
      [1, 0, 1, 512, 0, 488, 512],
      [2, 1, 0, 0, 512, 512, 188],
      [3, 1, 1, 512, 512, 488, 188],
    ]);
    expect(tiles.reduce((sum, t) => sum + t.width * t.height, 0)).toBe(1000 * 700);
  });

  it('gives one tile when the raster fits', () => {
    expect(planTiles(300, 200, 4096)).toEqual([{ index: 0, row: 0, col: 0, x: 0, y: 0, width: 300, height: 200 }]);
  });

  it('has no empty edge tile when the size is a multiple of the tile size', () => {
    expect(planTiles(1024, 512, 512)).toHaveLength(2);
  });

  it('names the bad argument', () => {
    expect(() => planTiles(0, 10, 512)).toThrow(/width/);
    expect(() => planTiles(10, 10, 1.5)).toThrow(/tileSize/);
  });
});
