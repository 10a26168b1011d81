/** The canary counts every kind of request a hostile file can cause: direct, through a proxy, and HTTPS tunnels. */
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startCanaryServer, type CanaryServer } from '../support/canary.server.js';

let canary: CanaryServer | undefined;

afterEach(async () => {
  await canary?.close();
  canary = undefined;
});

/** Sends raw request bytes and resolves with the answer's status line. */
function rawRequest(hostPort: string, request: string): Promise<string> {
  const [host, port] = hostPort.split(':');
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), host!, () => socket.write(request));
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk.toString()));
    socket.on('end', () => resolve(answer.split('\r\n')[0]!));
    socket.on('error', reject);
  });
}

describe('canary server', () => {
  it('starts with nothing seen and listens on loopback only', async () => {
    canary = await startCanaryServer();
    expect(canary.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(canary.requests()).toEqual([]);
    expect(canary.connections()).toBe(0);
  });

  it('answers 404 to a direct request and records its path', async () => {
    canary = await startCanaryServer();
    const response = await fetch(`${canary.baseUrl}/some-case/scene.tif?x=1`, { headers: { 'User-Agent': 'GDAL/3.6.2' } });
    expect(response.status).toBe(404);
    expect(canary.requests()).toEqual([{ method: 'GET', target: '/some-case/scene.tif?x=1', userAgent: 'GDAL/3.6.2' }]);
  });

  it('records a proxied request with its absolute URL and refuses a CONNECT tunnel', async () => {
    canary = await startCanaryServer();
    const proxied = await rawRequest(canary.hostPort, 'GET http://169.254.169.254/metadata/instance HTTP/1.1\r\nHost: 169.254.169.254\r\nConnection: close\r\n\r\n');
    expect(proxied).toContain('404');
    const tunnel = await rawRequest(canary.hostPort, 'CONNECT account.blob.core.windows.net:443 HTTP/1.1\r\nHost: account.blob.core.windows.net:443\r\n\r\n');
    expect(tunnel).toContain('403');
    expect(canary.requests().map((request) => [request.method, request.target])).toEqual([
      ['GET', 'http://169.254.169.254/metadata/instance'],
      ['CONNECT', 'account.blob.core.windows.net:443'],
    ]);
    expect(canary.connections()).toBe(2);
  });
});
