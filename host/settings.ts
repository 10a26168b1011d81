import { existsSync, readFileSync } from 'node:fs';
import { isIP, isIPv4 } from 'node:net';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { parseEventTypes, type BlobEventKind } from './triggers/eventgrid.trigger.js';

/** Everything the host needs to know before it starts, resolved once. */
export interface HostSettings {
  appRoot: string;
  port: number;
  /** Address the HTTP server binds to: loopback unless widened on purpose (the API has no keys locally). */
  listenAddress: string;
  hubName: string;
  maxConcurrentActivities: number;
  blobPollIntervalMs: number;
  /** Blobs processed at once (host.json extensions.blobs.maxDegreeOfParallelism). */
  blobParallelism: number;
  /** host.json functionTimeout: activities running longer fail (their code keeps running). */
  functionTimeoutMs: number | undefined;
  /** Blob trigger content above this many bytes is not downloaded (0: no limit). */
  blobMaxContentBytes: number;
  /** host.json extensions.queues, with Azure's defaults filled in. */
  queues: QueuesOptions;
  /** Containers whose new blobs raise the local stand-in's Event Grid BlobCreated events. */
  eventGridContainers: string[];
  /** Which events each Event Grid function subscribes to (LOCAL_EVENTGRID_EVENT_TYPES); a function not named takes BlobCreated. */
  eventGridEventTypes: Map<string, Set<BlobEventKind>>;
  /** Waits between Event Grid delivery attempts; one more attempt than entries. */
  eventGridRetryDelaysMs: number[];
  /** Whether to start the container worker process (`--no-worker` / HOST_NO_WORKER=1 turn it off). */
  startWorker: boolean;
  /** HOST_SIGN_IN: API requests need a development token (HOST_SIGN_IN_KEY signs them); off by default. */
  signInKey: string | undefined;
  /** Settings as the app sees them: environment first, then local.settings.json Values. */
  values: Record<string, string>;
}

export interface SettingsOverrides {
  port?: number;
  listenAddress?: string;
  hubName?: string;
  maxConcurrentActivities?: number;
  blobPollIntervalMs?: number;
  /** false skips the container worker process (`--no-worker`). */
  startWorker?: boolean;
}

/** Storage queue trigger options (host.json `extensions.queues`), as the Storage extension 5.x reads them. */
export interface QueuesOptions {
  /** Longest wait between polls of an empty queue (default 1 minute; at least 100 ms). */
  maxPollingIntervalMs: number;
  /** How long a failed message stays invisible before it is retried (default 0). */
  visibilityTimeoutMs: number;
  /** Messages fetched per poll (default 16, at most 32). */
  batchSize: number;
  /** Deliveries before a failing message goes to `<queue>-poison` (default 5). */
  maxDequeueCount: number;
  /** A new batch is fetched once no more than this many messages are in flight (default cores × batchSize / 2). */
  newBatchThreshold: number;
  /** `base64` (default) or `none`: how message text is encoded on the queue. */
  messageEncoding: 'base64' | 'none';
}

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as unknown;
  } catch (error) {
    throw new Error(`Cannot read ${path}: ${(error as Error).message}`);
  }
}

/** `Values` of local.settings.json, as Core Tools reads them. */
function readLocalSettings(appRoot: string): Record<string, string> {
  const path = join(appRoot, 'local.settings.json');
  if (!existsSync(path)) return {};
  const values = (readJson(path) as { Values?: Record<string, unknown> }).Values ?? {};
  return Object.fromEntries(Object.entries(values).map(([key, value]) => [key, String(value)]));
}

/** The parts of host.json the local host honours. */
export interface HostJson {
  functionTimeout?: string;
  extensions?: {
    http?: { routePrefix?: string };
    durableTask?: { hubName?: string; defaultVersion?: string; versionMatchStrategy?: string; versionFailureStrategy?: string; maxConcurrentActivityFunctions?: number };
    blobs?: { maxDegreeOfParallelism?: number };
    queues?: {
      maxPollingInterval?: string | number;
      visibilityTimeout?: string | number;
      batchSize?: number;
      maxDequeueCount?: number;
      newBatchThreshold?: number;
      messageEncoding?: string;
    };
  };
}

export function readHostJson(appRoot: string): HostJson {
  const path = join(appRoot, 'host.json');
  return existsSync(path) ? (readJson(path) as HostJson) : {};
}

