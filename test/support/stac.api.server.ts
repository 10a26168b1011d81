/**
 * A loopback STAC API for tests: no STAC API server (stac-fastapi, Planetary Computer Pro)
 * installs on this machine, so the client is tested against this one, which keeps the status
 * codes of the Transaction extension (stac-api-extensions/transaction) and its collection
 * counterpart:
 *
 * - POST of an existing id → 409; POST → 201 with Location and ETag; `collection` taken from the URI
 * - PUT of a missing id → 404; PUT whose body names another id/collection → 400
 * - GET → 200 with an ETag; PUT with a stale If-Match → 412 (optionally 428 without one)
 * - DELETE → 204, or 404 when nothing was there; items under a missing collection → 404
 *
 * Documents are kept in memory as sent (no link rewriting, unlike real servers) and exposed for
 * assertions. Faults (429/5xx with Retry-After, dropped connections) can be injected for the
 * next N requests. Binds 127.0.0.1 on a free port.
 */
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { serve, type HttpBindings, type ServerType } from '@hono/node-server';
import { Hono, type Context } from 'hono';

export interface LoopbackStacApiOptions {
  /** Path the API lives under, e.g. `/stac` as on Planetary Computer Pro. Default: the root. */
  basePath?: string;
  /** When set, every request must carry `Authorization: Bearer <token>` (401 otherwise). */
  token?: string;
  /** Answer PUT without If-Match with 428, as servers that make If-Match mandatory do. */
  requireIfMatch?: boolean;
  /** `false` mimics servers that send no ETag (stac-fastapi): PUT is then unconditional. Default true. */
  etags?: boolean;
}

export interface StoredDocument {
  document: Record<string, unknown>;
  etag: string;
}

export interface RecordedRequest {
  method: string;
  /** Path below `basePath`, e.g. `/collections/dems/items/a`. */
  path: string;
  query: string;
  status: number;
  ifMatch?: string;
  authorization?: string;
}

export interface InjectedFault {
  /** An HTTP status to answer with, or `drop` to close the connection without answering. */
  kind: 429 | 500 | 502 | 503 | 504 | 'drop';
  /** Sent as `Retry-After` (seconds, or an HTTP-date string). */
  retryAfter?: number | string;
}

type Env = { Bindings: HttpBindings };

function etagOf(document: unknown): string {
  return `"${createHash('sha256').update(JSON.stringify(document)).digest('base64url').slice(0, 27)}"`;
}

function problem(c: Context<Env>, status: 400 | 401 | 404 | 409 | 412 | 428, code: string, description: string): Response {
  // stac-fastapi's error body shape.
  return c.json({ code, description }, status);
}

export class LoopbackStacApi {
  /** Base URL to hand to the client (includes `basePath`). */
  readonly url: string;
  readonly collections = new Map<string, StoredDocument>();
  readonly items = new Map<string, Map<string, StoredDocument>>();
  readonly requests: RecordedRequest[] = [];
  private readonly faults: InjectedFault[] = [];
  private readonly listeners: Array<(request: { method: string; path: string }) => void> = [];

  constructor(
    private readonly server: ServerType,
    port: number,
    private readonly basePath: string,
  ) {
    this.url = `http://127.0.0.1:${port}${basePath}`;
  }

  /** The next `count` requests (any method) fail with `fault` before reaching the API. */
  injectFaults(count: number, fault: InjectedFault): void {
    for (let i = 0; i < count; i++) this.faults.push(fault);
  }

  /** Called before each request is handled (after faults and auth): lets a test play a concurrent writer. */
  onRequest(listener: (request: { method: string; path: string }) => void): void {
    this.listeners.push(listener);
  }

  collection(id: string): Record<string, unknown> | undefined {
    return this.collections.get(id)?.document;
  }

  item(collectionId: string, itemId: string): Record<string, unknown> | undefined {
    return this.items.get(collectionId)?.get(itemId)?.document;
  }

  /** Writes a document directly (another writer): its ETag changes. */
  putCollectionDirectly(document: Record<string, unknown> & { id: string }): void {
    this.collections.set(document.id, { document, etag: etagOf(document) });
    if (!this.items.has(document.id)) this.items.set(document.id, new Map());
  }

  putItemDirectly(collectionId: string, document: Record<string, unknown> & { id: string }): void {
    const stored = { ...document, collection: collectionId };
    this.items.get(collectionId)?.set(document.id, { document: stored, etag: etagOf(stored) });
  }

  /** Requests as `METHOD path status`, for readable assertions on the sequence the client sent. */
  requestLines(): string[] {
    return this.requests.map((r) => `${r.method} ${r.path} ${r.status}`);
  }

