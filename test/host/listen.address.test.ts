import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { startHost, type RunningHost } from '../../host/host.js';
import { fixtureApp, startHostProcess, type HostProcess } from './support/host.process.js';

/** The local host's job API has no keys: it listens on loopback unless told otherwise (issue 8). */

/** An IPv4 address of this machine that is not loopback, if it has one. */
const externalAddress = Object.values(networkInterfaces())
  .flat()
  .find((entry) => entry !== undefined && entry.family === 'IPv4' && !entry.internal)?.address;

/** Opens a TCP connection and reports whether it was accepted, or the error code. */
function tryConnect(host: string, port: number): Promise<string> {
  return new Promise((resolveAttempt) => {
    const socket = connect({ host, port });
    socket.setTimeout(5000, () => {
      socket.destroy();
      resolveAttempt('timeout');
    });
    socket.once('connect', () => {
      socket.destroy();
      resolveAttempt('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolveAttempt(error.code ?? error.message));
  });
}

const running: Array<RunningHost | HostProcess> = [];
afterAll(async () => {
  for (const host of running) await host.stop();
});

describe('listen address', () => {
  it('is 127.0.0.1 by default: loopback answers, another interface of this machine is refused', async () => {
    process.env['AzureWebJobsStorage'] = inject('storageConnectionString');
    delete process.env['HOST_LISTEN_ADDRESS'];
    const lines: string[] = [];
    const host = await startHost({ appRoot: fixtureApp, port: 0, hubName: `Listen${Date.now() % 1e8}`, blobPollIntervalMs: 0, log: (line) => lines.push(line) });
    running.push(host);
    expect(host.listenAddress).toBe('127.0.0.1');
    expect((await fetch(`http://127.0.0.1:${host.port}/runtime/webhooks/durabletask/instances?top=1`)).status).toBe(200);
    if (externalAddress) expect(await tryConnect(externalAddress, host.port)).toBe('ECONNREFUSED');
    expect(lines.some((line) => line.includes('WARNING'))).toBe(false);
  });

  it('is widened by --listen 0.0.0.0, with a warning that the API has no keys', async (context) => {
    const host = await startHostProcess({ storage: inject('storageConnectionString'), hub: `ListenWide${Date.now() % 1e8}`, args: ['--listen', '0.0.0.0'] });
    running.push(host);
    expect(host.output()).toMatch(/WARNING: listening on 0\.0\.0\.0, reachable from other machines.*no function keys/);
    if (!externalAddress) return context.skip('this machine has no non-loopback IPv4 interface to connect through');
    const port = Number(new URL(host.url).port);
    const response = await fetch(`http://${externalAddress}:${port}/runtime/webhooks/durabletask/instances?top=1`);
    expect(response.status).toBe(200);
  });

  it('refuses an address that is not an IP address, naming the setting', async () => {
    await expect(startHost({ appRoot: fixtureApp, port: 0, listenAddress: 'example.org', blobPollIntervalMs: 0, log: () => undefined })).rejects.toThrow(/HOST_LISTEN_ADDRESS/);
  });
});
