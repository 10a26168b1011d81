import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WorkerSupervisor } from '../../host/worker.process.js';

const folders: string[] = [];
const supervisors: WorkerSupervisor[] = [];

afterEach(async () => {
  for (const supervisor of supervisors.splice(0)) await supervisor.stop();
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

/** A stand-in worker: says who it is and what storage it was given, runs until SIGTERM, says goodbye. */
function fakeWorker(): string {
  const folder = mkdtempSync(join(tmpdir(), 'host-worker-'));
  folders.push(folder);
  const entry = join(folder, 'main.js');
  writeFileSync(
    entry,
    [
      "console.log(`up ${process.pid} storage=${process.env.AzureWebJobsStorage}`);",
      "process.on('SIGTERM', () => { console.log(`bye ${process.pid}`); process.exit(0); });",
      'setInterval(() => undefined, 1000);',
    ].join('\n'),
  );
  return entry;
}

async function waitFor(what: string, predicate: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('the container worker process', () => {
  it('runs with the host\'s storage settings, is restarted with back-off when it dies, and is stopped with the host', async () => {
    const lines: string[] = [];
    const entry = fakeWorker();
    const supervisor = new WorkerSupervisor({
      entry,
      cwd: tmpdir(),
      env: { ...process.env, AzureWebJobsStorage: 'UseDevelopmentStorage=true;fake' },
      log: (line) => lines.push(line),
      restartDelaysMs: { initial: 50, max: 200, healthyAfter: 60_000 },
    });
    supervisors.push(supervisor);
    expect(supervisor.start()).toBe(true);
    await waitFor('the worker to start', () => lines.some((line) => line.startsWith('[worker] up ')));
    const first = supervisor.pid!;
    expect(lines).toContain(`[worker] up ${first} storage=UseDevelopmentStorage=true;fake`);

    // Killed from outside (as by the OOM killer): restarted after a back-off, twice as long the next time.
    process.kill(first, 'SIGKILL');
    const upLines = () => lines.filter((line) => line.startsWith('[worker] up '));
    await waitFor('a second worker', () => upLines().length === 2);
    const second = supervisor.pid!;
    expect(second).not.toBe(first);
    process.kill(second, 'SIGKILL');
    await waitFor('a third worker', () => upLines().length === 3);
    const third = supervisor.pid!;
    expect(lines.filter((line) => line.startsWith('Container worker exited'))).toEqual([
      'Container worker exited (SIGKILL); restarting in 50 ms',
      'Container worker exited (SIGKILL); restarting in 100 ms',
    ]);
    expect(supervisor.startCount).toBe(3);

    // Stopping sends SIGTERM, waits for it to end, and restarts nothing.
    await supervisor.stop();
    expect(lines).toContain(`[worker] bye ${third}`);
    expect(isRunning(third)).toBe(false);
    expect(supervisor.startCount).toBe(3);
    expect(supervisor.pid).toBeUndefined();
  });

  it('is skipped with a clear line when the worker is not built', () => {
    const lines: string[] = [];
    const supervisor = new WorkerSupervisor({ entry: join(tmpdir(), 'no-such-worker', 'main.js'), cwd: tmpdir(), env: process.env, log: (line) => lines.push(line) });
    expect(supervisor.start()).toBe(false);
    expect(lines).toEqual(['Container worker: dist/worker/main.js not found (the worker is not built yet); running without a worker (work queued for it waits until one runs).']);
    expect(supervisor.pid).toBeUndefined();
  });
});
