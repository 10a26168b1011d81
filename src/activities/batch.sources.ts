/**
 * Activities of a batch: list its sources a page at a time (a prefix may hold millions of blobs,
 * a manifest thousands of entries), and prepare each source's job (or skip it when the same blob
 * version and options are already published in the collection).
 */
import pLimit from 'p-limit';
import { createSourceFilter, maxManifestBytes, parseManifest } from '../batches/manifest.js';
import { deriveOutputLocation } from '../jobs/job.id.js';
import { jobIndexKey } from '../jobs/job.index.js';
import type { BatchSourcePage, IngestInput, ListBatchSourcesInput, PrepareBatchJobsInput, PreparedBatchJob, SourceBlob } from '../pipeline/contracts.js';
import { FailureError } from '../pipeline/failure.js';
import { findBlobNameProblem, parseSourcePath } from '../pipeline/source.path.js';
import { sourceRecordBlob } from '../stac/catalog.layout.js';
import type { SourceRecord } from '../stac/source.record.js';
import type { ActivityDependencies } from './activity.dependencies.js';

export type ListBatchSources = (input: ListBatchSourcesInput) => Promise<BatchSourcePage>;
export type PrepareBatchJobs = (input: PrepareBatchJobsInput) => Promise<PreparedBatchJob[]>;

/** Manifests live under this folder of `uploads`; a prefix batch never takes them as rasters. */
export const manifestFolder = 'batches/';

const statConcurrency = 16;

function toSource(container: string, blob: { name: string; etag: string; size: number; lastModified: Date | undefined }): SourceBlob {
  return { container, name: blob.name, etag: blob.etag, size: blob.size, lastModified: (blob.lastModified ?? new Date(0)).toISOString() };
}

export function createListBatchSources(deps: Pick<ActivityDependencies, 'store' | 'settings'>): ListBatchSources {
  return async ({ selection, filters, cursor, pageSize, taken }) => {
    const accept = createSourceFilter(filters);
    const room = filters.limit === undefined ? pageSize : Math.max(0, Math.min(pageSize, filters.limit - taken));
    if (room === 0) return { sources: [], missing: [], cursor: null };

    if (selection.kind === 'prefix') {
      const page = await deps.store.listPage(selection.container, selection.prefix, cursor ?? undefined, room);
      const sources = page.blobs
        .filter((blob) => !blob.name.startsWith(manifestFolder) && findBlobNameProblem(blob.name) === null && accept(blob.name, blob.lastModified))
        .map((blob) => toSource(selection.container, blob));
      return { sources, missing: [], cursor: page.continuationToken ?? null };
    }

    // A manifest, pinned to the version the batch was submitted with.
    const ref = { container: selection.container, name: selection.name };
    const stat = await deps.store.stat(ref);
    if (!stat) throw new FailureError({ code: 'SOURCE_MISSING', message: `the manifest ${selection.container}/${selection.name} no longer exists` });
    if (stat.etag !== selection.etag) throw new FailureError({ code: 'SOURCE_CHANGED', message: `the manifest ${selection.container}/${selection.name} was replaced after the batch was submitted; the new version is a batch of its own` });
    if (stat.size > maxManifestBytes) throw new FailureError({ code: 'INVALID_INPUT', message: `the manifest is ${stat.size} bytes, over the limit of ${maxManifestBytes}; split it` });
    const parsed = parseManifest((await deps.store.readBytes(ref))?.toString('utf8') ?? '', selection.name);
    if (!parsed.ok) throw new FailureError({ code: 'INVALID_INPUT', message: parsed.problem });
    const offset = cursor ? Number(cursor) : 0;
    const entries = parsed.entries.slice(offset, offset + room);
    const limit = pLimit(statConcurrency);
    const checked = await Promise.all(
      entries.map((entry) =>
        limit(async (): Promise<{ source: SourceBlob } | { missing: { entry: string; reason: string } } | undefined> => {
          const path = parseSourcePath(entry, deps.settings.sourceContainers);
          if (!path.ok) return { missing: { entry: entry.slice(0, 300), reason: path.problem } };
          const blob = await deps.store.stat(path.source);
          if (!blob) return { missing: { entry, reason: 'no such blob' } };
          if (!accept(path.source.name, blob.lastModified)) return undefined;
          return { source: toSource(path.source.container, { name: path.source.name, ...blob }) };
        }),
      ),
    );
    const next = offset + entries.length;
    return {
      sources: checked.flatMap((result) => (result && 'source' in result ? [result.source] : [])),
      missing: checked.flatMap((result) => (result && 'missing' in result ? [result.missing] : [])),
      cursor: next < parsed.entries.length && entries.length > 0 ? String(next) : null,
    };
  };
}

export function createPrepareBatchJobs(deps: Pick<ActivityDependencies, 'store' | 'jobs'>): PrepareBatchJobs {
  return async ({ batchId, chunk, sources, collection, options, tileSize, worker }) => {
    const limit = pLimit(statConcurrency);
    const now = new Date();
    const prepared = await Promise.all(
      sources.map((source, index) =>
        limit(async (): Promise<PreparedBatchJob> => {
          const path = `${source.container}/${source.name}`;
          const outputs = deriveOutputLocation({ container: source.container, name: source.name, etag: source.etag, collection, options, tileSize });
          const record = await deps.store.readJson<SourceRecord>(sourceRecordBlob(collection, outputs.sourceKey));
          if (record?.value.version === outputs.version && record.value.source === path) {
            return { kind: 'skip', source: path, reason: 'already ingested with the same blob version and options' };
          }
          // The batch's own job ids: `ingest-` like every job, unique per batch attempt, chunk and source.
          const instanceId = `ingest-${batchId.replace(/^batch-/, 'b')}-${chunk}-${index}`;
          const input: IngestInput = {
            source,
            collection,
            options,
            tileSize,
            outputs,
            attempt: 1,
            // One time for the chunk: the key's sequence keeps its jobs in the order the batch starts them.
            index: { key: jobIndexKey(now, instanceId, index), createdTime: now.toISOString() },
            worker,
            deferFinalize: true,
            batchId,
          };
          return { kind: 'run', source: path, instanceId, input };
        }),
      ),
    );
    // Listed with their batch from now on (`GET /api/jobs?batch=`), Pending until they start, not
    // only once they end. Each job writes its row again when it ends.
    await Promise.all(
      prepared.map((job) =>
        job.kind === 'run'
          ? limit(() =>
              deps.jobs.record({
                key: job.input.index.key,
                id: job.instanceId,
                batch: batchId,
                source: job.source,
                collection,
                status: 'Pending',
                createdTime: job.input.index.createdTime,
                lastUpdatedTime: job.input.index.createdTime,
                attempt: 1,
                previousAttempt: null,
                tilesDone: 0,
                tilesFailed: 0,
                tilesTotal: 0,
              }),
            )
          : undefined,
      ),
    );
    return prepared;
  };
}
