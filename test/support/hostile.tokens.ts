/**
 * Hostile sign-in attempts against the local host with HOST_SIGN_IN on (test/host/sign.in.test.ts),
 * several variants per class. Each is a set of request headers that must not get the caller past a
 * route that needs a role: the host refuses the token (401) or the app finds no caller (401).
 * - forged principal: `x-ms-client-principal` (and its siblings) sent by the client itself;
 * - tampered token: signature, algorithm, claims or key changed;
 * - malformed credentials: not a JWT, wrong scheme, oversized.
 */
import { SignJWT } from 'jose';
import { clientPrincipalFor, devTokenAudience, devTokenIssuer, mintDevToken } from '../../host/dev.sign.in.js';

export interface HostileSignIn {
  id: string;
  class: 'forged-principal' | 'tampered-token' | 'malformed-credentials';
  headers: Record<string, string>;
}

const b64url = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** The cases, made with the host's real key where a case needs a token that is almost right. */
export async function hostileSignIns(key: string): Promise<HostileSignIn[]> {
  const secret = new TextEncoder().encode(key);
  const now = Math.floor(Date.now() / 1000);
  const valid = await mintDevToken(key, { roles: ['reader'] });
  const [header, , signature] = valid.split('.');
  const signed = (claims: Record<string, unknown>, build: (jwt: SignJWT) => SignJWT = (jwt) => jwt): Promise<string> =>
    build(new SignJWT(claims).setProtectedHeader({ alg: 'HS256' })).sign(secret);
  return [
    // forged principal
    { id: 'principal-admin-header', class: 'forged-principal', headers: { 'x-ms-client-principal': clientPrincipalFor('mallory', ['admin']) } },
    { id: 'principal-header-with-name-and-idp', class: 'forged-principal', headers: { 'x-ms-client-principal': clientPrincipalFor('mallory', ['operator']), 'x-ms-client-principal-name': 'admin', 'x-ms-client-principal-idp': 'aad' } },
    { id: 'principal-header-uppercase', class: 'forged-principal', headers: { 'X-MS-CLIENT-PRINCIPAL': clientPrincipalFor('mallory', ['admin']) } },
    { id: 'principal-raw-json', class: 'forged-principal', headers: { 'x-ms-client-principal': JSON.stringify({ claims: [{ typ: 'roles', val: 'admin' }] }) } },
    // tampered token
    { id: 'token-roles-rewritten', class: 'tampered-token', headers: { authorization: `Bearer ${header}.${b64url({ iss: devTokenIssuer, aud: devTokenAudience, exp: now + 3600, roles: ['admin'] })}.${signature}` } },
    { id: 'token-alg-none', class: 'tampered-token', headers: { authorization: `Bearer ${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ iss: devTokenIssuer, aud: devTokenAudience, exp: now + 3600, roles: ['admin'] })}.` } },
    { id: 'token-alg-hs512', class: 'tampered-token', headers: { authorization: `Bearer ${await new SignJWT({ roles: ['admin'] }).setProtectedHeader({ alg: 'HS512' }).setIssuer(devTokenIssuer).setAudience(devTokenAudience).setExpirationTime(now + 3600).sign(new TextEncoder().encode(key.repeat(2)))}` } },
    { id: 'token-wrong-audience', class: 'tampered-token', headers: { authorization: `Bearer ${await signed({ roles: ['admin'] }, (jwt) => jwt.setIssuer(devTokenIssuer).setAudience('https://management.azure.com').setExpirationTime(now + 3600))}` } },
    { id: 'token-wrong-issuer', class: 'tampered-token', headers: { authorization: `Bearer ${await signed({ roles: ['admin'] }, (jwt) => jwt.setIssuer('https://login.microsoftonline.com/x/v2.0').setAudience(devTokenAudience).setExpirationTime(now + 3600))}` } },
    { id: 'token-without-expiry', class: 'tampered-token', headers: { authorization: `Bearer ${await signed({ roles: ['admin'] }, (jwt) => jwt.setIssuer(devTokenIssuer).setAudience(devTokenAudience))}` } },
    { id: 'token-not-yet-valid', class: 'tampered-token', headers: { authorization: `Bearer ${await signed({ roles: ['admin'] }, (jwt) => jwt.setIssuer(devTokenIssuer).setAudience(devTokenAudience).setNotBefore(now + 3600).setExpirationTime(now + 7200))}` } },
    // malformed credentials
    { id: 'basic-scheme', class: 'malformed-credentials', headers: { authorization: `Basic ${Buffer.from('admin:admin').toString('base64')}` } },
    { id: 'bearer-garbage', class: 'malformed-credentials', headers: { authorization: 'Bearer not.a.jwt' } },
    { id: 'bearer-two-tokens', class: 'malformed-credentials', headers: { authorization: `Bearer ${valid} ${valid}` } },
    { id: 'bearer-oversized', class: 'malformed-credentials', headers: { authorization: `Bearer ${'a'.repeat(7000)}.${'b'.repeat(7000)}.${'c'.repeat(2000)}` } },
  ];
}
