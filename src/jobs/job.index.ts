/**
 * The jobs index: one Table Storage row per job, so that `GET /api/jobs` and bulk retry can list
 * jobs newest first, filtered (status, collection, since, error code) and paged on the server,
 * whatever else the task hub holds. Durable's own instance list cannot: it is ordered by instance
 * id and mixes jobs with their tile branches.
 *
 * Rows are written at submission (Pending) and by the job itself when it ends (`recordJob`), so
 * filters see final states; a row still Pending or Running is refreshed from Durable when listed.
 */
import type { Environment } from '../config.js';
import type { JobFailure } from '../pipeline/contracts.js';
import { isFailure, isFailureCode, type FailureCode } from '../pipeline/failure.js';
import { AzureTableStore } from '../storage/azure.table.store.js';
import { ContinuationRefusedError, type RowFilter, type StoredRow, type TableQuery, type TableRow, type TableStore, type TableValue } from '../storage/table.store.js';
import { decodeJobsToken, encodeJobsToken, InvalidContinuationTokenError } from './continuation.token.js';

export const jobIndexTableName = 'RasterIngestJobs';

/** One partition: rows sort by key, and the key sorts newest first. */
const partitionKey = 'job';
/** Where scheduled batches remember their last run (a handful of rows). */
const schedulePartitionKey = 'schedule';

/** The most operations Table Storage takes in one transaction. */
const tableTransactionMaxRows = 100;

/** Milliseconds since the epoch subtracted from this, zero-padded: a later job gets a smaller key. */
const keyEpoch = 9_999_999_999_999;

/** Sequence numbers a batch gives the jobs it prepares at one time, below this. */
const sequenceEpoch = 999_999_999;

/**
 * The row key of a job: newest first. Jobs created in the same millisecond (a batch prepares a
 * chunk's jobs at once) sort by `sequence` when given, the highest first (the batch starts them
 * in that order), then by id.
 */
export function jobIndexKey(createdTime: Date, instanceId: string, sequence?: number): string {
  const time = String(keyEpoch - createdTime.getTime()).padStart(13, '0');
  return sequence === undefined ? `${time}-${instanceId}` : `${time}-${String(sequenceEpoch - sequence).padStart(9, '0')}-${instanceId}`;
}

/** The key bound for "created at or after `time`": every newer key sorts before it. */
function keyBound(time: Date): string {
  return `${String(keyEpoch - time.getTime()).padStart(13, '0')}-~`;
}

/** `Quarantined`: a quality gate stopped the job before publishing (an operator approves or rejects it); `Rejected`: its outputs were deleted. */
export type IndexedStatus = 'Pending' | 'Running' | 'Completed' | 'Failed' | 'Terminated' | 'Quarantined' | 'Rejected';

export const finalStatuses: ReadonlySet<string> = new Set(['Completed', 'Failed', 'Terminated', 'Canceled', 'Quarantined', 'Rejected']);

export interface JobIndexEntry {
  key: string;
  id: string;
  source: string;
  collection: string;
  status: IndexedStatus;
  createdTime: string;
  lastUpdatedTime: string;
  attempt: number;
  previousAttempt: string | null;
  tilesDone: number;
  tilesFailed: number;
  tilesTotal: number;
  /** The batch the job belongs to, if any. */
  batch?: string;
  /** The version of its collection's definition the job ran (src/collections), if the collection has one. */
  definitionVersion?: number;
  /** The first failures (as the job's status shows them) and every distinct code. */
  errors: JobFailure[];
  errorCodes: FailureCode[];
}

/** What a job writes about itself when it ends. */
export type JobIndexUpdate = Pick<JobIndexEntry, 'key' | 'status' | 'tilesDone' | 'tilesFailed' | 'tilesTotal' | 'errors' | 'errorCodes'> & { lastUpdatedTime: string };

export interface JobQuery {
  /** `Running` also matches rows not yet started (`Pending`). */
  statuses?: readonly string[];
  collection?: string;
  since?: Date;
  errorCode?: FailureCode;
  batch?: string;
  /** Jobs whose source (`<container>/<blob path>`) starts with any of these. */
  sourcePrefixes?: readonly string[];
  top: number;
  continuationToken?: string;
}

