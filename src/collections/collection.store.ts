/**
 * Collection definitions: the one owner of their state, a Table Storage table. Each collection is
 * a partition holding its `current` row and one row per version (`v0000000001`, …), written
 * together in one transaction, so a version number is never given twice and every version a job
 * ran stays readable. A write names the version it replaces (the API's `If-Match`): the
 * transaction is conditional on the `current` row's own ETag, so of two concurrent writers of the
 * same version one wins and the other is told it is stale.
 */
import { odata, type TableClient, type TableEntityResult, type TransactionAction } from '@azure/data-tables';
import { settingNames, type Environment } from '../config.js';
import { createTableClient, resolveStorageConnection } from '../storage/connection.js';
import { createTableOnce, statusOf } from '../storage/table.once.js';
import { collectionDefinitionSchema, type CollectionDefinition } from './definition.schema.js';

export const collectionTableName = 'RasterIngestCollections';

const currentRow = 'current';
const versionRow = (version: number): string => `v${String(version).padStart(10, '0')}`;

export interface StoredCollection {
  id: string;
  version: number;
  definition: CollectionDefinition;
  updatedTime: string;
}

export type WriteResult = { outcome: 'written'; collection: StoredCollection } | { outcome: 'stale'; currentVersion: number | null };

type Row = Record<string, unknown>;

function fromRow(id: string, row: TableEntityResult<Row>): StoredCollection | undefined {
  const version = row['version'];
  const text = row['definition'];
  if (typeof version !== 'number' || typeof text !== 'string') return undefined;
  // Stored by this module after validation; parsed again so a row of another shape is never trusted.
  const parsed = collectionDefinitionSchema.safeParse(JSON.parse(text));
  if (!parsed.success) return undefined;
  return { id, version, definition: parsed.data, updatedTime: typeof row['updatedTime'] === 'string' ? row['updatedTime'] : '' };
}

export class CollectionStore {
  private readonly ensureTable: () => Promise<void>;

  constructor(private readonly table: TableClient) {
    this.ensureTable = createTableOnce(table);
  }

  static fromEnvironment(env: Environment = process.env): CollectionStore {
    return new CollectionStore(createTableClient(resolveStorageConnection(env, settingNames.storage), collectionTableName));
  }

  /** The current definition, or a given version of it; `undefined` when there is none. */
  async read(id: string, version?: number): Promise<StoredCollection | undefined> {
    await this.ensureTable();
    try {
      const row = await this.table.getEntity<Row>(id, version === undefined ? currentRow : versionRow(version));
      return fromRow(id, row);
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
  }

  /** Every collection's current definition, by id (collections are few: the upload trigger routes by all of them). */
  async list(): Promise<StoredCollection[]> {
    await this.ensureTable();
    const collections: StoredCollection[] = [];
    for await (const row of this.table.listEntities<Row>({ queryOptions: { filter: odata`RowKey eq ${currentRow}` } })) {
      const collection = row.partitionKey ? fromRow(row.partitionKey, row) : undefined;
      if (collection) collections.push(collection);
    }
    return collections.sort((a, b) => a.id.localeCompare(b.id));
  }

  /**
   * Writes the next version when `expectedVersion` is the current one (`null`: the collection must
   * not exist yet); `stale` otherwise, with the version there is.
   */
  async write(id: string, definition: CollectionDefinition, expectedVersion: number | null, now: Date): Promise<WriteResult> {
    await this.ensureTable();
    let etag: string | undefined;
    let currentVersion: number | null = null;
    try {
      const row = await this.table.getEntity<Row>(id, currentRow);
      currentVersion = typeof row['version'] === 'number' ? row['version'] : null;
      etag = row.etag;
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
    }
    if (currentVersion !== expectedVersion) return { outcome: 'stale', currentVersion };
    const version = (currentVersion ?? 0) + 1;
    const fields = { version, definition: JSON.stringify(definition), updatedTime: now.toISOString() };
    const actions: TransactionAction[] = [
      etag ? ['update', { partitionKey: id, rowKey: currentRow, ...fields }, 'Replace', { etag }] : ['create', { partitionKey: id, rowKey: currentRow, ...fields }],
      ['create', { partitionKey: id, rowKey: versionRow(version), ...fields }],
    ];
    try {
      await this.table.submitTransaction(actions);
    } catch (error) {
      // Another writer got there first (its current row changed, or its version row exists).
      const status = statusOf(error);
      if (status === 409 || status === 412) return { outcome: 'stale', currentVersion: (await this.read(id))?.version ?? null };
      throw error;
    }
    return { outcome: 'written', collection: { id, version, definition, updatedTime: fields.updatedTime } };
  }
}
