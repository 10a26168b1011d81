/**
 * Sign-in through the local host with HOST_SIGN_IN on: every HTTP route the host registered is
 * checked against the role table (src/api/access.ts), and each answers 401 without a token, with a
 * token signed by another key, with an expired one, and with a principal header a client forged;
 * 403 with a token whose roles fall short of the route's; and neither with the route's own role.
 * The route list is what the host printed at start, so a new route is covered (or fails the
 * table check) without touching this file. The CLI sends its token and reports a refusal.
 */
import { describe, expect, it, vi } from 'vitest';
import { SignJWT } from 'jose';
import { appRoles, routeAccess, type AppRole, type HttpFunctionName, type RouteAccess } from '../../src/api/access.js';
import { clientPrincipalFor, mintDevToken } from '../../host/dev.sign.in.js';
import { runCli } from '../../cli/cli.program.js';
import { JobsClient, JobApiError } from '../../cli/jobs.client.js';
import { useHostOnOwnAzurite } from '../support/local.host.js';
import { hostileSignIns } from '../support/hostile.tokens.js';

const key = 'development-signing-key-for-this-test-only-0123456789';
const hosted = useHostOnOwnAzurite('sign-in', { HOST_SIGN_IN: 'true', HOST_SIGN_IN_KEY: key, HOST_NO_WORKER: '1' });

interface Route {
  name: HttpFunctionName;
  method: string;
  /** A request path with each route parameter filled in. */
  path: string;
  access: RouteAccess;
}

/** The routes the host registered, from its start-up lines (`[time]   name: [GET,POST] /api/path`), printed once it listens. */
async function registeredRoutes(): Promise<Route[]> {
  const routes = await vi.waitFor(
    () => {
      const found = parseRoutes();
      if (!found.some((route) => route.name === 'dashboard')) throw new Error('the host has not printed its routes yet');
      return found;
    },
    { timeout: 30_000, interval: 100 },
  );
  return routes;
}

function parseRoutes(): Route[] {
  const lines = [...hosted.host.output().matchAll(/^\[[^\]]+\]\s+(\w+): \[([A-Z,]+)\] (\/api\/\S*)$/gm)];
  return lines.flatMap(([, name, methods, path]) =>
    (methods as string).split(',').map((method) => ({
      name: name as HttpFunctionName,
      method,
      // `:id`, `:path{.+}?` → a sample segment
      path: (path as string).replace(/:(\w+)(\{[^}]*\})?\??/g, 'sample-$1'),
      access: routeAccess[name as HttpFunctionName],
    })),
  );
}

/** The highest role that may not call a route (none below reader). */
function roleBelow(access: AppRole): AppRole[] {
  const index = appRoles.indexOf(access);
  return index === 0 ? [] : [appRoles[index - 1] as AppRole];
}

