/**
 * Read-only access to the `cogs` container for browsers (the dashboard draws COGs, thumbnails and
 * VRTs from it): `GET /api/cogs/<blob path>` with HTTP Range support, behind the same keys as the
 * job API, so the container itself stays private and needs no CORS rule or SAS.
 */
import { type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { containers } from '../config.js';
import { findBlobNameProblem } from '../pipeline/source.path.js';
import { resolveRange } from '../storage/byte.range.js';
import { getBlobStore } from './shared.store.js';
import { httpRoute } from './http.access.js';

/**
 * The Functions host buffers response bodies, so one answer is capped; COG readers ask for small
 * ranges (headers, then tiles), and a whole thumbnail or VRT is far below this.
 */
export const maxCogsResponseBytes = 64 * 1024 * 1024;

function problem(status: number, title: string, detail: string, headers: Record<string, string> = {}): HttpResponseInit {
  return { status, jsonBody: { title, status, detail }, headers: { 'Content-Type': 'application/problem+json', ...headers } };
}

export async function readCogsBlobHandler(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const name = request.params['path'] ?? '';
  if (findBlobNameProblem(name)) return problem(404, 'Not found', 'No such blob');
  const store = getBlobStore();
  const ref = { container: containers.cogs, name };
  try {
    const stat = await store.stat(ref);
    if (!stat) return problem(404, 'Not found', 'No such blob');
    const headers: Record<string, string> = {
      'Accept-Ranges': 'bytes',
      'Content-Type': stat.contentType ?? 'application/octet-stream',
      ETag: stat.etag,
      'Cache-Control': 'private, max-age=60',
    };
    const range = resolveRange(request.headers.get('range'), stat.size);
    if (range.kind === 'unsatisfiable') return problem(416, 'Range not satisfiable', `The blob has ${stat.size} bytes`, { 'Content-Range': `bytes */${stat.size}` });
    if (range.kind === 'whole') {
      if (stat.size > maxCogsResponseBytes) return problem(416, 'Too large for one answer', `Read it with Range requests of at most ${maxCogsResponseBytes} bytes`, { 'Accept-Ranges': 'bytes' });
      return { status: 200, headers, body: await store.readRange(ref, 0, stat.size || undefined) };
    }
    const length = range.end - range.start + 1;
    if (length > maxCogsResponseBytes) return problem(416, 'Range too large', `Ask for at most ${maxCogsResponseBytes} bytes at a time`, { 'Content-Range': `bytes */${stat.size}` });
    return {
      status: 206,
      headers: { ...headers, 'Content-Range': `bytes ${range.start}-${range.end}/${stat.size}` },
      body: await store.readRange(ref, range.start, length),
    };
  } catch (error) {
    context.error(`GET cogs/${name} failed`, error);
    return problem(500, 'Internal error', `The blob could not be read; the service logs have the details (invocation ${context.invocationId}).`);
  }
}

httpRoute('readCogsBlob', {
  route: 'cogs/{*path}',
  methods: ['GET'],
  handler: readCogsBlobHandler,
});
