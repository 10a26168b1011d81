// azd postdeploy hook (posix and windows): syncs the app's triggers, then subscribes the upload
// function to Blob Created events.
//
// Why sync first: on Flex Consumption the function list (and the scale controller's view of the
// triggers) can stay at "WarmUp" after a deploy until the triggers are synced
// (azure-functions-host#10169); POST .../host/default/sync asks the platform to read them from the
// running host now. It is done after every deploy, the first one and the later ones alike.
//
// Why after the deploy: the Event Grid subscription delivers to the Event Grid trigger function
// `ingestUpload` by its resource id (endpoint type AzureFunction, no key), and ARM checks that the
// function exists when the subscription is created. A function exists only once the deployed code
// has been indexed by its host. So: wake the app, wait until ARM lists the function, then
// `azd provision` again with SUBSCRIBE_BLOB_EVENTS=true, which adds the subscription to
// infra/main.bicep's deployment (and keeps it there on later provisions).
//
// Needs only what `azd up` already needs: azd (signed in with `azd auth login`) and Node.js. The
// function is looked up in Azure Resource Manager with azd's own sign-in (no Azure CLI). No key of
// the app is read. Every failure names its real cause (an ARM status and error code, or the azd
// error) and stops.
import { spawnSync } from 'node:child_process';
import { setTimeout as delay } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { describeErrorResponse } from './error.response.mjs';

/** Provision outputs and azd environment values the hook reads. */
export const requiredVariables = ['AZURE_SUBSCRIPTION_ID', 'AZURE_RESOURCE_GROUP', 'AZURE_FUNCTION_APP_NAME', 'FUNCTION_BASE_URL'];

export const armEndpoint = 'https://management.azure.com';
const armScope = `${armEndpoint}/.default`;
const webApiVersion = '2024-04-01';
/** The Event Grid trigger the subscription delivers to (src/functions/uploads.eventgrid.ts). */
export const uploadFunctionName = 'ingestUpload';
const retryText = 'Once fixed, run: azd env set SUBSCRIBE_BLOB_EVENTS true && azd provision';

/** A failure to report as is: its message is for the operator, without a stack trace. */
export class HookError extends Error {}

/**
 * @param {Record<string, string | undefined>} env
 * @returns {{ subscriptionId: string, resourceGroup: string, functionAppName: string, functionBaseUrl: string, alreadySubscribed: boolean, tenantId: string | undefined }}
 */
export function readHookSettings(env) {
  const missing = requiredVariables.filter((name) => !env[name]?.trim());
  if (missing.length > 0) {
    throw new HookError(`postdeploy: ${missing.join(', ')} not set. Run the hook through azd (azd up / azd deploy): these come from the provision outputs and the azd environment.`);
  }
  const value = (name) => env[name]?.trim() ?? '';
  return {
    subscriptionId: value('AZURE_SUBSCRIPTION_ID'),
    resourceGroup: value('AZURE_RESOURCE_GROUP'),
    functionAppName: value('AZURE_FUNCTION_APP_NAME'),
    functionBaseUrl: value('FUNCTION_BASE_URL').replace(/\/+$/, ''),
    alreadySubscribed: value('SUBSCRIBE_BLOB_EVENTS').toLowerCase() === 'true',
    tenantId: value('AZURE_TENANT_ID') || undefined,
  };
}

function siteUrl(settings, baseUrl) {
  return (
    `${baseUrl}/subscriptions/${encodeURIComponent(settings.subscriptionId)}/resourceGroups/${encodeURIComponent(settings.resourceGroup)}` +
    `/providers/Microsoft.Web/sites/${encodeURIComponent(settings.functionAppName)}`
  );
}

/**
 * The Function App itself must be readable: a 404 or 403 here is a wrong name or missing access,
 * which no amount of waiting fixes, so it fails at once (a 404 on the function later means "not yet").
 */
export async function checkFunctionApp({ settings, token, baseUrl = armEndpoint, fetchImpl = fetch }) {
  let response;
  try {
    response = await fetchImpl(`${siteUrl(settings, baseUrl)}?api-version=${webApiVersion}`, {
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(60_000),
    });
  } catch (error) {
    throw new HookError(`postdeploy: Azure Resource Manager unreachable (${error instanceof Error ? error.message : String(error)}). ${retryText}`);
  }
  if (response.ok) return;
  const detail = await describeErrorResponse(response);
  throw new HookError(
    `postdeploy: reading the Function App ${settings.functionAppName} failed: ${detail}. ` +
      'The identity azd is signed in with needs read access to the app (e.g. Reader or Contributor on the resource group). ' +
      retryText,
  );
}

/**
 * One look at the upload function through ARM (GET .../sites/<app>/functions/ingestUpload).
 * @returns {Promise<{ state: 'ready' } | { state: 'pending', detail: string }>}
 * `pending` covers what waiting can fix: the function not indexed yet (404), the host still
 * starting (5xx), throttling (429), a network error. Anything else (401, 403, 400) throws a HookError at once.
 */
