import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { odata, type TableClient, type TableEntity } from '@azure/data-tables';
import { statusOf, withStorageRetry } from '../storage/retry.js';
import { encodeKey, type TaskHubStore } from '../storage/task.hub.store.js';
import { invokeRegistration, typedDataToJson, type Registration } from '../worker.shim.js';
import type { InstanceOperations } from './instance.operations.js';

/** One operation for an entity: from a client signal, an orchestration's call/signal, or another entity. */
export interface EntityOperation {
  /** Row key: orders operations and makes re-sending the same operation harmless. */
  rk: string;
  operation: string;
  input: string | undefined;
  requestId: string;
  signal: boolean;
  /** Orchestration waiting for the result (callEntity); for lock and release, the lock's owner. */
  parentInstanceId?: string | undefined;
  /**
   * Critical sections (context.df.lock): `lock` asks for this entity on behalf of the owner and,
   * once held, passes the request on to the next entity of the sorted lock set (the last one
   * answers the owner); `release` ends the owner's hold.
   */
  kind?: 'lock' | 'release' | undefined;
  /** Lock: scheduler ids of the whole lock set, sorted, and this entity's position in it. */
  lockSet?: string[] | undefined;
  position?: number | undefined;
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
  /** Lock requests to pass on to the next entity of their lock set (stored with the hold, sent after). */
  pendingForwards: Array<{ schedulerId: string; op: EntityOperation }>;
  /** Orchestration holding this entity in a critical section; its operations only run meanwhile. */
  lockedBy: string | undefined;
}

/** How many applied request ids an entity remembers. */
const appliedIdsKept = 500;

let counter = 0;
/** Row keys sort by time of creation (a restarted host continues after the old keys). */
export function operationRowKey(time = Date.now(), requestId: string = randomUUID()): string {
  counter = (counter + 1) % 1_000_000;
  return `${String(time).padStart(15, '0')}-${String(counter).padStart(6, '0')}-${requestId}`;
}

