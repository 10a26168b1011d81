/**
 * Starting a job, shared by the HTTP submit endpoint and the upload blob trigger: pin the source
 * blob to its current ETag, derive the idempotent instance id, and start the orchestration unless
 * an instance with that id already exists.
 */
import type { DurableClient } from 'durable-functions';
import { readIngestSettings, type IngestSettings } from '../config.js';
import { orchestratorNames, type IngestInput } from '../pipeline/contracts.js';
import type { IngestOptions } from '../pipeline/options.js';
import type { BlobRef, BlobStore } from '../storage/blob.store.js';
import { deriveJobInstanceId } from './job.id.js';

export interface SubmitJobCommand {
  source: BlobRef;
  collection: string;
  options: IngestOptions;
}

export type SubmitJobResult =
  | { outcome: 'started'; instanceId: string }
  | { outcome: 'existing'; instanceId: string }
  | { outcome: 'source-missing'; message: string };

/** The durable client reports an unknown instance by throwing an error that names the 404. */
export function isInstanceNotFound(error: unknown): boolean {
  return error instanceof Error && /\b404\b|not found/i.test(error.message);
}

async function instanceExists(client: DurableClient, instanceId: string): Promise<boolean> {
  try {
    await client.getStatus(instanceId);
    return true;
  } catch (error) {
    if (isInstanceNotFound(error)) return false;
    throw error;
  }
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
  const input: IngestInput = {
    source: { container: command.source.container, name: command.source.name, etag: stat.etag, size: stat.size },
    collection: command.collection,
    options: command.options,
    tileSize,
  };
  const instanceId = deriveJobInstanceId({ ...input.source, collection: input.collection, options: input.options, tileSize });
  if (await instanceExists(client, instanceId)) return { outcome: 'existing', instanceId };
  try {
    await client.startNew(orchestratorNames.ingestRaster, { instanceId, input });
  } catch (error) {
    // A concurrent submission of the same upload may have won the race: that is the same job.
    if (await instanceExists(client, instanceId)) return { outcome: 'existing', instanceId };
    throw error;
  }
  return { outcome: 'started', instanceId };
}
