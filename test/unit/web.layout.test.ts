import { describe, expect, it } from 'vitest';
import type { TileEntry } from '../../src/api/contract.js';
import { layoutTileGrid } from '../../web/tile.grid.layout.js';
import { layoutTimeline, timelineTicks } from '../../web/timeline.layout.js';

function tile(index: number, row: number, col: number, fields: Partial<TileEntry> = {}): TileEntry {
  return {
    index, itemId: `src-r${row}-c${col}`, row, col, window: { x: col * 256, y: row * 256, width: 256, height: 256 }, bbox: null,
    state: 'pending', route: 'functions', attempts: 0, error: null, queuedAt: null, startedAt: null, endedAt: null, waitMs: null, workMs: null, reused: false,
    cogUrl: null, itemUrl: null, thumbnailUrl: null, cogHref: null, thumbnailHref: null, ...fields,
  };
}

describe('tile grid layout', () => {
  it('places tiles by row and column and leaves gaps where the ledger has none', () => {
    const grid = layoutTileGrid([tile(0, 0, 0), tile(1, 0, 2), tile(2, 1, 1)]);
    expect(grid.rows).toBe(2);
    expect(grid.cols).toBe(3);
    expect(grid.cells.map((row) => row.map((cell) => cell?.index ?? null))).toEqual([[0, null, 1], [null, 2, null]]);
  });

  it('draws each further variable or time step of a netCDF source as a block of rows below the first, hiding no tile', () => {
    // Two time steps of a 2 × 2 plan: the same rows and columns twice, in plan order.
    const tiles = [0, 1].flatMap((step) => [tile(step * 4, 0, 0), tile(step * 4 + 1, 0, 1), tile(step * 4 + 2, 1, 0), tile(step * 4 + 3, 1, 1)]);
    const grid = layoutTileGrid(tiles);
    expect(grid.rows).toBe(4);
    expect(grid.cells.map((row) => row.map((cell) => cell?.index ?? null))).toEqual([[0, 1], [2, 3], [4, 5], [6, 7]]);
  });

  it('is empty without tiles', () => {
    expect(layoutTileGrid([])).toEqual({ rows: 0, cols: 0, cells: [] });
  });
});

describe('timeline layout', () => {
  const at = (seconds: number): string => new Date(Date.parse('2026-11-30T08:00:00Z') + seconds * 1000).toISOString();
  const now = Date.parse(at(20));

  it('draws started tiles from start to end on one scale, in start order; waiting tiles are counted', () => {
    const layout = layoutTimeline(
      [
        tile(0, 0, 0, { state: 'done', startedAt: at(5), endedAt: at(10) }),
        tile(1, 0, 1, { state: 'failed', startedAt: at(0), endedAt: at(10) }),
        tile(2, 1, 0),
      ],
      now,
    );
    expect(layout.waiting).toBe(1);
    expect(layout.spanMs).toBe(10_000);
    expect(layout.bars.map((bar) => [bar.index, bar.start, bar.width, bar.durationMs, bar.open])).toEqual([
      [1, 0, 1, 10_000, false],
      [0, 0.5, 0.5, 5000, false],
    ]);
  });

  it('runs a tile still at work up to now', () => {
    const layout = layoutTimeline([tile(0, 0, 0, { state: 'creating-cog', startedAt: at(10) }), tile(1, 0, 1, { state: 'done', startedAt: at(0), endedAt: at(4) })], now);
    const open = layout.bars.find((bar) => bar.index === 0)!;
    expect(open.open).toBe(true);
    expect(open.durationMs).toBe(10_000);
    expect(open.start + open.width).toBeCloseTo(1);
  });

  it('keeps a very short tile visible and inside the chart', () => {
    const layout = layoutTimeline([tile(0, 0, 0, { startedAt: at(0), endedAt: at(100) }), tile(1, 0, 1, { startedAt: at(100), endedAt: at(100) })], now);
    const instant = layout.bars.find((bar) => bar.index === 1)!;
    expect(instant.width).toBeGreaterThan(0);
    expect(instant.start + instant.width).toBeLessThanOrEqual(1);
  });

  it('has nothing to draw before any tile starts', () => {
    expect(layoutTimeline([tile(0, 0, 0)], now)).toMatchObject({ bars: [], waiting: 1, reused: 0 });
  });

  it('counts tiles a retry reused apart from those still waiting', () => {
    const layout = layoutTimeline(
      [tile(0, 0, 0, { state: 'done', reused: true }), tile(1, 0, 1, { state: 'done', startedAt: at(0), endedAt: at(2) }), tile(2, 0, 2)],
      now,
    );
    expect(layout).toMatchObject({ waiting: 1, reused: 1 });
    expect(layout.bars.map((bar) => bar.index)).toEqual([1]);
  });

  it('draws the work as the bar and the wait for a slot apart, before it; queued tiles are counted, not drawn', () => {
    const layout = layoutTimeline(
      [
        // 8.9 s queued for an activity slot, then 136 ms of work (measured by the activity).
        tile(0, 0, 0, { state: 'done', queuedAt: at(0), startedAt: at(8.9), endedAt: at(10), waitMs: 8900, workMs: 136 }),
        tile(1, 0, 1, { state: 'creating-cog', queuedAt: at(0), startedAt: at(10) }),
        tile(2, 0, 2, { state: 'queued', queuedAt: at(0) }),
      ],
      now,
    );
    expect(layout).toMatchObject({ waiting: 1, queued: 1, startMs: Date.parse(at(0)), spanMs: 20_000 });
    const [done, running] = layout.bars;
    expect(done).toMatchObject({ index: 0, durationMs: 136, waitMs: 8900, queuedStart: 0, open: false });
    expect(done!.start).toBeCloseTo(8.9 / 20);
    expect(running).toMatchObject({ index: 1, durationMs: 10_000, waitMs: 10_000, queuedStart: 0, open: true });
    // A service that does not tell waiting from working: no wait segment, the bar is start → end.
    expect(layoutTimeline([tile(0, 0, 0, { state: 'done', startedAt: at(0), endedAt: at(4) })], now).bars[0]).toMatchObject({ durationMs: 4000, queuedStart: null, waitMs: null });
  });

  it('picks round ticks, about five over the span', () => {
    expect(timelineTicks(10_000)).toEqual([0, 2000, 4000, 6000, 8000, 10_000]);
    expect(timelineTicks(95_000)).toEqual([0, 30_000, 60_000, 90_000]);
    expect(timelineTicks(0)).toEqual([0]);
  });
});
