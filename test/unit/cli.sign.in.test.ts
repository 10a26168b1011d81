/**
 * How the CLI signs in (cli/sign.in.ts): a given token as is, an Entra ID token for a scope from
 * the credential chosen (Azure CLI or device code, the API's client id taken from its scope), or
 * nothing; a failed sign-in is reported without sending the request.
 */
import type { AccessToken, TokenCredential } from '@azure/identity';
import { describe, expect, it } from 'vitest';
import { createTokenProvider, readSignInOptions, type SignInOptions } from '../../cli/sign.in.js';
import { JobApiSignInError, JobsClient } from '../../cli/jobs.client.js';

const clientId = '11111111-2222-4333-8444-555555555555';

describe('CLI sign-in', () => {
  it('prefers the flags to the environment, and takes the device-code client id from the API scope', () => {
    expect(readSignInOptions({}, { RASTER_INGEST_TOKEN: ' t1 ' })).toEqual({ signIn: 'cli', token: 't1' });
    expect(readSignInOptions({ token: 't2' }, { RASTER_INGEST_TOKEN: 't1' }).token).toBe('t2');
    expect(readSignInOptions({ signIn: 'device-code' }, { RASTER_INGEST_API_SCOPE: `api://${clientId}/.default`, AZURE_TENANT_ID: 'tenant' })).toEqual({
      signIn: 'device-code',
      scope: `api://${clientId}/.default`,
      tenantId: 'tenant',
      clientId,
    });
    expect(() => readSignInOptions({ signIn: 'browser' }, {})).toThrow(/cli or device-code/);
    expect(createTokenProvider(readSignInOptions({}, {}), () => undefined)).toBeUndefined();
  });

  it('asks the chosen credential for the scope, once per request, and builds the credential once', async () => {
    const asked: string[] = [];
    let built = 0;
    const credential: TokenCredential = { getToken: async (scope) => (asked.push(String(scope)), { token: `token-${asked.length}`, expiresOnTimestamp: Date.now() + 3_600_000 } as AccessToken) };
    const options: SignInOptions = { signIn: 'cli', scope: `api://${clientId}/.default` };
    const provider = createTokenProvider(options, () => undefined, async () => (built++, credential));
    const seen: string[] = [];
    const client = new JobsClient({
      baseUrl: 'https://app.example',
      token: provider!,
      fetch: async (_url, init) => (seen.push(String((init?.headers as Record<string, string>)['Authorization'])), new Response(JSON.stringify({ jobs: [] }), { headers: { 'content-type': 'application/json' } })),
    });
    await client.listJobs({}).catch(() => undefined);
    await client.listJobs({}).catch(() => undefined);
    expect(asked).toEqual([`api://${clientId}/.default`, `api://${clientId}/.default`]);
    expect(built).toBe(1);
    expect(seen).toEqual(['Bearer token-1', 'Bearer token-2']);
  });

  it('reports a failed sign-in and sends nothing', async () => {
    let sent = 0;
    const client = new JobsClient({
      baseUrl: 'https://app.example',
      token: async () => {
        throw new Error('Please run az login');
      },
      fetch: async () => (sent++, new Response('{}')),
    });
    const error = await client.listJobs({}).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(JobApiSignInError);
    expect((error as Error).message).toBe('cannot sign in to https://app.example: Please run az login');
    expect(sent).toBe(0);
  });
});
