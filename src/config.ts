/**
 * Every application setting the app reads, in one place, so the infrastructure test can check
 * that `infra/` provisions each of them. Orchestrators must not import this module: settings
 * are environment reads, and orchestrators stay deterministic.
 */

import { isContainerName } from './pipeline/source.path.js';

/** Names of the settings the app reads (app settings in Azure, `Values` locally). */
export const settingNames = {
  /** Storage for Durable state, blob triggers and the app's own containers. */
  storage: 'AzureWebJobsStorage',
  /** Largest raster width or height (pixels) accepted by validation. */
  maxDimension: 'INGEST_MAX_DIMENSION',
  /** Edge length (pixels) of the tiles a source is split into. */
  tileSize: 'INGEST_TILE_SIZE',
  /** Scratch folder for source copies and COGs being written (default: the OS temp dir). */
  scratchDir: 'INGEST_SCRATCH_DIR',
  /** Landing page of a STAC API with the Transaction extension; unset = static catalog only. */
  stacApiUrl: 'STAC_API_URL',
  /** Entra ID scope of the STAC API token (Planetary Computer Pro: https://geocatalog.spatio.azure.com/.default); unset = no token. */
  stacApiScope: 'STAC_API_SCOPE',
  /** Sent as `api-version` on every STAC API request (Planetary Computer Pro requires one). */
  stacApiVersion: 'STAC_API_VERSION',
  /** Client id of a user-assigned identity for the STAC API token; unset = DefaultAzureCredential's choice. */
  stacApiClientId: 'STAC_API_CLIENT_ID',
  /** How tiles read their source: `auto` (a local copy when it fits the scratch rule, else in place), `copy` (always one local copy per process) or `in-place` (ranged reads from storage). */
  sourceRead: 'INGEST_SOURCE_READ',
  /** MB of scratch disk one process may fill with source copies (default 16384); under `auto` a source over half of it is read in place. */
  scratchMaxMb: 'INGEST_SCRATCH_MAX_MB',
  /** Comma list of the containers a job may read its source from (default `uploads`); nothing else is ever read. */
  sourceContainers: 'INGEST_SOURCE_CONTAINERS',
  /** Days a finished orchestration instance is kept before the retention timer purges it (default 30). */
  retentionDays: 'DURABLE_RETENTION_DAYS',
  /** NCRONTAB schedule ({second} {minute} {hour} {day} {month} {day-of-week}, UTC) of the retention purge (default daily 03:00). */
  retentionSchedule: 'DURABLE_RETENTION_SCHEDULE',
  /** Rasters larger than this many MB uncompressed (width × height × bands × bytes per sample) go to the container worker (default 1024). */
  workerThresholdMb: 'INGEST_WORKER_THRESHOLD_MB',
  /** Deliveries of one tile message before the worker dead-letters it and fails the tile (default 5). */
  workerMaxDeliveries: 'INGEST_WORKER_MAX_DELIVERIES',
  /** Seconds a tile orchestration waits for the worker's result before it sends the tile again (default 1800). */
  workerTileTimeoutSeconds: 'INGEST_WORKER_TILE_TIMEOUT_SECONDS',
  /** Tiles sent to the container worker at once, across all jobs: its executions × tiles per execution (default 20); the rest wait their turn, queued, with no timer running. */
  workerDispatchPermits: 'INGEST_WORKER_DISPATCH_PERMITS',
  /** Seconds before the worker's first retry of a failed tile; each later delivery waits twice as long, at most 5 minutes (default 10). */
  workerRetryDelaySeconds: 'INGEST_WORKER_RETRY_DELAY_SECONDS',
  /** Sources a batch ingests at once (default 8). */
  batchWindow: 'INGEST_BATCH_WINDOW',
  /** Sources per batch chunk: listed, ingested and finalized together (default 500). */
  batchChunkSize: 'INGEST_BATCH_CHUNK_SIZE',
  /** NCRONTAB schedule of the scheduled batch (e.g. `0 0 3 * * *`, daily at 03:00 UTC); unset = no scheduled batch. */
  batchSchedule: 'INGEST_BATCH_SCHEDULE',
  /** `<container>/<prefix>` the scheduled batch takes what arrived in since its last run. */
  batchSchedulePrefix: 'INGEST_BATCH_SCHEDULE_PREFIX',
  /** Seconds between checks of a collection schedule's unmet "after" dependencies while its window is open (default 60, at least 5). */
  scheduleRecheckSeconds: 'INGEST_SCHEDULE_RECHECK_SECONDS',
  /** The platform's time zone for timer triggers (App Service's setting; UTC when unset). */
  timerTimeZone: 'WEBSITE_TIME_ZONE',
  /** Seconds validation may spend inspecting one upload (in its own process) before it is stopped and the upload refused (default 60). */
  inspectTimeoutSeconds: 'INGEST_INSPECT_TIMEOUT_SECONDS',
  /** Address space (MB) of the process that inspects one upload; more refuses the upload (default 2048). */
  inspectMemoryMb: 'INGEST_INSPECT_MEMORY_MB',
  /** Tiles one job may plan; more refuses the upload before any plan is built (default 2500). */
  maxTilesPerJob: 'INGEST_MAX_TILES_PER_JOB',
  /** `false` turns off assuming EPSG:4326 for netCDF grids on CF longitude/latitude coordinates without a grid_mapping (default on). */
  assumeCfLonLat: 'INGEST_ASSUME_CF_LONLAT',
  /** Decoded pixel bytes a GeoTIFF may declare per byte of the upload, sparse and compressed blocks alike (default 2000; docs/security.md). */
  maxExpansionRatio: 'INGEST_MAX_EXPANSION_RATIO',
  /** Hours a job's COGs stay readable after a newer version of its source replaced them (default 24; 0 deletes them at once). */
  supersededGraceHours: 'INGEST_SUPERSEDED_GRACE_HOURS',
  /** Comma list of exact origins (`https://hooks.example.com`) a collection's webhooks may call (default: none; docs/collections.md). */
  webhookAllowlist: 'INGEST_WEBHOOK_ALLOWLIST',
  /** `true` lets webhooks call loopback addresses (127.0.0.0/8, ::1): local receivers and tests only (default false). */
  webhookAllowLoopback: 'INGEST_WEBHOOK_ALLOW_LOOPBACK',
  /** Endpoint of the Event Grid custom topic job events go to (`https://<topic>.<region>-1.eventgrid.azure.net`), called with the app's managed identity; unset = webhooks only. */
  eventTopicEndpoint: 'INGEST_EVENT_TOPIC_ENDPOINT',
  /** `required`: every HTTP route checks the caller's app role (src/api/access.ts) in `x-ms-client-principal`; unset = off (local quick start). Azure sets it; so does the local host with HOST_SIGN_IN. */
  apiSignIn: 'API_SIGN_IN',
} as const;

