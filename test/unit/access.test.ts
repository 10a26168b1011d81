/**
 * The role table and Easy Auth's principal header: nested roles, principals read from the header's
 * claims (Entra ID's and ours), and anything malformed or oversized read as no caller at all.
 */
import { describe, expect, it } from 'vitest';
import { appRoles, highestRole, mayCall, rolesGranting, routeAccess } from '../../src/api/access.js';
import { readClientPrincipal } from '../../src/functions/http.access.js';

const header = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64');

describe('the role table', () => {
  it('nests the roles: admin may do what operator may, operator what reader may', () => {
    expect(rolesGranting('reader')).toEqual(['reader', 'operator', 'admin']);
    expect(rolesGranting('admin')).toEqual(['admin']);
    expect(mayCall(['operator'], 'reader')).toBe(true);
    expect(mayCall(['reader'], 'operator')).toBe(false);
    expect(mayCall([], 'reader')).toBe(false);
    expect(mayCall([], 'public')).toBe(true);
    expect(mayCall(['Operator'], 'operator'), 'role values are exact').toBe(false);
    expect(highestRole(['reader', 'admin'])).toBe('admin');
  });

  it('puts every write behind operator or above, and every view behind reader at least', () => {
    for (const name of ['submitJob', 'retryJob', 'retryJobs', 'submitBatch'] as const) expect(appRoles.indexOf(routeAccess[name] as never), name).toBeGreaterThanOrEqual(1);
    const publicRoutes = Object.entries(routeAccess).filter(([, access]) => access === 'public').map(([name]) => name);
    expect(publicRoutes).toEqual(['dashboard']);
  });
});

describe('x-ms-client-principal', () => {
  it('reads Entra ID role claims, whatever role_typ says, and drops roles the app does not know', () => {
    const principal = readClientPrincipal(
      header({ auth_typ: 'aad', name_typ: 'name', role_typ: 'http://schemas.microsoft.com/ws/2008/06/identity/claims/role', claims: [{ typ: 'name', val: 'Ada' }, { typ: 'roles', val: 'operator' }, { typ: 'http://schemas.microsoft.com/ws/2008/06/identity/claims/role', val: 'admin' }, { typ: 'roles', val: 'owner' }] }),
    );
    expect(principal).toEqual({ name: 'Ada', roles: ['operator', 'admin'] });
  });

  it('reads nothing from a missing, non-base64-JSON, claim-less or oversized header', () => {
    expect(readClientPrincipal(null)).toBeUndefined();
    expect(readClientPrincipal('not base64 json')).toBeUndefined();
    expect(readClientPrincipal(header({ auth_typ: 'aad' }))).toBeUndefined();
    expect(readClientPrincipal(header('a string'))).toBeUndefined();
    expect(readClientPrincipal(header({ claims: Array.from({ length: 2000 }, () => ({ typ: 'roles', val: 'admin' })) }))).toBeUndefined();
    expect(readClientPrincipal(header({ claims: [{ typ: 'roles', val: 42 }, null] }))).toEqual({ name: undefined, roles: [] });
  });
});
