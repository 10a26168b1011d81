import { type TableClient, type TableEntityResult, type TransactionAction } from '@azure/data-tables';
import type { Environment } from '../config.js';
import { createTableClient, resolveStorageConnection } from './connection.js';
import { asStoreError, StoreError, translateStoreErrors } from './store.error.js';
import {
  ContinuationRefusedError,
  type RowFilter,
  type StoredRow,
  type TableContinuation,
  type TablePage,
  type TableQuery,
  type TableRow,
  type TableStore,
  type TableValue,
  type TableWrite,
} from './table.store.js';

/** Column names the app uses: letters, digits and "_" (so a name never needs quoting in a filter). */
const columnPattern = /^[A-Za-z_][A-Za-z0-9_]{0,254}$/;

/** A part of an `and` or `or`: a comparison as it is, anything else in parentheses. */
const operand = (filter: RowFilter): string => ('column' in filter ? filterOf(filter) : `(${filterOf(filter)})`);

function filterOf(filter: RowFilter): string {
  if ('allOf' in filter) return filter.allOf.length === 0 ? 'true' : filter.allOf.map(operand).join(' and ');
  if ('anyOf' in filter) return filter.anyOf.length === 0 ? 'false' : filter.anyOf.map(operand).join(' or ');
  if (!columnPattern.test(filter.column)) throw new Error(`"${filter.column}" is not a column name`);
  return `${filter.column} ${filter.is} ${typeof filter.value === 'boolean' ? String(filter.value) : `'${filter.value.replaceAll("'", "''")}'`}`;
}

/** The OData filter of a query (pure; text quoted, its quotes doubled). */
export function odataFilter(query: Pick<TableQuery, 'partitionKey' | 'where'>): string | undefined {
  const parts: RowFilter[] = [
    ...(query.partitionKey !== undefined ? [{ column: 'PartitionKey', is: 'eq', value: query.partitionKey } as const] : []),
    ...(query.where ? ('allOf' in query.where ? query.where.allOf : [query.where]) : []),
  ];
  if (parts.length === 0) return undefined;
  return parts.length === 1 ? filterOf(parts[0]!) : filterOf({ allOf: parts });
}

/** The SDK's page token is base64 of `{"nextPartitionKey","nextRowKey"}`; the interface speaks the keys. */
function toSdkToken(continuation: TableContinuation): string {
  const { nextPartitionKey, nextRowKey } = continuation;
  return Buffer.from(JSON.stringify({ nextPartitionKey, ...(nextRowKey ? { nextRowKey } : {}) }), 'utf8').toString('base64');
}

function fromSdkToken(token: string | undefined): TableContinuation | undefined {
  if (!token) return undefined;
  const parsed = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as { nextPartitionKey?: unknown; nextRowKey?: unknown };
  if (typeof parsed.nextPartitionKey !== 'string') return undefined;
  return { nextPartitionKey: parsed.nextPartitionKey, ...(typeof parsed.nextRowKey === 'string' && parsed.nextRowKey !== '' ? { nextRowKey: parsed.nextRowKey } : {}) };
}

/** The SDK's own properties of an entity, not columns of the row. */
const systemProperties = new Set(['partitionKey', 'rowKey', 'etag', 'timestamp', 'odata.metadata', 'odata.etag']);

function isTableValue(value: unknown): value is TableValue {
  return typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value));
}

function fromEntity(entity: TableEntityResult<Record<string, unknown>>): StoredRow {
  const values: Record<string, TableValue> = {};
  for (const [name, value] of Object.entries(entity)) {
    if (!systemProperties.has(name) && isTableValue(value)) values[name] = value;
  }
  return { partitionKey: entity.partitionKey ?? '', rowKey: entity.rowKey ?? '', etag: entity.etag, values };
}

function toEntity(row: TableRow): Record<string, unknown> & { partitionKey: string; rowKey: string } {
  return { ...row.values, partitionKey: row.partitionKey, rowKey: row.rowKey };
}

function toAction(write: TableWrite): TransactionAction {
  if (write.kind === 'insert') return ['create', toEntity(write.row)];
  if (write.kind === 'merge') return ['upsert', toEntity(write.row), 'Merge'];
  return ['update', toEntity(write.row), 'Replace', { etag: write.ifMatch }];
}

/**
 * `TableStore` on Azure Table Storage (and Azurite), one table. The SDK's errors end here: what
 * leaves is a `StoreError`.
 */
export class AzureTableStore implements TableStore {
  private ready: Promise<void> | undefined;

  constructor(private readonly table: TableClient) {}

  static fromEnvironment(env: Environment, table: string): AzureTableStore {
    return new AzureTableStore(createTableClient(resolveStorageConnection(env), table));
  }

  async get(partitionKey: string, rowKey: string): Promise<StoredRow | undefined> {
    await this.ensureTable();
    try {
      return fromEntity(await translateStoreErrors(() => this.table.getEntity<Record<string, unknown>>(partitionKey, rowKey)));
    } catch (error) {
      if (error instanceof StoreError && error.kind === 'not-found') return undefined;
      throw error;
    }
  }

  async upsert(row: TableRow, mode: 'merge' | 'replace'): Promise<{ etag: string }> {
    await this.ensureTable();
    const response = await translateStoreErrors(() => this.table.upsertEntity(toEntity(row), mode === 'merge' ? 'Merge' : 'Replace'));
    return { etag: response.etag ?? '' };
  }

  async transact(writes: readonly TableWrite[]): Promise<void> {
    if (writes.length === 0) return;
    await this.ensureTable();
    await translateStoreErrors(() => this.table.submitTransaction(writes.map(toAction)));
  }

  async delete(partitionKey: string, rowKey: string): Promise<void> {
    await this.ensureTable();
    try {
      await translateStoreErrors(() => this.table.deleteEntity(partitionKey, rowKey));
    } catch (error) {
      if (!(error instanceof StoreError && error.kind === 'not-found')) throw error;
    }
  }

  async *query(query: TableQuery): AsyncIterable<StoredRow> {
    let continuation: TableContinuation | undefined;
    do {
      const page = await this.queryPage(query, 1000, continuation);
      yield* page.rows;
      continuation = page.continuation;
    } while (continuation);
  }

  async queryPage(query: TableQuery, pageSize: number, continuation?: TableContinuation): Promise<TablePage> {
    await this.ensureTable();
    const filter = odataFilter(query);
    const pages = this.table
      .listEntities<Record<string, unknown>>({ queryOptions: { ...(filter ? { filter } : {}), ...(query.select ? { select: ['PartitionKey', 'RowKey', ...query.select] } : {}) } })
      .byPage({ maxPageSize: pageSize, ...(continuation ? { continuationToken: toSdkToken(continuation) } : {}) });
    try {
      for await (const page of pages) return { rows: page.map(fromEntity), continuation: fromSdkToken(page.continuationToken) };
    } catch (caught) {
      const error = asStoreError(caught);
      // Keys the service cannot resume at: the caller's continuation, not storage, is at fault.
      if (continuation && error?.detail.status === 400) throw new ContinuationRefusedError({ cause: caught });
      throw error ?? caught;
    }
    return { rows: [], continuation: undefined };
  }

  /** Creates the table on first use, once per store (a failure is tried again next time). */
  private ensureTable(): Promise<void> {
    this.ready ??= translateStoreErrors(() => this.table.createTable()).catch((error: unknown) => {
      this.ready = undefined;
      // Someone else created it first: that is what we wanted.
      if (!(error instanceof StoreError && error.kind === 'conflict')) throw error;
    });
    return this.ready;
  }
}