/**
 * Whether HTTP routes require a signed-in caller with the route's app role. On in Azure (infra sets
 * `API_SIGN_IN=required`, and any App Service instance, `WEBSITE_INSTANCE_ID`, counts as Azure, so a
 * lost setting fails closed); off locally unless the local host's sign-in is on.
 */
export function readApiSignIn(env: Environment = process.env): boolean {
  const value = env[settingNames.apiSignIn]?.trim().toLowerCase();
  if (value !== undefined && value !== '' && value !== 'required' && value !== 'off') throw new Error(`${settingNames.apiSignIn} must be "required" or "off", got "${value}"`);
  return value === 'required' || Boolean(env['WEBSITE_INSTANCE_ID']);
}

/**
 * Identity-based storage settings (`AzureWebJobsStorage__accountName` and friends), the form
 * Azure uses when the app runs with a managed identity instead of a connection string.
 */
export const identityStorageSuffixes = ['accountName', 'blobServiceUri', 'queueServiceUri', 'tableServiceUri', 'credential', 'clientId'] as const;

/** Containers the app writes to or triggers on; `infra/` must provision each. */
export const containers = {
  uploads: 'uploads',
  cogs: 'cogs',
  stac: 'stac',
  /** A batch's manifest, parsed once and kept in parts while its pages are ingested (src/batches/manifest.pages.ts). */
  batchManifests: 'batch-manifests',
} as const;

