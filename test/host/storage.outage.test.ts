import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { startAzurite, type RunningAzurite } from '../../host/azurite.js';
import { startHostProcess, startOrchestration, waitForStatus, type HostProcess } from './support/host.process.js';

/**
 * Storage going away mid-run: this test has its own Azurite (stopping the shared one would
 * break other test files), stops it for a few seconds during a fan-out and starts it again on
 * the same ports and data folder.
 */
const location = mkdtempSync(join(tmpdir(), 'host-outage-azurite-'));
let azurite: RunningAzurite | undefined;
let host: HostProcess | undefined;

afterAll(async () => {
  await host?.stop('SIGKILL');
  await azurite?.stop();
  rmSync(location, { recursive: true, force: true });
});

describe('storage outage', () => {
  it('waits for storage to come back, says what it is waiting for, and completes the work', async () => {
    azurite = await startAzurite({ location });
    const ports = azurite.ports;
    host = await startHostProcess({ storage: azurite.connectionString, hub: 'Outage', maxConcurrentActivities: 4, quiet: true });
    const instanceId = await startOrchestration(host.url, 'fanOut', { count: 300, tag: 'outage', delayMs: 20 });
    await waitForStatus(host.url, instanceId, (s) => s['runtimeStatus'] === 'Running');

    await azurite.stop();
    // Storage comes back once the host has noticed it is gone. The log line is the contract here:
    // an operator's only sign that the host is waiting (no API answers about storage it cannot reach).
    await vi.waitFor(() => expect(host!.output()).toMatch(/storage unavailable while (appending history|updating an instance|reading an instance)/), { timeout: 60_000, interval: 100 });
    azurite = await startAzurite({ location, blobPort: ports.blob, queuePort: ports.queue, tablePort: ports.table });

    const status = await waitForStatus(host.url, instanceId, undefined, 120_000);
    expect(status['runtimeStatus']).toBe('Completed');
    expect(status['output']).toEqual({ count: 300, sum: 300 * 299, first: [0, 2, 4] });
  });
});
