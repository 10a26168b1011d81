/**
 * How the CLI proves who it is to the job API, chosen from the global options:
 * - `--token` / RASTER_INGEST_TOKEN: a bearer token as given (a development token for the local host
 *   with sign-in on, or a token automation obtained itself);
 * - `--scope` / RASTER_INGEST_API_SCOPE (the API's scope, `api://<client id>/.default`; the deploy's
 *   `AUTH_API_SCOPE` output): an Entra ID token from @azure/identity, signed in through the Azure CLI
 *   (`--sign-in cli`, the default: `az login` once) or a device code (`--sign-in device-code`,
 *   RASTER_INGEST_CLIENT_ID names a public client registration, by default the API's own);
 * - neither: no Authorization header (the local host with sign-in off).
 * The token goes out as `Authorization: Bearer`, never in a URL, and is never printed.
 */
import type { TokenCredential } from '@azure/identity';

export type SignInMethod = 'cli' | 'device-code';

export interface SignInOptions {
  token?: string;
  scope?: string;
  signIn?: SignInMethod;
  tenantId?: string;
  clientId?: string;
}

/** A function that gives a bearer token for each request (credentials cache and renew them). */
export type TokenProvider = () => Promise<string>;

/** The options as the environment completes them (flags win). */
export function readSignInOptions(flags: { token?: string; scope?: string; signIn?: string }, env: NodeJS.ProcessEnv): SignInOptions {
  const method = flags.signIn || env['RASTER_INGEST_SIGN_IN'] || 'cli';
  if (method !== 'cli' && method !== 'device-code') throw new Error(`--sign-in must be cli or device-code, got "${method}"`);
  const pick = (value: string | undefined): string | undefined => value?.trim() || undefined;
  const options: SignInOptions = { signIn: method };
  const token = pick(flags.token) ?? pick(env['RASTER_INGEST_TOKEN']);
  const scope = pick(flags.scope) ?? pick(env['RASTER_INGEST_API_SCOPE']);
  const tenantId = pick(env['AZURE_TENANT_ID']);
  const clientId = pick(env['RASTER_INGEST_CLIENT_ID']) ?? (scope ? /^api:\/\/([0-9a-f-]{36})\//i.exec(scope)?.[1] : undefined);
  return { ...options, ...(token ? { token } : {}), ...(scope ? { scope } : {}), ...(tenantId ? { tenantId } : {}), ...(clientId ? { clientId } : {}) };
}

/**
 * The token provider for these options, or undefined when nothing is to be sent. `credentialFor`
 * is injected in tests; by default @azure/identity's AzureCliCredential or DeviceCodeCredential.
 */
export function createTokenProvider(options: SignInOptions, log: (line: string) => void, credentialFor?: (options: SignInOptions) => Promise<TokenCredential>): TokenProvider | undefined {
  if (options.token) {
    const token = options.token;
    return async () => token;
  }
  const scope = options.scope;
  if (!scope) return undefined;
  let credential: Promise<TokenCredential> | undefined;
  return async () => {
    credential ??= (credentialFor ?? ((chosen) => defaultCredential(chosen, log)))(options);
    const token = await (await credential).getToken(scope);
    if (!token) throw new Error(`no token for ${scope}`);
    return token.token;
  };
}

async function defaultCredential(chosen: SignInOptions, log: (line: string) => void): Promise<TokenCredential> {
  const identity = await import('@azure/identity');
  if (chosen.signIn === 'device-code') {
    return new identity.DeviceCodeCredential({
      ...(chosen.tenantId ? { tenantId: chosen.tenantId } : {}),
      ...(chosen.clientId ? { clientId: chosen.clientId } : {}),
      userPromptCallback: (info) => log(info.message),
    });
  }
  return new identity.AzureCliCredential(chosen.tenantId ? { tenantId: chosen.tenantId } : {});
}