  clear(): void {
    this.collections.clear();
    this.items.clear();
    this.requests.length = 0;
    this.faults.length = 0;
    this.listeners.length = 0;
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    // Keep-alive connections from fetch would hold close() open.
    (this.server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
    await closed;
  }

  /** @internal used by the routes */
  takeFault(): InjectedFault | undefined {
    return this.faults.shift();
  }

  /** @internal */
  notify(method: string, path: string): void {
    for (const listener of this.listeners) listener({ method, path });
  }

  /** @internal */
  pathOf(fullPath: string): string {
    return fullPath.startsWith(this.basePath) ? fullPath.slice(this.basePath.length) || '/' : fullPath;
  }
}

async function readJsonObject(c: Context<Env>): Promise<Record<string, unknown> | Response> {
  let body: unknown;
  try {
    body = JSON.parse(await c.req.text());
  } catch {
    return problem(c, 400, 'BadRequest', 'The request body is not JSON');
  }
  if (!body || typeof body !== 'object' || Array.isArray(body)) return problem(c, 400, 'BadRequest', 'The request body must be a JSON object');
  return body as Record<string, unknown>;
}

/** If-Match per RFC 9110: `*` matches any current representation, otherwise one of the listed tags (strong comparison). */
function ifMatchFails(header: string | undefined, current: StoredDocument): boolean {
  if (header === undefined) return false;
  const tags = header.split(',').map((t) => t.trim());
  return !tags.includes('*') && !tags.includes(current.etag);
}

function buildRoutes(api: () => LoopbackStacApi, options: LoopbackStacApiOptions): Hono<Env> {
  const sendEtags = options.etags !== false;
  const app = new Hono<Env>().basePath(options.basePath ?? '');

  const withEtag = (c: Context<Env>, stored: StoredDocument): void => {
    if (sendEtags) c.header('ETag', stored.etag);
  };

  // Record every request with the status it got, then faults, auth and the test's listeners.
  app.use('*', async (c, next) => {
    const server = api();
    const url = new URL(c.req.url);
    const record: RecordedRequest = { method: c.req.method, path: server.pathOf(url.pathname), query: url.search, status: 0 };
    const ifMatch = c.req.header('if-match');
    const authorization = c.req.header('authorization');
    if (ifMatch !== undefined) record.ifMatch = ifMatch;
    if (authorization !== undefined) record.authorization = authorization;
    server.requests.push(record);
    const fault = server.takeFault();
    if (fault?.kind === 'drop') {
      record.status = -1;
      c.env.incoming.socket.destroy();
      return new Response(null, { status: 500 }); // never reaches the client: the socket is gone
    }
    if (fault) {
      record.status = fault.kind;
      const headers: Record<string, string> = fault.retryAfter !== undefined ? { 'Retry-After': String(fault.retryAfter) } : {};
      return c.json({ code: 'ServiceUnavailable', description: `injected ${fault.kind}` }, fault.kind, headers);
    }
    if (options.token !== undefined && authorization !== `Bearer ${options.token}`) {
      record.status = 401;
      return problem(c, 401, 'Unauthorized', authorization ? 'The bearer token is not valid for this API' : 'A bearer token is required');
    }
    server.notify(record.method, record.path);
    await next();
    record.status = c.res.status;
    return c.res;
  });

  app.get('/collections/:collectionId', (c) => {
    const stored = api().collections.get(c.req.param('collectionId'));
    if (!stored) return problem(c, 404, 'NotFoundError', `Collection ${c.req.param('collectionId')} does not exist`);
    withEtag(c, stored);
    return c.json(stored.document, 200);
  });

  app.post('/collections', async (c) => {
    const body = await readJsonObject(c);
    if (body instanceof Response) return body;
    const id = body['id'];
    if (typeof id !== 'string' || !id) return problem(c, 400, 'BadRequest', 'A collection needs a string id');
    if (body['type'] !== 'Collection') return problem(c, 400, 'BadRequest', `Collection ${id}: "type" must be "Collection"`);
    if (api().collections.has(id)) return problem(c, 409, 'ConflictError', `Collection ${id} already exists`);
    api().putCollectionDirectly({ ...body, id });
    const stored = api().collections.get(id)!;
    withEtag(c, stored);
    c.header('Location', `${api().url}/collections/${encodeURIComponent(id)}`);
    return c.json(stored.document, 201);
  });

  app.put('/collections/:collectionId', async (c) => {
    const id = c.req.param('collectionId');
    const body = await readJsonObject(c);
    if (body instanceof Response) return body;
    if (body['id'] !== undefined && body['id'] !== id) return problem(c, 400, 'BadRequest', `The body's id "${String(body['id'])}" differs from the URI's "${id}"`);
    const current = api().collections.get(id);
    if (!current) return problem(c, 404, 'NotFoundError', `Collection ${id} does not exist`);
    const ifMatch = c.req.header('if-match');
    if (options.requireIfMatch && ifMatch === undefined) return problem(c, 428, 'PreconditionRequired', 'PUT needs an If-Match header');
    if (ifMatchFails(ifMatch, current)) return problem(c, 412, 'PreconditionFailed', `Collection ${id} changed: its ETag is no longer ${ifMatch}`);
    api().putCollectionDirectly({ ...body, id });
    withEtag(c, api().collections.get(id)!);
    return c.body(null, 204);
  });

  app.delete('/collections/:collectionId', (c) => {
    const id = c.req.param('collectionId');
    if (!api().collections.delete(id)) return problem(c, 404, 'NotFoundError', `Collection ${id} does not exist`);
    api().items.delete(id);
    return c.body(null, 204);
  });

  app.get('/collections/:collectionId/items/:itemId', (c) => {
    const { collectionId, itemId } = c.req.param();
    const items = api().items.get(collectionId);
    if (!items) return problem(c, 404, 'NotFoundError', `Collection ${collectionId} does not exist`);
    const stored = items.get(itemId);
    if (!stored) return problem(c, 404, 'NotFoundError', `Item ${itemId} does not exist in collection ${collectionId}`);
    withEtag(c, stored);
    c.header('Content-Type', 'application/geo+json');
    return c.body(JSON.stringify(stored.document), 200);
  });

  app.post('/collections/:collectionId/items', async (c) => {
    const collectionId = c.req.param('collectionId');
    const items = api().items.get(collectionId);
    if (!items) return problem(c, 404, 'NotFoundError', `Collection ${collectionId} does not exist`);
    const body = await readJsonObject(c);
    if (body instanceof Response) return body;
    const id = body['id'];
    if (typeof id !== 'string' || !id) return problem(c, 400, 'BadRequest', 'An item needs a string id');
    if (body['type'] !== 'Feature') return problem(c, 400, 'BadRequest', `Item ${id}: "type" must be "Feature" (ItemCollections are not supported here)`);
    if (items.has(id)) return problem(c, 409, 'ConflictError', `Item ${id} already exists in collection ${collectionId}`);
    api().putItemDirectly(collectionId, { ...body, id });
    const stored = items.get(id)!;
    withEtag(c, stored);
    c.header('Location', `${api().url}/collections/${encodeURIComponent(collectionId)}/items/${encodeURIComponent(id)}`);
    c.header('Content-Type', 'application/geo+json');
    return c.body(JSON.stringify(stored.document), 201);
  });

  app.put('/collections/:collectionId/items/:itemId', async (c) => {
    const { collectionId, itemId } = c.req.param();
    const items = api().items.get(collectionId);
    if (!items) return problem(c, 404, 'NotFoundError', `Collection ${collectionId} does not exist`);
    const body = await readJsonObject(c);
    if (body instanceof Response) return body;
    if (body['id'] !== undefined && body['id'] !== itemId) return problem(c, 400, 'BadRequest', `The body's id "${String(body['id'])}" differs from the URI's "${itemId}"`);
    if (body['collection'] !== undefined && body['collection'] !== collectionId) {
      return problem(c, 400, 'BadRequest', `The body's collection "${String(body['collection'])}" differs from the URI's "${collectionId}"`);
    }
    const current = items.get(itemId);
    if (!current) return problem(c, 404, 'NotFoundError', `Item ${itemId} does not exist in collection ${collectionId}`);
    const ifMatch = c.req.header('if-match');
    if (options.requireIfMatch && ifMatch === undefined) return problem(c, 428, 'PreconditionRequired', 'PUT needs an If-Match header');
    if (ifMatchFails(ifMatch, current)) return problem(c, 412, 'PreconditionFailed', `Item ${itemId} changed: its ETag is no longer ${ifMatch}`);
    api().putItemDirectly(collectionId, { ...body, id: itemId });
    withEtag(c, items.get(itemId)!);
    return c.body(null, 204);
  });

  app.delete('/collections/:collectionId/items/:itemId', (c) => {
    const { collectionId, itemId } = c.req.param();
    const items = api().items.get(collectionId);
    if (!items?.delete(itemId)) return problem(c, 404, 'NotFoundError', `Item ${itemId} does not exist in collection ${collectionId}`);
    return c.body(null, 204);
  });

  return app;
}

/** Starts a loopback STAC API on 127.0.0.1 and a free port. Close it with `close()`. */
export async function startLoopbackStacApi(options: LoopbackStacApiOptions = {}): Promise<LoopbackStacApi> {
  const basePath = (options.basePath ?? '').replace(/\/+$/, '');
  // The routes need the instance, which needs the server's port: tie the knot through a holder.
  const holder: { api?: LoopbackStacApi } = {};
  const app = buildRoutes(() => holder.api!, { ...options, basePath });
  const server: ServerType = await new Promise((resolve) => {
    const created = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1', overrideGlobalObjects: false }, () => resolve(created));
  });
  holder.api = new LoopbackStacApi(server, (server.address() as AddressInfo).port, basePath);
  return holder.api;
}
