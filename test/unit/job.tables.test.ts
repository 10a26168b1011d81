/**
 * The app's tables on the in-memory twin (test/support/memory.table.store.ts): the jobs index,
 * retired outputs and collection definitions, their logic without Azurite. The same classes run
 * on Azurite in test/integration and test/e2e.
 */
import { describe, expect, it } from 'vitest';
import { CollectionStore } from '../../src/collections/collection.store.js';
import { collectionDefinitionSchema } from '../../src/collections/definition.schema.js';
import { encodeJobsToken, InvalidContinuationTokenError } from '../../src/jobs/continuation.token.js';
import { JobIndex, jobIndexKey, type JobIndexEntry } from '../../src/jobs/job.index.js';
import { RetiredOutputs, retireVersion, sweepRetiredOutputs } from '../../src/jobs/retired.outputs.js';
import { sourceRecordBlob, versionFolder } from '../../src/stac/catalog.layout.js';
import { ContinuationRefusedError, type TableContinuation, type TablePage, type TableQuery } from '../../src/storage/table.store.js';
import { garbageTokens } from '../support/garbage.tokens.js';
import { MemoryBlobStore } from '../support/memory.blob.store.js';
import { MemoryTableStore } from '../support/memory.table.store.js';

const minute = 60_000;
const start = Date.parse('2026-06-01T12:00:00.000Z');

function job(index: number, fields: Partial<JobIndexEntry> = {}): JobIndexEntry {
  const created = new Date(start + index * minute);
  const id = `ingest-${index}`;
  return {
    key: jobIndexKey(created, id),
    id,
    source: `uploads/scene-${index}.tif`,
    collection: 'dem',
    status: 'Pending',
    createdTime: created.toISOString(),
    lastUpdatedTime: created.toISOString(),
    attempt: 1,
    previousAttempt: null,
    tilesDone: 0,
    tilesFailed: 0,
    tilesTotal: 0,
    errors: [],
    errorCodes: [],
    ...fields,
  };
}

async function allIds(jobs: JobIndex, query: Omit<Parameters<JobIndex['page']>[0], 'top' | 'continuationToken'>, top: number): Promise<string[][]> {
  const pages: string[][] = [];
  let continuationToken: string | undefined;
  do {
    const page = await jobs.page({ ...query, top, ...(continuationToken ? { continuationToken } : {}) });
    pages.push(page.entries.map((entry) => entry.id));
    continuationToken = page.continuationToken ?? undefined;
  } while (continuationToken);
  return pages;
}

