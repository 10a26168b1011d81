/**
 * Bearer tokens for a STAC API from a Microsoft Entra identity (the Function App's managed
 * identity in Azure, the developer's `az login` locally), kept apart from the HTTP client so
 * the client stays free of Azure dependencies.
 */
import { DefaultAzureCredential, type TokenCredential } from '@azure/identity';
import type { StacApiSettings } from '../config.js';
import { StacApiClient, type BearerTokenProvider, type StacApiClientOptions } from './stac.api.client.js';

/** The scope Microsoft Planetary Computer Pro (GeoCatalog) issues its data-plane tokens for. */
export const planetaryComputerProScope = 'https://geocatalog.spatio.azure.com/.default';

export interface AzureTokenProviderOptions {
  /** e.g. `planetaryComputerProScope`, or `api://<app id>/.default` for a stac-fastapi behind Entra ID. */
  scope: string;
  /** Client id of a user-assigned managed identity; omit for the system-assigned one. */
  clientId?: string;
  /** Another credential (a test double, a ManagedIdentityCredential); default DefaultAzureCredential. */
  credential?: TokenCredential;
}

/**
 * A token provider for `StacApiClient`. The credential caches tokens and refreshes them before
 * they expire, so calling it before every request costs nothing most of the time.
 */
export function createAzureTokenProvider(options: AzureTokenProviderOptions): BearerTokenProvider {
  const scope = options.scope.trim();
  if (!scope) throw new Error('A token scope is required for the STAC API (for Planetary Computer Pro: ' + planetaryComputerProScope + ')');
  const credential = options.credential ?? new DefaultAzureCredential(options.clientId ? { managedIdentityClientId: options.clientId } : {});
  return async () => {
    const token = await credential.getToken(scope);
    if (!token) throw new Error(`The Azure credential returned no token for scope ${scope}`);
    return token.token;
  };
}

/** A `StacApiClient` for `connection`, signing in with `DefaultAzureCredential` (or `credential`) when a scope is given. */
export function createAzureStacApiClient(
  connection: StacApiSettings,
  extra: { credential?: TokenCredential } & Omit<Partial<StacApiClientOptions>, 'baseUrl' | 'getToken' | 'query'> = {},
): StacApiClient {
  const { credential, ...clientOptions } = extra;
  const getToken = connection.scope
    ? createAzureTokenProvider({ scope: connection.scope, ...(connection.clientId ? { clientId: connection.clientId } : {}), ...(credential ? { credential } : {}) })
    : undefined;
  return new StacApiClient({
    ...clientOptions,
    baseUrl: connection.url,
    ...(getToken ? { getToken } : {}),
    ...(connection.apiVersion ? { query: { 'api-version': connection.apiVersion } } : {}),
  });
}

