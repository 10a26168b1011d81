/**
 * The container worker's loop: take a tile message, make its COG with the same code the
 * Functions route runs, and answer on the results queue.
 *
 * Per message:
 * - not a tile-work envelope: dead-lettered (there is no orchestration to tell);
 * - delivered more than `maxDeliveries` times: dead-lettered with the last failure as its reason,
 *   and the tile is reported failed with that reason;
 * - otherwise the COG is made while the lock is renewed every third of its duration. A value or
 *   a final failure (bad source, source gone) is sent as the result and the message completed; a
 *   failure worth retrying abandons the message for a redelivery after a back-off that doubles
 *   with each delivery (`retryDelayMs`), noting the failure on it as the reason should the tile
 *   end up dead-lettered.
 * The result is sent before the message is settled: a crash in between redelivers the tile, which
 * makes the same blobs again and sends a second result the app ignores.
 */
import type { CreateTileCog } from '../src/activities/tile.cog.create.js';
import { runToOutcome } from '../src/activities/activity.outcome.js';
import type { ActivityOutcome, TileCog } from '../src/pipeline/contracts.js';
import { failureFrom, isFailureCode, type Failure } from '../src/pipeline/failure.js';
import type { QueueSender } from '../src/queue/message.queue.js';
import type { MessageNotes, NotedLockedMessage, NotedQueueReceiver } from '../src/queue/queue.factory.js';
import { tileWorkMessageSchema, type TileResultMessage, type TileStartedMessage } from '../src/queue/tile.messages.js';
import { readTileInput } from './tile.input.js';

export interface WorkerLog {
  info(line: string): void;
  /** `error` is the raw error, for the service's own logs only. */
  error(line: string, error?: unknown): void;
}

export interface TileWorkerOptions {
  /** Shown in logs and in each result. */
  name: string;
  /** Tiles worked on at once. */
  concurrency: number;
  /** Return once the queue is empty (and nothing is in flight) instead of waiting for more. */
  once: boolean;
  /** Deliveries of one message before it is dead-lettered (INGEST_WORKER_MAX_DELIVERIES). */
  maxDeliveries: number;
  receiver: NotedQueueReceiver;
  results: QueueSender;
  createTileCog: CreateTileCog;
  /** How long one receive waits for a message; also bounds how quickly `stop` is noticed. Default 5 s. */
  receiveWaitMs?: number;
  /** How long a tile that failed on its `deliveryCount`-th delivery waits before the next (config.ts `workerRetryDelayMs`). Default: no wait. */
  retryDelayMs?: (deliveryCount: number) => number;
  log: WorkerLog;
}

/** What became of one message. */
export type TileDisposition = 'completed' | 'failed' | 'retry' | 'dead-lettered';

const pauseAfterQueueErrorMs = 2000;
/** With `once`, how long past a retry's due time the worker still waits for it to show. */
const retryDueSlackMs = 2000;

export class TileWorker {
  private stopping = false;
  private readonly inFlight = new Map<NotedLockedMessage, Promise<unknown>>();
  /** With `once`: the latest time a tile this worker gave back for a later retry comes due. */
  private retriesDueBy = 0;

  constructor(private readonly options: TileWorkerOptions) {}

  /** Runs until `stop()` (or, with `once`, until the queue is empty). */
  async run(): Promise<void> {
    await Promise.all(Array.from({ length: Math.max(1, this.options.concurrency) }, () => this.slot()));
  }

  /** Stops receiving; tiles in flight go on (see `abandonInFlight`). */
  stop(): void {
    this.stopping = true;
  }

  get tilesInFlight(): number {
    return this.inFlight.size;
  }

  /** Waits up to `graceMs` for the tiles in flight, then gives the rest back to the queue at once. */
  async drain(graceMs: number): Promise<void> {
    const all = Promise.allSettled([...this.inFlight.values()]);
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<'grace over'>((resolve) => (timer = setTimeout(() => resolve('grace over'), graceMs)));
    const ended = await Promise.race([all.then(() => 'done' as const), graceOver]);
    clearTimeout(timer);
    if (ended === 'done') return;
    await Promise.allSettled(
      [...this.inFlight.keys()].map(async (message) => {
        await message.abandon();
        this.options.log.info(`${this.options.name}: message ${message.messageId} abandoned at shutdown (delivery ${message.deliveryCount})`);
      }),
    );
  }

  private async slot(): Promise<void> {
    while (!this.stopping) {
      let messages: NotedLockedMessage[];
      try {
        messages = await this.options.receiver.receive(1, this.options.receiveWaitMs ?? 5000);
      } catch (error) {
        this.options.log.error(`${this.options.name}: receiving from the work queue failed; trying again`, error);
        await new Promise((resolve) => setTimeout(resolve, pauseAfterQueueErrorMs));
        continue;
      }
      const [message] = messages;
      if (!message) {
        // The queue looks empty, but a tile given back with a delay is still to come.
        if (this.options.once && Date.now() >= this.retriesDueBy) return;
        continue;
      }
      if (this.stopping) {
        // Taken while shutting down: give it straight back.
        await message.abandon().catch(() => undefined);
        return;
      }
      const work = this.handle(message).catch((error: unknown) => {
        // Sending the result or settling failed: the lock expires and the tile is delivered again.
        this.options.log.error(`${this.options.name}: message ${message.messageId} left unsettled (delivery ${message.deliveryCount}); it will be delivered again`, error);
      });
      this.inFlight.set(message, work);
      try {
        await work;
      } finally {
        this.inFlight.delete(message);
      }
    }
  }

