import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { folderBytes, median, spreadOfMs, spreadOfRatios, summarizeTime, workerPidFrom } from '../../bench/bench.support.js';

describe('bench statistics', () => {
  it('takes the median of odd and even series', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('prints a median with the min–max of the rounds', () => {
    expect(spreadOfMs([12, 10, 30])).toBe('12 ms (10–30)');
    expect(spreadOfRatios([1.2, 0.9, 1.1])).toBe('1.10 (0.90–1.20)');
  });
});

describe('where the time went', () => {
  const hostLog = [
    "[t] Executed 'Functions.createTileCog' (Succeeded, InstanceId=a-tile-000000, TaskId=0, Duration=3000ms)",
    "[t] Executed 'Functions.createTileCog' (Succeeded, InstanceId=a-tile-000001, TaskId=0, Duration=1000ms)",
    "[t] Executed 'Functions.validateRaster' (Succeeded, InstanceId=a, TaskId=0, Duration=200ms)",
    '[t] Container worker started (pid 4242): node dist/worker/main.js',
    '[t] [worker] 2026-01-01T00:00:00Z w-1: tile a-tile-000002 completed: cogs/x.tif [2.5 s]',
  ].join('\n');

  it('sums the host invocations and the worker tiles by name, largest first', () => {
    const lines = summarizeTime([hostLog]);
    expect(lines[0]).toMatch(/createTileCog\s+2 calls\s+4\.0 s total\s+3\.0 s longest/);
    expect(lines[1]).toMatch(/worker tile\s+1 calls\s+2\.5 s total/);
    expect(lines[2]).toMatch(/validateRaster\s+1 calls\s+0\.2 s total/);
  });

  it("finds the worker's process id in the host's output", () => {
    expect(workerPidFrom(hostLog)).toBe(4242);
    expect(workerPidFrom('no worker here')).toBeUndefined();
  });
});

describe('scratch size', () => {
  let directory: string | undefined;
  afterEach(() => {
    if (directory) rmSync(directory, { recursive: true, force: true });
  });

  it('adds up the files of nested folders, and a missing folder is empty', () => {
    directory = mkdtempSync(join(tmpdir(), 'bench-support-'));
    mkdirSync(join(directory, 'sources'));
    writeFileSync(join(directory, 'a.bin'), Buffer.alloc(100));
    writeFileSync(join(directory, 'sources', 'b.bin'), Buffer.alloc(250));
    expect(folderBytes(directory)).toBe(350);
    expect(folderBytes(join(directory, 'missing'))).toBe(0);
  });
});