/** A .NET TimeSpan such as "02:00:00" or "1.00:00:00" in milliseconds ("-1": none). */
export function timeSpanMs(value: string | undefined, settingName = 'functionTimeout'): number | undefined {
  if (!value || value.trim() === '-1') return undefined;
  const match = /^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d+))?$/.exec(value.trim());
  if (!match) throw new Error(`host.json ${settingName} "${value}" is not a time span like 00:10:00`);
  const [, days, hours, minutes, seconds, fraction] = match;
  // The fraction is of a second: "00:00:00.5" and "00:00:00.500" are both 500 ms.
  return (((Number(days ?? 0) * 24 + Number(hours)) * 60 + Number(minutes)) * 60 + Number(`${seconds}.${fraction ?? '0'}`)) * 1000;
}

function positiveInteger(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer, got "${raw}"`);
  return value;
}

/** A host.json duration: a TimeSpan string, or a number of milliseconds (the older form Azure still accepts). */
function durationMs(value: string | number | undefined, settingName: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw new Error(`host.json ${settingName} must be a non-negative number of milliseconds or a time span, got ${value}`);
    return value;
  }
  return timeSpanMs(value, settingName);
}

/** host.json `extensions.queues` with the Storage extension's defaults and limits. */
export function readQueuesOptions(queues: NonNullable<HostJson['extensions']>['queues'], cores = availableParallelism()): QueuesOptions {
  const batchSize = queues?.batchSize ?? 16;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 32) throw new Error(`host.json extensions.queues.batchSize must be 1-32, got ${batchSize}`);
  const maxDequeueCount = queues?.maxDequeueCount ?? 5;
  if (!Number.isInteger(maxDequeueCount) || maxDequeueCount < 1) throw new Error(`host.json extensions.queues.maxDequeueCount must be a positive integer, got ${maxDequeueCount}`);
  const encoding = (queues?.messageEncoding ?? 'base64').toLowerCase();
  if (encoding !== 'base64' && encoding !== 'none') throw new Error(`host.json extensions.queues.messageEncoding must be base64 or none, got "${queues?.messageEncoding}"`);
  return {
    maxPollingIntervalMs: Math.max(100, durationMs(queues?.maxPollingInterval, 'extensions.queues.maxPollingInterval') ?? 60_000),
    visibilityTimeoutMs: durationMs(queues?.visibilityTimeout, 'extensions.queues.visibilityTimeout') ?? 0,
    batchSize,
    maxDequeueCount,
    newBatchThreshold: queues?.newBatchThreshold ?? Math.ceil((cores * batchSize) / 2),
    messageEncoding: encoding,
  };
}

/** A comma list of millisecond waits, e.g. "10000,30000". */
function delayList(name: string, raw: string | undefined, fallback: number[]): number[] {
  if (raw === undefined || raw.trim() === '') return fallback;
  return raw.split(',').map((part) => {
    const value = Number(part.trim());
    if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a comma list of non-negative integers (milliseconds), got "${raw}"`);
    return value;
  });
}

/**
 * Waits before Event Grid's 2nd-5th delivery attempts: the first steps of its documented retry
 * schedule (10 s, 30 s, 1 min, 5 min). Azure keeps going (up to 30 attempts over 24 h); the
 * local stand-in gives up after these five attempts with a log line.
 */
export const eventGridRetryDelaysMs = [10_000, 30_000, 60_000, 300_000];

/** The app's deletion trigger takes BlobDeleted, as its own subscription in Azure does (infra/modules/event-grid.bicep); every other Event Grid function BlobCreated. */
export const defaultEventGridEventTypes = 'removeDeletedSource=BlobDeleted';

function isOn(raw: string | undefined): boolean {
  return raw !== undefined && /^(1|true|yes)$/i.test(raw.trim());
}

/** The local host's default: loopback only, so nothing else on the network reaches the job API. */
export const loopbackAddress = '127.0.0.1';

function listenAddress(raw: string | undefined): string {
  const value = raw?.trim();
  if (!value) return loopbackAddress;
  if (isIP(value) === 0 && value !== 'localhost') {
    throw new Error(`HOST_LISTEN_ADDRESS / --listen must be an IP address such as 127.0.0.1 or 0.0.0.0 (or "localhost"), got "${value}"`);
  }
  return value;
}

/** Whether an address only accepts connections from this machine. */
export function isLoopbackAddress(address: string): boolean {
  return address === 'localhost' || address === '::1' || (isIPv4(address) && address.startsWith('127.'));
}

/**
 * The only place the host writes the environment. The app runs in the host's process and reads its
 * settings from process.env, as it does under the Functions worker (which the Functions host starts
 * with the app settings as its environment): so a setting the app must see has to be written there.
 * The value also goes into `values`, which is what the host itself reads.
 */