export const defaults = {
  maxDimension: 200_000,
  tileSize: 4096,
  inspectTimeoutSeconds: 60,
  inspectMemoryMb: 2048,
  maxTilesPerJob: 2500,
  maxExpansionRatio: 2000,
  sourceContainers: [containers.uploads],
  sourceRead: 'auto',
  /** 16 GiB: a few large copies, well below a Functions instance's disk. */
  scratchMaxMb: 16 * 1024,
} as const;

/** How tiles read their source (`source.cache.ts` `tileReadMode` applies `auto`). */
export type SourceReadSetting = 'auto' | 'copy' | 'in-place';

export type Environment = Readonly<Record<string, string | undefined>>;

export interface IngestSettings {
  maxDimension: number;
  tileSize: number;
  scratchDir: string | undefined;
  /** Containers a job may read its source from; nothing else is ever read on a caller's say-so. */
  sourceContainers: string[];
  sourceRead: SourceReadSetting;
  /** Bytes of scratch disk this process may fill with source copies: the copies' cap, and under `auto` twice the largest source copied. */
  scratchMaxBytes: number;
  /** EPSG:4326 for netCDF grids on CF longitude/latitude coordinates without a grid_mapping (docs/raster-output.md). */
  assumeCfLonLat: boolean;
  /** Limits on what one upload may cost validation (settings INGEST_INSPECT_*, INGEST_MAX_*). */
  inspection: InspectionLimits;
  /** Test hook only (`testPauseDirSetting`): where tests hold the tile work at named points. */
  testPauseDir?: string;
}

/**
 * Test-only, and not an app setting (infra never sets it): a folder whose hold files stop this
 * process at named points of the tile work (src/activities/pause.points.ts), for the crash tests.
 */
export const testPauseDirSetting = 'INGEST_TEST_PAUSE_DIR';

export interface InspectionLimits {
  timeoutSeconds: number;
  memoryMb: number;
  maxTilesPerJob: number;
  maxExpansionRatio: number;
}

/** Below this the inspecting process cannot load Node and GDAL at all. */
export const minInspectMemoryMb = 1024;

export function readInspectionLimits(env: Environment = process.env): InspectionLimits {
  const memoryMb = readPositiveInteger(env, settingNames.inspectMemoryMb, defaults.inspectMemoryMb);
  if (memoryMb < minInspectMemoryMb) throw new Error(`Setting ${settingNames.inspectMemoryMb} must be at least ${minInspectMemoryMb} (Node.js and GDAL alone need about that), got ${memoryMb}`);
  return {
    timeoutSeconds: readPositiveInteger(env, settingNames.inspectTimeoutSeconds, defaults.inspectTimeoutSeconds),
    memoryMb,
    maxTilesPerJob: readPositiveInteger(env, settingNames.maxTilesPerJob, defaults.maxTilesPerJob),
    maxExpansionRatio: readPositiveInteger(env, settingNames.maxExpansionRatio, defaults.maxExpansionRatio),
  };
}

function readPositiveInteger(env: Environment, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) {
    throw new Error(`Setting ${name} must be a positive integer, got "${raw}"`);
  }
  return value;
}

function readBoolean(env: Environment, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new Error(`Setting ${name} must be true or false, got "${env[name]}"`);
}

/** The app's own containers: never a source, whatever the setting says (a job must not re-ingest or read its outputs). */
const ownContainers: readonly string[] = [containers.cogs, containers.stac, containers.batchManifests];

export function readSourceContainers(env: Environment = process.env): string[] {
  const raw = env[settingNames.sourceContainers]?.trim();
  if (!raw) return [...defaults.sourceContainers];
  const names = [...new Set(raw.split(',').map((name) => name.trim()).filter((name) => name !== ''))];
  for (const name of names) {
    if (!isContainerName(name)) throw new Error(`Setting ${settingNames.sourceContainers} lists "${name}", which is not a valid container name`);
    if (ownContainers.includes(name) || name.startsWith('azure-webjobs-')) {
      throw new Error(`Setting ${settingNames.sourceContainers} lists "${name}", a container the app or the Functions host writes to; it cannot be a source`);
    }
  }
  if (names.length === 0) throw new Error(`Setting ${settingNames.sourceContainers} names no container`);
  return names;
}