async function call(route: Route, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${hosted.host.baseUrl}${route.path}`, {
    method: route.method,
    headers: { ...headers, ...(route.method === 'POST' ? { 'content-type': 'application/json' } : {}) },
    ...(route.method === 'POST' ? { body: '{}' } : {}),
  });
}

const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

describe('sign-in on the local host (HOST_SIGN_IN)', () => {
  it('registers exactly the routes of the role table', async () => {
    const names = [...new Set((await registeredRoutes()).map((route) => route.name))].sort();
    expect(names.length).toBeGreaterThan(10);
    expect(names).toEqual(Object.keys(routeAccess).sort());
  });

  it('answers 401 on every protected route without a token, with a token of another key, with an expired one, and with a forged principal header', async () => {
    const otherKey = await mintDevToken('a-different-key-that-this-host-never-saw-000000', { roles: ['admin'] });
    const expired = await new SignJWT({ roles: ['admin'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('raster-ingest-local-host')
      .setAudience('raster-ingest-api')
      .setIssuedAt(Math.floor(Date.now() / 1000) - 7200)
      .setExpirationTime(Math.floor(Date.now() / 1000) - 3600)
      .sign(new TextEncoder().encode(key));
    const routes = (await registeredRoutes()).filter((route) => route.access !== 'public');
    expect(routes.length).toBeGreaterThan(10);
    for (const route of routes) {
      const label = `${route.method} ${route.path}`;
      const none = await call(route);
      expect(none.status, `${label} without a token`).toBe(401);
      expect(((await none.json()) as { title: string }).title, label).toBe('Sign-in required');
      expect((await call(route, bearer(otherKey))).status, `${label} with another key's token`).toBe(401);
      const late = await call(route, bearer(expired));
      expect(late.status, `${label} with an expired token`).toBe(401);
      expect(((await late.json()) as { detail: string }).detail, label).toContain('expired');
      // Only the sign-in step says who the caller is: a client's own header counts for nothing.
      expect((await call(route, { 'x-ms-client-principal': clientPrincipalFor('mallory', ['admin']) })).status, `${label} with a forged principal`).toBe(401);
    }
  });

  it('answers 403 on every protected route to a token whose roles fall short, and lets the route\'s own role through', async () => {
    const roleless = await mintDevToken(key, { roles: [], name: 'nobody' });
    const routes = (await registeredRoutes()).filter((route): route is Route & { access: AppRole } => route.access !== 'public');
    expect(routes.length).toBeGreaterThan(10);
    for (const route of routes) {
      const label = `${route.method} ${route.path} (needs ${route.access})`;
      const below = roleBelow(route.access);
      const shortToken = below.length ? await mintDevToken(key, { roles: below }) : roleless;
      const refused = await call(route, bearer(shortToken));
      expect(refused.status, label).toBe(403);
      expect(((await refused.json()) as { requiredRole: string }).requiredRole, label).toBe(route.access);
      for (const allowed of appRoles.slice(appRoles.indexOf(route.access))) {
        const answer = await call(route, bearer(await mintDevToken(key, { roles: [allowed] })));
        expect([401, 403], `${label} as ${allowed}: ${answer.status}`).not.toContain(answer.status);
      }
    }
  });

  it('lets no hostile sign-in past an operator route (forged principals, tampered tokens, malformed credentials), and answers no stack trace or token', async () => {
    const cases = await hostileSignIns(key);
    expect(new Set(cases.map((hostile) => hostile.class)).size).toBe(3);
    const submit = (await registeredRoutes()).find((route) => route.name === 'submitJob') as Route;
    const list = (await registeredRoutes()).find((route) => route.name === 'listJobs') as Route;
    for (const hostile of cases) {
      for (const route of [submit, list]) {
        const answer = await call(route, hostile.headers);
        expect(answer.status, `${hostile.id} on ${route.name}`).toBe(401);
        const text = await answer.text();
        expect(text, hostile.id).not.toMatch(/\n\s+at |node_modules|eyJ/);
      }
    }
  });

  it('serves the dashboard\'s files without a token (they hold no data)', async () => {
    const dashboard = (await registeredRoutes()).find((route) => route.name === 'dashboard');
    expect(dashboard).toBeDefined();
    const page = await fetch(`${hosted.host.baseUrl}/api/dashboard/`);
    expect(page.status).toBe(200);
  });

  it('the CLI sends its token as Authorization: Bearer, and reports a 401 or 403 as the API\'s problem', async () => {
    const lines: string[] = [];
    const errors: string[] = [];
    const environment = (env: NodeJS.ProcessEnv) => ({
      env,
      out: (text: string) => lines.push(text),
      err: (text: string) => errors.push(text),
      progressStream: { isTTY: false, write: () => true } as never,
      isLocalFile: () => false,
      upload: async () => undefined,
    });
    const reader = await mintDevToken(key, { roles: ['reader'] });
    expect(await runCli(['jobs', '--url', hosted.host.baseUrl, '--json'], environment({ RASTER_INGEST_TOKEN: reader }))).toBe(0);
    expect(JSON.parse(lines.join('\n'))).toHaveProperty('jobs');

    lines.length = 0;
    expect(await runCli(['jobs', '--url', hosted.host.baseUrl, '--json'], environment({}))).toBe(3);
    expect(lines.join('\n')).toContain('Sign-in required');

    lines.length = 0;
    const code = await runCli(['retry', '--failed', '--url', hosted.host.baseUrl, '--token', reader, '--json'], environment({}));
    expect(code).toBe(3);
    expect(lines.join('\n')).toContain('needs the operator role');

    // The client the dashboard's tests and tools share: the token provider is called for each request.
    let asked = 0;
    const client = new JobsClient({ baseUrl: hosted.host.baseUrl, token: async () => (asked++, reader) });
    await client.listJobs({});
    expect(asked).toBe(1);
    const refused = await new JobsClient({ baseUrl: hosted.host.baseUrl }).listJobs({}).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(JobApiError);
  });
});
