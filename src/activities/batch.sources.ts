/**
 * Activities of a batch: list its sources a page at a time (a prefix may hold millions of blobs,
 * a manifest thousands of entries), and prepare each source's job (or skip it when the same blob
 * version and options are already published in the collection). A batch's job is the job any
 * other submission of that upload, collection and options gets (one id for all): when one exists
 * already (the upload trigger's, a submission's, another batch's), the batch takes it as it is.
 */
import pLimit from 'p-limit';
import { createSourceFilter, manifestLimits, readManifest, shownName } from '../batches/manifest.js';
import { deleteParsedManifest, parsedManifestFolder, readParsedPage, writeParsedManifest, type ManifestVersion } from '../batches/manifest.pages.js';
import { deriveJobInstanceId, deriveOutputLocation } from '../jobs/job.id.js';
import { jobIndexKey } from '../jobs/job.index.js';
import type { BatchSourcePage, IngestInput, ListBatchSourcesInput, PrepareBatchJobsInput, PreparedBatchJob, SourceBlob } from '../pipeline/contracts.js';
import { FailureError, type Failure } from '../pipeline/failure.js';
import { findBlobNameProblem, parseSourcePath } from '../pipeline/source.path.js';
import { sourceRecordBlob } from '../stac/catalog.layout.js';
import type { SourceRecord } from '../stac/source.record.js';
import type { BlobStore } from '../storage/blob.store.js';
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
    if (room === 0) {
      // The limit is reached before the manifest's end: its parsed entries are not needed any more.
      if (selection.kind === 'manifest' && cursor !== null) await deleteParsedManifest(deps.store, parsedManifestFolder(selection)).catch(() => undefined);
      return { sources: [], missing: [], cursor: null };
    }

    if (selection.kind === 'prefix') {
      const page = await deps.store.listPage(selection.container, selection.prefix, cursor ?? undefined, room);
      const selected = page.blobs.filter((blob) => !blob.name.startsWith(manifestFolder) && accept(blob.name, blob.lastModified));
      // A name no job may read (control characters, a backslash, a trailing ".") is listed as missing with
      // the reason, not dropped without a word: the batch's counts then cover every blob it selected.
      const missing = selected.flatMap((blob) => {
        const problem = findBlobNameProblem(blob.name);
        return problem === null ? [] : [{ entry: shownName(`${selection.container}/${blob.name}`), reason: problem }];
      });
      const sources = selected.filter((blob) => findBlobNameProblem(blob.name) === null).map((blob) => toSource(selection.container, blob));
      return { sources, missing, cursor: page.continuationToken ?? null };
    }

    // A manifest, pinned to the version the batch was submitted with.
    const shown = shownName(`${selection.container}/${selection.name}`);
    const stat = await deps.store.stat({ container: selection.container, name: selection.name });
    if (!stat) throw new FailureError({ code: 'SOURCE_MISSING', message: `the manifest ${shown} no longer exists` });
    if (stat.etag !== selection.etag) throw new FailureError({ code: 'SOURCE_CHANGED', message: `the manifest ${shown} was replaced after the batch was submitted; the new version is a batch of its own` });
    if (stat.size > manifestLimits.maxBytes) throw new FailureError({ code: 'INPUT_LIMIT', message: `the manifest is ${stat.size} bytes, over the limit of ${manifestLimits.maxBytes}; split it into several` });
    const offset = cursor === null ? 0 : Number(cursor);
    if (!Number.isSafeInteger(offset) || offset < 0) throw new Error(`listBatchSources: cursor "${cursor}" is not an entry offset`);
    const page = await readManifestPage(deps.store, selection, offset, room);
    const limit = pLimit(statConcurrency);
    const checked = await Promise.all(
      page.entries.map((entry) =>
        limit(async (): Promise<{ source: SourceBlob } | { missing: { entry: string; reason: string } } | undefined> => {
          const path = parseSourcePath(entry, deps.settings.sourceContainers);
          if (!path.ok) return { missing: { entry: shownName(entry), reason: path.problem } };
          const blob = await deps.store.stat(path.source);
          if (!blob) return { missing: { entry: shownName(entry), reason: 'no such blob' } };
          if (!accept(path.source.name, blob.lastModified)) return undefined;
          return { source: toSource(path.source.container, { name: path.source.name, ...blob }) };
        }),
      ),
    );
    const next = offset + page.entries.length;
    const more = next < page.total && page.entries.length > 0;
    // The last page: the parsed entries have served (best effort; the retention timer sweeps what is left).
    if (!more && offset > 0) await deleteParsedManifest(deps.store, parsedManifestFolder(selection), page.total).catch(() => undefined);
    return {
      sources: checked.flatMap((result) => (result && 'source' in result ? [result.source] : [])),
      missing: checked.flatMap((result) => (result && 'missing' in result ? [result.missing] : [])),
      cursor: more ? String(next) : null,
    };
  };
}

