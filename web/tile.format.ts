/** Words for states, durations and times: every colour on the page has a text beside it. */
import type { JobView, TileEntry, TileState } from '../src/api/contract.js';

export const tileStates: readonly TileState[] = ['pending', 'queued', 'running', 'creating-cog', 'registering', 'done', 'failed'];

const tileStateLabels: Record<TileState, string> = {
  pending: 'Pending',
  queued: 'Queued',
  running: 'Running',
  'creating-cog': 'Creating COG',
  registering: 'Registering',
  done: 'Done',
  failed: 'Failed',
};

/** A short mark shown in each grid cell, so states differ without colour. */
const tileStateMarks: Record<TileState, string> = {
  pending: '·',
  queued: '…',
  running: '▶',
  'creating-cog': '▶',
  registering: '▶',
  done: '✓',
  failed: '✗',
};

function isKnownState(state: string): state is TileState {
  return (tileStates as readonly string[]).includes(state);
}

export function tileStateLabel(state: string): string {
  return isKnownState(state) ? tileStateLabels[state] : state;
}

export function tileStateMark(state: string): string {
  return isKnownState(state) ? tileStateMarks[state] : '?';
}

/** CSS class suffix of a state: known states only, anything else is `unknown`. */
export function tileStateClass(state: string): string {
  return isKnownState(state) ? state : 'unknown';
}

export const terminalJobStatuses: readonly string[] = ['Completed', 'Failed', 'Terminated', 'Canceled', 'Quarantined', 'Rejected'];

export function isFinished(status: string): boolean {
  return terminalJobStatuses.includes(status);
}

/** A tile still being worked on. */
export function isActive(state: string): boolean {
  return state === 'running' || state === 'creating-cog' || state === 'registering';
}

/** Tiles per state, in the order of `tileStates` (unknown states last), only states that occur. */
export function countByState(tiles: readonly { state: string }[]): Array<{ state: string; count: number }> {
  const counts = new Map<string, number>();
  for (const tile of tiles) counts.set(tile.state, (counts.get(tile.state) ?? 0) + 1);
  const known = tileStates.filter((state) => counts.has(state)).map((state) => ({ state: String(state), count: counts.get(state)! }));
  const unknown = [...counts].filter(([state]) => !isKnownState(state)).map(([state, count]) => ({ state, count }));
  return [...known, ...unknown];
}

/**
 * Tiles done, failed and in all, as the job page's header shows them: counted from the ledger the
 * legend and the grid show (one poll, one set of tiles, so they always agree) once it holds every
 * tile, else from the job view (before the tiles are planned). Done and failed count in any order.
 */
export function summarizeTiles(job: Pick<JobView, 'tiles'>, tiles: readonly Pick<TileEntry, 'state'>[]): { done: number; failed: number; total: number } {
  if (tiles.length === 0 || tiles.length !== job.tiles.total) return { ...job.tiles };
  return {
    done: tiles.filter((tile) => tile.state === 'done').length,
    failed: tiles.filter((tile) => tile.state === 'failed').length,
    total: tiles.length,
  };
}

/** `3 done, 0 failed, 4 in all`: the header's words for `summarizeTiles`. */
export function formatTileSummary(counts: { done: number; failed: number; total: number }): string {
  return `${counts.done} done, ${counts.failed} failed, ${counts.total} in all`;
}

/** `850 ms`, `12.4 s`, `3 min 05 s`, `2 h 07 min`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const totalSeconds = Math.round(seconds);
  const minutes = Math.floor(totalSeconds / 60);
  if (minutes < 60) return `${minutes} min ${String(totalSeconds % 60).padStart(2, '0')} s`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} min`;
}

/** How long a tile worked (as measured by whoever did the work, when known), or has so far while it runs; the wait for a slot is not in it. */
export function tileDurationMs(tile: Pick<TileEntry, 'startedAt' | 'endedAt' | 'workMs'>, nowMs: number): number | null {
  if (tile.endedAt && typeof tile.workMs === 'number') return tile.workMs;
  if (!tile.startedAt) return null;
  const start = Date.parse(tile.startedAt);
  const end = tile.endedAt ? Date.parse(tile.endedAt) : nowMs;
  return Number.isFinite(start) && Number.isFinite(end) ? Math.max(0, end - start) : null;
}

/** How long a tile waited for an activity slot or the worker, or has so far while queued; `null` where the service does not say. */
export function tileWaitMs(tile: Pick<TileEntry, 'queuedAt' | 'startedAt' | 'waitMs'>, nowMs: number): number | null {
  if (typeof tile.waitMs === 'number') return tile.waitMs;
  if (!tile.queuedAt) return null;
  const queued = Date.parse(tile.queuedAt);
  const end = tile.startedAt ? Date.parse(tile.startedAt) : nowMs;
  return Number.isFinite(queued) && Number.isFinite(end) ? Math.max(0, end - queued) : null;
}

/** `2026-11-30 07:41:05 UTC`: one unambiguous form for every time on the page. */
export function formatTime(iso: string | null): string {
  if (!iso) return '–';
  const time = new Date(iso);
  if (Number.isNaN(time.getTime())) return '–';
  return `${time.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** `37 s ago`, `5 min ago`, `3 h ago`, `2 d ago`. */
export function formatAge(iso: string, nowMs: number): string {
  const ms = nowMs - Date.parse(iso);
  if (!Number.isFinite(ms)) return '–';
  if (ms < 60_000) return `${Math.max(0, Math.round(ms / 1000))} s ago`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} min ago`;
  if (ms < 86_400_000) return `${Math.round(ms / 3_600_000)} h ago`;
  return `${Math.round(ms / 86_400_000)} d ago`;
}