export function shareWithApp(values: Record<string, string>, name: string, value: string): void {
  values[name] = value;
  process.env[name] = value;
}

/** Takes back a setting the host shared with the app (on stop, when the host had set it). */
export function withdrawFromApp(name: string): void {
  delete process.env[name];
}

/**
 * The environment a child process of the host (the container worker) starts with: this process's
 * as it is now, which includes what the app set while it loaded (e.g. the pinned PROJ and HDF5
 * variables), with `overrides` on top.
 */
export function childEnvironment(overrides: Record<string, string>): NodeJS.ProcessEnv {
  return { ...process.env, ...overrides };
}

/** HOST_SIGN_IN_KEY for the development token command (host/dev.sign.in.ts), which has no app root. */
export function devSignInKey(): string {
  return process.env['HOST_SIGN_IN_KEY'] ?? '';
}

/**
 * Resolves settings like Core Tools: environment variables win over local.settings.json Values;
 * the merged values are shared with the app (without overriding the environment).
 */
export function loadSettings(appRoot: string, overrides: SettingsOverrides = {}): HostSettings {
  const values: Record<string, string> = { ...readLocalSettings(appRoot) };
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined) values[key] = value;
  for (const [key, value] of Object.entries(values)) if (process.env[key] === undefined) shareWithApp(values, key, value);

  // Sign-in on: the app checks roles (API_SIGN_IN=required) in the principal the host derives from a
  // development token. Off (the default): nothing is checked, as with Core Tools.
  const signIn = isOn(values['HOST_SIGN_IN']);
  if (signIn) {
    if ((values['HOST_SIGN_IN_KEY'] ?? '').length < 32) throw new Error('HOST_SIGN_IN=true needs HOST_SIGN_IN_KEY: at least 32 characters that sign development tokens (docs/security.md, "Sign-in")');
    shareWithApp(values, 'API_SIGN_IN', 'required');
  }

  const hostJson = readHostJson(appRoot);
  const hubName = overrides.hubName ?? values['DURABLE_TASK_HUB_NAME'] ?? hostJson.extensions?.durableTask?.hubName ?? 'TestHubName';
  if (!/^[A-Za-z][A-Za-z0-9]{2,44}$/.test(hubName)) {
    throw new Error(`Task hub name "${hubName}" is invalid: use 3-45 letters and digits, starting with a letter (Azure's rule)`);
  }
  return {
    appRoot,
    port: overrides.port ?? positiveInteger('PORT', values['PORT']) ?? 7071,
    listenAddress: listenAddress(overrides.listenAddress ?? values['HOST_LISTEN_ADDRESS']),
    hubName,
    maxConcurrentActivities:
      overrides.maxConcurrentActivities ??
      positiveInteger('DURABLE_MAX_CONCURRENT_ACTIVITIES', values['DURABLE_MAX_CONCURRENT_ACTIVITIES']) ??
      hostJson.extensions?.durableTask?.maxConcurrentActivityFunctions ??
      availableParallelism(),
    blobPollIntervalMs: overrides.blobPollIntervalMs ?? positiveInteger('BLOB_TRIGGER_POLL_MS', values['BLOB_TRIGGER_POLL_MS']) ?? 2000,
    blobParallelism: Math.max(1, hostJson.extensions?.blobs?.maxDegreeOfParallelism ?? 1),
    functionTimeoutMs: timeSpanMs(hostJson.functionTimeout),
    blobMaxContentBytes: (positiveInteger('BLOB_TRIGGER_MAX_CONTENT_MB', values['BLOB_TRIGGER_MAX_CONTENT_MB']) ?? 256) * 2 ** 20,
    queues: readQueuesOptions(hostJson.extensions?.queues),
    eventGridContainers: (values['LOCAL_EVENTGRID_BLOB_CONTAINERS'] ?? 'uploads')
      .split(',')
      .map((name) => name.trim())
      .filter((name) => name !== ''),
    eventGridEventTypes: parseEventTypes(values['LOCAL_EVENTGRID_EVENT_TYPES'] ?? defaultEventGridEventTypes),
    eventGridRetryDelaysMs: delayList('LOCAL_EVENTGRID_RETRY_DELAYS_MS', values['LOCAL_EVENTGRID_RETRY_DELAYS_MS'], eventGridRetryDelaysMs),
    startWorker: overrides.startWorker ?? !isOn(values['HOST_NO_WORKER']),
    signInKey: signIn ? values['HOST_SIGN_IN_KEY'] : undefined,
    values,
  };
}
