/** The dashboard's lists at real volumes: a job's attempts folded into one row, and the tile grid shown a block at a time. */
import { describe, expect, it } from 'vitest';
import type { JobView } from '../../src/api/contract.js';
import { attemptId, firstAttemptId, groupAttempts } from '../../web/jobs.group.js';
import { gridWindows, windowIndexOf } from '../../web/tile.grid.layout.js';

function job(id: string, attempt: number, status = 'Failed'): JobView {
  return {
    id, status, stage: 'failed', route: null, routeReason: null, layout: null, output: null, source: 'uploads/a.tif', collection: 'rasters', batch: null, definitionVersion: null, quarantine: null, tiles: { done: 0, failed: 0, total: 0 },
    itemsRegistered: 0, errors: [], errorCount: 0, attempt, previousAttempt: attempt > 1 ? attemptId(firstAttemptId(id), attempt - 1) : null,
    retry: { offered: false, reason: null }, derived: [], superseded: null,
    createdTime: '2026-11-30T08:00:00Z', lastUpdatedTime: '2026-11-30T08:00:00Z',
  };
}

describe('jobs list: attempts folded', () => {
  it('reads attempt ids as the service writes them, batch jobs included', () => {
    expect(firstAttemptId('ingest-0123abcd-a12')).toBe('ingest-0123abcd');
    expect(firstAttemptId('ingest-bfeed-0-10-a2')).toBe('ingest-bfeed-0-10');
    expect(firstAttemptId('ingest-bfeed-0-10')).toBe('ingest-bfeed-0-10');
    expect(attemptId('ingest-x', 1)).toBe('ingest-x');
    expect(attemptId('ingest-x', 3)).toBe('ingest-x-a3');
  });

  it('shows one row per job, its newest attempt, with the earlier ones under it', () => {
    const groups = groupAttempts([job('ingest-x-a3', 3, 'Completed'), job('ingest-y', 1), job('ingest-x-a2', 2), job('ingest-x', 1)]);
    expect(groups.map((group) => group.latest.id)).toEqual(['ingest-x-a3', 'ingest-y']);
    expect(groups[0]!.earlier.map((entry) => [entry.id, entry.job?.status ?? null])).toEqual([['ingest-x', 'Failed'], ['ingest-x-a2', 'Failed']]);
    expect(groups[1]!.earlier).toEqual([]);
  });

  it('names earlier attempts the page does not list', () => {
    const [group] = groupAttempts([job('ingest-x-a3', 3)]);
    expect(group!.earlier.map((entry) => [entry.id, entry.job])).toEqual([['ingest-x', null], ['ingest-x-a2', null]]);
  });
});

describe('tile grid pages', () => {
  it('cuts a large grid into blocks, row by row, and finds the block of a tile', () => {
    const windows = gridWindows(13, 20, 12, 16);
    expect(windows).toEqual([
      { rowStart: 0, rowEnd: 12, colStart: 0, colEnd: 16 },
      { rowStart: 0, rowEnd: 12, colStart: 16, colEnd: 20 },
      { rowStart: 12, rowEnd: 13, colStart: 0, colEnd: 16 },
      { rowStart: 12, rowEnd: 13, colStart: 16, colEnd: 20 },
    ]);
    expect(windowIndexOf(windows, 12, 17)).toBe(3);
    expect(windowIndexOf(windows, 0, 0)).toBe(0);
  });

  it('keeps a small grid, or a long strip up to the page size, whole', () => {
    expect(gridWindows(3, 4)).toHaveLength(1);
    expect(gridWindows(153, 1)).toHaveLength(13);
    expect(gridWindows(0, 0)).toEqual([{ rowStart: 0, rowEnd: 0, colStart: 0, colEnd: 0 }]);
  });
});