/** Each code is also a boolean column, so "failed with code X" is a server-side filter. */
const codeColumn = (code: FailureCode): string => `code_${code}`;

/** The table query of a jobs query: every filter runs on the server (pure; unit-tested). */
export function buildJobQuery(query: Omit<JobQuery, 'top' | 'continuationToken'>): TableQuery {
  const clauses: RowFilter[] = [];
  if (query.since) clauses.push({ column: 'RowKey', is: 'lt', value: keyBound(query.since) });
  if (query.collection) clauses.push({ column: 'collection', is: 'eq', value: query.collection });
  if (query.statuses && query.statuses.length > 0) {
    const statuses = new Set(query.statuses.flatMap((status) => (status === 'Running' ? ['Running', 'Pending'] : [status])));
    clauses.push({ anyOf: [...statuses].map((status) => ({ column: 'status', is: 'eq', value: status }) as const) });
  }
  if (query.errorCode) clauses.push({ column: codeColumn(query.errorCode), is: 'eq', value: true });
  if (query.batch) clauses.push({ column: 'batch', is: 'eq', value: query.batch });
  const prefixes = (query.sourcePrefixes ?? []).filter((prefix) => prefix !== '');
  if (prefixes.length > 0) {
    clauses.push({
      anyOf: prefixes.map((prefix) => ({ allOf: [{ column: 'source', is: 'ge', value: prefix }, { column: 'source', is: 'lt', value: prefixUpperBound(prefix) }] }) as const),
    });
  }
  return { partitionKey, ...(clauses.length > 0 ? { where: clauses.length === 1 ? clauses[0]! : { allOf: clauses } } : {}) };
}

/** A string above every string that starts with `prefix`: its last UTF-16 unit's successor (Table Storage compares units). */
export function prefixUpperBound(prefix: string): string {
  const last = prefix.charCodeAt(prefix.length - 1);
  return last === 0xffff ? `${prefix}\uffff` : `${prefix.slice(0, -1)}${String.fromCharCode(last + 1)}`;
}

function toRow(entry: Partial<JobIndexEntry> & { key: string }): TableRow {
  const values: Record<string, TableValue> = {};
  for (const [name, value] of Object.entries(entry)) {
    // A null column is no column (Table Storage does not store nulls).
    if (name === 'key' || value === undefined || value === null) continue;
    // Table properties are scalars: lists travel as JSON text.
    values[name] = name === 'errors' || name === 'errorCodes' ? JSON.stringify(value) : (value as TableValue);
  }
  for (const code of entry.errorCodes ?? []) values[codeColumn(code)] = true;
  return { partitionKey, rowKey: entry.key, values };
}

function parseJsonList(value: unknown): unknown[] {
  if (typeof value !== 'string') return [];
  try {
    const parsed: unknown = JSON.parse(value);
    return Array.isArray(parsed) ? parsed : [];
  } catch {
    return [];
  }
}

const text = (value: unknown, fallback = ''): string => (typeof value === 'string' ? value : fallback);
const count = (value: unknown): number => (typeof value === 'number' && Number.isFinite(value) ? value : 0);

function isIndexedStatus(value: unknown): value is IndexedStatus {
  return value === 'Pending' || value === 'Running' || value === 'Completed' || value === 'Failed' || value === 'Terminated' || value === 'Quarantined' || value === 'Rejected';
}

function fromRow({ rowKey, values: row }: StoredRow): JobIndexEntry {
  return {
    key: rowKey,
    id: text(row['id']),
    source: text(row['source']),
    collection: text(row['collection']),
    status: isIndexedStatus(row['status']) ? row['status'] : 'Pending',
    createdTime: text(row['createdTime']),
    lastUpdatedTime: text(row['lastUpdatedTime'], text(row['createdTime'])),
    attempt: count(row['attempt']) || 1,
    previousAttempt: typeof row['previousAttempt'] === 'string' && row['previousAttempt'] !== '' ? row['previousAttempt'] : null,
    tilesDone: count(row['tilesDone']),
    tilesFailed: count(row['tilesFailed']),
    tilesTotal: count(row['tilesTotal']),
    ...(typeof row['batch'] === 'string' ? { batch: row['batch'] } : {}),
    ...(typeof row['definitionVersion'] === 'number' ? { definitionVersion: row['definitionVersion'] } : {}),
    errors: parseJsonList(row['errors']).filter(isFailure),
    errorCodes: parseJsonList(row['errorCodes']).filter(isFailureCode),
  };
}