describe('jobs index', () => {
  it('lists newest first, a page at a time, with tokens the API can check', async () => {
    const jobs = new JobIndex(new MemoryTableStore());
    for (const index of [0, 3, 1, 4, 2]) await jobs.record(job(index));
    expect(await allIds(jobs, {}, 2)).toEqual([['ingest-4', 'ingest-3'], ['ingest-2', 'ingest-1'], ['ingest-0']]);
    expect((await jobs.page({ top: 10 })).continuationToken).toBeNull();
  });

  it('merges what a job writes when it ends into the row written at submission', async () => {
    const jobs = new JobIndex(new MemoryTableStore());
    const submitted = job(1, { batch: 'nightly', definitionVersion: 3, attempt: 2, previousAttempt: 'ingest-0' });
    await jobs.record(submitted);
    const failure = { code: 'DISK_FULL' as const, message: 'full', retryable: true };
    await jobs.record({ key: submitted.key, status: 'Failed', tilesDone: 3, tilesFailed: 1, tilesTotal: 4, errors: [failure], errorCodes: ['DISK_FULL'], lastUpdatedTime: '2026-06-01T13:00:00.000Z' });
    const [entry] = (await jobs.page({ top: 10 })).entries;
    expect(entry).toEqual({
      ...submitted,
      status: 'Failed',
      tilesDone: 3,
      tilesFailed: 1,
      tilesTotal: 4,
      errors: [failure],
      errorCodes: ['DISK_FULL'],
      lastUpdatedTime: '2026-06-01T13:00:00.000Z',
    });
    // A job without a previous attempt reads back as null, not "".
    await jobs.record(job(2));
    expect((await jobs.page({ top: 1 })).entries[0]).toMatchObject({ id: 'ingest-2', previousAttempt: null });
  });

  it('filters on the server: status (Running includes Pending), collection, since, error code, batch and source prefixes', async () => {
    const jobs = new JobIndex(new MemoryTableStore());
    await jobs.record(job(0, { status: 'Completed' }));
    await jobs.record(job(1, { status: 'Failed', errorCodes: ['DISK_FULL'], collection: "o'brien" }));
    await jobs.record(job(2, { status: 'Running', batch: 'nightly' }));
    await jobs.record(job(3, { status: 'Pending', source: 'incoming/a.tif', batch: 'nightly' }));
    await jobs.record(job(4, { status: 'Failed', errorCodes: ['OUTPUT_CONFLICT'], source: 'uploads/scenf.tif' }));
    const ids = async (query: Omit<Parameters<JobIndex['page']>[0], 'top'>): Promise<string[]> => (await jobs.page({ ...query, top: 100 })).entries.map((entry) => entry.id);

    expect(await ids({ statuses: ['Running'] })).toEqual(['ingest-3', 'ingest-2']);
    expect(await ids({ statuses: ['Failed', 'Completed'] })).toEqual(['ingest-4', 'ingest-1', 'ingest-0']);
    expect(await ids({ collection: "o'brien" })).toEqual(['ingest-1']);
    expect(await ids({ since: new Date(start + 3 * minute) })).toEqual(['ingest-4', 'ingest-3']);
    expect(await ids({ errorCode: 'DISK_FULL' })).toEqual(['ingest-1']);
    expect(await ids({ batch: 'nightly', statuses: ['Running'] })).toEqual(['ingest-3', 'ingest-2']);
    // "scene" does not take "scenf"; an empty prefix takes nothing away.
    expect(await ids({ sourcePrefixes: ['uploads/scene', 'incoming/'] })).toEqual(['ingest-3', 'ingest-2', 'ingest-1', 'ingest-0']);
    expect(await ids({ sourcePrefixes: [''] })).toHaveLength(5);
    // Filtered pages chain like unfiltered ones.
    expect(await allIds(jobs, { statuses: ['Failed', 'Completed'] }, 1)).toEqual([['ingest-4'], ['ingest-1'], ['ingest-0']]);
  });

  it('refuses a token it did not give before the table is asked, and one the table refuses', async () => {
    const table = new MemoryTableStore();
    const jobs = new JobIndex(table);
    await jobs.record(job(0));
    for (const [name, token] of garbageTokens) {
      await expect(jobs.page({ top: 10, continuationToken: token }), name).rejects.toBeInstanceOf(InvalidContinuationTokenError);
    }
    expect(table.callCount('queryPage')).toBe(0);
    // Well formed, pointing past the jobs: nothing, and no next page.
    expect(await jobs.page({ top: 10, continuationToken: encodeJobsToken({ nextPartitionKey: 'schedule', nextRowKey: '~' }) })).toEqual({ entries: [], continuationToken: null });

    class RefusingTable extends MemoryTableStore {
      override async queryPage(query: TableQuery, pageSize: number, continuation?: TableContinuation): Promise<TablePage> {
        if (continuation) throw new ContinuationRefusedError();
        return super.queryPage(query, pageSize, continuation);
      }
    }
    const refusing = new JobIndex(new RefusingTable());
    await expect(refusing.page({ top: 10, continuationToken: encodeJobsToken({ nextPartitionKey: 'job', nextRowKey: 'x' }) })).rejects.toSatisfy(
      (error) => error instanceof InvalidContinuationTokenError && /did not accept it/.test(error.problem),
    );
  });

  it('remembers when each scheduled batch last ran, beside the jobs but never listed with them', async () => {
    const jobs = new JobIndex(new MemoryTableStore());
    expect(await jobs.readScheduleMark('nightly')).toBeUndefined();
    await jobs.writeScheduleMark('nightly', new Date(start));
    await jobs.writeScheduleMark('nightly', new Date(start + minute));
    expect(await jobs.readScheduleMark('nightly')).toEqual(new Date(start + minute));
    expect((await jobs.page({ top: 10 })).entries).toEqual([]);
  });

  it('deletes the rows of finished jobs created before a time, and nothing else', async () => {
    const jobs = new JobIndex(new MemoryTableStore());
    await jobs.record(job(0, { status: 'Completed' }));
    await jobs.record(job(1, { status: 'Running' }));
    await jobs.record(job(2, { status: 'Rejected' }));
    await jobs.record(job(3, { status: 'Failed' }));
    await jobs.writeScheduleMark('nightly', new Date(start - 60 * minute));
    expect(await jobs.deleteFinishedBefore(new Date(start + 3 * minute))).toBe(2);
    expect((await jobs.page({ top: 10 })).entries.map((entry) => entry.id)).toEqual(['ingest-3', 'ingest-1']);
    expect(await jobs.readScheduleMark('nightly')).toEqual(new Date(start - 60 * minute));
    expect(await jobs.deleteFinishedBefore(new Date(start + 3 * minute))).toBe(0);
  });
});

