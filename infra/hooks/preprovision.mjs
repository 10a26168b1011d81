// azd preprovision hook (posix and windows):
// 1. registers the resource providers the template deploys into, so that the first `azd up` on a
//    fresh subscription does not fail with MissingSubscriptionRegistration half-way through.
//    Registering is idempotent; a provider already registered costs one GET;
// 2. makes or updates the API's Entra ID app registration with its app roles and sets
//    AUTH_CLIENT_ID (app-registration.mjs says why here and not in Bicep).
//
// Needs only azd's own sign-in (no Azure CLI). Registering needs the subscription-level action
// `*/register/action` (Contributor or Owner on the subscription); without it the hook names the
// providers still missing and the command an administrator runs once.
import { spawnSync } from 'node:child_process';
import { setTimeout as delay } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { ensureAppRegistration, graphScope } from './app-registration.mjs';
import { describeErrorResponse } from './error.response.mjs';

export const armEndpoint = 'https://management.azure.com';
const armScope = `${armEndpoint}/.default`;
const providersApiVersion = '2021-04-01';

/**
 * Every resource provider namespace of a resource type in infra/ (test/infra compares this list with
 * the compiled template). Microsoft.Resources and Microsoft.Authorization are always registered.
 */
export const resourceProviders = [
  'Microsoft.App',
  'Microsoft.ContainerRegistry',
  'Microsoft.DurableTask',
  'Microsoft.EventGrid',
  'Microsoft.Insights',
  'Microsoft.ManagedIdentity',
  'Microsoft.Network',
  'Microsoft.OperationalInsights',
  'Microsoft.ServiceBus',
  'Microsoft.Storage',
  'Microsoft.Web',
];

/** A failure to report as is: its message is for the operator, without a stack trace. */
export class HookError extends Error {}

function manualCommand(namespaces) {
  return namespaces.map((namespace) => `az provider register --namespace ${namespace}`).join(' && ');
}

/**
 * Registers what is not registered yet and waits (bounded) until each is.
 * @returns {Promise<string[]>} the namespaces this run registered
 */
export async function registerProviders({ subscriptionId, token, log, providers = resourceProviders, baseUrl = armEndpoint, fetchImpl = fetch, attempts = 60, intervalMs = 10_000, sleep = delay }) {
  const providerUrl = (namespace, action = '') =>
    `${baseUrl}/subscriptions/${encodeURIComponent(subscriptionId)}/providers/${encodeURIComponent(namespace)}${action}?api-version=${providersApiVersion}`;
  const headers = { authorization: `Bearer ${token}` };
  const stateOf = async (namespace) => {
    const response = await fetchImpl(providerUrl(namespace), { headers, signal: AbortSignal.timeout(60_000) });
    if (!response.ok) throw new HookError(`preprovision: reading the resource provider ${namespace} failed: ${await describeErrorResponse(response)}`);
    return String((await response.json())?.registrationState ?? 'Unknown');
  };

  const pending = [];
  for (const namespace of providers) {
    const state = await stateOf(namespace);
    if (state === 'Registered') continue;
    if (state !== 'Registering') {
      const response = await fetchImpl(providerUrl(namespace, '/register'), { method: 'POST', headers, signal: AbortSignal.timeout(60_000) });
      if (!response.ok) {
        const missing = providers.filter((name) => name === namespace || pending.includes(name));
        throw new HookError(
          `preprovision: registering the resource provider ${namespace} was refused: ${await describeErrorResponse(response)}. ` +
            `The signed-in identity needs Contributor on the subscription for this, once. Or ask an administrator to run: ${manualCommand(missing)}`,
        );
      }
      log(`preprovision: registering the resource provider ${namespace}`);
    }
    pending.push(namespace);
  }
  const registered = [...pending];
  for (let attempt = 1; pending.length > 0; attempt++) {
    for (const namespace of [...pending]) if ((await stateOf(namespace)) === 'Registered') pending.splice(pending.indexOf(namespace), 1);
    if (pending.length === 0) break;
    if (attempt >= attempts) throw new HookError(`preprovision: ${pending.join(', ')} still not registered after ${attempts} looks; run azd provision again later, or: ${manualCommand(pending)}`);
    log(`preprovision: waiting for ${pending.join(', ')} (${attempt}/${attempts})`);
    await sleep(intervalMs);
  }
  log(registered.length ? `preprovision: registered ${registered.join(', ')}` : `preprovision: all ${providers.length} resource providers already registered`);
  return registered;
}

/** A token from azd's own sign-in for `scope` (ARM, or Microsoft Graph). */
async function tokenFromAzd(tenantId, scope = armScope) {
  const { AzureDeveloperCliCredential } = await import('@azure/identity');
  try {
    return (await new AzureDeveloperCliCredential(tenantId ? { tenantId } : {}).getToken(scope)).token;
  } catch (error) {
    throw new HookError(`preprovision: azd gave no token for ${scope}: ${error instanceof Error ? error.message : String(error)}. Sign in with: azd auth login`);
  }
}

/** Runs azd with the hook's console; a failure reports azd's exit status (azd printed its own error). */
function runAzd(args) {
  const result = spawnSync('azd', args, { stdio: 'inherit' });
  if (result.error) throw new HookError(`preprovision: could not run azd (${result.error.message}). Install the Azure Developer CLI and put azd on PATH.`);
  if (result.status !== 0) throw new HookError(`preprovision: azd ${args.join(' ')} failed with exit status ${result.status}`);
}

/** @returns {Promise<{ registered: string[], authClientId: string | undefined }>} */
export async function runPreprovision({ env = process.env, log = console.log, getToken = tokenFromAzd, azd = runAzd, graphBaseUrl, ...options } = {}) {
  const subscriptionId = env['AZURE_SUBSCRIPTION_ID']?.trim();
  if (!subscriptionId) throw new HookError('preprovision: AZURE_SUBSCRIPTION_ID not set. Run the hook through azd (azd up / azd provision), which asks for the subscription first.');
  const tenantId = env['AZURE_TENANT_ID']?.trim() || undefined;
  const registered = await registerProviders({ subscriptionId, token: await getToken(tenantId, armScope), log, ...options });
  const needsGraph = !env['AUTH_CLIENT_ID']?.trim() && (env['AUTH_APP_REGISTRATION'] ?? '').trim().toLowerCase() !== 'skip';
  const authClientId = await ensureAppRegistration({
    env,
    token: needsGraph ? await getToken(tenantId, graphScope) : '',
    log,
    azd,
    fail: (message) => {
      throw new HookError(message);
    },
    ...(graphBaseUrl ? { baseUrl: graphBaseUrl } : {}),
    ...(options.fetchImpl ? { fetchImpl: options.fetchImpl } : {}),
  });
  return { registered, authClientId };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runPreprovision().catch((error) => {
    console.error(error instanceof HookError ? error.message : `preprovision: unexpected failure: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  });
}