/** The jobs index on its table (`RasterIngestJobs` in Azure, `MemoryTableStore` in unit tests). */
export class JobIndex {
  constructor(private readonly table: TableStore) {}

  static fromEnvironment(env: Environment = process.env): JobIndex {
    return new JobIndex(AzureTableStore.fromEnvironment(env, jobIndexTableName));
  }

  /** Adds a job's row (submission) or merges what changed (the job's end). */
  async record(entry: Partial<JobIndexEntry> & { key: string }): Promise<void> {
    await this.table.upsert(toRow(entry), 'merge');
  }

  /**
   * Adds or merges many rows in as few requests as the table allows: one transaction per 100 rows
   * (they share the one partition). A batch's chunk of jobs costs one request, not one per job.
   */
  async recordMany(entries: ReadonlyArray<Partial<JobIndexEntry> & { key: string }>): Promise<void> {
    for (let start = 0; start < entries.length; start += tableTransactionMaxRows) {
      await this.table.transact(entries.slice(start, start + tableTransactionMaxRows).map((entry) => ({ kind: 'merge' as const, row: toRow(entry) })));
    }
  }

  /** One page of jobs, newest first. */
  async page(query: JobQuery): Promise<{ entries: JobIndexEntry[]; continuationToken: string | null }> {
    // Checked before anything is asked of the table: a token this API did not give is a 400, not a 500.
    const continuation = query.continuationToken === undefined ? undefined : decodeJobsToken(query.continuationToken);
    try {
      const page = await this.table.queryPage(buildJobQuery(query), query.top, continuation);
      return { entries: page.rows.map(fromRow), continuationToken: page.continuation ? encodeJobsToken(page.continuation) : null };
    } catch (error) {
      // Well formed, but keys the table service refuses.
      if (error instanceof ContinuationRefusedError) throw new InvalidContinuationTokenError('the jobs index did not accept it; start again without it');
      throw error;
    }
  }

  /**
   * Whether a job of `collection` completed at or after `since` (a schedule's "after"): the
   * newest match is enough, so one row is asked for. A job created before `since` that completed
   * after it counts (its row's `lastUpdatedTime` is its end).
   */
  async hasCompletedSince(collection: string, since: Date): Promise<boolean> {
    const { partitionKey: partition, where } = buildJobQuery({ collection, statuses: ['Completed'] });
    const completedSince: RowFilter = { column: 'lastUpdatedTime', is: 'ge', value: since.toISOString() };
    // Filtered on the server; the first matching row answers, and no further page is read.
    for await (const row of this.table.query({ partitionKey: partition, where: where ? { allOf: [where, completedSince] } : completedSince, select: ['lastUpdatedTime'] })) {
      if (row) return true;
    }
    return false;
  }

  /** When the scheduled batch named `name` last ran, or `undefined` before its first run. */
  async readScheduleMark(name: string): Promise<Date | undefined> {
    const lastRun = (await this.table.get(schedulePartitionKey, name))?.values['lastRun'];
    return typeof lastRun === 'string' ? new Date(lastRun) : undefined;
  }

  async writeScheduleMark(name: string, lastRun: Date): Promise<void> {
    await this.table.upsert({ partitionKey: schedulePartitionKey, rowKey: name, values: { lastRun: lastRun.toISOString() } }, 'replace');
  }

  /** Deletes the rows of finished jobs created before `cutoff` (their instances were purged); returns how many. */
  async deleteFinishedBefore(cutoff: Date): Promise<number> {
    let deleted = 0;
    const older: TableQuery = { partitionKey, where: { column: 'RowKey', is: 'gt', value: keyBound(cutoff) }, select: ['status'] };
    for await (const row of this.table.query(older)) {
      if (!finalStatuses.has(text(row.values['status']))) continue;
      await this.table.delete(partitionKey, row.rowKey);
      deleted++;
    }
    return deleted;
  }
}

