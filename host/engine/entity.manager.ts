import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { odata, type TableClient, type TableEntity } from '@azure/data-tables';
import { statusOf, withStorageRetry } from '../storage/retry.js';
import { encodeKey, type TaskHubStore } from '../storage/task.hub.store.js';
import { invokeRegistration, typedDataToJson, type Registration } from '../worker.shim.js';

/** One operation for an entity: from a client signal, an orchestration's call/signal, or another entity. */
export interface EntityOperation {
  /** Row key: orders operations and makes re-sending the same operation harmless. */
  rk: string;
  operation: string;
  input: string | undefined;
  requestId: string;
  signal: boolean;
  /** Orchestration waiting for the result (callEntity). */
  parentInstanceId?: string | undefined;
}

export interface EntityResponse {
  result?: string;
  exceptionType?: string;
}

interface EntityRow {
  exists: boolean;
  state: string | undefined;
  /** Request ids of the latest applied operations: a re-sent operation is not applied twice. */
  appliedIds: string[];
  pendingResponses: Array<{ instanceId: string; requestId: string; response: EntityResponse }>;
}

/** How many applied request ids an entity remembers. */
const appliedIdsKept = 500;

let counter = 0;
/** Row keys sort by time of creation (a restarted host continues after the old keys). */
export function operationRowKey(time = Date.now(), requestId: string = randomUUID()): string {
  counter = (counter + 1) % 1_000_000;
  return `${String(time).padStart(15, '0')}-${String(counter).padStart(6, '0')}-${requestId}`;
}

/** Scheduler id of an entity, as the SDK writes it: `@name@key` with the name in lower case. */
export function entitySchedulerId(name: string, key: string): string {
  return `@${name.toLowerCase()}@${key}`;
}

function parseSchedulerId(id: string): { name: string; key: string } {
  const at = id.indexOf('@', 1);
  return { name: id.slice(1, at), key: id.slice(at + 1) };
}

/**
 * Durable entities: operations are rows in `{Hub}EntityOps` (written before they are
 * acknowledged, and before the orchestration episode that sends them is committed), state is a
 * row in `{Hub}Entities`. A batch of operations runs through the entity function; its new state,
 * the ids of the applied operations and the responses owed to orchestrations are written in one
 * row update, so an operation changes the state once even if it is stored twice (same request
 * id) and responses are re-sent after a crash (orchestrations drop duplicates by request id).
 */
export class EntityManager {
  private readonly entities: TableClient;
  private readonly operations: TableClient;
  private readonly busy = new Set<string>();
  private readonly again = new Set<string>();
  private stopping = false;

  constructor(
    private readonly store: TaskHubStore,
    private readonly registrations: Map<string, Registration>,
    private readonly respond: (instanceId: string, requestId: string, response: EntityResponse) => Promise<void>,
    private readonly log: (line: string) => void,
  ) {
    this.entities = store.connection.tableClient(`${store.hubName}Entities`);
    this.operations = store.connection.tableClient(`${store.hubName}EntityOps`);
  }

  async ensureCreated(): Promise<void> {
    for (const table of [`${this.store.hubName}Entities`, `${this.store.hubName}EntityOps`]) {
      await withStorageRetry('creating the entity tables', async () => {
        try {
          await this.store.connection.tables.createTable(table);
        } catch (error) {
          if (statusOf(error) !== 409) throw error;
        }
      });
    }
  }

  /** Re-sends owed responses and processes operations left by a previous host. */
  async start(): Promise<void> {
    for await (const entity of this.entities.listEntities<Record<string, unknown>>()) {
      const row = this.rowOf(entity);
      if (row.pendingResponses.length) await this.sendResponses(String(entity['SchedulerId']), row);
    }
    const pending = new Set<string>();
    for await (const op of this.operations.listEntities<Record<string, unknown>>({ queryOptions: { select: ['SchedulerId'] } })) pending.add(String(op['SchedulerId']));
    for (const id of pending) this.schedule(id);
  }

  stop(): void {
    this.stopping = true;
  }

  findEntity(name: string): Registration | undefined {
    const lower = name.toLowerCase();
    return [...this.registrations.values()].find((r) => r.trigger.type === 'entityTrigger' && r.name.toLowerCase() === lower);
  }

