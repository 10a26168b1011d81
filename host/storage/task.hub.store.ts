import { randomUUID } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { TableClient, TableServiceClient, odata, type TableEntity } from '@azure/data-tables';
import { BlobServiceClient, type AppendBlobClient, type ContainerClient } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import { singleAttemptStorageOptions, singleAttemptTableOptions, statusOf, withStorageRetry } from './retry.js';

/** Payloads above this size go to the large-messages container (DurableTask.AzureStorage uses ~45 KB). */
export const largeMessageThreshold = 45 * 1024;
/** Azure's limit for one append block. */
const maxAppendBlockBytes = 4 * 1024 * 1024;

export type RuntimeStatus = 'Pending' | 'Running' | 'Completed' | 'ContinuedAsNew' | 'Failed' | 'Canceled' | 'Terminated' | 'Suspended';
export const terminalStatuses: ReadonlySet<RuntimeStatus> = new Set(['Completed', 'Failed', 'Canceled', 'Terminated']);

/** One row of `{Hub}Instances`. JSON payloads are JSON text (or a large-message blob name). */
export interface InstanceRecord {
  instanceId: string;
  name: string;
  version: string;
  runtimeStatus: RuntimeStatus;
  createdTime: Date;
  lastUpdatedTime: Date;
  completedTime?: Date | undefined;
  input: string | undefined;
  output: string | undefined;
  customStatus: string | undefined;
  executionId: string;
  historyBlob: string;
  parentInstanceId?: string | undefined;
  parentTaskId?: number | undefined;
  etag?: string;
}

export interface InstanceQuery {
  createdTimeFrom?: Date | undefined;
  createdTimeTo?: Date | undefined;
  runtimeStatus?: RuntimeStatus[] | undefined;
  instanceIdPrefix?: string | undefined;
  top?: number | undefined;
  continuationToken?: string | undefined;
}

