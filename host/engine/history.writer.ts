import { largeMessageName, largeMessageThreshold, type InstanceRecord, type TaskHubStore } from '../storage/task.hub.store.js';
import { eventKey, type HistoryEvent } from './history.js';
import { lineOf } from './history.log.js';
import type { InstanceState } from './instance.state.js';

/**
 * History writes: every write of an instance goes through its write chain, in order — incoming
 * results appended in batches, episode appends, the instance row, and the rewrite of a history
 * blob before it reaches the append-blob block limit. Payloads over the large-message threshold
 * go to blobs here, invisibly to the rest of the engine.
 */

export interface HistoryWriterParts {
  store: TaskHubStore;
  log: (line: string) => void;
  /** Appends after which a history blob is rewritten compactly into a new one (limit: 50,000). */
  maxHistoryBlocks: number;
}

/** Below Azure's 50,000 appends per append blob, with room for the appends of a rewrite. */
export const defaultMaxHistoryBlocks = 45_000;

export class HistoryWriter {
  constructor(private readonly parts: HistoryWriterParts) {}

  enqueueWrite<T>(instance: InstanceState, write: () => Promise<T>): Promise<T> {
    return instance.blob.enqueue(write);
  }

  /** Appends to the instance's history blob, counting blocks. */
  async append(instance: InstanceState, text: string): Promise<void> {
    instance.blob.appended(await this.parts.store.appendHistory(instance.record.historyBlob, instance.blob.byteLength, text), text);
  }

  /** Writes results not yet in the blob as incoming lines, in one append. */
  flushPending(instance: InstanceState): void {
    const events = instance.pending.filter((event) => {
      const key = eventKey(event);
      return key !== undefined && !instance.blob.isStored(key);
    });
    if (events.length === 0) return;
    for (const event of events) instance.blob.markStored(eventKey(event)!);
    void this.enqueueWrite(instance, async () => {
      const lines: string[] = [];
      for (const event of events) lines.push(lineOf({ k: 'i', ev: await this.externalizeEvent(instance.id, event) }));
      await this.append(instance, '\n' + lines.join('\n'));
      await this.maybeCompact(instance);
    }).catch((error: unknown) => this.parts.log(`Instance ${instance.id}: could not persist ${events.length} result(s): ${(error as Error).message}`));
  }

  /** Called in the write chain wherever memory and the blob agree (a retired or replaced copy is not runnable). */
  async maybeCompact(instance: InstanceState): Promise<void> {
    if (instance.blob.blockCount >= this.parts.maxHistoryBlocks && instance.isRunnable()) await this.compact(instance);
  }

  /**
   * Rewrites the committed history (one episode) and the stored incoming events into a new blob
   * and points the instance row at it, before the append blob runs out of blocks. Runs inside
   * the instance's write chain; a crash midway leaves the row on the old, complete blob.
   */
  private async compact(instance: InstanceState): Promise<void> {
    const old = instance.record.historyBlob;
    const generation = (Number(/\.r(\d+)\.jsonl$/.exec(old)?.[1] ?? 0) || 0) + 1;
    const name = this.parts.store.historyBlobName(instance.id, instance.record.executionId, generation);
    await this.parts.store.resetHistoryBlob(name);
    const lines: string[] = [];
    for (const event of instance.history) lines.push(lineOf({ k: 'e', ep: 0, a: 'compact', ev: await this.externalizeEvent(instance.id, event) }));
    lines.push(lineOf({ k: 'c', ep: 0, a: 'compact', s: instance.snapshot() }));
    for (const event of instance.pending) {
      const key = eventKey(event);
      if (key && instance.blob.isStored(key)) lines.push(lineOf({ k: 'i', ev: await this.externalizeEvent(instance.id, event) }));
    }
    instance.record.historyBlob = name;
    instance.blob.reset(0, 0);
    await this.append(instance, '\n' + lines.join('\n'));
    instance.episodes = 1;
    await this.parts.store.replaceInstance(await this.externalRecord(instance));
    await this.parts.store.deleteHistoryBlob(old).catch(() => undefined);
    this.parts.log(`Instance ${instance.id}: history rewritten into ${name} (append blobs take at most 50,000 blocks)`);
  }

  recordOf(instance: InstanceState): InstanceRecord {
    return { ...instance.record, runtimeStatus: instance.status, input: instance.record.input, output: instance.output, customStatus: instance.customStatus };
  }

  async externalRecord(instance: InstanceState): Promise<InstanceRecord> {
    const record = this.recordOf(instance);
    record.output = await this.parts.store.externalize(instance.id, instance.output);
    return record;
  }

  async externalizeEvent(instanceId: string, event: HistoryEvent): Promise<HistoryEvent> {
    let copy: HistoryEvent | undefined;
    for (const field of ['Input', 'Result', 'Details'] as const) {
      const value = event[field];
      if (typeof value === 'string' && Buffer.byteLength(value) > largeMessageThreshold) {
        copy ??= { ...event };
        copy[field] = await this.parts.store.externalize(instanceId, value);
      }
    }
    return copy ?? event;
  }

  async internalizeEvent(event: HistoryEvent): Promise<void> {
    for (const field of ['Input', 'Result', 'Details'] as const) {
      const value = event[field];
      if (typeof value === 'string' && largeMessageName(value)) event[field] = await this.parts.store.internalize(value);
    }
  }
}
