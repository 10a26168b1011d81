/** Geometry of the tile timeline (a Gantt chart of start → end per tile), kept apart from the SVG that draws it. */
import type { TileEntry } from './api.types.js';

export interface TimelineBar {
  itemId: string;
  index: number;
  state: string;
  /** 0..1 of the chart's width. */
  start: number;
  width: number;
  durationMs: number;
  /** Still running: the bar ends at "now". */
  open: boolean;
}

export interface TimelineLayout {
  /** The tiles that have started, ordered by start time, then index. */
  bars: TimelineBar[];
  startMs: number;
  spanMs: number;
  /** Tiles not started yet. */
  waiting: number;
  /** Tiles a retry took over from the previous attempt: never run in this one. */
  reused: number;
}

/** Bars never shrink below this share of the width, so a 5 ms tile is still visible. */
const minimumWidth = 0.004;

export function layoutTimeline(tiles: readonly TileEntry[], nowMs: number): TimelineLayout {
  const reused = tiles.filter((tile) => tile.reused && !tile.startedAt).length;
  const started = tiles
    .map((tile) => ({ tile, start: tile.startedAt ? Date.parse(tile.startedAt) : NaN, end: tile.endedAt ? Date.parse(tile.endedAt) : NaN }))
    .filter((entry) => Number.isFinite(entry.start));
  if (started.length === 0) return { bars: [], startMs: nowMs, spanMs: 0, waiting: tiles.length - reused, reused };
  const ends = started.map((entry) => (Number.isFinite(entry.end) ? entry.end : Math.max(nowMs, entry.start)));
  const startMs = Math.min(...started.map((entry) => entry.start));
  const endMs = Math.max(...ends);
  // A span of zero (one instant tile) still draws: one millisecond wide.
  const spanMs = Math.max(endMs - startMs, 1);
  const bars = started
    .map((entry, i) => {
      const end = ends[i]!;
      return {
        itemId: entry.tile.itemId,
        index: entry.tile.index,
        state: entry.tile.state,
        start: (entry.start - startMs) / spanMs,
        width: Math.max((end - entry.start) / spanMs, minimumWidth),
        durationMs: Math.max(0, end - entry.start),
        open: !Number.isFinite(entry.end),
      };
    })
    .sort((a, b) => a.start - b.start || a.index - b.index);
  // A minimum-width bar at the very end stays inside the chart.
  for (const bar of bars) if (bar.start + bar.width > 1) bar.start = Math.max(0, 1 - bar.width);
  return { bars, startMs, spanMs, waiting: tiles.length - started.length - reused, reused };
}

/** Round tick steps for the time axis: about `count` ticks over the span. */
export function timelineTicks(spanMs: number, count = 5): number[] {
  if (spanMs <= 0) return [0];
  const steps = [100, 250, 500, 1000, 2000, 5000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000, 1_800_000, 3_600_000, 7_200_000, 21_600_000, 43_200_000, 86_400_000];
  const step = steps.find((candidate) => spanMs / candidate <= count) ?? steps.at(-1)!;
  const ticks: number[] = [];
  for (let t = 0; t <= spanMs; t += step) ticks.push(t);
  return ticks;
}