/** Table keys may not hold / \ # ? or control characters; escape them so prefixes still sort together. */
export function encodeKey(value: string): string {
  return value.replace(/[%/\\#?\u0000-\u001f\u007f]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0').toUpperCase()}`);
}

function decodeKey(value: string): string {
  return value.replace(/%([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

interface ConnectionParts {
  blob: BlobServiceClient;
  tables: TableServiceClient;
  queues: QueueServiceClient;
  tableClient(name: string): TableClient;
}

export function connect(connectionString: string): ConnectionParts {
  // No SDK-level retries: withStorageRetry is the one retry layer (retry.ts).
  const tableOptions = singleAttemptTableOptions(connectionString);
  const storageOptions = singleAttemptStorageOptions;
  return {
    blob: BlobServiceClient.fromConnectionString(connectionString, storageOptions),
    tables: TableServiceClient.fromConnectionString(connectionString, tableOptions),
    queues: QueueServiceClient.fromConnectionString(connectionString, storageOptions),
    tableClient: (name) => TableClient.fromConnectionString(connectionString, name, tableOptions),
  };
}

/**
 * Storage layout of one task hub, modelled on DurableTask.AzureStorage:
 * `{Hub}Instances` table (one row per instance), `{hub}-history` append blobs (one per execution,
 * one JSON line per event, written a whole episode per append), `{hub}-largemessages` (gzipped
 * payloads over ~45 KB) and `{hub}-leases` (who owns the hub).
 */
export class TaskHubStore {
  readonly instances: TableClient;
  readonly history: ContainerClient;
  readonly largeMessages: ContainerClient;
  readonly leases: ContainerClient;
  readonly connection: ConnectionParts;

  constructor(
    readonly connectionString: string,
    readonly hubName: string,
  ) {
    this.connection = connect(connectionString);
    const lower = hubName.toLowerCase();
    this.instances = this.connection.tableClient(`${hubName}Instances`);
    this.history = this.connection.blob.getContainerClient(`${lower}-history`);
    this.largeMessages = this.connection.blob.getContainerClient(`${lower}-largemessages`);
    this.leases = this.connection.blob.getContainerClient(`${lower}-leases`);
  }

  async ensureCreated(): Promise<void> {
    await withStorageRetry('creating the task hub tables and containers', async () => {
      await this.createTable(`${this.hubName}Instances`);
      await Promise.all([this.history.createIfNotExists(), this.largeMessages.createIfNotExists(), this.leases.createIfNotExists()]);
    });
  }

  private async createTable(name: string): Promise<void> {
    try {
      await this.connection.tables.createTable(name);
    } catch (error) {
      if (statusOf(error) !== 409) throw error;
    }
  }

  // ---- large messages -------------------------------------------------------------------

  /** Stores JSON text over the threshold as a gzipped blob and returns a reference instead. */
  async externalize(instanceId: string, json: string | undefined): Promise<string | undefined> {
    if (json === undefined || Buffer.byteLength(json) <= largeMessageThreshold) return json;
    const name = `${encodeURIComponent(instanceId)}/${randomUUID()}.json.gz`;
    const body = gzipSync(json);
    await withStorageRetry('writing a large message', () => this.largeMessages.getBlockBlobClient(name).uploadData(body));
    return JSON.stringify({ $largeMessage: name });
  }

  /** Inverse of externalize. */
  async internalize(value: string | undefined): Promise<string | undefined> {
    const name = largeMessageName(value);
    if (!name) return value;
    const buffer = await withStorageRetry('reading a large message', () => this.largeMessages.getBlockBlobClient(name).downloadToBuffer());
    return gunzipSync(buffer).toString('utf8');
  }

  // ---- instances table ----------------------------------------------------------------------

  private toEntity(record: InstanceRecord): TableEntity {
    return {
      partitionKey: encodeKey(record.instanceId),
      rowKey: '',
      InstanceId: record.instanceId,
      Name: record.name,
      Version: record.version,
      RuntimeStatus: record.runtimeStatus,
      CreatedTime: record.createdTime,
      LastUpdatedTime: record.lastUpdatedTime,
      ...(record.completedTime ? { CompletedTime: record.completedTime } : {}),
      ...(record.input !== undefined ? { Input: record.input } : {}),
      ...(record.output !== undefined ? { Output: record.output } : {}),
      ...(record.customStatus !== undefined ? { CustomStatus: record.customStatus } : {}),
      ExecutionId: record.executionId,
      HistoryBlob: record.historyBlob,
      ...(record.parentInstanceId ? { ParentInstanceId: record.parentInstanceId, ParentTaskId: record.parentTaskId ?? -1 } : {}),
    };
  }

  private fromEntity(entity: Record<string, unknown>): InstanceRecord {
    const date = (value: unknown): Date | undefined => (value === undefined || value === null ? undefined : new Date(value as string));
    return {
      instanceId: (entity['InstanceId'] as string | undefined) ?? decodeKey(entity['partitionKey'] as string),
      name: entity['Name'] as string,
      version: (entity['Version'] as string | undefined) ?? '',
      runtimeStatus: entity['RuntimeStatus'] as RuntimeStatus,
      createdTime: date(entity['CreatedTime'])!,
      lastUpdatedTime: date(entity['LastUpdatedTime'])!,
      completedTime: date(entity['CompletedTime']),
      input: entity['Input'] as string | undefined,
      output: entity['Output'] as string | undefined,
      customStatus: entity['CustomStatus'] as string | undefined,
      executionId: entity['ExecutionId'] as string,
      historyBlob: entity['HistoryBlob'] as string,
      parentInstanceId: entity['ParentInstanceId'] as string | undefined,
      parentTaskId: entity['ParentTaskId'] as number | undefined,
      etag: entity['etag'] as string,
    };
  }

  /** Inserts a new instance row; false if one already exists. */
  async insertInstance(record: InstanceRecord): Promise<boolean> {
    try {
      await withStorageRetry('creating an instance', () => this.instances.createEntity(this.toEntity(record)));
      return true;
    } catch (error) {
      if (statusOf(error) === 409) return false;
      throw error;
    }
  }

  /** Replaces the row; with an etag, only if nobody changed it meanwhile (false otherwise). */
  async replaceInstance(record: InstanceRecord, etag?: string): Promise<boolean> {
    try {
      await withStorageRetry('updating an instance', () =>
        etag ? this.instances.updateEntity(this.toEntity(record), 'Replace', { etag }) : this.instances.upsertEntity(this.toEntity(record), 'Replace'),
      );
      return true;
    } catch (error) {
      if (statusOf(error) === 412 || statusOf(error) === 404) return false;
      throw error;
    }
  }

  async getInstance(instanceId: string): Promise<InstanceRecord | undefined> {
    try {
      const entity = await withStorageRetry('reading an instance', () => this.instances.getEntity(encodeKey(instanceId), ''));
      return this.fromEntity(entity);
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
  }

  async deleteInstanceRow(instanceId: string): Promise<void> {
    try {
      await withStorageRetry('deleting an instance', () => this.instances.deleteEntity(encodeKey(instanceId), ''));
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
    }
  }

  private filterFor(query: InstanceQuery): string | undefined {
    const clauses: string[] = [];
    if (query.createdTimeFrom) clauses.push(odata`CreatedTime ge ${query.createdTimeFrom}`);
    if (query.createdTimeTo) clauses.push(odata`CreatedTime le ${query.createdTimeTo}`);
    if (query.runtimeStatus?.length) clauses.push(`(${query.runtimeStatus.map((status) => odata`RuntimeStatus eq ${status}`).join(' or ')})`);
    if (query.instanceIdPrefix) {
      const prefix = encodeKey(query.instanceIdPrefix);
      clauses.push(odata`PartitionKey ge ${prefix} and PartitionKey lt ${prefix + '\uffff'}`);
    }
    return clauses.length ? clauses.join(' and ') : undefined;
  }

  /** One page of instances matching the query, with the token of the next page. */
  async queryInstances(query: InstanceQuery): Promise<{ records: InstanceRecord[]; continuationToken: string | undefined }> {
    const filter = this.filterFor(query);
    const pages = this.instances
      .listEntities({ queryOptions: filter ? { filter } : {} })
      .byPage({ maxPageSize: query.top ?? 1000, ...(query.continuationToken ? { continuationToken: query.continuationToken } : {}) });
    const page = await withStorageRetry('listing instances', () => pages.next());
    if (page.done || !page.value) return { records: [], continuationToken: undefined };
    const entities = page.value as unknown as Array<Record<string, unknown>> & { continuationToken?: string };
    return { records: entities.map((entity) => this.fromEntity(entity)), continuationToken: entities.continuationToken };
  }

  /** Every instance matching the query (all pages). */
  async *allInstances(query: InstanceQuery): AsyncGenerator<InstanceRecord> {
    let continuationToken: string | undefined;
    do {
      const page = await this.queryInstances({ ...query, continuationToken });
      yield* page.records;
      continuationToken = page.continuationToken;
    } while (continuationToken);
  }

  // ---- history blobs -------------------------------------------------------------------------

  historyBlobName(instanceId: string, executionId: string, generation = 0): string {
    return `${encodeURIComponent(instanceId)}/${executionId}${generation ? `.r${generation}` : ''}.jsonl`;
  }

  historyBlob(name: string): AppendBlobClient {
    return this.history.getAppendBlobClient(name);
  }

  async createHistoryBlob(name: string): Promise<void> {
    await withStorageRetry('creating a history blob', () => this.historyBlob(name).createIfNotExists());
  }

  /** Number of blocks appended so far (append blobs take at most 50,000). */
  async historyBlockCount(name: string): Promise<number> {
    const properties = await withStorageRetry('reading history properties', () => this.historyBlob(name).getProperties());
    return properties.blobCommittedBlockCount ?? 0;
  }

  /** Creates (or empties) a history blob. */
  async resetHistoryBlob(name: string): Promise<void> {
    await withStorageRetry('creating a history blob', () => this.historyBlob(name).create());
  }

  async deleteHistoryBlob(name: string): Promise<void> {
    await withStorageRetry('deleting history', () => this.historyBlob(name).deleteIfExists());
  }

  /** The blob's text, or undefined if it does not exist. */
  async readHistoryBlob(name: string): Promise<string | undefined> {
    try {
      const buffer = await withStorageRetry('reading history', () => this.historyBlob(name).downloadToBuffer());
      return buffer.toString('utf8');
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
  }

  /**
   * Appends text at the expected offset and returns the new length. Each append is atomic; a
   * payload over 4 MiB takes several appends, so readers only trust lines up to a commit marker.
   * A retried append that already landed (lost response) is recognized by the blob's length.
   */
  async appendHistory(name: string, offset: number, text: string): Promise<number> {
    const blob = this.historyBlob(name);
    let position = offset;
    const bytes = Buffer.from(text, 'utf8');
    for (let start = 0; start < bytes.length; start += maxAppendBlockBytes) {
      const chunk = bytes.subarray(start, Math.min(bytes.length, start + maxAppendBlockBytes));
      const expected = position;
      await withStorageRetry('appending history', async () => {
        try {
          await blob.appendBlock(chunk, chunk.length, { conditions: { appendPosition: expected } });
        } catch (error) {
          if (statusOf(error) !== 412) throw error;
          const properties = await blob.getProperties();
          if (properties.contentLength === expected + chunk.length) return; // our earlier attempt landed
          throw new HistoryConflictError(name, expected, properties.contentLength ?? -1);
        }
      });
      position += chunk.length;
    }
    return position;
  }

  async deleteHistoryBlobs(instanceId: string): Promise<void> {
    for await (const blob of this.history.listBlobsFlat({ prefix: `${encodeURIComponent(instanceId)}/` })) {
      await withStorageRetry('deleting history', () => this.history.deleteBlob(blob.name, { deleteSnapshots: 'include' })).catch((error: unknown) => {
        if (statusOf(error) !== 404) throw error;
      });
    }
    for await (const blob of this.largeMessages.listBlobsFlat({ prefix: `${encodeURIComponent(instanceId)}/` })) {
      await withStorageRetry('deleting large messages', () => this.largeMessages.deleteBlob(blob.name)).catch((error: unknown) => {
        if (statusOf(error) !== 404) throw error;
      });
    }
  }
}

export class HistoryConflictError extends Error {
  constructor(blob: string, expected: number, actual: number) {
    super(
      `History blob ${blob} changed underneath this host (expected length ${expected}, found ${actual}): ` +
        'another host is writing to the same task hub. Stop the other host or use a different task hub name.',
    );
  }
}

export function largeMessageName(value: string | undefined): string | undefined {
  if (!value || !value.startsWith('{"$largeMessage":')) return undefined;
  return (JSON.parse(value) as { $largeMessage: string }).$largeMessage;
}