/**
 * `count` entries of the manifest from `offset`, and how many it has: from its parsed parts when
 * an earlier page left them, else parsed here (streamed, within the manifest limits), its parts
 * written for the pages after this one.
 */
async function readManifestPage(store: BlobStore, manifest: ManifestVersion, offset: number, count: number): Promise<{ entries: string[]; total: number }> {
  const folder = parsedManifestFolder(manifest);
  if (offset > 0) {
    const stored = await readParsedPage(store, folder, offset, count);
    if (stored) return stored;
  }
  const shown = shownName(`${manifest.container}/${manifest.name}`);
  const opened = await store.openRead({ container: manifest.container, name: manifest.name }, manifest.etag);
  if (!opened.ok) {
    throw new FailureError(
      opened.reason === 'missing'
        ? { code: 'SOURCE_MISSING', message: `the manifest ${shown} no longer exists` }
        : { code: 'SOURCE_CHANGED', message: `the manifest ${shown} was replaced after the batch was submitted; the new version is a batch of its own` },
    );
  }
  const parsed = await readManifest(opened.stream as AsyncIterable<Buffer>, manifest.name);
  if (!parsed.ok) throw new FailureError(parsed.failure);
  if (offset + count < parsed.entries.length) await writeParsedManifest(store, folder, parsed.entries);
  return { entries: parsed.entries.slice(offset, offset + count), total: parsed.entries.length };
}

/** A job that exists for an upload, collection and options (its newest attempt), as a batch sees it. */
export interface ExistingJob {
  instanceId: string;
  runtimeStatus: string;
  /** Its first failure, when it failed. */
  failure?: Failure;
}

export interface PrepareBatchJobsDependencies extends Pick<ActivityDependencies, 'store' | 'jobs'> {
  /** The newest attempt of the job whose first attempt has this id, if any. */
  findJob: (baseInstanceId: string) => Promise<ExistingJob | undefined>;
}

const failedStatuses: ReadonlySet<string> = new Set(['Failed', 'Terminated', 'Canceled']);

export function createPrepareBatchJobs(deps: PrepareBatchJobsDependencies): PrepareBatchJobs {
  return async ({ batchId, sources, collection, options, tileSize, worker }) => {
    const limit = pLimit(statConcurrency);
    const now = new Date();
    const planned = await Promise.all(
      sources.map((source, index) =>
        limit(async (): Promise<PreparedBatchJob> => {
          const path = `${source.container}/${source.name}`;
          const identity = { container: source.container, name: source.name, etag: source.etag, collection, options, tileSize };
          const outputs = deriveOutputLocation(identity);
          const record = await deps.store.readJson<SourceRecord>(sourceRecordBlob(collection, outputs.sourceKey));
          if (record?.value.version === outputs.version && record.value.source === path) {
            return { kind: 'skip', source: path, reason: 'already ingested with the same blob version and options' };
          }
          // The id every entry point derives for this upload, collection and options.
          const instanceId = deriveJobInstanceId(identity);
          const existing = await deps.findJob(instanceId);
          if (existing) {
            return {
              kind: 'existing',
              source: path,
              instanceId: existing.instanceId,
              status: existing.runtimeStatus,
              ...(failedStatuses.has(existing.runtimeStatus) ? { failure: existing.failure ?? { code: 'INTERNAL', message: `its job ${existing.instanceId} failed` } } : {}),
            };
          }
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
    // A manifest may list a source twice: its job runs once (a second start of the same instance
    // failed the entry INTERNAL while the job completed, and the jobs list showed it twice).
    const started = new Set<string>();
    const prepared = planned.map((job): PreparedBatchJob => {
      if (job.kind !== 'run') return job;
      if (started.has(job.instanceId)) return { kind: 'skip', source: job.source, reason: 'listed more than once in this batch; its job runs once' };
      started.add(job.instanceId);
      return job;
    });
    // Listed with their batch from now on (`GET /api/jobs?batch=`), Pending until they start, not
    // only once they end. Each job writes its row again when it ends. One request per 100 rows.
    await deps.jobs.recordMany(
      prepared.flatMap((job) =>
        job.kind === 'run'
          ? [
              {
                key: job.input.index.key,
                id: job.instanceId,
                batch: batchId,
                source: job.source,
                collection,
                status: 'Pending' as const,
                createdTime: job.input.index.createdTime,
                lastUpdatedTime: job.input.index.createdTime,
                attempt: 1,
                previousAttempt: null,
                tilesDone: 0,
                tilesFailed: 0,
                tilesTotal: 0,
              },
            ]
          : [],
      ),
    );
    return prepared;
  };
}
