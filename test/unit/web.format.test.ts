import { describe, expect, it } from 'vitest';
import { countByState, formatAge, formatDuration, formatTime, isFinished, tileDurationMs, tileStateClass, tileStateLabel, tileStateMark, tileStates, tileWaitMs } from '../../web/tile.format.js';

describe('dashboard wording', () => {
  it('gives every tile state a word and a mark of its own, so no state is told by colour alone', () => {
    const labels = tileStates.map(tileStateLabel);
    expect(new Set(labels).size).toBe(tileStates.length);
    expect(tileStateLabel('creating-cog')).toBe('Creating COG');
    expect(tileStateMark('done')).not.toBe(tileStateMark('failed'));
    expect(tileStateMark('pending')).not.toBe(tileStateMark('done'));
  });

  it('shows a state it does not know by its own name, with a neutral class', () => {
    expect(tileStateLabel('paused')).toBe('paused');
    expect(tileStateMark('paused')).toBe('?');
    expect(tileStateClass('paused')).toBe('unknown');
    expect(tileStateClass('<img>')).toBe('unknown');
    expect(tileStateClass('failed')).toBe('failed');
  });

  it('counts tiles per state in the lifecycle order, unknown states last', () => {
    const tiles = ['done', 'failed', 'done', 'paused', 'pending', 'creating-cog'].map((state) => ({ state }));
    expect(countByState(tiles)).toEqual([
      { state: 'pending', count: 1 },
      { state: 'creating-cog', count: 1 },
      { state: 'done', count: 2 },
      { state: 'failed', count: 1 },
      { state: 'paused', count: 1 },
    ]);
  });

  it('formats durations for people', () => {
    expect(formatDuration(850)).toBe('850 ms');
    expect(formatDuration(12_400)).toBe('12.4 s');
    expect(formatDuration(185_000)).toBe('3 min 05 s');
    expect(formatDuration(7_620_000)).toBe('2 h 07 min');
    expect(formatDuration(-1)).toBe('–');
  });

  it('measures a tile from start to end, or to now while it runs', () => {
    const now = Date.parse('2026-11-30T08:00:10Z');
    expect(tileDurationMs({ startedAt: '2026-11-30T08:00:00Z', endedAt: '2026-11-30T08:00:04.5Z', workMs: null }, now)).toBe(4500);
    expect(tileDurationMs({ startedAt: '2026-11-30T08:00:00Z', endedAt: null, workMs: null }, now)).toBe(10_000);
    expect(tileDurationMs({ startedAt: null, endedAt: null, workMs: null }, now)).toBeNull();
  });

  it('measures the work without the wait for a slot, and the wait on its own', () => {
    const now = Date.parse('2026-11-30T08:00:10Z');
    expect(tileDurationMs({ startedAt: '2026-11-30T08:00:08.9Z', endedAt: '2026-11-30T08:00:09.1Z', workMs: 136 }, now)).toBe(136);
    expect(tileWaitMs({ queuedAt: '2026-11-30T08:00:00Z', startedAt: '2026-11-30T08:00:08.9Z', waitMs: 8900 }, now)).toBe(8900);
    expect(tileWaitMs({ queuedAt: '2026-11-30T08:00:00Z', startedAt: null, waitMs: null }, now)).toBe(10_000);
    expect(tileWaitMs({ queuedAt: null, startedAt: '2026-11-30T08:00:00Z', waitMs: null }, now)).toBeNull();
  });

  it('writes times in UTC, one way, and ages relative to now', () => {
    expect(formatTime('2026-11-30T07:41:05.123Z')).toBe('2026-11-30 07:41:05 UTC');
    expect(formatTime(null)).toBe('–');
    expect(formatTime('not a time')).toBe('–');
    const now = Date.parse('2026-11-30T12:00:00Z');
    expect(formatAge('2026-11-30T11:59:23Z', now)).toBe('37 s ago');
    expect(formatAge('2026-11-30T11:55:00Z', now)).toBe('5 min ago');
    expect(formatAge('2026-11-30T09:00:00Z', now)).toBe('3 h ago');
    expect(formatAge('2026-11-28T12:00:00Z', now)).toBe('2 d ago');
  });

  it('knows which job statuses are final', () => {
    expect(['Completed', 'Failed', 'Terminated'].every(isFinished)).toBe(true);
    expect(['Pending', 'Running', 'Suspended'].some(isFinished)).toBe(false);
  });
});
