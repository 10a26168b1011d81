import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startHost, type RunningHost } from '../../host/host.js';
import { fixtureApp, startOrchestration, waitForEntityState, waitForStatus } from './support/host.process.js';

/** The programmatic entry point the demo and e2e tests use: startHost() in this process. */
let host: RunningHost;
const lines: string[] = [];

beforeAll(async () => {
  process.env['AzureWebJobsStorage'] = inject('storageConnectionString');
  host = await startHost({ appRoot: fixtureApp, port: 0, hubName: `InProc${Date.now() % 1e8}`, blobPollIntervalMs: 0, log: (line) => lines.push(line) });
});

afterAll(async () => {
  await host?.stop();
});

describe('startHost()', () => {
  it('serves the app and runs orchestrations in-process, and sets WEBSITE_HOSTNAME to its port', async () => {
    expect(host.url).toMatch(/^http:\/\/localhost:\d+$/);
    expect(process.env['WEBSITE_HOSTNAME']).toBe(`localhost:${host.port}`);
    const id = await startOrchestration(host.url, 'sequence', 'in-process');
    const status = await waitForStatus(host.url, id);
    expect(status['output']).toEqual(['Hello Tokyo', 'Hello Seattle', 'in-process']);
    expect(lines.some((line) => line.startsWith("Executed 'Functions.hello' (Succeeded"))).toBe(true);
  });

  it('keeps an entity critical section across a restart: others still wait, and the owner releases it', async () => {
    const key = `lock-restart-${Date.now()}`;
    const id = await startOrchestration(host.url, 'lockHold', key);
    await waitForStatus(host.url, id, (s) => s['customStatus'] === 'locked');
    await host.stop();
    host = await startHost({ appRoot: fixtureApp, port: 0, hubName: host.hubName, blobPollIntervalMs: 0, log: (line) => lines.push(line) });
    expect((await fetch(`${host.url}/runtime/webhooks/durabletask/entities/journal/${key}?op=append`, { method: 'POST', body: '"outsider"' })).status).toBe(202);
    expect((await fetch(`${host.url}/runtime/webhooks/durabletask/instances/${id}/raiseEvent/go`, { method: 'POST', body: 'true' })).status).toBe(202);
    expect((await waitForStatus(host.url, id))['output']).toEqual({ held: 2, value: 0, lockedAfter: false });
    expect(await waitForEntityState(host.url, 'journal', key, (entries) => Array.isArray(entries) && entries.length === 3)).toEqual(['owner', 'outsider', 'owner again']);
  });

  it('keeps a long durable timer across a restart of the host and still reacts to the event it races', async () => {
    const tenDays = 10 * 24 * 3600 * 1000;
    const id = await startOrchestration(host.url, 'eventRace', { timeoutMs: tenDays });
    await waitForStatus(host.url, id, (s) => s['customStatus'] === 'waiting for approval');
    const history = await (await fetch(`${host.url}/runtime/webhooks/durabletask/instances/${id}?showHistory=true`)).json() as { historyEvents: unknown[] };
    expect(history.historyEvents).toHaveLength(1);
    await host.stop();
    host = await startHost({ appRoot: fixtureApp, port: 0, hubName: host.hubName, blobPollIntervalMs: 0, log: (line) => lines.push(line) });
    expect(lines.some((line) => line.includes('Resumed') && line.includes('unfinished orchestration'))).toBe(true);
    expect((await fetch(`${host.url}/runtime/webhooks/durabletask/instances/${id}/raiseEvent/approve`, { method: 'POST', body: '"late"' })).status).toBe(202);
    const status = await waitForStatus(host.url, id);
    expect(status['output']).toEqual({ outcome: 'approved', by: 'late' });
  });
});
