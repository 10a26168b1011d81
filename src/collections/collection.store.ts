/**
 * Collection definitions: the one owner of their state, a Table Storage table. Each collection is
 * a partition holding its `current` row and one row per version (`v0000000001`, …), written
 * together in one transaction, so a version number is never given twice and every version a job
 * ran stays readable. A write names the version it replaces (the API's `If-Match`): the
 * transaction is conditional on the `current` row's own ETag, so of two concurrent writers of the
 * same version one wins and the other is told it is stale.
 */
import type { Environment } from '../config.js';
import { AzureTableStore } from '../storage/azure.table.store.js';
import { StoreError, type StoredRow, type TableStore, type TableWrite } from '../storage/table.store.js';
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

function fromRow(id: string, { values: row }: StoredRow): StoredCollection | undefined {
  const version = row['version'];
  const text = row['definition'];
  if (typeof version !== 'number' || typeof text !== 'string') return undefined;
  // Stored by this module after validation; parsed again so a row of another shape is never trusted.
  const parsed = collectionDefinitionSchema.safeParse(JSON.parse(text));
  if (!parsed.success) return undefined;
  return { id, version, definition: parsed.data, updatedTime: typeof row['updatedTime'] === 'string' ? row['updatedTime'] : '' };
}

export class CollectionStore {
  constructor(private readonly table: TableStore) {}

  static fromEnvironment(env: Environment = process.env): CollectionStore {
    return new CollectionStore(AzureTableStore.fromEnvironment(env, collectionTableName));
  }

  /** The current definition, or a given version of it; `undefined` when there is none. */
  async read(id: string, version?: number): Promise<StoredCollection | undefined> {
    const row = await this.table.get(id, version === undefined ? currentRow : versionRow(version));
    return row && fromRow(id, row);
  }

  /** Every collection's current definition, by id (collections are few: the upload trigger routes by all of them). */
  async list(): Promise<StoredCollection[]> {
    const collections: StoredCollection[] = [];
    for await (const row of this.table.query({ where: { column: 'RowKey', is: 'eq', value: currentRow } })) {
      const collection = fromRow(row.partitionKey, row);
      if (collection) collections.push(collection);
    }
    return collections.sort((a, b) => a.id.localeCompare(b.id));
  }

  /**
   * Writes the next version when `expectedVersion` is the current one (`null`: the collection must
   * not exist yet); `stale` otherwise, with the version there is.
   */
  async write(id: string, definition: CollectionDefinition, expectedVersion: number | null, now: Date): Promise<WriteResult> {
    const current = await this.table.get(id, currentRow);
    const currentVersion = typeof current?.values['version'] === 'number' ? current.values['version'] : null;
    if (currentVersion !== expectedVersion) return { outcome: 'stale', currentVersion };
    const version = (currentVersion ?? 0) + 1;
    const fields = { version, definition: JSON.stringify(definition), updatedTime: now.toISOString() };
    const writes: TableWrite[] = [
      current ? { kind: 'replace', row: { partitionKey: id, rowKey: currentRow, values: fields }, ifMatch: current.etag } : { kind: 'insert', row: { partitionKey: id, rowKey: currentRow, values: fields } },
      { kind: 'insert', row: { partitionKey: id, rowKey: versionRow(version), values: fields } },
    ];
    try {
      await this.table.transact(writes);
    } catch (error) {
      // Another writer got there first (its current row changed, or its version row exists).
      if (error instanceof StoreError && (error.kind === 'conflict' || error.kind === 'precondition')) return { outcome: 'stale', currentVersion: (await this.read(id))?.version ?? null };
      throw error;
    }
    return { outcome: 'written', collection: { id, version, definition, updatedTime: fields.updatedTime } };
  }
}