export function readSourceRead(env: Environment = process.env): SourceReadSetting {
  const raw = env[settingNames.sourceRead]?.trim();
  if (!raw) return defaults.sourceRead;
  if (raw !== 'auto' && raw !== 'copy' && raw !== 'in-place') throw new Error(`Setting ${settingNames.sourceRead} must be "auto", "copy" or "in-place", got "${raw}"`);
  return raw;
}

export function readIngestSettings(env: Environment = process.env): IngestSettings {
  return {
    maxDimension: readPositiveInteger(env, settingNames.maxDimension, defaults.maxDimension),
    tileSize: readPositiveInteger(env, settingNames.tileSize, defaults.tileSize),
    scratchDir: env[settingNames.scratchDir] || undefined,
    sourceContainers: readSourceContainers(env),
    sourceRead: readSourceRead(env),
    scratchMaxBytes: readPositiveInteger(env, settingNames.scratchMaxMb, defaults.scratchMaxMb) * 1024 * 1024,
    assumeCfLonLat: readBoolean(env, settingNames.assumeCfLonLat, true),
    inspection: readInspectionLimits(env),
    ...(env[testPauseDirSetting] ? { testPauseDir: env[testPauseDirSetting] } : {}),
  };
}

/** Which webhook URLs a collection may name (src/collections/webhook.policy.ts). */
export function readWebhookPolicy(env: Environment = process.env): { allowlist: string[]; allowLoopback: boolean } {
  const raw = env[settingNames.webhookAllowlist]?.trim() ?? '';
  const allowlist = raw === '' ? [] : [...new Set(raw.split(',').map((entry) => entry.trim()).filter((entry) => entry !== ''))];
  for (const entry of allowlist) {
    // Exact origins only: a path, a query or a wildcard would read as allowing more (or less) than it does.
    if (entry.includes('*') || !URL.canParse(entry) || new URL(entry).origin !== entry) throw new Error(`Setting ${settingNames.webhookAllowlist} lists "${entry}", which is not an exact origin such as https://hooks.example.com`);
  }
  return { allowlist, allowLoopback: readBoolean(env, settingNames.webhookAllowLoopback, false) };
}

/** Where to publish besides the static catalog: a STAC API, when `STAC_API_URL` is set. */
export interface StacApiSettings {
  url: string;
  scope?: string;
  apiVersion?: string;
  clientId?: string;
}

export function readStacApiSettings(env: Environment = process.env): StacApiSettings | undefined {
  const url = env[settingNames.stacApiUrl]?.trim();
  if (!url) return undefined;
  if (!URL.canParse(url)) throw new Error(`Setting ${settingNames.stacApiUrl} must be a URL, got "${url}"`);
  const optional = (name: string): string | undefined => env[name]?.trim() || undefined;
  const scope = optional(settingNames.stacApiScope);
  const apiVersion = optional(settingNames.stacApiVersion);
  const clientId = optional(settingNames.stacApiClientId);
  return { url, ...(scope ? { scope } : {}), ...(apiVersion ? { apiVersion } : {}), ...(clientId ? { clientId } : {}) };
}


/**
 * Identity-based Service Bus connection for the large-raster route: in Azure the app settings
 * `ServiceBusConnection__fullyQualifiedNamespace` (+ `__credential`, `__clientId`) define it.
 */
export const serviceBusConnection = 'ServiceBusConnection';

/** Service Bus queues the app sends to or triggers on; `infra/` must provision each. */
export const queues = {
  /** Tiles for the container worker (Service Bus in Azure; a Storage queue of the same name locally). */
  largeRasters: 'large-rasters',
} as const;

