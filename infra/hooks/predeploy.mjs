// azd predeploy hook (posix and windows): waits, bounded, until the blob data plane of the storage
// account honours this provision's role assignments, before azd uploads the Flex Consumption
// deployment package.
//
// Why: role assignments made by the provision that just ran take minutes to reach the storage
// data plane; a deploy straight after can fail with 403 AuthorizationPermissionMismatch on the
// package upload (azure-dev#8026). The hook lists the package container as the identity azd is
// signed in with (which this provision granted Storage Blob Data Contributor, main.bicep
// `principalId`) until storage says yes: the app identity's roles were created in the same
// deployment, before the app, and travel the same way. A later deploy passes at the first look.
//
// Needs only azd's own sign-in (a token for https://storage.azure.com). With network isolation the
// account takes no public requests, so there is nothing to look at from here: it says so and goes on.
import { setTimeout as delay } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';

export const requiredVariables = ['STORAGE_BLOB_ENDPOINT', 'AZURE_FUNCTION_DEPLOYMENT_CONTAINER'];
const storageScope = 'https://storage.azure.com/.default';
const storageApiVersion = '2023-11-03';
/** Storage's answers that waiting can fix: the role not there yet, throttling, a restart. */
const waitableCodes = new Set(['AuthorizationPermissionMismatch', 'AuthorizationFailure', 'ServerBusy', 'InternalError', 'OperationTimedOut']);

export class HookError extends Error {}

/**
 * One look: list at most one blob of the package container.
 * @returns {Promise<{ state: 'ready' } | { state: 'pending', detail: string }>}
 */
export async function readPackageContainer({ blobEndpoint, container, token, fetchImpl = fetch }) {
  const url = `${blobEndpoint.replace(/\/+$/, '')}/${encodeURIComponent(container)}?restype=container&comp=list&maxresults=1`;
  let response;
  try {
    response = await fetchImpl(url, { headers: { authorization: `Bearer ${token}`, 'x-ms-version': storageApiVersion }, signal: AbortSignal.timeout(30_000) });
  } catch (error) {
    return { state: 'pending', detail: `storage unreachable (${error instanceof Error ? error.message : String(error)})` };
  }
  if (response.ok) return { state: 'ready' };
  const code = response.headers.get('x-ms-error-code') ?? '';
  const detail = `${response.status}${code ? ` ${code}` : ''}`;
  if (waitableCodes.has(code) || response.status === 429 || response.status >= 500) return { state: 'pending', detail };
  throw new HookError(`predeploy: listing the deployment package container ${container} failed: ${detail}. Check the provision outputs (azd env get-values) and that it succeeded.`);
}

export async function waitForDataPlane({ blobEndpoint, container, token, log, fetchImpl = fetch, attempts = 30, intervalMs = 10_000, sleep = delay }) {
  let last = 'no attempt made';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const result = await readPackageContainer({ blobEndpoint, container, token, fetchImpl });
    if (result.state === 'ready') {
      log(attempt === 1 ? 'predeploy: storage data plane access in place' : `predeploy: storage data plane access in place after ${attempt} looks`);
      return attempt;
    }
    last = result.detail;
    log(`predeploy: waiting for the new role assignments to reach storage (${attempt}/${attempts}): ${last}`);
    if (attempt < attempts) await sleep(intervalMs);
  }
  throw new HookError(
    `predeploy: storage still refuses the package container after ${attempts} looks (last: ${last}). ` +
      'Role assignments can take up to 10 minutes to apply; run azd deploy again in a few minutes. ' +
      'If it persists, check that the identity azd is signed in with holds Storage Blob Data Contributor on the account (main.bicep principalId).',
  );
}

async function storageTokenFromAzd(tenantId) {
  const { AzureDeveloperCliCredential } = await import('@azure/identity');
  try {
    return (await new AzureDeveloperCliCredential(tenantId ? { tenantId } : {}).getToken(storageScope)).token;
  } catch (error) {
    throw new HookError(`predeploy: azd gave no storage token: ${error instanceof Error ? error.message : String(error)}. Sign in with: azd auth login`);
  }
}

export async function runPredeploy({ env = process.env, log = console.log, getToken = storageTokenFromAzd, ...options } = {}) {
  if ((env['NETWORK_ISOLATION'] ?? '').trim().toLowerCase() === 'true') {
    log('predeploy: network isolation is on: storage takes no public requests, so there is no data-plane access to wait for from here');
    return 0;
  }
  const missing = requiredVariables.filter((name) => !env[name]?.trim());
  if (missing.length > 0) throw new HookError(`predeploy: ${missing.join(', ')} not set. Run azd provision first: these are its outputs.`);
  const token = await getToken(env['AZURE_TENANT_ID']?.trim() || undefined);
  return waitForDataPlane({ blobEndpoint: String(env['STORAGE_BLOB_ENDPOINT']).trim(), container: String(env['AZURE_FUNCTION_DEPLOYMENT_CONTAINER']).trim(), token, log, ...options });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runPredeploy().catch((error) => {
    console.error(error instanceof HookError ? error.message : `predeploy: unexpected failure: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  });
}
