// azd prepackage / postpackage hook of the `api` service: the host.json that is packaged names the
// Durable backend the deployment chose.
//
// Why: the backend is also chosen by app settings (`AzureFunctionsJobHost__extensions__durableTask__
// storageProvider__*`, infra/modules/function-app.bicep), which the Functions host reads, but the
// Flex Consumption scale controller reads `extensions.durableTask.storageProvider` from the host.json
// file itself (FunctionsSyncManager.ReadDurableTaskConfig in azure-functions-host). With the
// Durable Task Scheduler, or Azure Storage state in an account of its own, an unchanged host.json
// makes it watch the wrong (empty) queues, so the app would never scale out, and never wake from 0.
//
//   node infra/hooks/host-json.mjs package   writes host.json for DURABLE_BACKEND / SEPARATE_DURABLE_STORAGE
//   node infra/hooks/host-json.mjs restore   writes back the checked-in variant (Azure Storage, shared account)
//
// It reads the same azd environment variables as infra/main.bicepparam, which exist before the
// first provision (`azd up` packages before it provisions). The checked-in host.json is the
// default variant, byte for byte: packaging the default changes nothing in the working tree.
// test/infra packages host.json for every parameter file and compares it with the app settings.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** The app setting that names the Durable Task Scheduler's connection (function-app.bicep). */
export const schedulerConnectionSettingName = 'DURABLE_TASK_SCHEDULER_CONNECTION_STRING';
/** The identity-based connection of a Durable state account of its own (function-app.bicep). */
export const durableStorageConnectionName = 'DurableStorage';
/** Azure Storage provider on Flex: Microsoft recommends polling at most every 10 s (its default is 30 s). */
export const maxQueuePollingInterval = '00:00:10';

/** A failure to report as is: its message is for the operator, without a stack trace. */
export class HookError extends Error {}

/**
 * The backend as infra/main.bicepparam reads it: DURABLE_BACKEND (empty: AzureStorage) and
 * SEPARATE_DURABLE_STORAGE ("true": its own account; ignored with the scheduler, as main.bicep does).
 * @param {Record<string, string | undefined>} env
 * @returns {{ durableBackend: 'AzureStorage' | 'DurableTaskScheduler', separateDurableStorage: boolean }}
 */
export function readBackend(env) {
  const backend = env['DURABLE_BACKEND']?.trim() || 'AzureStorage';
  if (backend !== 'AzureStorage' && backend !== 'DurableTaskScheduler') {
    throw new HookError(`host.json: DURABLE_BACKEND is "${backend}"; it must be AzureStorage or DurableTaskScheduler (azd env set DURABLE_BACKEND ...)`);
  }
  const separate = (env['SEPARATE_DURABLE_STORAGE'] ?? 'false').trim().toLowerCase() === 'true';
  return { durableBackend: backend, separateDurableStorage: backend === 'AzureStorage' && separate };
}

/**
 * `extensions.durableTask.storageProvider` for a backend: exactly what the app settings of
 * function-app.bicep set under `AzureFunctionsJobHost__extensions__durableTask__storageProvider__`.
 * @param {{ durableBackend: string, separateDurableStorage: boolean }} backend
 */
export function storageProviderFor(backend) {
  if (backend.durableBackend === 'DurableTaskScheduler') return { type: 'azureManaged', connectionStringName: schedulerConnectionSettingName };
  return backend.separateDurableStorage ? { maxQueuePollingInterval, connectionName: durableStorageConnectionName } : { maxQueuePollingInterval };
}

/**
 * host.json (parsed) with its storage provider replaced for `backend`; everything else as it is.
 * @param {any} hostJson
 * @param {{ durableBackend: string, separateDurableStorage: boolean }} backend
 */
export function hostJsonFor(hostJson, backend) {
  const durableTask = hostJson?.extensions?.durableTask;
  if (!durableTask || typeof durableTask !== 'object') throw new HookError('host.json: extensions.durableTask is missing');
  return { ...hostJson, extensions: { ...hostJson.extensions, durableTask: { ...durableTask, storageProvider: storageProviderFor(backend) } } };
}

/** host.json as written to disk (two-space JSON and a final newline, like the checked-in file). */
export function serializeHostJson(hostJson) {
  return `${JSON.stringify(hostJson, null, 2)}\n`;
}

/**
 * @param {{ command: string, env?: Record<string, string | undefined>, projectDir?: string, log?: (line: string) => void }} options
 */
export function runHostJsonHook({ command, env = process.env, projectDir = process.cwd(), log = console.log }) {
  const path = join(projectDir, 'host.json');
  const current = JSON.parse(readFileSync(path, 'utf8'));
  if (command === 'package') {
    const backend = readBackend(env);
    writeFileSync(path, serializeHostJson(hostJsonFor(current, backend)));
    log(`host.json: packaged for ${backend.durableBackend}${backend.separateDurableStorage ? ' (Durable state in its own account)' : ''}: storageProvider ${JSON.stringify(storageProviderFor(backend))}`);
    return;
  }
  if (command === 'restore') {
    writeFileSync(path, serializeHostJson(hostJsonFor(current, { durableBackend: 'AzureStorage', separateDurableStorage: false })));
    return;
  }
  throw new HookError(`host.json: unknown command "${command}" (package or restore)`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    runHostJsonHook({ command: process.argv[2] ?? '' });
  } catch (error) {
    console.error(error instanceof HookError ? error.message : `host.json: unexpected failure: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  }
}
