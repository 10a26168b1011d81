/**
 * Outputs a newer version of their source replaced. The catalog stops linking them at once, but
 * their COGs, thumbnails and VRT stay readable for a grace period (`INGEST_SUPERSEDED_GRACE_HOURS`,
 * default 24 h): whoever read the replaced job's view, or a client still holding its URLs, is not
 * left with dead links seconds after the newer job completes. The retention timer deletes them
 * once the period has passed.
 *
 * One Table Storage row per replaced version (collection, source key, version), with the job that
 * made it, the job that replaced it and when it may go; the timer finds the due rows by time.
 */
import { settingNames, type Environment } from '../config.js';
import type { OutputLocation } from '../pipeline/contracts.js';
import { sourceRecordBlob, versionFolder } from '../stac/catalog.layout.js';
import type { SourceRecord } from '../stac/source.record.js';
import type { BlobStore } from '../storage/blob.store.js';
import { AzureTableStore } from '../storage/azure.table.store.js';
import type { StoredRow, TableStore } from '../storage/table.store.js';

export const retiredOutputsTableName = 'RasterIngestRetiredOutputs';
const partitionKey = 'retired';

export const supersededGraceDefaults = { hours: 24 } as const;

const hourMs = 60 * 60 * 1000;

/** `INGEST_SUPERSEDED_GRACE_HOURS`: hours (fractions allowed) replaced outputs stay readable; 0 deletes them at once. */
export function readSupersededGraceHours(env: Environment = process.env): number {
  const raw = env[settingNames.supersededGraceHours];
  if (raw === undefined || raw.trim() === '') return supersededGraceDefaults.hours;
  const hours = Number(raw);
  if (!Number.isFinite(hours) || hours < 0) throw new Error(`Setting ${settingNames.supersededGraceHours} must be a number of hours, 0 or more, got "${raw}"`);
  return hours;
}

/** One replaced version of a source's output. */
export interface RetiredVersion {
  collection: string;
  sourceKey: string;
  version: string;
  /** The job that made it, when its record named one. */
  jobId: string | null;
  /** The job whose output replaced it, when known. */
  replacedBy: string | null;
  retiredAt: string;
  /** When the timer may delete it (ISO 8601). */
  deleteAfter: string;
}

function rowKeyOf(location: Pick<OutputLocation, 'collection' | 'sourceKey' | 'version'>): string {
  // Collection ids, source keys and versions hold none of "|", "/", "\", "#", "?".
  return `${location.collection}|${location.sourceKey}|${location.version}`;
}

const text = (value: unknown): string => (typeof value === 'string' ? value : '');
const textOrNull = (value: unknown): string | null => (typeof value === 'string' && value !== '' ? value : null);

function fromRow({ values: row }: StoredRow): RetiredVersion {
  return {
    collection: text(row['collection']),
    sourceKey: text(row['sourceKey']),
    version: text(row['version']),
    jobId: textOrNull(row['jobId']),
    replacedBy: textOrNull(row['replacedBy']),
    retiredAt: text(row['retiredAt']),
    deleteAfter: text(row['deleteAfter']),
  };
}

/** Replaced versions on their table (`RasterIngestRetiredOutputs` in Azure, `MemoryTableStore` in unit tests). */
export class RetiredOutputs {
  constructor(
    private readonly table: TableStore,
    /** How long a replaced version stays readable; 0: deleted when it is replaced. */
    readonly graceHours: number,
  ) {}

  static fromEnvironment(env: Environment = process.env): RetiredOutputs {
    return new RetiredOutputs(AzureTableStore.fromEnvironment(env, retiredOutputsTableName), readSupersededGraceHours(env));
  }

  /** Records a replaced version, to be deleted after the grace period (a version replaced again gets a new period). */
  async retire(entry: Pick<RetiredVersion, 'collection' | 'sourceKey' | 'version' | 'jobId' | 'replacedBy'>, now: Date): Promise<RetiredVersion> {
    const retired: RetiredVersion = { ...entry, retiredAt: now.toISOString(), deleteAfter: new Date(now.getTime() + this.graceHours * hourMs).toISOString() };
    await this.table.upsert({ partitionKey, rowKey: rowKeyOf(entry), values: { ...retired, jobId: retired.jobId ?? '', replacedBy: retired.replacedBy ?? '' } }, 'replace');
    return retired;
  }

  /** The record of a replaced version, or `undefined` (never replaced, or already deleted). */
  async find(location: Pick<OutputLocation, 'collection' | 'sourceKey' | 'version'>): Promise<RetiredVersion | undefined> {
    const row = await this.table.get(partitionKey, rowKeyOf(location));
    return row && fromRow(row);
  }

  /** Up to `limit` versions whose grace period has passed at `now`. */
  async listDue(now: Date, limit: number): Promise<RetiredVersion[]> {
    const due: RetiredVersion[] = [];
    // ISO 8601 times in UTC sort as text.
    for await (const row of this.table.query({ partitionKey, where: { column: 'deleteAfter', is: 'le', value: now.toISOString() } })) {
      due.push(fromRow(row));
      if (due.length >= limit) break;
    }
    return due;
  }

  async forget(location: Pick<OutputLocation, 'collection' | 'sourceKey' | 'version'>): Promise<void> {
    await this.table.delete(partitionKey, rowKeyOf(location));
  }
}


/** Deletes every blob of one version's folder (COGs, thumbnails, VRT); returns how many. */
export async function deleteVersionBlobs(store: Pick<BlobStore, 'list' | 'delete'>, outputs: OutputLocation): Promise<number> {
  const folder = versionFolder(outputs);
  const names = await store.list(folder.container, folder.name);
  await Promise.all(names.map((name) => store.delete({ container: folder.container, name })));
  return names.length;
}

/**
 * A version a newer one replaced: kept readable for the grace period and deleted by the retention
 * timer, or deleted now when the grace period is 0.
 */
export async function retireVersion(
  deps: { store: Pick<BlobStore, 'list' | 'delete'>; retired: RetiredOutputs },
  outputs: OutputLocation,
  jobs: { jobId: string | null; replacedBy: string | null },
  now: Date = new Date(),
): Promise<void> {
  if (deps.retired.graceHours === 0) {
    await deleteVersionBlobs(deps.store, outputs);
    return;
  }
  await deps.retired.retire({ collection: outputs.collection, sourceKey: outputs.sourceKey, version: outputs.version, ...jobs }, now);
}

/** Versions deleted per timer run at most; the next run takes the rest. */
const sweepLimit = 1000;

/**
 * Deletes the replaced versions whose grace period has passed. A version its source publishes again
 * (a forced re-run of it won the record back) is kept; either way its row goes.
 */
export async function sweepRetiredOutputs(deps: { store: Pick<BlobStore, 'list' | 'delete' | 'readJson'>; retired: RetiredOutputs }, now: Date): Promise<{ deleted: number; kept: number }> {
  let deleted = 0;
  let kept = 0;
  for (const due of await deps.retired.listDue(now, sweepLimit)) {
    const outputs: OutputLocation = { collection: due.collection, sourceKey: due.sourceKey, version: due.version };
    const record = await deps.store.readJson<SourceRecord>(sourceRecordBlob(due.collection, due.sourceKey));
    if (record?.value.version === due.version) kept++;
    else {
      await deleteVersionBlobs(deps.store, outputs);
      deleted++;
    }
    await deps.retired.forget(outputs);
  }
  return { deleted, kept };
}
