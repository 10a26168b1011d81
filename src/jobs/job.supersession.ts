/**
 * Whether a newer version of a job's source took its place:
 * - a completed job whose output the collection no longer publishes, because a newer version of
 *   the same source (a new upload, or the same one with other options) replaced it: its COGs stay
 *   readable for the grace period, then go;
 * - a failed job whose upload was replaced (or deleted) since: the version it read is gone, so a
 *   retry of it can only fail again; the newer upload has (or gets) a job of its own;
 * - a completed job whose source blob was deleted: its outputs were removed ("source removed",
 *   src/activities/source.removal.ts), and its view lists no COGs.
 */
import type { DurableClient } from 'durable-functions';
import { boundText } from '../pipeline/bounded.text.js';
import { removedSourceBlob, sourceRecordBlob } from '../stac/catalog.layout.js';
import { removalOf, type RemovedSource } from '../stac/removed.source.js';
import { compareVersionOrder, type SourceRecord } from '../stac/source.record.js';
import type { BlobStore } from '../storage/blob.store.js';
import type { InstanceStatus } from './durable.instances.js';
import { deriveJobInstanceId } from './job.id.js';
import { findLatestAttempt } from './job.submit.js';
import type { Supersession } from './job.view.js';
import type { RetiredOutputs } from './retired.outputs.js';
import type { LedgerJob } from './tile.ledger.js';

/** A source path in a message: bounded, it comes from an upload. */
const shownSourceBound = 300;

export interface SupersessionDependencies {
  client: DurableClient;
  store: Pick<BlobStore, 'stat' | 'readJson'>;
  retired?: Pick<RetiredOutputs, 'find'>;
  now?: () => Date;
}

/** What replaced the job, or `null` (running jobs, and jobs still current, are never superseded). */
export async function findSupersession(deps: SupersessionDependencies, status: Pick<InstanceStatus, 'runtimeStatus' | 'createdTime'>, job: LedgerJob): Promise<Supersession | null> {
  const { input } = job;
  const source = `${input.source.container}/${input.source.name}`;
  if (status.runtimeStatus === 'Completed') {
    const record = (await deps.store.readJson<SourceRecord>(sourceRecordBlob(input.collection, input.outputs.sourceKey)))?.value;
    if (record?.version === input.outputs.version) return null;
    // The source blob was deleted and this job's outputs removed with it (src/activities/source.removal.ts).
    const removal = removalOf((await deps.store.readJson<RemovedSource>(removedSourceBlob(input.collection, input.outputs.sourceKey)))?.value, input.outputs.version);
    if (removal) {
      return {
        by: null,
        message: `source removed: ${boundText(source, shownSourceBound)} was deleted at ${removal.deletedAt}, so its items, COGs and thumbnails were removed from collection ${input.collection}; upload it again to ingest it`,
        removed: { deletedAt: removal.deletedAt, removal: removal.removedBy },
      };
    }
    if (!record) return null;
    // Newer than this job (a batch's job whose chunk is not finalized yet is not replaced by an older record).
    if (compareVersionOrder(record.order, { sourceModified: input.source.lastModified, jobStarted: status.createdTime }) <= 0) return null;
    const by = record.jobId ?? null;
    const retired = await deps.retired?.find(input.outputs);
    const now = (deps.now ?? (() => new Date()))();
    const readable = !retired
      ? 'its COGs are deleted once the grace period after that has passed'
      : Date.parse(retired.deleteAfter) > now.getTime()
        ? `its COGs stay readable until ${retired.deleteAfter}, then they are deleted`
        : `its COGs are deleted at the next retention run (the grace period ended ${retired.deleteAfter})`;
    return { by, message: `superseded by ${by ?? 'a newer job'}: a newer version of ${source} replaced this job's output in collection ${input.collection}${retired ? ` at ${retired.retiredAt}` : ''}; ${readable}` };
  }
  if (status.runtimeStatus !== 'Failed' && status.runtimeStatus !== 'Terminated' && status.runtimeStatus !== 'Canceled') return null;
  const stat = await deps.store.stat(input.source);
  if (!stat) return { by: null, message: `source removed: ${boundText(source, shownSourceBound)} was deleted after this job read it: a retry cannot read it again; upload it again to ingest it` };
  if (stat.etag === input.source.etag) return null;
  const newer = await findLatestAttempt(
    deps.client,
    deriveJobInstanceId({ container: input.source.container, name: input.source.name, etag: stat.etag, collection: input.collection, options: input.options, tileSize: input.tileSize }),
  );
  const by = newer?.status.instanceId ?? null;
  return {
    by,
    message: by
      ? `superseded by ${by}: a newer upload of ${source} replaced the version this job read, and has its own job`
      : `a newer upload of ${source} replaced the version this job read: a retry cannot read it again; submit the new upload (its own job) instead`,
  };
}
