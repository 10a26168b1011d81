/**
 * A canary HTTP server on loopback: it answers every request with 404 and records it, so a test
 * can prove that nothing the service did on an uploader's say-so reached the network. Hostile
 * files name it as their URL target, and the host's GDAL is pointed at it as its HTTP proxy
 * (`GDAL_HTTP_PROXY`), so a request GDAL makes to any other address (an instance metadata
 * endpoint, a public storage account) lands here too, as a proxy request or a CONNECT.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';

export interface CanaryRequest {
  method: string;
  /** The request target as sent: a path, an absolute URL (proxy form) or host:port (CONNECT). */
  target: string;
  userAgent: string | undefined;
}

export interface CanaryServer {
  /** `http://127.0.0.1:<port>` */
  baseUrl: string;
  /** `127.0.0.1:<port>`, for proxy settings. */
  hostPort: string;
  /** Every request seen so far, in arrival order. */
  requests(): readonly CanaryRequest[];
  /** Every connection accepted so far, even one that never sent a complete request. */
  connections(): number;
  close(): Promise<void>;
}

export async function startCanaryServer(): Promise<CanaryServer> {
  const seen: CanaryRequest[] = [];
  let connections = 0;
  const record = (request: IncomingMessage): void => {
    seen.push({ method: request.method ?? '?', target: request.url ?? '', userAgent: request.headers['user-agent'] });
  };
  const server: Server = createServer((request, response) => {
    record(request);
    request.resume();
    response.writeHead(404, { 'Content-Type': 'text/plain', Connection: 'close' });
    response.end('canary: this request should never have been made\n');
  });
  server.on('connection', () => connections++);
  // HTTPS through a proxy starts with CONNECT; refuse the tunnel, but count the attempt.
  server.on('connect', (request: IncomingMessage, socket: Duplex) => {
    record(request);
    socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('canary server has no TCP address');
  const hostPort = `127.0.0.1:${address.port}`;
  return {
    baseUrl: `http://${hostPort}`,
    hostPort,
    requests: () => [...seen],
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
