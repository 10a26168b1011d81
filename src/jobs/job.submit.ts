/**
 * Starting a job, shared by the HTTP submit endpoint and the upload blob trigger: pin the source
 * blob to its current ETag, derive the idempotent instance id, and start the orchestration unless
 * a job for the same upload and options is running or has completed. A failed job is retried by
 * submitting again: that starts the next attempt under its own id, linked to the one before.
 */
import type { DurableClient } from 'durable-functions';
import { readIngestSettings, type IngestSettings } from '../config.js';
import { orchestratorNames, type IngestInput } from '../pipeline/contracts.js';
import type { IngestOptions } from '../pipeline/options.js';
import type { BlobRef, BlobStore } from '../storage/blob.store.js';
import { findInstance, type InstanceStatus } from './durable.instances.js';
import { attemptInstanceId, deriveJobInstanceId, deriveOutputLocation, type JobIdentity } from './job.id.js';

export interface SubmitJobCommand {
  source: BlobRef;
  collection: string;
  options: IngestOptions;
  /** Run again even when a job for the same upload and options has completed. */
  force?: boolean;
}

export type SubmitJobResult =
  | { outcome: 'started'; instanceId: string; attempt: number; previousAttempt?: string }
  | { outcome: 'existing'; instanceId: string }
  | { outcome: 'source-missing'; message: string };

/** Runtime statuses after which submitting the same upload again starts a new attempt. */
const retryableStatuses = new Set(['Failed', 'Terminated', 'Canceled']);

/** Far more attempts than anyone makes by hand; bounds the look-ups a submission can cause. */
const maxAttempts = 1000;

/** The newest attempt for this upload and these options, if any. */
async function findLatestAttempt(client: DurableClient, baseInstanceId: string): Promise<{ attempt: number; status: InstanceStatus } | undefined> {
  let latest: { attempt: number; status: InstanceStatus } | undefined;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const status = await findInstance(client, attemptInstanceId(baseInstanceId, attempt));
    if (!status) return latest;
    latest = { attempt, status };
  }
  return latest;
}

export async function submitJob(
  client: DurableClient,
  store: BlobStore,
  command: SubmitJobCommand,
  settings: IngestSettings = readIngestSettings(),
): Promise<SubmitJobResult> {
  const stat = await store.stat(command.source);
  if (!stat) {
    return { outcome: 'source-missing', message: `Blob "${command.source.container}/${command.source.name}" does not exist` };
  }
  const tileSize = command.options.tileSize ?? settings.tileSize;
  const identity: JobIdentity = { ...command.source, etag: stat.etag, collection: command.collection, options: command.options, tileSize };
  const baseInstanceId = deriveJobInstanceId(identity);

  const latest = await findLatestAttempt(client, baseInstanceId);
  if (latest) {
    const again = retryableStatuses.has(latest.status.runtimeStatus) || (command.force === true && latest.status.runtimeStatus === 'Completed');
    if (!again) return { outcome: 'existing', instanceId: latest.status.instanceId };
  }
  const attempt = (latest?.attempt ?? 0) + 1;
  const instanceId = attemptInstanceId(baseInstanceId, attempt);
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
  };
  try {
    await client.startNew(orchestratorNames.ingestRaster, { instanceId, input });
  } catch (error) {
    // A concurrent submission of the same upload may have won the race: that is the same job.
    if (await findInstance(client, instanceId)) return { outcome: 'existing', instanceId };
    throw error;
  }
  return { outcome: 'started', instanceId, attempt, ...(latest ? { previousAttempt: latest.status.instanceId } : {}) };
}
