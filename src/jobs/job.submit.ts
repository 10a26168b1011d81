/**
 * Starting a job, shared by the HTTP submit endpoint, the upload trigger and the CLI: pin the
 * source blob to its current ETag, derive the idempotent instance id (blob version, collection,
 * options), and start the orchestration unless that job exists. One job per upload version,
 * collection and options, whatever starts it: a second submission — the upload trigger firing
 * after `raster-ingest submit`, a repeated event, a batch — is answered with the job there is,
 * running, completed or failed. Only `force` (or an explicit retry, `job.retry.ts`) starts a
 * new attempt, under its own id, linked to the one before.
 */
import type { DurableClient } from 'durable-functions';
import { readIngestSettings, readWorkerSettings, type IngestSettings, type WorkerSettings } from '../config.js';
import { orchestratorNames, type IngestInput, type JobCollectionDefinition } from '../pipeline/contracts.js';
import type { IngestOptions } from '../pipeline/options.js';
import type { BlobRef, BlobStore } from '../storage/blob.store.js';
import { findInstance, type InstanceStatus } from './durable.instances.js';
import { jobIndexKey, type JobIndex } from './job.index.js';
import { attemptInstanceId, deriveJobInstanceId, deriveOutputLocation, type JobIdentity } from './job.id.js';

export interface SubmitJobCommand {
  source: BlobRef;
  collection: string;
  options: IngestOptions;
  /** Start a new attempt although a job for the same upload and options has completed or failed. */
  force?: boolean;
  /** The collection's definition (src/collections), read by the caller once; its route rule replaces the worker threshold setting. */
  definition?: JobCollectionDefinition & { workerThresholdBytes?: number };
}

export type SubmitJobResult =
  | { outcome: 'started'; instanceId: string; attempt: number; previousAttempt?: string }
  | { outcome: 'existing'; instanceId: string }
  | { outcome: 'source-missing'; message: string };

/** Runtime statuses after which `force` starts a new attempt (a running job is the answer, forced or not). */
const finishedStatuses = new Set(['Completed', 'Failed', 'Terminated', 'Canceled']);

/** Far more attempts than anyone makes by hand; bounds the look-ups a submission can cause. */
const maxAttempts = 1000;

/** The newest attempt for this upload and these options, if any. */
export async function findLatestAttempt(client: DurableClient, baseInstanceId: string): Promise<{ attempt: number; status: InstanceStatus } | undefined> {
  let latest: { attempt: number; status: InstanceStatus } | undefined;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const status = await findInstance(client, attemptInstanceId(baseInstanceId, attempt));
    if (!status) return latest;
    latest = { attempt, status };
  }
  return latest;
}

export interface SubmitDependencies {
  client: DurableClient;
  store: BlobStore;
  jobs: JobIndex;
  settings?: IngestSettings;
  workerSettings?: WorkerSettings;
  /** The submission time (tests pass their own). */
  now?: () => Date;
}

export async function submitJob(deps: SubmitDependencies, command: SubmitJobCommand): Promise<SubmitJobResult> {
  const { client, store } = deps;
  const settings = deps.settings ?? readIngestSettings();
  const workerSettings = deps.workerSettings ?? readWorkerSettings();
  const stat = await store.stat(command.source);
  if (!stat) {
    return { outcome: 'source-missing', message: `Blob "${command.source.container}/${command.source.name}" does not exist` };
  }
  const tileSize = command.options.tileSize ?? settings.tileSize;
  const identity: JobIdentity = { ...command.source, etag: stat.etag, collection: command.collection, options: command.options, tileSize };
  const baseInstanceId = deriveJobInstanceId(identity);

  const latest = await findLatestAttempt(client, baseInstanceId);
  if (latest && !(command.force === true && finishedStatuses.has(latest.status.runtimeStatus))) return { outcome: 'existing', instanceId: latest.status.instanceId };
  const attempt = (latest?.attempt ?? 0) + 1;
  const instanceId = attemptInstanceId(baseInstanceId, attempt);
  const createdTime = (deps.now ?? (() => new Date()))();
  const input: IngestInput = {
    source: {
      container: command.source.container,
      name: command.source.name,
      etag: stat.etag,
      size: stat.size,
      lastModified: (stat.lastModified ?? new Date(0)).toISOString(),
    },
    collection: command.collection,
    options: command.options,
    tileSize,
    outputs: deriveOutputLocation(identity),
    attempt,
    ...(latest ? { previousAttempt: latest.status.instanceId } : {}),
    index: { key: jobIndexKey(createdTime, instanceId), createdTime: createdTime.toISOString() },
    worker: { thresholdBytes: command.definition?.workerThresholdBytes ?? workerSettings.thresholdBytes, tileTimeoutSeconds: workerSettings.tileTimeoutSeconds, dispatchPermits: workerSettings.dispatchPermits },
    ...(command.definition ? { definition: { version: command.definition.version, gates: command.definition.gates } } : {}),
  };
  return startJob(deps, input, instanceId);
}

/** Starts the job orchestration and adds its row to the jobs index. */
export async function startJob(deps: Pick<SubmitDependencies, 'client' | 'jobs'>, input: IngestInput, instanceId: string): Promise<SubmitJobResult> {
  try {
    await deps.client.startNew(orchestratorNames.ingestRaster, { instanceId, input });
  } catch (error) {
    // A concurrent submission of the same upload may have won the race: that is the same job.
    if (await findInstance(deps.client, instanceId)) return { outcome: 'existing', instanceId };
    throw error;
  }
  // The job writes its own row again when it ends, so a lost write here is repaired then.
  await deps.jobs.record({
    key: input.index.key,
    id: instanceId,
    // A retried job of a batch is listed with its batch (`GET /api/jobs?batch=`) while it runs, not only once it ends.
    ...(input.batchId ? { batch: input.batchId } : {}),
    source: `${input.source.container}/${input.source.name}`,
    collection: input.collection,
    status: 'Pending',
    createdTime: input.index.createdTime,
    lastUpdatedTime: input.index.createdTime,
    attempt: input.attempt,
    previousAttempt: input.previousAttempt ?? null,
    ...(input.definition ? { definitionVersion: input.definition.version } : {}),
    tilesDone: 0,
    tilesFailed: 0,
    tilesTotal: 0,
  });
  return { outcome: 'started', instanceId, attempt: input.attempt, ...(input.previousAttempt ? { previousAttempt: input.previousAttempt } : {}) };
}