  private async handle(message: NotedLockedMessage): Promise<TileDisposition> {
    const { log, name, maxDeliveries } = this.options;
    const startedAt = new Date();
    const envelope = tileWorkMessageSchema.safeParse(message.body);
    if (!envelope.success) {
      await message.deadLetter('InvalidMessage', 'the message is not a tile-work message');
      log.info(`${name}: message ${message.messageId} dead-lettered: not a tile-work message`);
      return 'dead-lettered';
    }
    const work = envelope.data;
    const label = `tile ${work.input.itemId} (dispatch ${work.dispatchId}, delivery ${message.deliveryCount})`;
    const report = (outcome: ActivityOutcome<TileCog>): Promise<void> => {
      const result: TileResultMessage = {
        kind: 'tile-result',
        instanceId: work.instanceId,
        eventName: work.eventName,
        dispatchId: work.dispatchId,
        outcome,
        worker: { name, deliveryCount: message.deliveryCount, startedAt: startedAt.toISOString(), endedAt: new Date().toISOString() },
      };
      return this.options.results.send(result, { messageId: `${work.dispatchId}-${message.deliveryCount}` });
    };
    const seconds = (): string => ((Date.now() - startedAt.getTime()) / 1000).toFixed(1);

    if (message.deliveryCount > maxDeliveries) {
      const last = lastFailureOf(message.notes);
      const attempts = message.deliveryCount - 1;
      const failure: Failure = {
        code: last?.code ?? 'INTERNAL',
        message: `dead-lettered after ${attempts} deliveries: ${last?.message ?? 'each delivery ended without a result (the worker stopped or lost the lock)'}`,
      };
      await report({ ok: false, failure });
      await message.deadLetter('MaxDeliveriesExceeded', failure.message);
      log.info(`${name}: ${label} dead-lettered (${failure.code}): ${failure.message}`);
      return 'dead-lettered';
    }

    const input = readTileInput(work.input);
    if (!input) {
      const failure: Failure = { code: 'INTERNAL', message: 'the worker could not read the tile it was sent (the app and the worker may be of different versions)' };
      await report({ ok: false, failure });
      await message.deadLetter('InvalidTileInput', failure.message);
      log.info(`${name}: ${label} dead-lettered (INTERNAL): unreadable tile input`);
      return 'dead-lettered';
    }

    log.info(`${name}: ${label} started`);
    // The tile's orchestration shows "running" from here (until the result, or a redelivery).
    const started: TileStartedMessage = {
      kind: 'tile-started',
      instanceId: work.instanceId,
      eventName: work.eventName,
      dispatchId: work.dispatchId,
      worker: { name, deliveryCount: message.deliveryCount, startedAt: startedAt.toISOString() },
    };
    await this.options.results.send(started, { messageId: `${work.dispatchId}-${message.deliveryCount}-started` });
    const renewal = setInterval(() => {
      message.renewLock().catch((error: unknown) => log.error(`${name}: renewing the lock of ${label} failed; it may be delivered again`, error));
    }, Math.max(500, Math.floor(this.options.receiver.lockDurationMs / 3)));
    let outcome: ActivityOutcome<TileCog>;
    try {
      outcome = await runToOutcome(
        () => this.options.createTileCog(input),
        (failure, error) => {
          if (failure.code === 'INTERNAL') log.error(`${name}: ${label} failed (INTERNAL)`, error);
        },
      );
      // The result's `worker.startedAt`/`endedAt` say when the tile was made: the outcome's own `ran` is left out.
      delete outcome.ran;
    } catch (error) {
      // Worth retrying: redeliver after a back-off, remembering why in case it never succeeds.
      const failure = failureFrom(error);
      const delayMs = this.options.retryDelayMs?.(message.deliveryCount) ?? 0;
      await message.abandon(failureNotes(failure), { delayMs });
      this.retriesDueBy = Math.max(this.retriesDueBy, Date.now() + delayMs + retryDueSlackMs);
      log.info(`${name}: ${label} will be retried in ${(delayMs / 1000).toFixed(1)} s (${failure.code}): ${failure.message} [${seconds()} s]`);
      return 'retry';
    } finally {
      clearInterval(renewal);
    }
    await report(outcome);
    await message.complete();
    log.info(outcome.ok ? `${name}: ${label} completed: ${outcome.value.blob.name} [${seconds()} s]` : `${name}: ${label} failed (${outcome.failure.code}): ${outcome.failure.message} [${seconds()} s]`);
    return outcome.ok ? 'completed' : 'failed';
  }
}

/** The failure a redelivered message carries from the delivery before (see `failureNotes`). */
function lastFailureOf(notes: MessageNotes): Failure | undefined {
  const code = notes['failureCode'];
  const message = notes['failureMessage'];
  return isFailureCode(code) && message !== undefined ? { code, message } : undefined;
}

function failureNotes(failure: Failure): MessageNotes {
  return { failureCode: failure.code, failureMessage: failure.message };
}