/** Request id of the release that ends the critical section with this lock request id. */
export function releaseRequestId(lockRequestId: string): string {
  return `${lockRequestId}:release`;
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
  private responses: Pick<InstanceOperations, 'deliverEntityResponse'> | undefined;

  constructor(
    private readonly store: TaskHubStore,
    private readonly registrations: Map<string, Registration>,
    private readonly log: (line: string) => void,
  ) {
    this.entities = store.connection.tableClient(`${store.hubName}Entities`);
    this.operations = store.connection.tableClient(`${store.hubName}EntityOps`);
  }

  /** Answers go to orchestrations through InstanceOperations (built on this): connected once by the engine. */
  connect(responses: Pick<InstanceOperations, 'deliverEntityResponse'>): void {
    this.responses = responses;
  }

  private get orchestrations(): Pick<InstanceOperations, 'deliverEntityResponse'> {
    if (!this.responses) throw new Error('EntityManager: used before the engine connected it');
    return this.responses;
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
      if (row.pendingResponses.length || row.pendingForwards.length) await this.sendResponses(String(entity['SchedulerId']), row);
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
      ...(op.kind ? { Kind: op.kind } : {}),
      ...(op.lockSet ? { LockSet: JSON.stringify(op.lockSet), Position: op.position ?? 0 } : {}),
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
    if (!entity) return { exists: false, state: undefined, appliedIds: [], pendingResponses: [], pendingForwards: [], lockedBy: undefined };
    return {
      exists: entity['Exists'] === true,
      state: entity['State'] as string | undefined,
      appliedIds: JSON.parse((entity['AppliedIds'] as string | undefined) ?? '[]') as string[],
      pendingResponses: JSON.parse((entity['PendingResponses'] as string | undefined) ?? '[]') as EntityRow['pendingResponses'],
      pendingForwards: JSON.parse((entity['PendingForwards'] as string | undefined) ?? '[]') as EntityRow['pendingForwards'],
      lockedBy: (entity['LockedBy'] as string | undefined) || undefined,
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

  /**
   * Runs the entity's pending operations in order, in batches of up to 100. While an orchestration
   * holds the entity in a critical section, only its operations run; the others wait, in order,
   * until it releases the entity. A lock or release ends a pass, so waiting operations come first.
   */
  private async drain(schedulerId: string): Promise<void> {
    const { name, key } = parseSchedulerId(schedulerId);
    for (;;) {
      if (this.stopping) return;
      const row = await this.readRow(schedulerId);
      if (row.pendingResponses.length || row.pendingForwards.length) await this.sendResponses(schedulerId, row);
      const seen = new Set(row.appliedIds);
      const done: Array<Record<string, unknown>> = [];
      const batch: Array<Record<string, unknown>> = [];
      let control: Record<string, unknown> | undefined;
      const filter = odata`PartitionKey eq ${encodeKey(schedulerId)}`;
      for await (const op of this.operations.listEntities<Record<string, unknown>>({ queryOptions: { filter } })) {
        const id = String(op['RequestId']);
        if (seen.has(id)) {
          done.push(op);
          continue;
        }
        if (row.lockedBy !== undefined && op['ParentInstanceId'] !== row.lockedBy) continue;
        if (op['Kind'] === 'lock' || op['Kind'] === 'release') {
          if (batch.length === 0) control = op;
          break;
        }
        seen.add(id);
        batch.push(op);
        if (batch.length >= 100) break;
      }
      if (batch.length) await this.runBatch(schedulerId, name, key, row, batch);
      else if (control) await this.applyLockOperation(schedulerId, name, key, row, control);
      const finished = [...done, ...batch, ...(control ? [control] : [])];
      if (finished.length === 0) return;
      await this.deleteOperations(finished);
    }
  }

  /** A lock takes the entity for its owner and passes the request on (or answers it); a release frees it. */
  private async applyLockOperation(schedulerId: string, name: string, key: string, row: EntityRow, op: Record<string, unknown>): Promise<void> {
    const owner = String(op['ParentInstanceId']);
    const requestId = String(op['RequestId']);
    const pendingResponses: EntityRow['pendingResponses'] = [];
    const pendingForwards: EntityRow['pendingForwards'] = [];
    let lockedBy = row.lockedBy;
    let outcome = op['Kind'] === 'lock' ? 'held' : 'released';
    if (op['Kind'] === 'lock' && row.appliedIds.includes(releaseRequestId(requestId))) {
      // The owner ended (terminated) while its request was on the way here: nothing to hold.
      outcome = 'not held (the critical section had already ended)';
    } else if (op['Kind'] === 'lock') {
      lockedBy = owner;
      const lockSet = JSON.parse(String(op['LockSet'] ?? '[]')) as string[];
      const position = Number(op['Position'] ?? 0);
      const next = lockSet[position + 1];
      if (next) {
        pendingForwards.push({ schedulerId: next, op: { rk: operationRowKey(), operation: '', input: undefined, requestId, signal: false, parentInstanceId: owner, kind: 'lock', lockSet, position: position + 1 } });
      } else {
        // The whole set is held: the owner's LockTask completes (the SDK ignores the payload).
        pendingResponses.push({ instanceId: owner, requestId: requestId, response: { result: JSON.stringify(lockSet) } });
      }
    } else if (lockedBy === owner) {
      lockedBy = undefined;
    }
    const updated: EntityRow = { ...row, appliedIds: [...row.appliedIds, requestId].slice(-appliedIdsKept), pendingResponses, pendingForwards, lockedBy };
    await this.writeRow(schedulerId, name, key, updated, await this.store.externalize(schedulerId, row.exists ? row.state : undefined));
    this.log(`Entity ${schedulerId}: ${outcome} for orchestration ${owner}`);
    await this.sendResponses(schedulerId, updated);
  }

  private async writeRow(schedulerId: string, name: string, key: string, row: EntityRow, storedState: string | undefined): Promise<void> {
    const entity: TableEntity = {
      partitionKey: encodeKey(schedulerId),
      rowKey: '',
      SchedulerId: schedulerId,
      Name: name,
      Key: key,
      Exists: row.exists,
      ...(storedState !== undefined ? { State: storedState } : {}),
      AppliedIds: JSON.stringify(row.appliedIds),
      LastModifiedTime: new Date(),
      PendingResponses: JSON.stringify(row.pendingResponses),
      PendingForwards: JSON.stringify(row.pendingForwards),
      LockedBy: row.lockedBy ?? '',
    };
    await withStorageRetry('updating an entity', () => this.entities.upsertEntity(entity, 'Replace'));
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
    const updated: EntityRow = {
      ...row,
      exists: result.entityExists === true,
      appliedIds: [...row.appliedIds, ...batch.map((op) => op.id)].slice(-appliedIdsKept),
      pendingResponses,
      pendingForwards: [],
    };
    await this.writeRow(schedulerId, name, key, updated, state);
    const failures = (result.results ?? []).filter((r) => r.isError).length;
    this.log(`Executed 'Functions.${registration?.name ?? name}' (${failures ? `Failed ${failures} of ${ops.length} operations` : 'Succeeded'}, Entity=${schedulerId}, Operations=${ops.length}, Duration=${(performance.now() - started).toFixed(0)}ms)`);
    for (const signal of result.signals ?? []) {
      const target = entitySchedulerId(signal.target.name, signal.target.key);
      await this.enqueue(target, { rk: operationRowKey(), operation: signal.name, input: signal.input || undefined, requestId: randomUUID(), signal: true });
    }
    await this.sendResponses(schedulerId, updated);
  }

  private async sendResponses(schedulerId: string, row: EntityRow): Promise<void> {
    if (row.pendingResponses.length === 0 && row.pendingForwards.length === 0) return;
    for (const pending of row.pendingResponses) await this.orchestrations.deliverEntityResponse(pending.instanceId, pending.requestId, pending.response);
    // Re-sending after a crash stores the same row again (same row key): applied once.
    for (const forward of row.pendingForwards) await this.enqueue(forward.schedulerId, forward.op);
    await withStorageRetry('updating an entity', () =>
      this.entities.updateEntity({ partitionKey: encodeKey(schedulerId), rowKey: '', PendingResponses: '[]', PendingForwards: '[]' }, 'Merge'),
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
