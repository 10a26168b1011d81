/**
 * The OpenAPI description (src/api/openapi.ts) against the routes the app registers: every
 * `app.http({ route, methods })` of src/functions/*.ts is described with its method, and the
 * description names no route the app does not answer. The modules are imported with a recording
 * `app` from @azure/functions, so whatever file a route is registered in, it is found.
 */
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { routeAccess, type HttpFunctionName } from '../../src/api/access.js';
import { apiPrefix, buildOpenApiDocument, type OpenApiDocument } from '../../src/api/openapi.js';

const registered = vi.hoisted(() => [] as Array<{ name: string; route: string; methods: string[]; authLevel: string | undefined }>);

vi.mock('@azure/functions', () => {
  const http = (name: string, options: { route?: string; methods?: string[]; authLevel?: string }): void => {
    registered.push({ name, route: options.route ?? name, methods: (options.methods ?? ['GET', 'POST']).map((method) => method.toUpperCase()), authLevel: options.authLevel });
  };
  // Every other trigger kind (timers, queues, Event Grid, ...) registers nothing this test reads.
  const app = new Proxy({ http }, { get: (target, key) => (key === 'http' ? target.http : () => undefined) });
  return { app };
});

/** Served by the app but not part of the JSON API, so not described. */
const undescribed: Record<string, string> = {
  dashboard: "the dashboard's static files (HTML, scripts, styles), anonymous: a web page, not an API",
  readCogsBlob: 'a read-only proxy of the cogs container (COGs, thumbnails) for browsers, with Range: blobs, not JSON, under a catch-all path OpenAPI cannot template',
};

const functionsDir = resolve(import.meta.dirname, '../../src/functions');

/** `jobs/{id}` → `/api/jobs/{id}`. */
const toOpenApiPath = (route: string): string => `${apiPrefix}/${route.replace(/^\/+/, '')}`;

let document: OpenApiDocument;

beforeAll(async () => {
  for (const file of readdirSync(functionsDir).filter((name) => name.endsWith('.ts')).sort()) await import(join(functionsDir, file));
  document = buildOpenApiDocument({ version: 'test' });
}, 120_000);

describe('the OpenAPI description and the routes the app registers', () => {
  it('finds the routes (the recording app saw the HTTP functions)', () => {
    expect(registered.map((route) => route.name)).toEqual(expect.arrayContaining(['submitJob', 'getJob', 'getOpenApi', 'dashboard', 'readCogsBlob']));
  });

  it('describes every (method, path) the app answers, but the named exceptions', () => {
    const described = new Set(Object.entries(document.paths ?? {}).flatMap(([path, item]) => ['get', 'post', 'put', 'patch', 'delete'].filter((method) => method in (item as object)).map((method) => `${method.toUpperCase()} ${path}`)));
    const answered = new Set(registered.filter((route) => !(route.name in undescribed)).flatMap((route) => route.methods.map((method) => `${method} ${toOpenApiPath(route.route)}`)));
    expect([...answered].filter((route) => !described.has(route)), 'registered but not described').toEqual([]);
    expect([...described].filter((route) => !answered.has(route)), 'described but not registered').toEqual([]);
    // The exceptions exist (a renamed function would silently widen them otherwise).
    for (const name of Object.keys(undescribed)) expect(registered.map((route) => route.name)).toContain(name);
  });

  it('has the same operation ids as the function names', () => {
    const operations = Object.entries(document.paths ?? {}).flatMap(([path, item]) => Object.entries(item as Record<string, { operationId?: string }>).map(([method, operation]) => ({ key: `${method.toUpperCase()} ${path}`, id: operation.operationId })));
    const byRoute = new Map<string, string>(registered.flatMap((route) => route.methods.map((method) => [`${method} ${toOpenApiPath(route.route)}`, route.name] as const)));
    for (const { key, id } of operations) expect(id, key).toBe(byRoute.get(key));
  });

  it('asks for an Entra ID bearer token, and states each route\'s app role from the role table', () => {
    expect(document.components?.securitySchemes?.['entraId']).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(document.security).toEqual([{ entraId: [] }]);
    // Easy Auth is the gate in Azure: no route also wants a function key.
    expect(registered.map((route) => `${route.name}: ${route.authLevel}`)).toEqual(registered.map((route) => `${route.name}: anonymous`));
    for (const item of Object.values(document.paths ?? {})) {
      for (const operation of Object.values(item as Record<string, { operationId: string; description?: string }>)) {
        expect(operation.description, operation.operationId).toContain(`\`${routeAccess[operation.operationId as HttpFunctionName]}\` app role`);
      }
    }
  });

  it('has a role for every registered route in the role table, and no entry for a route that does not exist', () => {
    expect(registered.map((route) => route.name).sort()).toEqual(Object.keys(routeAccess).sort());
  });

  it('answers every error as problem+json with the Problem schema', () => {
    for (const [path, item] of Object.entries(document.paths ?? {})) {
      for (const [method, operation] of Object.entries(item as Record<string, { responses: Record<string, { content?: Record<string, { schema?: unknown }> }> }>)) {
        for (const [status, response] of Object.entries(operation.responses)) {
          if (Number(status) < 400) continue;
          expect(response.content?.['application/problem+json']?.schema, `${method} ${path} ${status}`).toEqual({ $ref: '#/components/schemas/Problem' });
        }
      }
    }
    expect(Object.keys(document.paths?.[`${apiPrefix}/jobs/{id}/retry`]?.post?.responses ?? {})).toEqual(expect.arrayContaining(['202', '400', '404', '409']));
  });
});
