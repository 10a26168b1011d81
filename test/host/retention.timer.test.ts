import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { TaskHubStore } from '../../host/storage/task.hub.store.js';
import { projectRoot, startHostProcess, startOrchestration, waitForStatus, type HostProcess } from './support/host.process.js';

/**
 * The app's retention timer (src/functions/retention.timer.ts, compiled here) on the local host,
 * next to the fixture orchestrations: finished instances older than DURABLE_RETENTION_DAYS go,
 * running ones and recent ones stay.
 */
const timerApp = join(projectRoot, 'test/host/fixtures/timer-app');
const buildDir = join(projectRoot, 'test-results/retention-build');
const retentionModule = join(buildDir, 'src/functions/retention.timer.js');
const dayMs = 24 * 3600 * 1000;

beforeAll(() => {
  rmSync(buildDir, { recursive: true, force: true });
  const result = spawnSync(
    process.execPath,
    [
      join(projectRoot, 'node_modules/typescript/bin/tsc'),
      '--outDir', buildDir, '--rootDir', projectRoot, '--module', 'NodeNext', '--moduleResolution', 'NodeNext',
      '--target', 'ES2022', '--lib', 'ES2023', '--types', 'node', '--skipLibCheck', '--strict', join(projectRoot, 'src/functions/retention.timer.ts'),
    ],
    { encoding: 'utf8' },
  );
  if (!existsSync(retentionModule)) throw new Error(`Compiling the retention timer failed:\n${result.stdout}\n${result.stderr}`);
});

let host: HostProcess | undefined;
afterAll(async () => {
  await host?.stop();
});

describe('retention timer on the local host', () => {
  it('purges finished instances older than DURABLE_RETENTION_DAYS and keeps running and recent ones', async () => {
    const storage = inject('storageConnectionString');
    const hub = `Retention${Date.now() % 1e8}`;
    const env = { TICK_SCHEDULE: '0 0 0 1 Jan *', RETENTION_TIMER_MODULE: retentionModule, DURABLE_RETENTION_DAYS: '30' };
    host = await startHostProcess({ storage, hub, appRoot: timerApp, env: { ...env, DURABLE_RETENTION_SCHEDULE: '0 0 0 1 Jan *' } });
    expect(host.output()).toContain('purgeExpiredInstances: timerTrigger (0 0 0 1 Jan *)');
    const ids = { oldCompleted: 'old-completed', oldFailed: 'old-failed', oldTerminated: 'old-terminated', oldRunning: 'old-running', recentCompleted: 'recent-completed' };
    await startOrchestration(host.url, 'sequence', 'old', ids.oldCompleted);
    await startOrchestration(host.url, 'hugeStatus', undefined, ids.oldFailed);
    await startOrchestration(host.url, 'waitForever', undefined, ids.oldTerminated);
    await startOrchestration(host.url, 'waitForever', undefined, ids.oldRunning);
    await startOrchestration(host.url, 'sequence', 'recent', ids.recentCompleted);
    await waitForStatus(host.url, ids.oldTerminated, (s) => s['runtimeStatus'] === 'Running');
    expect((await fetch(`${host.url}/runtime/webhooks/durabletask/instances/${ids.oldTerminated}/terminate?reason=test`, { method: 'POST' })).status).toBe(202);
    const expected = { oldCompleted: 'Completed', oldFailed: 'Failed', oldTerminated: 'Terminated', recentCompleted: 'Completed' } as const;
    for (const [key, status] of Object.entries(expected)) expect((await waitForStatus(host.url, ids[key as keyof typeof ids]))['runtimeStatus']).toBe(status);
    await waitForStatus(host.url, ids.oldRunning, (s) => s['runtimeStatus'] === 'Running');
    await host.stop();

    // Forty days pass for the "old" instances.
    const store = new TaskHubStore(storage, hub);
    for (const id of [ids.oldCompleted, ids.oldFailed, ids.oldTerminated, ids.oldRunning]) {
      const record = (await store.getInstance(id))!;
      expect(await store.replaceInstance({ ...record, createdTime: new Date(record.createdTime.getTime() - 40 * dayMs) }, record.etag)).toBe(true);
    }

    host = await startHostProcess({ storage, hub, appRoot: timerApp, env: { ...env, DURABLE_RETENTION_SCHEDULE: '*/1 * * * * *' } });
    const statusOf = async (id: string): Promise<number | string> => {
      const response = await fetch(`${host!.url}/runtime/webhooks/durabletask/instances/${id}`);
      return response.status === 200 || response.status === 202 ? String(((await response.json()) as { runtimeStatus: string }).runtimeStatus) : response.status;
    };
    // The old finished instances are gone once the timer has run.
    await expect.poll(() => Promise.all([ids.oldCompleted, ids.oldFailed, ids.oldTerminated].map(statusOf)), { timeout: 20_000, interval: 100 }).toEqual([404, 404, 404]);
    // The same run deletes the outputs whose grace period after their replacement has passed. None
    // here, so nothing in storage changes: its log line is the only sign that this pass ran.
    await vi.waitFor(() => expect(host!.output()).toMatch(/Retention: deleted 0 replaced output version\(s\) past their 24 h grace period/), { timeout: 20_000, interval: 100 });
    expect(await statusOf(ids.oldRunning)).toBe('Running');
    expect(await statusOf(ids.recentCompleted)).toBe('Completed');
    expect(await store.getInstance(ids.oldCompleted)).toBeUndefined();
    // The running instance is intact: it still finishes.
    for (let i = 0; i < 2; i++) await fetch(`${host.url}/runtime/webhooks/durabletask/instances/${ids.oldRunning}/raiseEvent/go`, { method: 'POST', body: JSON.stringify(i) });
    expect((await waitForStatus(host.url, ids.oldRunning))['output']).toEqual([0, 1]);
  });
});
