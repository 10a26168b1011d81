/**
 * The local host's stand-in for App Service Authentication (Easy Auth), off by default so that the
 * quick start needs no token. With `HOST_SIGN_IN=true` the host verifies a development token (a JWT
 * signed with HS256 and the local key `HOST_SIGN_IN_KEY`, checked with `jose`) on each API request
 * and hands the app what Easy Auth would: an `x-ms-client-principal` header with the token's app
 * roles. The app checks the roles (src/functions/http.access.ts) and never sees the token.
 *
 * The token is for development only and is refused in Azure: the verifier exists only here, in the
 * local host; in Azure, Easy Auth accepts only tokens Entra ID signed for the API, and removes any
 * `x-ms-client-principal` a client sends.
 *
 *   HOST_SIGN_IN_KEY=<32+ characters> node dist/host/dev.sign.in.js operator [--name ada] [--minutes 60]
 * prints a token (docs/security.md, "Sign-in").
 */
import { pathToFileURL } from 'node:url';
import { devSignInKey } from './settings.js';
import { errors, jwtVerify, SignJWT } from 'jose';

export const devTokenIssuer = 'raster-ingest-local-host';
export const devTokenAudience = 'raster-ingest-api';
/** Easy Auth's header names, which the app reads. */
export const principalHeaders = ['x-ms-client-principal', 'x-ms-client-principal-name', 'x-ms-client-principal-id', 'x-ms-client-principal-idp'];
const minimumKeyLength = 32;

export type SignInOutcome =
  | { kind: 'anonymous' }
  | { kind: 'signed-in'; name: string; roles: string[]; principalHeader: string }
  | { kind: 'refused'; reason: string };

export interface DevSignIn {
  /** What an `Authorization` header amounts to: no token, a valid one, or one to refuse with 401. */
  verify(authorization: string | undefined): Promise<SignInOutcome>;
}

function keyBytes(key: string): Uint8Array {
  if (key.length < minimumKeyLength) throw new Error(`HOST_SIGN_IN_KEY must be at least ${minimumKeyLength} characters (it signs development tokens with HS256)`);
  return new TextEncoder().encode(key);
}

/** The x-ms-client-principal Easy Auth would send for this caller (base64 JSON). */
export function clientPrincipalFor(name: string, roles: readonly string[]): string {
  const principal = {
    auth_typ: 'dev-token',
    name_typ: 'name',
    role_typ: 'roles',
    claims: [{ typ: 'name', val: name }, ...roles.map((role) => ({ typ: 'roles', val: role }))],
  };
  return Buffer.from(JSON.stringify(principal)).toString('base64');
}

export function createDevSignIn(key: string): DevSignIn {
  const secret = keyBytes(key);
  return {
    async verify(authorization) {
      if (!authorization) return { kind: 'anonymous' };
      const token = /^Bearer\s+(\S+)$/i.exec(authorization.trim())?.[1];
      if (!token) return { kind: 'refused', reason: 'the Authorization header is not "Bearer <token>"' };
      try {
        const { payload } = await jwtVerify(token, secret, { issuer: devTokenIssuer, audience: devTokenAudience, algorithms: ['HS256'], requiredClaims: ['exp'] });
        const roles = Array.isArray(payload['roles']) ? payload['roles'].filter((role): role is string => typeof role === 'string') : [];
        const name = typeof payload['name'] === 'string' ? payload['name'].slice(0, 200) : (payload.sub ?? 'developer');
        return { kind: 'signed-in', name, roles, principalHeader: clientPrincipalFor(name, roles) };
      } catch (error) {
        // jose's codes say which check failed; nothing of the token goes back.
        const reason = error instanceof errors.JWTExpired ? 'the token has expired' : error instanceof errors.JOSEError ? `the token is not valid here (${error.code})` : 'the token is not valid here';
        return { kind: 'refused', reason };
      }
    },
  };
}

/** A development token for the local host with sign-in on. */
export async function mintDevToken(key: string, options: { roles: readonly string[]; name?: string; expiresInSeconds?: number }): Promise<string> {
  return new SignJWT({ roles: [...options.roles], name: options.name ?? 'developer' })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer(devTokenIssuer)
    .setAudience(devTokenAudience)
    .setSubject(options.name ?? 'developer')
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + (options.expiresInSeconds ?? 3600))
    .sign(keyBytes(key));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [role, ...rest] = process.argv.slice(2);
  const option = (name: string): string | undefined => {
    const index = rest.indexOf(`--${name}`);
    return index >= 0 ? rest[index + 1] : undefined;
  };
  const key = devSignInKey();
  if (!role) {
    console.error('usage: HOST_SIGN_IN_KEY=... node dist/host/dev.sign.in.js <reader|operator|admin>[,<role>...] [--name <name>] [--minutes <n>]');
    process.exitCode = 2;
  } else {
    mintDevToken(key, { roles: role.split(','), name: option('name'), expiresInSeconds: Number(option('minutes') ?? 60) * 60 }).then(
      (token) => console.log(token),
      (error: unknown) => {
        console.error(error instanceof Error ? error.message : String(error));
        process.exitCode = 1;
      },
    );
  }
}
