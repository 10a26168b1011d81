import { performance } from 'node:perf_hooks';
import type { Context, Hono } from 'hono';
import { invokeRegistration, type Registration, type RpcHttp, type TypedData } from '../worker.shim.js';
import { durableClientInputs, type HostEndpoints } from './client.binding.js';
import { principalHeaders, type DevSignIn } from '../dev.sign.in.js';

/** Constraints of Functions route templates that map onto a pattern; others match any segment. */
const constraintPatterns: Record<string, string> = {
  int: '-?[0-9]+',
  long: '-?[0-9]+',
  alpha: '[A-Za-z]+',
  bool: '(?:true|false|True|False)',
  guid: '[0-9A-Fa-f]{8}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{12}',
  double: '-?[0-9]+(?:\\.[0-9]+)?',
  float: '-?[0-9]+(?:\\.[0-9]+)?',
  decimal: '-?[0-9]+(?:\\.[0-9]+)?',
};

/**
 * Converts a Functions route template (`jobs/{id}`, `items/{id:int?}`, `files/{*path}`) into a
 * Hono path (`/jobs/:id`, `/items/:id{-?[0-9]+}?`, `/files/:path{.+}`), so Hono does the routing.
 */
export function toHonoPath(template: string): string {
  const segments = template.replace(/^\/+|\/+$/g, '').split('/');
  const converted = segments.map((segment) => {
    const match = /^\{(\*?)([A-Za-z_][A-Za-z0-9_]*)(?::([^}?=]+))?(?:=[^}]*)?(\?)?\}$/.exec(segment);
    if (!match) return segment.replace(/\{[^}]*\}/g, ':param');
    const [, catchAll, name, constraint, optional] = match;
    const constraintName = constraint?.split(':')[0]?.replace(/\(.*\)$/, '').toLowerCase();
    const pattern = catchAll ? '.+' : constraintName ? constraintPatterns[constraintName] : undefined;
    return `:${name}${pattern ? `{${pattern}}` : ''}${optional || catchAll ? '?' : ''}`;
  });
  return '/' + converted.join('/');
}

function literalWeight(template: string): number {
  return (template.match(/\{/g) ?? []).length;
}

export interface FunctionRouteOptions {
  routePrefix: string;
  endpoints: () => HostEndpoints;
  log: (line: string) => void;
  /** Sign-in on (HOST_SIGN_IN): development tokens become Easy Auth's principal header. Off: none is checked. */
  signIn?: DevSignIn;
}

/** Registers every HTTP-triggered function under the route prefix (literal routes first, like Azure). */
export function registerFunctionRoutes(app: Hono, registrations: Iterable<Registration>, options: FunctionRouteOptions): string[] {
  const httpFunctions = [...registrations].filter((r) => r.trigger.type === 'httpTrigger');
  const routes = httpFunctions
    .map((registration) => ({ registration, template: String(registration.trigger['route'] ?? registration.name) }))
    .sort((a, b) => literalWeight(a.template) - literalWeight(b.template));
  const prefix = options.routePrefix ? `/${options.routePrefix.replace(/^\/+|\/+$/g, '')}` : '';
  const described: string[] = [];
  for (const { registration, template } of routes) {
    const methods = ((registration.trigger['methods'] as string[] | undefined) ?? ['GET', 'POST']).map((m) => m.toUpperCase());
    const path = prefix + (toHonoPath(template) === '/' ? '' : toHonoPath(template));
    app.on(methods, path || '/', (c) => invokeHttpFunction(c, registration, options));
    // Azure lets a trailing catch-all match nothing after a slash too (`files/{*path}` takes `/files/`); Hono's optional parameter does not.
    const catchAllBase = path.replace(/\/:[A-Za-z_][A-Za-z0-9_]*\{\.\+\}\?$/, '/');
    if (catchAllBase !== path) app.on(methods, catchAllBase, (c) => invokeHttpFunction(c, registration, options));
    described.push(`${registration.name}: [${methods.join(',')}] ${path}`);
  }
  return described;
}

async function invokeHttpFunction(c: Context, registration: Registration, options: FunctionRouteOptions): Promise<Response> {
  const started = performance.now();
  const url = new URL(c.req.url);
  const body = Buffer.from(await c.req.arrayBuffer());
  const headers: Record<string, string> = {};
  c.req.raw.headers.forEach((value, name) => (headers[name] = value));
  // Only the sign-in step may say who the caller is, as in Azure, where Easy Auth removes these.
  for (const name of principalHeaders) delete headers[name];
  if (options.signIn) {
    const outcome = await options.signIn.verify(headers['authorization']);
    if (outcome.kind === 'refused') {
      options.log(`Refused ${c.req.method} ${url.pathname}: ${outcome.reason}`);
      // As Easy Auth answers a token it cannot validate: 401, before any function runs.
      return new Response(JSON.stringify({ title: 'Sign-in required', status: 401, detail: `The bearer token was refused: ${outcome.reason}.` }), {
        status: 401,
        headers: { 'content-type': 'application/problem+json', 'www-authenticate': 'Bearer error="invalid_token"' },
      });
    }
    if (outcome.kind === 'signed-in') {
      headers['x-ms-client-principal'] = outcome.principalHeader;
      headers['x-ms-client-principal-name'] = outcome.name;
      headers['x-ms-client-principal-idp'] = 'dev-token';
    }
  }
  const params: Record<string, string> = {};
  for (const [name, value] of Object.entries(c.req.param() as Record<string, string | undefined>)) if (value !== undefined) params[name] = value;
  const http: RpcHttp = {
    method: c.req.method,
    url: url.href,
    headers,
    query: Object.fromEntries(url.searchParams),
    params,
    ...(body.length ? { body: { bytes: body } } : {}),
  };
  const inputData: Array<{ name: string; data: TypedData | undefined }> = [
    { name: registration.triggerName, data: { http } },
    ...durableClientInputs(registration, options.endpoints()),
  ];
  let response: Response;
  let outcome = 'Succeeded';
  try {
    const result = await invokeRegistration(registration, { inputData, triggerMetadata: {} });
    const rpc = result.returnValue?.http ?? result.outputData.find((output) => output.data.http)?.data.http;
    response = toResponse(rpc);
  } catch (error) {
    outcome = `Failed: ${(error as Error).message}`;
    options.log(`Function '${registration.name}' threw: ${(error as Error).stack ?? error}`);
    response = new Response(JSON.stringify({ error: `Function '${registration.name}' failed: ${(error as Error).message}` }), {
      status: 500,
      headers: { 'content-type': 'application/json' },
    });
  }
  options.log(`Executed 'Functions.${registration.name}' (${outcome}, ${c.req.method} ${url.pathname} -> ${response.status}, Duration=${(performance.now() - started).toFixed(0)}ms)`);
  return response;
}

function toResponse(rpc: RpcHttp | undefined): Response {
  if (!rpc) return new Response(null, { status: 204 });
  const status = Number(rpc.statusCode ?? 200);
  const headers = new Headers(rpc.headers ?? {});
  for (const cookie of (rpc.cookies ?? []) as Array<{ name: string; value: string }>) headers.append('set-cookie', `${cookie.name}=${cookie.value}`);
  const bytes = rpc.body?.bytes ?? (rpc.body?.string !== undefined ? Buffer.from(rpc.body.string) : undefined);
  const noBody = status === 204 || status === 304 || (status >= 100 && status < 200);
  return new Response(noBody || !bytes || bytes.length === 0 ? null : bytes, { status, headers });
}
