/**
 * `TableStore` in memory, for unit tests that need a table but no Azurite. It keeps the Azure
 * store's contract (ETags, conditional and all-or-none writes, key order, paging with
 * continuations, the filters): test/support/table.store.contract.ts runs against both, so the two
 * cannot drift.
 */
import {
  StoreError,
  type RowFilter,
  type StoredRow,
  type TableContinuation,
  type TablePage,
  type TableQuery,
  type TableRow,
  type TableStore,
  type TableValue,
  type TableWrite,
} from '../../src/storage/table.store.js';

/** Table Storage compares text by UTF-16 code units, as JavaScript's `<` does. */
const compareText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function columnValue(row: StoredRow, column: string): TableValue | undefined {
  if (column === 'PartitionKey') return row.partitionKey;
  if (column === 'RowKey') return row.rowKey;
  return row.values[column];
}

function matches(row: StoredRow, filter: RowFilter): boolean {
  if ('allOf' in filter) return filter.allOf.every((part) => matches(row, part));
  if ('anyOf' in filter) return filter.anyOf.some((part) => matches(row, part));
  const value = columnValue(row, filter.column);
  // A missing column, or one of another type, matches nothing.
  if (value === undefined || typeof value !== typeof filter.value) return false;
  const order = typeof value === 'string' ? compareText(value, filter.value as string) : Number(value) - Number(filter.value as boolean);
  switch (filter.is) {
    case 'eq':
      return order === 0;
    case 'ne':
      return order !== 0;
    case 'lt':
      return order < 0;
    case 'le':
      return order <= 0;
    case 'gt':
      return order > 0;
    case 'ge':
      return order >= 0;
  }
}

function isAtOrAfter(row: StoredRow, continuation: TableContinuation): boolean {
  const partition = compareText(row.partitionKey, continuation.nextPartitionKey);
  return partition > 0 || (partition === 0 && (continuation.nextRowKey === undefined || compareText(row.rowKey, continuation.nextRowKey) >= 0));
}

function project(row: StoredRow, select: readonly string[] | undefined): StoredRow {
  if (!select) return { ...row, values: { ...row.values } };
  const values: Record<string, TableValue> = {};
  for (const column of select) if (row.values[column] !== undefined) values[column] = row.values[column];
  return { ...row, values };
}

export class MemoryTableStore implements TableStore {
  private readonly partitions = new Map<string, Map<string, StoredRow>>();
  private version = 0;
  /** Every call by method name, so a test can see how often the table was asked. */
  readonly calls = new Map<string, number>();

  async get(partitionKey: string, rowKey: string): Promise<StoredRow | undefined> {
    this.count('get');
    const row = this.partitions.get(partitionKey)?.get(rowKey);
    return row && project(row, undefined);
  }

  async upsert(row: TableRow, mode: 'merge' | 'replace'): Promise<{ etag: string }> {
    this.count('upsert');
    const current = this.partitions.get(row.partitionKey)?.get(row.rowKey);
    return { etag: this.put({ ...row, values: mode === 'merge' && current ? { ...current.values, ...row.values } : { ...row.values } }) };
  }

  async transact(writes: readonly TableWrite[]): Promise<void> {
    this.count('transact');
    if (writes.length === 0) return;
    // What the SDK and the service refuse before writing anything.
    if (writes.length > 100) throw new StoreError('refused', 'storage answered HTTP 400 (a transaction holds at most 100 writes)', { status: 400 });
    if (new Set(writes.map((write) => write.row.partitionKey)).size > 1) throw new Error('All operations in a transaction must target the same partitionKey');
    if (new Set(writes.map((write) => write.row.rowKey)).size < writes.length) throw new StoreError('refused', 'storage answered HTTP 400 (a row written twice in one transaction)', { status: 400 });
    for (const write of writes) {
      const current = this.partitions.get(write.row.partitionKey)?.get(write.row.rowKey);
      if (write.kind === 'insert' && current) throw new StoreError('conflict', 'storage answered HTTP 409 (EntityAlreadyExists)', { status: 409, code: 'EntityAlreadyExists' });
      if (write.kind === 'replace' && !current) throw new StoreError('not-found', 'storage answered HTTP 404 (ResourceNotFound)', { status: 404, code: 'ResourceNotFound' });
      if (write.kind === 'replace' && current?.etag !== write.ifMatch) {
        throw new StoreError('precondition', 'storage answered HTTP 412 (UpdateConditionNotSatisfied)', { status: 412, code: 'UpdateConditionNotSatisfied' });
      }
    }
    for (const write of writes) {
      const current = write.kind === 'merge' ? this.partitions.get(write.row.partitionKey)?.get(write.row.rowKey) : undefined;
      this.put({ ...write.row, values: { ...current?.values, ...write.row.values } });
    }
  }

  async delete(partitionKey: string, rowKey: string): Promise<void> {
    this.count('delete');
    this.partitions.get(partitionKey)?.delete(rowKey);
  }

  async *query(query: TableQuery): AsyncIterable<StoredRow> {
    this.count('query');
    // A snapshot: rows written or deleted while a caller iterates do not change what it reads.
    yield* this.select(query).map((row) => project(row, query.select));
  }

  async queryPage(query: TableQuery, pageSize: number, continuation?: TableContinuation): Promise<TablePage> {
    this.count('queryPage');
    const rows = this.select(query).filter((row) => !continuation || isAtOrAfter(row, continuation));
    const next = rows[pageSize];
    return {
      rows: rows.slice(0, pageSize).map((row) => project(row, query.select)),
      continuation: next ? { nextPartitionKey: next.partitionKey, nextRowKey: next.rowKey } : undefined,
    };
  }

  /** How many times `method` was called. */
  callCount(method: keyof TableStore): number {
    return this.calls.get(method) ?? 0;
  }

  private count(method: string): void {
    this.calls.set(method, (this.calls.get(method) ?? 0) + 1);
  }

  private put(row: TableRow): string {
    const etag = `W/"datetime'${new Date().toISOString()}-${++this.version}'"`;
    let partition = this.partitions.get(row.partitionKey);
    if (!partition) this.partitions.set(row.partitionKey, (partition = new Map()));
    partition.set(row.rowKey, { partitionKey: row.partitionKey, rowKey: row.rowKey, etag, values: row.values });
    return etag;
  }

  /** The rows a query matches, in key order. */
  private select(query: TableQuery): StoredRow[] {
    const partitions = query.partitionKey === undefined ? [...this.partitions.values()] : [this.partitions.get(query.partitionKey) ?? new Map<string, StoredRow>()];
    return partitions
      .flatMap((partition) => [...partition.values()])
      .filter((row) => !query.where || matches(row, query.where))
      .sort((a, b) => compareText(a.partitionKey, b.partitionKey) || compareText(a.rowKey, b.rowKey));
  }
}
