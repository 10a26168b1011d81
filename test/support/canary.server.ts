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
  /** The HTTP method, or `TLS` for a TLS handshake sent straight to the canary (an https:// URL naming it). */
  method: string;
  /** The request target as sent: a path, an absolute URL (proxy form), host:port (CONNECT), or the server name a TLS handshake asked for (SNI). */
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
  // An https:// URL naming the canary itself starts with a TLS ClientHello, which the HTTP parser
  // rejects: record it, with the server name it asked for (a case's id in `<id>.localhost`).
  server.on('clientError', (error: Error & { rawPacket?: Buffer }, socket: Duplex) => {
    const packet = error.rawPacket;
    if (packet && packet[0] === 0x16) seen.push({ method: 'TLS', target: serverNameOf(packet) ?? '(no server name)', userAgent: undefined });
    socket.destroy();
  });
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

/** The server name (SNI) of a TLS ClientHello record, or `undefined` (RFC 8446 4.1.2, RFC 6066 3). */
export function serverNameOf(record: Buffer): string | undefined {
  try {
    // Record header (5), handshake header (4), version (2), random (32).
    let at = 5 + 4 + 2 + 32;
    at += 1 + record.readUInt8(at); // session id
    at += 2 + record.readUInt16BE(at); // cipher suites
    at += 1 + record.readUInt8(at); // compression methods
    const end = at + 2 + record.readUInt16BE(at);
    at += 2;
    while (at + 4 <= end) {
      const type = record.readUInt16BE(at);
      const length = record.readUInt16BE(at + 2);
      if (type === 0) {
        // server_name: list length (2), name type (1), name length (2), name.
        const nameLength = record.readUInt16BE(at + 4 + 3);
        return record.toString('latin1', at + 4 + 5, at + 4 + 5 + nameLength);
      }
      at += 4 + length;
    }
  } catch {
    // A record cut short: no name.
  }
  return undefined;
}