/** Storage queues the app triggers on; `infra/` must provision each (in the AzureWebJobsStorage account). */
export const storageQueues = {
  /** The worker's results, one message per tile; a queue-triggered function raises them as events. */
  tileResults: 'tile-results',
} as const;

export const batchDefaults = {
  window: 8,
  chunkSize: 500,
} as const;

export interface BatchSettings {
  window: number;
  chunkSize: number;
}

/** The scheduled batch ("run at 3 am after X"): when, and over which prefix; `undefined` when not set up. */
export function readBatchSchedule(env: Environment = process.env): { schedule: string; prefix: string } | undefined {
  const schedule = env[settingNames.batchSchedule]?.trim();
  const prefix = env[settingNames.batchSchedulePrefix]?.trim();
  if (!schedule && !prefix) return undefined;
  if (!schedule || !prefix) throw new Error(`Settings ${settingNames.batchSchedule} and ${settingNames.batchSchedulePrefix} go together: set both or neither`);
  return { schedule, prefix };
}

/** How often an open schedule window re-checks its unmet "after" dependencies, in ms (at least 5 s: a tighter poll buys nothing). */
export function readScheduleRecheckMs(env: Environment = process.env): number {
  return Math.max(5, readPositiveInteger(env, settingNames.scheduleRecheckSeconds, 60)) * 1000;
}

/** The time zone the Functions timer reads its NCRONTAB in (the settings' schedule): `WEBSITE_TIME_ZONE`, or UTC. */
export function readTimerTimeZone(env: Environment = process.env): string {
  return env[settingNames.timerTimeZone]?.trim() || 'UTC';
}

export function readBatchSettings(env: Environment = process.env): BatchSettings {
  return {
    window: readPositiveInteger(env, settingNames.batchWindow, batchDefaults.window),
    chunkSize: readPositiveInteger(env, settingNames.batchChunkSize, batchDefaults.chunkSize),
  };
}

export const workerDefaults = {
  thresholdMb: 1024,
  maxDeliveries: 5,
  tileTimeoutSeconds: 1800,
  retryDelaySeconds: 10,
  /** Infra's defaults: 10 executions × 2 tiles each (infra/modules/worker.bicep). */
  dispatchPermits: 20,
} as const;

export interface WorkerSettings {
  thresholdBytes: number;
  maxDeliveries: number;
  tileTimeoutSeconds: number;
  /** Before the first retry of a failed tile; doubling with each delivery (`workerRetryDelayMs`). */
  retryDelaySeconds: number;
  /** Tiles out to the worker at once across all jobs (the `workerDispatchPermits` entity's capacity). */
  dispatchPermits: number;
}

export function readWorkerSettings(env: Environment = process.env): WorkerSettings {
  return {
    thresholdBytes: readPositiveInteger(env, settingNames.workerThresholdMb, workerDefaults.thresholdMb) * 1024 * 1024,
    maxDeliveries: readPositiveInteger(env, settingNames.workerMaxDeliveries, workerDefaults.maxDeliveries),
    tileTimeoutSeconds: readPositiveInteger(env, settingNames.workerTileTimeoutSeconds, workerDefaults.tileTimeoutSeconds),
    retryDelaySeconds: readPositiveInteger(env, settingNames.workerRetryDelaySeconds, workerDefaults.retryDelaySeconds),
    dispatchPermits: readPositiveInteger(env, settingNames.workerDispatchPermits, workerDefaults.dispatchPermits),
  };
}

/** The longest wait before a retry of a failed tile. */
export const workerMaxRetryDelayMs = 5 * 60_000;

/**
 * How long a tile that failed on its `deliveryCount`-th delivery waits before the next one: the
 * first delay, doubled per delivery, at most 5 minutes (with 5 deliveries and 10 s: 10, 20, 40,
 * 80 s). Without it a failing tile used its deliveries within milliseconds.
 */
export function workerRetryDelayMs(settings: Pick<WorkerSettings, 'retryDelaySeconds'>, deliveryCount: number): number {
  return Math.min(settings.retryDelaySeconds * 1000 * 2 ** Math.max(0, deliveryCount - 1), workerMaxRetryDelayMs);
}
