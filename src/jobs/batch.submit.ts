/**
 * Starting a batch: check what it selects (an allowed container, a plain prefix or manifest path,
 * something to ingest), derive its idempotent id, and start the batch orchestration unless the same
 * batch is running. A batch that finished runs again as its next attempt: sources already
 * published with the same blob version and options are skipped, new ones are ingested.
 */
import { createHash } from 'node:crypto';
import type { DurableClient } from 'durable-functions';
import { readBatchSettings, readIngestSettings, readWorkerSettings, type BatchSettings, type IngestSettings, type WorkerSettings } from '../config.js';
import { manifestFolder } from '../activities/batch.sources.js';
import { orchestratorNames, type BatchFilters, type BatchInput, type BatchSelection } from '../pipeline/contracts.js';
import type { IngestOptions } from '../pipeline/options.js';
import { findBlobNameProblem, parseSourcePath } from '../pipeline/source.path.js';
import type { BlobStore } from '../storage/blob.store.js';
import { findInstance } from './durable.instances.js';
import { attemptInstanceId, canonicalJson } from './job.id.js';
import { findLatestAttempt } from './job.submit.js';

export const batchInstancePrefix = 'batch-';

export interface SubmitBatchCommand {
  /** `"<container>/<prefix>"` or a manifest's `"<container>/<blob>"`. */
  selection: { kind: 'prefix' | 'manifest'; path: string };
  collection: string;
  options: IngestOptions;
  filters: BatchFilters;
  /** The upload trigger starts a batch once per manifest version, even after it finished. */
  oncePerVersion?: boolean;
  /** Selecting nothing completes the batch with nothing done (the scheduled batch) instead of failing it. */
  allowEmpty?: boolean;
}

export type SubmitBatchResult =
  | { outcome: 'started'; instanceId: string; attempt: number; previousAttempt?: string }
  | { outcome: 'existing'; instanceId: string }
  | { outcome: 'invalid'; field: 'source' | 'manifest'; problem: string }
  | { outcome: 'missing'; field: 'source' | 'manifest'; problem: string };

export interface SubmitBatchDependencies {
  client: DurableClient;
  store: BlobStore;
  settings?: IngestSettings;
  batchSettings?: BatchSettings;
  workerSettings?: WorkerSettings;
}

async function resolveSelection(store: BlobStore, command: SubmitBatchCommand, allowed: readonly string[]): Promise<{ ok: true; selection: BatchSelection } | Exclude<SubmitBatchResult, { outcome: 'started' | 'existing' }>> {
  const field = command.selection.kind === 'prefix' ? 'source' : 'manifest';
  const slash = command.selection.path.indexOf('/');
  if (command.selection.kind === 'prefix') {
    const container = slash < 0 ? command.selection.path : command.selection.path.slice(0, slash);
    const prefix = slash < 0 ? '' : command.selection.path.slice(slash + 1);
    // A prefix is a blob path that may end in "/" (or be empty: the whole container).
    const checked = parseSourcePath(`${container}/${prefix.replace(/\/$/, '') || 'x'}`, allowed);
    if (!checked.ok) return { outcome: 'invalid', field, problem: checked.problem };
    if (prefix !== '' && findBlobNameProblem(prefix.replace(/\/$/, '')) !== null) return { outcome: 'invalid', field, problem: findBlobNameProblem(prefix.replace(/\/$/, ''))! };
    const first = await store.listPage(container, prefix, undefined, 1);
    if (first.blobs.length === 0) return { outcome: 'missing', field, problem: `no blobs under "${container}/${prefix}"` };
    return { ok: true, selection: { kind: 'prefix', container, prefix } };
  }
  const path = parseSourcePath(command.selection.path, allowed);
  if (!path.ok) return { outcome: 'invalid', field, problem: path.problem };
  const stat = await store.stat(path.source);
  if (!stat) return { outcome: 'missing', field, problem: `no manifest "${command.selection.path}"` };
  return { ok: true, selection: { kind: 'manifest', container: path.source.container, name: path.source.name, etag: stat.etag } };
}

export async function submitBatch(deps: SubmitBatchDependencies, command: SubmitBatchCommand): Promise<SubmitBatchResult> {
  const settings = deps.settings ?? readIngestSettings();
  const batchSettings = deps.batchSettings ?? readBatchSettings();
  const workerSettings = deps.workerSettings ?? readWorkerSettings();
  const resolved = await resolveSelection(deps.store, command, settings.sourceContainers);
  if (!('ok' in resolved)) return resolved;
  const tileSize = command.options.tileSize ?? settings.tileSize;
  const digest = createHash('sha256')
    .update(canonicalJson({ selection: resolved.selection, collection: command.collection, options: command.options, tileSize, filters: command.filters }))
    .digest('hex');
  const baseInstanceId = `${batchInstancePrefix}${digest.slice(0, 32)}`;
  const latest = await findLatestAttempt(deps.client, baseInstanceId);
  if (latest) {
    const finished = ['Completed', 'Failed', 'Terminated', 'Canceled'].includes(latest.status.runtimeStatus);
    if (!finished || command.oncePerVersion) return { outcome: 'existing', instanceId: latest.status.instanceId };
  }
  const attempt = (latest?.attempt ?? 0) + 1;
  const instanceId = attemptInstanceId(baseInstanceId, attempt);
  const input: BatchInput = {
    batchId: instanceId,
    selection: resolved.selection,
    collection: command.collection,
    options: command.options,
    tileSize,
    filters: command.filters,
    window: batchSettings.window,
    chunkSize: batchSettings.chunkSize,
    worker: { thresholdBytes: workerSettings.thresholdBytes, tileTimeoutSeconds: workerSettings.tileTimeoutSeconds, dispatchPermits: workerSettings.dispatchPermits },
    attempt,
    ...(latest ? { previousAttempt: latest.status.instanceId } : {}),
    ...(command.allowEmpty ? { allowEmpty: true } : {}),
  };
  try {
    await deps.client.startNew(orchestratorNames.ingestBatch, { instanceId, input });
  } catch (error) {
    if (await findInstance(deps.client, instanceId)) return { outcome: 'existing', instanceId };
    throw error;
  }
  return { outcome: 'started', instanceId, attempt, ...(latest ? { previousAttempt: latest.status.instanceId } : {}) };
}

/** `uploads/batches/<name>`: a manifest dropped in this folder starts a batch. */
export function isManifestUpload(name: string): boolean {
  return name.startsWith(manifestFolder) && name.length > manifestFolder.length;
}
