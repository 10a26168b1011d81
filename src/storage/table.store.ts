/** The app's own interface to one Table Storage table, and the types it speaks. */
import { StoreError } from './store.error.js';

export { StoreError, type StoreErrorKind } from './store.error.js';

/** What a column holds: the app stores text (ISO 8601 times and JSON included), numbers and flags. */
export type TableValue = string | number | boolean;

/** A row to write: its keys and its columns. */
export interface TableRow {
  partitionKey: string;
  rowKey: string;
  values: Readonly<Record<string, TableValue>>;
}

/** A row as read, with the ETag a conditional write names. */
export interface StoredRow extends TableRow {
  etag: string;
}

export type Comparison = 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge';

/**
 * A condition on rows, built as data so no query text is written outside src/storage. A column
 * a row lacks, or holds a value of another type, matches no comparison (as Table Storage does).
 * `PartitionKey` and `RowKey` name the keys; text compares by UTF-16 code units. Only text and
 * flags are compared: number literals carry a type in Table Storage (Int32, Double), which the
 * app has had no need to choose.
 */
export type RowFilter =
  | { column: string; is: Comparison; value: string | boolean }
  | { allOf: readonly RowFilter[] }
  | { anyOf: readonly RowFilter[] };

export interface TableQuery {
  /** Only rows of this partition. */
  partitionKey?: string;
  where?: RowFilter;
  /** Only these columns in `values` (the keys and ETag always). */
  select?: readonly string[];
}

/**
 * Where the next page starts, in the form Table Storage pages by. Storage may encode the keys
 * (Azure does): give back only what a page gave.
 */
export interface TableContinuation {
  nextPartitionKey: string;
  nextRowKey?: string;
}

export interface TablePage {
  /** In key order: partition, then row. */
  rows: StoredRow[];
  /** `undefined` on the last page. */
  continuation: TableContinuation | undefined;
}

/**
 * One write of a transaction: a row that must not exist yet, a row replaced only while it has the
 * ETag read, or a row merged into whatever is there (`merge`: as `upsert(row, 'merge')`).
 */
export type TableWrite = { kind: 'insert'; row: TableRow } | { kind: 'replace'; row: TableRow; ifMatch: string } | { kind: 'merge'; row: TableRow };

/** Storage refused to resume at a continuation (keys it cannot read); the caller should start again without it. */
export class ContinuationRefusedError extends StoreError {
  constructor(options?: { cause?: unknown }) {
    super('refused', 'storage did not accept the continuation', {}, options);
    this.name = 'ContinuationRefusedError';
  }
}

/**
 * The app's narrow view of one Table Storage table. The jobs index, retired outputs and
 * collection definitions depend on this, not on the SDK. Two implementations keep the same
 * contract (test/support/table.store.contract.ts runs against both): `AzureTableStore` (Azure,
 * Azurite) and `MemoryTableStore` (test/support/memory.table.store.ts, for unit tests).
 *
 * The table is created on first use. Every failure is a `StoreError` with a kind.
 */
export interface TableStore {
  /** A row, or `undefined` when there is none. */
  get(partitionKey: string, rowKey: string): Promise<StoredRow | undefined>;
  /** Writes a row whether or not it exists: `merge` keeps columns not named, `replace` drops them. */
  upsert(row: TableRow, mode: 'merge' | 'replace'): Promise<{ etag: string }>;
  /**
   * Writes rows of one partition all or none (at most 100): `conflict` when a row to insert
   * exists, `precondition` when a row to replace changed since its ETag, `not-found` when it is gone.
   */
  transact(writes: readonly TableWrite[]): Promise<void>;
  /** Deletes a row; a row already gone is not an error. */
  delete(partitionKey: string, rowKey: string): Promise<void>;
  /** Every row matching, in key order, read a page at a time. */
  query(query: TableQuery): AsyncIterable<StoredRow>;
  /**
   * One page of at most `pageSize` rows (a page may hold fewer and still not be the last), from
   * `continuation` when given; `ContinuationRefusedError` when storage cannot resume there.
   */
  queryPage(query: TableQuery, pageSize: number, continuation?: TableContinuation): Promise<TablePage>;
}