  /** Stores the operation and schedules the entity to run it (unless told to wait). */
  async enqueue(schedulerId: string, op: EntityOperation, schedule = true): Promise<void> {
    const entity: TableEntity = {
      partitionKey: encodeKey(schedulerId),
      rowKey: op.rk,
      SchedulerId: schedulerId,
      Operation: op.operation,
      RequestId: op.requestId,
      Signal: op.signal,
      ...(op.input !== undefined ? { Input: await this.store.externalize(schedulerId, op.input) } : {}),
      ...(op.parentInstanceId ? { ParentInstanceId: op.parentInstanceId } : {}),
    };
    try {
      await withStorageRetry('storing an entity operation', () => this.operations.createEntity(entity));
    } catch (error) {
      if (statusOf(error) !== 409) throw error;
    }
    if (schedule) this.schedule(schedulerId);
  }

  /** Runs the operations stored for an entity (after the episode that sent them is committed). */
  wake(schedulerId: string): void {
    this.schedule(schedulerId);
  }

  /** State of an entity, or undefined when it does not exist. */
  async readState(schedulerId: string): Promise<string | undefined> {
    const row = await this.readRow(schedulerId);
    return row.exists ? row.state : undefined;
  }

  private rowOf(entity: Record<string, unknown> | undefined): EntityRow {
    if (!entity) return { exists: false, state: undefined, appliedIds: [], pendingResponses: [] };
    return {
      exists: entity['Exists'] === true,
      state: entity['State'] as string | undefined,
      appliedIds: JSON.parse((entity['AppliedIds'] as string | undefined) ?? '[]') as string[],
      pendingResponses: JSON.parse((entity['PendingResponses'] as string | undefined) ?? '[]') as EntityRow['pendingResponses'],
    };
  }

  private async readRow(schedulerId: string): Promise<EntityRow> {
    try {
      const entity = await withStorageRetry('reading an entity', () => this.entities.getEntity<Record<string, unknown>>(encodeKey(schedulerId), ''));
      const row = this.rowOf(entity);
      row.state = await this.store.internalize(row.state);
      return row;
    } catch (error) {
      if (statusOf(error) === 404) return this.rowOf(undefined);
      throw error;
    }
  }

  private schedule(schedulerId: string): void {
    if (this.stopping) return;
    if (this.busy.has(schedulerId)) {
      this.again.add(schedulerId);
      return;
    }
    this.busy.add(schedulerId);
    void this.drain(schedulerId)
      .catch((error: unknown) => this.log(`Entity ${schedulerId}: processing failed, will retry: ${(error as Error).message}`))
      .finally(() => {
        this.busy.delete(schedulerId);
        if (this.again.delete(schedulerId)) this.schedule(schedulerId);
      });
  }

  /** Runs the entity's pending operations in batches of up to 100, in order. */
  private async drain(schedulerId: string): Promise<void> {
    const { name, key } = parseSchedulerId(schedulerId);
    for (;;) {
      if (this.stopping) return;
      const row = await this.readRow(schedulerId);
      if (row.pendingResponses.length) await this.sendResponses(schedulerId, row);
      const ops: Array<Record<string, unknown>> = [];
      const filter = odata`PartitionKey eq ${encodeKey(schedulerId)}`;
      for await (const op of this.operations.listEntities<Record<string, unknown>>({ queryOptions: { filter } })) {
        ops.push(op);
        if (ops.length >= 100) break;
      }
      if (ops.length === 0) return;
      const seen = new Set(row.appliedIds);
      const fresh = ops.filter((op) => {
        const id = String(op['RequestId']);
        if (seen.has(id)) return false;
        seen.add(id);
        return true;
      });
      if (fresh.length) await this.runBatch(schedulerId, name, key, row, fresh);
      await this.deleteOperations(ops);
    }
  }

