// The API's Entra ID app registration, made or updated by the preprovision hook: Bicep cannot make
// one without the Microsoft Graph Bicep extension, which would need Graph permissions for the
// deploying identity on every provision (CI's service principal included) and a registry download
// at build time. Here: Microsoft Graph REST with azd's own sign-in, upserted by a unique name
// (`raster-ingest-<azd env>`), so a second run changes nothing.
//
// It carries the app roles of src/api/access.ts (reader, operator, admin; test/infra compares
// them), the identifier URI api://<client id> (the CLI's scope), ID tokens for browser sign-in
// (Easy Auth, no secret), and the redirect URI of the deployed app once its URL is known (a later
// provision). The person deploying gets the admin role. AUTH_CLIENT_ID is set in the azd
// environment, which main.bicepparam reads.
//
// Opt out: set AUTH_CLIENT_ID to a registration an administrator made (nothing is changed then), or
// AUTH_APP_REGISTRATION=skip (no sign-in configured: the API refuses every request).
import { createHash } from 'node:crypto';
import { describeErrorResponse } from './error.response.mjs';

export const graphEndpoint = 'https://graph.microsoft.com/v1.0';
export const graphScope = 'https://graph.microsoft.com/.default';

/** The app roles, as src/api/access.ts names them, with what each may do. */
export const appRoleDefinitions = [
  { value: 'reader', displayName: 'Reader', description: 'View jobs, batches, tiles and COGs' },
  { value: 'operator', displayName: 'Operator', description: 'Reader, and submit, upload, retry (one job or in bulk) and approve quarantined uploads' },
  { value: 'admin', displayName: 'Administrator', description: 'Operator, and purge and edit collection definitions' },
];

/** A stable id from a name (app role ids must not change between runs). */
export function stableId(name) {
  const hex = createHash('sha256').update(`raster-ingest:${name}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** The registration's properties for an azd environment; `appId` and `baseUrl` once known. */
export function registrationFor({ environmentName, appId, baseUrl }) {
  return {
    displayName: `raster-ingest (${environmentName})`,
    signInAudience: 'AzureADMyOrg',
    // Device code sign-in of the CLI uses the API's own registration as its public client.
    isFallbackPublicClient: true,
    appRoles: appRoleDefinitions.map((role) => ({
      id: stableId(`app-role:${role.value}`),
      value: role.value,
      displayName: role.displayName,
      description: role.description,
      allowedMemberTypes: ['User', 'Application'],
      isEnabled: true,
    })),
    api: {
      requestedAccessTokenVersion: 2,
      oauth2PermissionScopes: [
        {
          id: stableId('scope:user_impersonation'),
          value: 'user_impersonation',
          type: 'User',
          adminConsentDisplayName: 'Use raster-ingest as the signed-in user',
          adminConsentDescription: 'Call the raster-ingest job API with the roles the user holds',
          userConsentDisplayName: 'Use raster-ingest as you',
          userConsentDescription: 'Call the raster-ingest job API with the roles you hold',
          isEnabled: true,
        },
      ],
    },
    web: {
      implicitGrantSettings: { enableIdTokenIssuance: true },
      ...(baseUrl ? { redirectUris: [`${baseUrl.replace(/\/+$/, '')}/.auth/login/aad/callback`] } : {}),
    },
    ...(appId ? { identifierUris: [`api://${appId}`] } : {}),
  };
}

/**
 * Makes or updates the registration and its service principal; returns its client id.
 * `fail(message)` throws the hook's own error type.
 */
export async function ensureAppRegistration({ env, token, log, azd, fail, baseUrl = graphEndpoint, fetchImpl = fetch }) {
  const given = env['AUTH_CLIENT_ID']?.trim();
  if (given) {
    log(`preprovision: using the app registration AUTH_CLIENT_ID=${given} as it is`);
    return given;
  }
  if ((env['AUTH_APP_REGISTRATION'] ?? '').trim().toLowerCase() === 'skip') {
    log('preprovision: AUTH_APP_REGISTRATION=skip: no app registration, so no sign-in is configured and the API refuses every request');
    return undefined;
  }
  const environmentName = env['AZURE_ENV_NAME']?.trim() || 'raster-ingest';
  const uniqueName = `raster-ingest-${environmentName}`.toLowerCase().replace(/[^a-z0-9-]/g, '-');
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const applicationUrl = `${baseUrl}/applications(uniqueName='${encodeURIComponent(uniqueName)}')`;
  const refused = async (what, response) =>
    fail(
      `preprovision: ${what} was refused by Microsoft Graph: ${await describeErrorResponse(response)}. ` +
        'The signed-in identity may not register applications in this tenant. Ask an administrator to create it (docs/security.md, "Sign-in") and run: azd env set AUTH_CLIENT_ID <client id>; ' +
        'or azd env set AUTH_APP_REGISTRATION skip to deploy without sign-in (the API then refuses every request).',
    );

  // Upsert by unique name: created on the first run, updated (to the same values) afterwards.
  const upsert = await fetchImpl(applicationUrl, {
    method: 'PATCH',
    headers: { ...headers, prefer: 'create-if-missing' },
    body: JSON.stringify(registrationFor({ environmentName, baseUrl: env['FUNCTION_BASE_URL'] })),
  });
  if (!upsert.ok) return refused('creating or updating the app registration', upsert);
  const read = await fetchImpl(`${applicationUrl}?$select=id,appId`, { headers });
  if (!read.ok) return refused('reading the app registration', read);
  const { appId } = await read.json();
  const withUri = await fetchImpl(applicationUrl, { method: 'PATCH', headers, body: JSON.stringify({ identifierUris: [`api://${appId}`] }) });
  if (!withUri.ok) return refused('setting the identifier URI', withUri);

  // The service principal: tokens are issued and roles assigned through it.
  let principal = await fetchImpl(`${baseUrl}/servicePrincipals(appId='${appId}')?$select=id`, { headers });
  if (principal.status === 404) principal = await fetchImpl(`${baseUrl}/servicePrincipals`, { method: 'POST', headers, body: JSON.stringify({ appId }) });
  if (!principal.ok) return refused('creating the service principal', principal);
  const { id: servicePrincipalId } = await principal.json();

  // The person deploying administers it (an existing assignment is answered 400/409: nothing to do).
  const deployer = env['AZURE_PRINCIPAL_ID']?.trim();
  if (deployer) {
    const assigned = await fetchImpl(`${baseUrl}/servicePrincipals/${servicePrincipalId}/appRoleAssignedTo`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ principalId: deployer, resourceId: servicePrincipalId, appRoleId: stableId('app-role:admin') }),
    });
    if (assigned.ok) log(`preprovision: the deploying identity ${deployer} holds the admin role`);
    else if (assigned.status !== 400 && assigned.status !== 409) log(`preprovision: note: assigning the admin role to ${deployer} failed: ${await describeErrorResponse(assigned)}`);
  }
  azd(['env', 'set', 'AUTH_CLIENT_ID', appId]);
  log(`preprovision: app registration ${uniqueName} (client id ${appId}) with the roles ${appRoleDefinitions.map((role) => role.value).join(', ')}`);
  return appId;
}