export async function readUploadFunction({ settings, token, baseUrl = armEndpoint, fetchImpl = fetch }) {
  const url = `${siteUrl(settings, baseUrl)}/functions/${uploadFunctionName}?api-version=${webApiVersion}`;
  let response;
  try {
    response = await fetchImpl(url, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(60_000) });
  } catch (error) {
    return { state: 'pending', detail: `Azure Resource Manager unreachable (${error instanceof Error ? error.message : String(error)})` };
  }
  if (response.ok) return { state: 'ready' };
  const detail = await describeErrorResponse(response);
  if (response.status === 404) return { state: 'pending', detail: `the app does not list ${uploadFunctionName} yet (${detail})` };
  if (response.status === 429 || response.status >= 500) return { state: 'pending', detail: `ARM answered ${detail}` };
  throw new HookError(
    `postdeploy: reading the function ${uploadFunctionName} of ${settings.functionAppName} failed: ${detail}. ` +
      'The identity azd is signed in with needs read access to the app (e.g. Reader or Contributor on the resource group). ' +
      retryText,
  );
}

/**
 * POST .../sites/<app>/host/default/sync: the platform re-reads the triggers of the deployed code.
 * A refusal is reported, not fatal: the wait below says whether the function shows up anyway.
 */
export async function syncTriggers({ settings, token, log, baseUrl = armEndpoint, fetchImpl = fetch }) {
  let response;
  try {
    response = await fetchImpl(`${siteUrl(settings, baseUrl)}/host/default/sync?api-version=${webApiVersion}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(60_000),
    });
  } catch (error) {
    log(`postdeploy: note: the trigger sync did not reach Azure Resource Manager (${error instanceof Error ? error.message : String(error)})`);
    return false;
  }
  if (response.ok) {
    log(`postdeploy: triggers of ${settings.functionAppName} synced`);
    return true;
  }
  log(`postdeploy: note: the trigger sync was answered ${await describeErrorResponse(response)}; waiting for the function regardless`);
  return false;
}

/** Wakes the app and looks for the function until it exists or the attempts run out. */
export async function waitForUploadFunction({ readFunction, wake, log, attempts = 30, intervalMs = 10_000, sleep = delay }) {
  let lastDetail = 'no attempt made';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    await wake();
    const result = await readFunction();
    if (result.state === 'ready') return;
    lastDetail = result.detail;
    log(`postdeploy: waiting for the function ${uploadFunctionName} (${attempt}/${attempts}): ${lastDetail}`);
    if (attempt < attempts) await sleep(intervalMs);
  }
  throw new HookError(
    `postdeploy: no function ${uploadFunctionName} after ${attempts} attempts; last: ${lastDetail}. ` +
      `Check that the deploy succeeded and that the app log shows the Event Grid trigger ${uploadFunctionName}. ` +
      retryText,
  );
}

/** Runs azd with the hook's console; a failure reports azd's exit status (azd printed its own error). */
function runAzd(args) {
  const result = spawnSync('azd', args, { stdio: 'inherit' });
  if (result.error) throw new HookError(`postdeploy: could not run azd (${result.error.message}). Install the Azure Developer CLI and put azd on PATH.`);
  if (result.status !== 0) throw new HookError(`postdeploy: azd ${args.join(' ')} failed with exit status ${result.status}. ${retryText}`);
}

/** Token for ARM from azd's own sign-in; azd's message explains a failure (e.g. "run azd auth login"). */
async function armTokenFromAzd(tenantId) {
  const { AzureDeveloperCliCredential } = await import('@azure/identity');
  try {
    const token = await new AzureDeveloperCliCredential(tenantId ? { tenantId } : {}).getToken(armScope);
    return token.token;
  } catch (error) {
    throw new HookError(`postdeploy: azd gave no Azure Resource Manager token: ${error instanceof Error ? error.message : String(error)}. Sign in with: azd auth login`);
  }
}

/**
 * The hook: check prerequisites, wait for the function, provision again with the subscription.
 * Dependencies are parameters so that tests run it against a fake ARM and a fake azd.
 */
export async function runPostdeploy({
  env = process.env,
  log = console.log,
  getToken = armTokenFromAzd,
  azd = runAzd,
  baseUrl = armEndpoint,
  fetchImpl = fetch,
  attempts = 30,
  intervalMs = 10_000,
  sleep = delay,
} = {}) {
  const settings = readHookSettings(env);
  // Prerequisites first, so a missing tool or sign-in fails now with its own message.
  azd(['version']);
  const token = await getToken(settings.tenantId);
  await checkFunctionApp({ settings, token, baseUrl, fetchImpl });
  await syncTriggers({ settings, token, log, baseUrl, fetchImpl });
  if (settings.alreadySubscribed) {
    log('postdeploy: the Event Grid subscription is already part of the deployment (SUBSCRIBE_BLOB_EVENTS=true)');
    return;
  }

  log(`postdeploy: waking ${settings.functionAppName} so its host indexes ${uploadFunctionName}`);
  let wakeReported = false;
  const wake = async () => {
    try {
      // Any request starts an instance; the answer (401 without a key) does not matter.
      await fetchImpl(`${settings.functionBaseUrl}/api/jobs`, { signal: AbortSignal.timeout(30_000) });
    } catch (error) {
      if (!wakeReported) log(`postdeploy: note: ${settings.functionBaseUrl} did not answer (${error instanceof Error ? error.message : String(error)}); still polling`);
      wakeReported = true;
    }
  };
  await waitForUploadFunction({
    readFunction: () => readUploadFunction({ settings, token, baseUrl, fetchImpl }),
    wake,
    log,
    attempts,
    intervalMs,
    sleep,
  });

  log(`postdeploy: ${uploadFunctionName} found; provisioning again with the Event Grid subscription`);
  azd(['env', 'set', 'SUBSCRIBE_BLOB_EVENTS', 'true']);
  azd(['provision', '--no-prompt']);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runPostdeploy().catch((error) => {
    console.error(error instanceof HookError ? error.message : `postdeploy: unexpected failure: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  });
}