  private async runBatch(schedulerId: string, name: string, key: string, row: EntityRow, ops: Array<Record<string, unknown>>): Promise<void> {
    const registration = this.findEntity(name);
    const batch = await Promise.all(
      ops.map(async (op) => ({
        id: String(op['RequestId']),
        name: String(op['Operation']),
        signal: op['Signal'] === true,
        input: await this.store.internalize(op['Input'] as string | undefined),
      })),
    );
    const started = performance.now();
    let result: { entityExists?: boolean; entityState?: string; results?: Array<{ isError: boolean; result?: string }>; signals?: Array<{ target: { name: string; key: string }; name: string; input: string }> };
    if (!registration) {
      const message = `The entity function '${name}' is not registered in this app.`;
      result = { entityExists: row.exists, ...(row.state !== undefined ? { entityState: row.state } : {}), results: batch.map(() => ({ isError: true, result: JSON.stringify(message) })) };
    } else {
      const payload = { self: { name, key }, exists: row.exists, state: row.state, batch };
      const response = await invokeRegistration(registration, { inputData: [{ name: registration.triggerName, data: { string: JSON.stringify(payload) } }] });
      result = JSON.parse(typedDataToJson(response.returnValue)) as typeof result;
    }
    const pendingResponses: EntityRow['pendingResponses'] = [];
    ops.forEach((op, index) => {
      const parent = op['ParentInstanceId'] as string | undefined;
      if (!parent || op['Signal'] === true) return;
      const outcome = result.results?.[index];
      const response: EntityResponse = {};
      if (outcome?.isError) {
        const detail = outcome.result && outcome.result !== '{}' ? `: ${outcome.result}` : '';
        response.result = JSON.stringify(`Operation '${batch[index]!.name}' on entity ${schedulerId} failed${detail}`);
        response.exceptionType = 'Error';
      } else if (outcome?.result !== undefined) {
        response.result = outcome.result;
      }
      pendingResponses.push({ instanceId: parent, requestId: String(op['RequestId']), response });
    });
    const state = result.entityExists ? await this.store.externalize(schedulerId, result.entityState) : undefined;
    const entity: TableEntity = {
      partitionKey: encodeKey(schedulerId),
      rowKey: '',
      SchedulerId: schedulerId,
      Name: name,
      Key: key,
      Exists: result.entityExists === true,
      ...(state !== undefined ? { State: state } : {}),
      AppliedIds: JSON.stringify([...row.appliedIds, ...batch.map((op) => op.id)].slice(-appliedIdsKept)),
      LastModifiedTime: new Date(),
      PendingResponses: JSON.stringify(pendingResponses),
    };
    await withStorageRetry('updating an entity', () => this.entities.upsertEntity(entity, 'Replace'));
    const failures = (result.results ?? []).filter((r) => r.isError).length;
    this.log(`Executed 'Functions.${registration?.name ?? name}' (${failures ? `Failed ${failures} of ${ops.length} operations` : 'Succeeded'}, Entity=${schedulerId}, Operations=${ops.length}, Duration=${(performance.now() - started).toFixed(0)}ms)`);
    for (const signal of result.signals ?? []) {
      const target = entitySchedulerId(signal.target.name, signal.target.key);
      await this.enqueue(target, { rk: operationRowKey(), operation: signal.name, input: signal.input || undefined, requestId: randomUUID(), signal: true });
    }
    await this.sendResponses(schedulerId, { ...row, pendingResponses });
  }

  private async sendResponses(schedulerId: string, row: EntityRow): Promise<void> {
    if (row.pendingResponses.length === 0) return;
    for (const pending of row.pendingResponses) await this.respond(pending.instanceId, pending.requestId, pending.response);
    await withStorageRetry('updating an entity', () =>
      this.entities.updateEntity({ partitionKey: encodeKey(schedulerId), rowKey: '', PendingResponses: '[]' }, 'Merge'),
    );
  }

  private async deleteOperations(ops: Array<Record<string, unknown>>): Promise<void> {
    const partition = String(ops[0]!['partitionKey']);
    await withStorageRetry('deleting entity operations', async () => {
      try {
        await this.operations.submitTransaction(ops.map((op) => ['delete', { partitionKey: partition, rowKey: String(op['rowKey']) }]));
      } catch (error) {
        if (statusOf(error) !== 404) throw error;
        for (const op of ops) await this.operations.deleteEntity(partition, String(op['rowKey'])).catch(() => undefined);
      }
    });
  }
}
