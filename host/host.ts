import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve, type ServerType } from '@hono/node-server';
import { BlobServiceClient } from '@azure/storage-blob';
import { Hono } from 'hono';
import { developmentConnectionString } from '../src/storage/connection.js';
import { startAzurite, type RunningAzurite } from './azurite.js';
import { parseEpisodeFault } from './engine/episode.runner.js';
import { OrchestrationEngine } from './engine/orchestration.engine.js';
import { readVersioning } from './engine/versioning.js';
import { registerFunctionRoutes } from './http/function.routes.js';
import { createDevSignIn } from './dev.sign.in.js';
import { registerManagementApi } from './http/management.api.js';
import { durableClientInputs, type HostEndpoints } from './http/client.binding.js';
import { childEnvironment, isLoopbackAddress, loadSettings, readHostJson, shareWithApp, withdrawFromApp, type SettingsOverrides } from './settings.js';
import { acquireHubLease, type HubLease } from './storage/hub.lease.js';
import { setStorageWaitLogger } from './storage/retry.js';
import { TaskHubStore } from './storage/task.hub.store.js';
import { BlobTriggerPoller } from './triggers/blob.trigger.js';
import { EventGridBlobEvents } from './triggers/eventgrid.trigger.js';
import { QueueTriggers } from './triggers/queue.trigger.js';
import { TimerTriggers } from './triggers/timer.trigger.js';
import { WorkerSupervisor, workerEntry } from './worker.process.js';
import { sdkPatchesApplied } from './sdk.adapter.js';
import { loadApp, setAppLogger } from './worker.shim.js';

export interface HostOptions extends SettingsOverrides {
  /** Folder with the app's package.json (its "main" names the entry files). Default: this project. */
  appRoot?: string;
  /** Print one line per activity invocation (default true). */
  logActivities?: boolean;
  /** Where log lines go (default: stdout with a timestamp). */
  log?: (line: string) => void;
}

export interface RunningHost {
  url: string;
  port: number;
  /** The address the HTTP server is bound to (127.0.0.1 unless widened). */
  listenAddress: string;
  hubName: string;
  storageConnectionString: string;
  stop(): Promise<void>;
}

/** The project root: the nearest folder above this module with a package.json. */
export function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('Cannot find the project root (no package.json above the host)');
    dir = parent;
  }
  return dir;
}

/** Where the host's own clients (the durable client binding) reach the server bound to `address`. */
function loopbackReachable(address: string): string {
  // The unspecified addresses accept loopback connections too (IPv4 included for "::").
  if (address === '0.0.0.0' || address === '::' || address === 'localhost') return '127.0.0.1';
  return address.includes(':') ? `[${address}]` : address;
}

function defaultLog(line: string): void {
  process.stdout.write(`[${new Date().toISOString()}] ${line}\n`);
}

async function isAzuriteListening(connectionString: string): Promise<boolean> {
  try {
    await BlobServiceClient.fromConnectionString(connectionString).getProperties({ abortSignal: AbortSignal.timeout(2000) });
    return true;
  } catch {
    return false;
  }
}

/**
 * Storage for the app: the given connection string, or (unset / UseDevelopmentStorage=true) an
 * embedded Azurite on the default ports with its data under `<app root>/.azurite`, or the
 * Azurite that already listens there.
 */
async function resolveStorage(value: string | undefined, appRoot: string, log: (line: string) => void): Promise<{ connectionString: string; azurite?: RunningAzurite }> {
  if (value && value.trim() !== 'UseDevelopmentStorage=true') return { connectionString: value };
  const connectionString = developmentConnectionString();
  try {
    const azurite = await startAzurite({ location: join(appRoot, '.azurite'), blobPort: 10000, queuePort: 10001, tablePort: 10002 });
    log(`Started embedded Azurite (data in ${join(appRoot, '.azurite')}) on ports 10000-10002`);
    return { connectionString: azurite.connectionString, azurite };
  } catch (error) {
    if (await isAzuriteListening(connectionString)) {
      log('Ports 10000-10002 are taken by a running Azurite (or storage emulator); using it instead of starting another.');
      return { connectionString };
    }
    throw new Error(
      `Could not start the embedded Azurite on ports 10000-10002 and nothing answering like Azurite listens there: ${(error as Error).message}\n` +
        'Free those ports, or set AzureWebJobsStorage to a connection string.',
    );
  }
}