describe('retired outputs', () => {
  const location = { collection: 'dem', sourceKey: 'scene-1', version: 'v1' };
  const now = new Date(start);

  it('keeps a replaced version for the grace period, a new period when it is replaced again, and lists it once due', async () => {
    const retired = new RetiredOutputs(new MemoryTableStore(), 2);
    expect(await retired.find(location)).toBeUndefined();
    const first = await retired.retire({ ...location, jobId: 'ingest-1', replacedBy: null }, now);
    expect(first).toEqual({ ...location, jobId: 'ingest-1', replacedBy: null, retiredAt: now.toISOString(), deleteAfter: new Date(start + 120 * minute).toISOString() });
    expect(await retired.find(location)).toEqual(first);
    const again = await retired.retire({ ...location, jobId: 'ingest-1', replacedBy: 'ingest-2' }, new Date(start + 60 * minute));
    expect(await retired.find(location)).toEqual(again);

    expect(await retired.listDue(new Date(start + 150 * minute), 10)).toEqual([]);
    expect(await retired.listDue(new Date(Date.parse(again.deleteAfter)), 10)).toEqual([again]);
    await retired.forget(location);
    await retired.forget(location);
    expect(await retired.find(location)).toBeUndefined();
  });

  it('lists at most the limit of due versions', async () => {
    const retired = new RetiredOutputs(new MemoryTableStore(), 0.5);
    for (const version of ['v1', 'v2', 'v3']) await retired.retire({ ...location, version, jobId: null, replacedBy: null }, now);
    expect(await retired.listDue(new Date(start + 30 * minute), 2)).toHaveLength(2);
    expect(await retired.listDue(new Date(start + 30 * minute), 10)).toHaveLength(3);
  });

  it('sweeps due versions: deletes their blobs, keeps a version its source publishes again, and forgets both rows', async () => {
    const store = new MemoryBlobStore();
    const retired = new RetiredOutputs(new MemoryTableStore(), 1);
    const republished = { ...location, sourceKey: 'scene-2' };
    for (const outputs of [location, republished]) {
      const folder = versionFolder(outputs);
      await store.uploadBytes({ container: folder.container, name: `${folder.name}a.tif` }, Buffer.from('cog'), 'image/tiff');
      await store.uploadBytes({ container: folder.container, name: `${folder.name}a.png` }, Buffer.from('png'), 'image/png');
      await retireVersion({ store, retired }, outputs, { jobId: 'ingest-1', replacedBy: 'ingest-2' }, now);
    }
    await store.writeJson(sourceRecordBlob(republished.collection, republished.sourceKey), { version: republished.version });

    expect(await sweepRetiredOutputs({ store, retired }, new Date(start + 30 * minute))).toEqual({ deleted: 0, kept: 0 });
    expect(await sweepRetiredOutputs({ store, retired }, new Date(start + 60 * minute))).toEqual({ deleted: 1, kept: 1 });
    expect(await store.list(versionFolder(location).container, versionFolder(location).name)).toEqual([]);
    expect(await store.list(versionFolder(republished).container, versionFolder(republished).name)).toHaveLength(2);
    expect(await retired.listDue(new Date(start + 600 * minute), 10)).toEqual([]);
  });

  it('deletes a replaced version at once when the grace period is 0, without a row', async () => {
    const store = new MemoryBlobStore();
    const table = new MemoryTableStore();
    const folder = versionFolder(location);
    await store.uploadBytes({ container: folder.container, name: `${folder.name}a.tif` }, Buffer.from('cog'), 'image/tiff');
    await retireVersion({ store, retired: new RetiredOutputs(table, 0) }, location, { jobId: null, replacedBy: null }, now);
    expect(await store.list(folder.container, folder.name)).toEqual([]);
    expect(table.callCount('upsert')).toBe(0);
  });
});

describe('collection definitions', () => {
  const definition = collectionDefinitionSchema.parse({});
  const now = new Date(start);

  it('writes versions in order, keeps each readable, and lists the current ones by id', async () => {
    const collections = new CollectionStore(new MemoryTableStore());
    expect(await collections.read('dem')).toBeUndefined();
    expect(await collections.write('dem', definition, null, now)).toMatchObject({ outcome: 'written', collection: { id: 'dem', version: 1 } });
    expect(await collections.write('dem', definition, 1, new Date(start + minute))).toMatchObject({ outcome: 'written', collection: { version: 2 } });
    await collections.write('alpha', definition, null, now);
    expect(await collections.read('dem')).toEqual({ id: 'dem', version: 2, definition, updatedTime: new Date(start + minute).toISOString() });
    expect(await collections.read('dem', 1)).toEqual({ id: 'dem', version: 1, definition, updatedTime: now.toISOString() });
    expect(await collections.read('dem', 3)).toBeUndefined();
    expect((await collections.list()).map((collection) => `${collection.id}@${collection.version}`)).toEqual(['alpha@1', 'dem@2']);
  });

  it('tells a writer naming an old version that it is stale, and of two concurrent writers one wins', async () => {
    const collections = new CollectionStore(new MemoryTableStore());
    expect(await collections.write('dem', definition, 1, now)).toEqual({ outcome: 'stale', currentVersion: null });
    await collections.write('dem', definition, null, now);
    expect(await collections.write('dem', definition, null, now)).toEqual({ outcome: 'stale', currentVersion: 1 });
    const outcomes = await Promise.all([collections.write('dem', definition, 1, now), collections.write('dem', definition, 1, now)]);
    expect(outcomes.map((outcome) => outcome.outcome).sort()).toEqual(['stale', 'written']);
    expect(outcomes.find((outcome) => outcome.outcome === 'stale')).toEqual({ outcome: 'stale', currentVersion: 2 });
    expect((await collections.read('dem'))?.version).toBe(2);
  });
});
