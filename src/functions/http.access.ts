/**
 * Sign-in for every HTTP route: `httpRoute` registers a function under its name in the role table
 * (src/api/access.ts) and checks, before the handler runs, that the caller holds the route's role.
 *
 * The caller is read from `x-ms-client-principal`, the header App Service Authentication (Easy
 * Auth) sets once it has validated the caller's Entra ID token; App Service removes that header from
 * what clients send, so only Easy Auth can set it. The app itself verifies no token: the local
 * host plays Easy Auth's part when its sign-in is on (host/http/dev.sign.in.ts), and a development
 * token sent to Azure is refused by Easy Auth (not signed by Entra ID).
 *
 * With sign-in required, the functions run at authLevel `anonymous`: Easy Auth is the gate, and a
 * function key would add a second secret every caller needs. Without it (the local quick start)
 * nothing is checked.
 */
import { app, type HttpFunctionOptions, type HttpHandler, type HttpRequest } from '@azure/functions';
import { appRoles, mayCall, routeAccess, type HttpFunctionName } from '../api/access.js';
import { readApiSignIn } from '../config.js';
import { problem } from './http.problem.js';

/** Easy Auth's header: base64 JSON `{ auth_typ, claims: [{ typ, val }], name_typ, role_typ }`. */
export const clientPrincipalHeader = 'x-ms-client-principal';

export interface ClientPrincipal {
  name: string | undefined;
  roles: string[];
}

/** Claim types that carry app roles: the principal's own role_typ, and Entra ID's names for it. */
const roleClaimTypes = ['roles', 'http://schemas.microsoft.com/ws/2008/06/identity/claims/role'];
/** Far above any honest principal (a few KB); a header this large is refused unread. */
const maxPrincipalChars = 16 * 1024;

/** The caller Easy Auth vouches for, or undefined without a (readable) header. */
export function readClientPrincipal(header: string | null): ClientPrincipal | undefined {
  if (!header || header.length > maxPrincipalChars) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(header, 'base64').toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const { claims, role_typ: roleType, name_typ: nameType } = parsed as { claims?: unknown; role_typ?: unknown; name_typ?: unknown };
  if (!Array.isArray(claims)) return undefined;
  const roleTypes = new Set([...roleClaimTypes, ...(typeof roleType === 'string' ? [roleType] : [])]);
  const values = (types: Set<string>): string[] =>
    claims.flatMap((claim: unknown) => {
      const { typ, val } = (claim ?? {}) as { typ?: unknown; val?: unknown };
      return typeof typ === 'string' && typeof val === 'string' && types.has(typ) ? [val] : [];
    });
  const names = values(new Set([...(typeof nameType === 'string' ? [nameType] : []), 'name', 'preferred_username']));
  return { name: names[0]?.slice(0, 200), roles: values(roleTypes).filter((role) => (appRoles as readonly string[]).includes(role)) };
}

/** The access check of one route, in front of its handler. */
export function withAccess(name: HttpFunctionName, handler: HttpHandler): HttpHandler {
  const access = routeAccess[name];
  return async (request: HttpRequest, context) => {
    if (access === 'public' || !readApiSignIn()) return handler(request, context);
    const principal = readClientPrincipal(request.headers.get(clientPrincipalHeader));
    if (!principal) {
      const response = problem(401, 'Sign-in required', 'This API needs a signed-in caller: send an Entra ID access token for the API (Authorization: Bearer ...); the CLI and the dashboard sign in for you.');
      return { ...response, headers: { ...(response.headers as Record<string, string>), 'WWW-Authenticate': 'Bearer' } };
    }
    if (!mayCall(principal.roles, access)) {
      const held = principal.roles.length ? principal.roles.join(', ') : 'no app role';
      return problem(403, 'Role required', `This request needs the ${access} role (or a higher one); the caller has ${held}. An administrator assigns roles on the API's app registration.`, { requiredRole: access });
    }
    return handler(request, context);
  };
}

/**
 * Registers an HTTP function whose access the role table declares. Every route goes through here,
 * so none can be added without a role (the name must be a key of `routeAccess`).
 */
export function httpRoute(name: HttpFunctionName, options: Omit<HttpFunctionOptions, 'authLevel'>): void {
  app.http(name, { ...options, authLevel: 'anonymous', handler: withAccess(name, options.handler) });
}