/** Starts the local Functions host for the app under appRoot. */
export async function startHost(options: HostOptions = {}): Promise<RunningHost> {
  const log = options.log ?? defaultLog;
  setStorageWaitLogger(log);
  setAppLogger((level, _category, message, functionName) => {
    if (level === 'trace' || level === 'debug') return;
    log(`${functionName ? `[${functionName}] ` : ''}${level === 'information' ? '' : `${level}: `}${message}`);
  });
  const appRoot = resolve(options.appRoot ?? projectRoot());
  const settings = loadSettings(appRoot, options);
  const storage = await resolveStorage(settings.values['AzureWebJobsStorage'], appRoot, log);
  shareWithApp(settings.values, 'AzureWebJobsStorage', storage.connectionString);

  const cleanups: Array<() => Promise<void>> = [];
  const cleanup = async (): Promise<void> => {
    for (const step of cleanups.reverse()) await step().catch((error: unknown) => log(`Shutdown step failed: ${(error as Error).message}`));
  };
  if (storage.azurite) cleanups.push(() => storage.azurite!.stop());

  try {
    const store = new TaskHubStore(storage.connectionString, settings.hubName);
    await store.ensureCreated();
    const leaseWaitMs = Number(settings.values['DURABLE_HUB_LEASE_WAIT_MS'] ?? 20_000);
    const lease: HubLease = await acquireHubLease(store.leases, settings.hubName, log, leaseWaitMs);
    cleanups.push(() => lease.release());

    const versioning = readVersioning(readHostJson(appRoot).extensions?.durableTask);
    const registrations = await loadApp(appRoot);
    const patches = sdkPatchesApplied();
    if (!patches.taskIds) log('WARNING: durable-functions internals differ from 3.5.0: task ids are counted, not taken from the SDK (see host/README.md, "SDK patches")');
    if (!patches.retryTimeouts) log('WARNING: durable-functions internals differ from 3.5.0: retryTimeoutInMilliseconds is not enforced (see host/README.md, "SDK patches")');
    let port = settings.port;
    let ownWebsiteHostname = false;
    const rpcHost = loopbackReachable(settings.listenAddress);
    const endpoints = (): HostEndpoints => ({
      publicOrigin: `http://${settings.values['WEBSITE_HOSTNAME'] ?? `localhost:${port}`}`,
      rpcOrigin: `http://${rpcHost}:${port}`,
      taskHubName: settings.hubName,
      connectionName: 'Storage',
    });
    // Read here, at the host's edge: the engine takes options, never the environment.
    const maxHistoryBlocks = settings.values['DURABLE_HISTORY_MAX_BLOCKS'];
    const fault = parseEpisodeFault(settings.values['DURABLE_HOST_FAULT']);
    const engine = new OrchestrationEngine({
      store,
      registrations,
      maxConcurrentActivities: settings.maxConcurrentActivities,
      log,
      logActivities: options.logActivities ?? true,
      versioning,
      activityTimeoutMs: settings.functionTimeoutMs,
      activityInputs: (registration) => durableClientInputs(registration, endpoints()),
      ...(maxHistoryBlocks ? { maxHistoryBlocks: Number(maxHistoryBlocks) } : {}),
      ...(fault ? { fault } : {}),
    });

    const app = new Hono();
    registerManagementApi(app, engine.instances, endpoints);
    const routePrefix = readHostJson(appRoot).extensions?.http?.routePrefix ?? 'api';
    const signIn = settings.signInKey ? createDevSignIn(settings.signInKey) : undefined;
    const routes = registerFunctionRoutes(app, registrations.values(), { routePrefix, endpoints, log, ...(signIn ? { signIn } : {}) });
    if (signIn) log('Sign-in on (HOST_SIGN_IN): API routes need a development token with the route\'s app role (docs/security.md, "Sign-in")');
    // The host's front door leads to the app's dashboard, when the app has one (a function at `/` wins).
    const dashboard = [...registrations.values()].some((r) => r.trigger.type === 'httpTrigger' && String(r.trigger['route'] ?? '').startsWith('dashboard/'));
    if (dashboard) app.get('/', (c) => c.redirect(`${routePrefix ? `/${routePrefix.replace(/^\/+|\/+$/g, '')}` : ''}/dashboard/`));
    app.notFound((c) => c.json({ error: `No function or management route matches ${c.req.method} ${new URL(c.req.url).pathname}` }, 404));

    const server: ServerType = await new Promise((resolveServer, reject) => {
      const created = serve({ fetch: app.fetch, port, hostname: settings.listenAddress, overrideGlobalObjects: false }, () => resolveServer(created));
      created.once('error', reject);
    });
    const bound = server.address() as AddressInfo;
    port = bound.port;
    if (!isLoopbackAddress(bound.address)) {
      log(
        `WARNING: listening on ${bound.address}, reachable from other machines: anyone who can reach this port can submit, read, ` +
          'terminate and purge jobs. The local host has no function keys or other authentication; ' +
          'use --listen 127.0.0.1 (the default) unless the network is yours.',
      );
    }
    if (!settings.values['WEBSITE_HOSTNAME']) {
      shareWithApp(settings.values, 'WEBSITE_HOSTNAME', `localhost:${port}`);
      ownWebsiteHostname = true;
    }
    cleanups.push(async () => {
      const closed = new Promise<void>((resolveClose) => server.close(() => resolveClose()));
      // Keep-alive connections would hold close() open.
      (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      await closed;
      if (ownWebsiteHostname) withdrawFromApp('WEBSITE_HOSTNAME');
    });
    cleanups.push(() => engine.stop());

    const hostId = `localhost-${settings.hubName.toLowerCase()}`;
    const timers = new TimerTriggers({ registrations: registrations.values(), settings: settings.values, hostStorage: storage.connectionString, hostId, endpoints, log });
    cleanups.push(() => timers.stop());
    const poller = new BlobTriggerPoller({
      registrations: registrations.values(),
      settings: settings.values,
      hostStorage: storage.connectionString,
      hostId,
      intervalMs: settings.blobPollIntervalMs,
      maxContentBytes: settings.blobMaxContentBytes,
      parallelism: settings.blobParallelism,
      endpoints,
      log,
    });
    cleanups.push(() => poller.stop());
    const eventGrid = new EventGridBlobEvents({
      registrations: registrations.values(),
      hostStorage: storage.connectionString,
      hostId,
      containers: settings.eventGridContainers,
      eventTypes: settings.eventGridEventTypes,
      intervalMs: settings.blobPollIntervalMs,
      retryDelaysMs: settings.eventGridRetryDelaysMs,
      endpoints,
      log,
    });
    cleanups.push(() => eventGrid.stop());
    const queueTriggers = new QueueTriggers({ registrations: registrations.values(), settings: settings.values, queues: settings.queues, endpoints, log });
    cleanups.push(() => queueTriggers.stop());

    const resumed = await engine.start();
    await poller.start();
    await eventGrid.start();
    queueTriggers.start();
    await timers.start();

    const url = `http://localhost:${port}`;
    log(`Functions host for ${appRoot} listening on ${url} (task hub ${settings.hubName}, ${engine.activityConcurrency} concurrent activities)`);
    if (versioning.defaultVersion) {
      log(`Orchestration versioning: defaultVersion ${versioning.defaultVersion}, versionMatchStrategy ${versioning.matchStrategy}, versionFailureStrategy ${versioning.failureStrategy}`);
    }
    for (const route of routes) log(`  ${route}`);
    for (const registration of registrations.values()) {
      if (!['httpTrigger', 'timerTrigger', 'queueTrigger', 'eventGridTrigger'].includes(registration.trigger.type)) log(`  ${registration.name}: ${registration.trigger.type}${registration.trigger['path'] ? ` (${String(registration.trigger['path'])})` : ''}`);
    }
    for (const line of [...timers.describe(), ...queueTriggers.describe(), ...eventGrid.describe()]) log(`  ${line}`);
    if (resumed) log(`Resumed ${resumed} unfinished orchestration(s) from storage`);
    if (poller.count) log(`Polling ${poller.count} blob trigger(s) every ${settings.blobPollIntervalMs} ms`);
    if (eventGrid.count) log(`Event Grid stand-in: BlobCreated and BlobDeleted events for blobs in ${settings.eventGridContainers.join(', ')}, checked every ${settings.blobPollIntervalMs} ms`);

    // Started last, stopped first: the worker's storage settings are those the host resolved.
    if (settings.startWorker) {
      const worker = new WorkerSupervisor({ entry: join(appRoot, workerEntry), cwd: appRoot, env: childEnvironment({ AzureWebJobsStorage: storage.connectionString }), log });
      if (worker.start()) cleanups.push(() => worker.stop());
    } else {
      log('Container worker: not started (--no-worker / HOST_NO_WORKER=1)');
    }

    let stopping: Promise<void> | undefined;
    return {
      url,
      port,
      listenAddress: bound.address,
      hubName: settings.hubName,
      storageConnectionString: storage.connectionString,
      stop: () => (stopping ??= cleanup()),
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}
