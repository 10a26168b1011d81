/**
 * Geometry of the tile timeline (a Gantt chart of start → end per tile), kept apart from the SVG
 * that draws it. A tile's bar is its work; the time it waited for an activity slot or the worker
 * before it (when the service tells) is a segment of its own, never part of the bar.
 */
import type { TileEntry } from '../src/api/contract.js';

export interface TimelineBar {
  itemId: string;
  index: number;
  state: string;
  /** 0..1 of the chart's width: where the work started, and how wide it is. */
  start: number;
  width: number;
  /** The work: as measured by whoever did it once the tile ended (when known), else start → end (now). */
  durationMs: number;
  /** Where its wait for a slot or the worker began (0..1; the wait runs to `start`), `null` when not told. */
  queuedStart: number | null;
  /** That wait, summed over its steps when the service says, else queued → started. */
  waitMs: number | null;
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
  /** Of those, the ones queued for an activity slot or the worker (the rest have not asked yet). */
  queued: number;
  /** Tiles a retry took over from the previous attempt: never run in this one. */
  reused: number;
}

/** Bars never shrink below this share of the width, so a 5 ms tile is still visible. */
const minimumWidth = 0.004;

export function layoutTimeline(tiles: readonly TileEntry[], nowMs: number): TimelineLayout {
  const reused = tiles.filter((tile) => tile.reused && !tile.startedAt).length;
  const queued = tiles.filter((tile) => !tile.startedAt && tile.state === 'queued').length;
  const started = tiles
    .map((tile) => ({
      tile,
      start: tile.startedAt ? Date.parse(tile.startedAt) : NaN,
      end: tile.endedAt ? Date.parse(tile.endedAt) : NaN,
      queued: tile.queuedAt ? Date.parse(tile.queuedAt) : NaN,
    }))
    .filter((entry) => Number.isFinite(entry.start));
  if (started.length === 0) return { bars: [], startMs: nowMs, spanMs: 0, waiting: tiles.length - reused, queued, reused };
  const ends = started.map((entry) => (Number.isFinite(entry.end) ? entry.end : Math.max(nowMs, entry.start)));
  // The chart begins with the first wait, so every wait is drawn in full.
  const startMs = Math.min(...started.map((entry) => (Number.isFinite(entry.queued) ? Math.min(entry.queued, entry.start) : entry.start)));
  const endMs = Math.max(...ends);
  // A span of zero (one instant tile) still draws: one millisecond wide.
  const spanMs = Math.max(endMs - startMs, 1);
  const bars = started
    .map((entry, i): TimelineBar => {
      const end = ends[i]!;
      const ended = Number.isFinite(entry.end);
      const waited = Number.isFinite(entry.queued);
      return {
        itemId: entry.tile.itemId,
        index: entry.tile.index,
        state: entry.tile.state,
        start: (entry.start - startMs) / spanMs,
        width: Math.max((end - entry.start) / spanMs, minimumWidth),
        durationMs: ended && typeof entry.tile.workMs === 'number' ? entry.tile.workMs : Math.max(0, end - entry.start),
        queuedStart: waited ? (Math.min(entry.queued, entry.start) - startMs) / spanMs : null,
        waitMs: typeof entry.tile.waitMs === 'number' ? entry.tile.waitMs : waited ? Math.max(0, entry.start - entry.queued) : null,
        open: !ended,
      };
    })
    .sort((a, b) => a.start - b.start || a.index - b.index);
  // A minimum-width bar at the very end stays inside the chart.
  for (const bar of bars) if (bar.start + bar.width > 1) bar.start = Math.max(0, 1 - bar.width);
  return { bars, startMs, spanMs, waiting: tiles.length - started.length - reused, queued, reused };
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
