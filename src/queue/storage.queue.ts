/**
 * The local stand-in for Service Bus: the same peek-lock queue (`message.queue.ts`) on an Azure
 * Storage queue (Azurite locally). A lock is the message's visibility timeout: receiving hides
 * the message for `lockDurationMs`, `renewLock` pushes the timeout out again (Storage hands back a
 * new pop receipt each time, which the next call must use), `complete` deletes it, `abandon`
 * makes it visible at once (or after its delay: the visibility timeout, whole seconds, at most
 * 7 days), and an expired lock lets the next receive take it again with
 * `dequeueCount` (our `deliveryCount`) one higher. Dead-lettering puts the body and the reason on
 * `<queue>-deadletter` and deletes the original.
 *
 * Storage queues have no long polling: `receive` polls until a message comes or `maxWaitMs` ends.
 * Message ids are Storage's own (stable across redeliveries); a caller's `messageId` has no
 * duplicate detection here and is ignored.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { DequeuedMessageItem, QueueClient } from '@azure/storage-queue';
import { asStoreError } from '../storage/store.error.js';
import type { DeadLetteredMessage, QueueSender } from './message.queue.js';
import type { MessageNotes, NotedLockedMessage, NotedQueueReceiver } from './queue.factory.js';

/** How message text is written: plain JSON, or base64 of it (what an Azure Functions queue trigger decodes by default). */
export type QueueTextEncoding = 'json' | 'base64-json';

export interface StorageQueueOptions {
  /** How long a received message stays hidden (rounded up to whole seconds, Storage's unit). Default 60 s. */
  lockDurationMs?: number;
  /** Pause between empty polls while `receive` waits. Default 500 ms. */
  pollIntervalMs?: number;
  encoding?: QueueTextEncoding;
  /** Create the queue (and its dead-letter queue) on first use: locally yes; in Azure `infra/` provisions them. */
  createIfMissing?: boolean;
}

export const defaultLockDurationMs = 60_000;
/** Storage queue message text is at most 64 KB. */
const maxMessageBytes = 64 * 1024;
/** Storage returns at most 32 messages per receive or peek. */
const maxBatch = 32;

/** Name of the queue that holds `queueName`'s dead letters (Storage queue names allow 63 characters). */
export function deadLetterQueueName(queueName: string): string {
  return `${queueName}-deadletter`;
}

export function encodeMessageText(body: unknown, encoding: QueueTextEncoding): string {
  const json = JSON.stringify(body);
  const text = encoding === 'base64-json' ? Buffer.from(json, 'utf8').toString('base64') : json;
  if (Buffer.byteLength(text, 'utf8') > maxMessageBytes) throw new Error(`a queue message is limited to 64 KB; this one has ${Buffer.byteLength(text, 'utf8')} bytes`);
  return text;
}

/** The parsed body, or the raw text when it is not JSON (receivers validate bodies and dead-letter what they cannot read). */
export function decodeMessageText(text: string, encoding: QueueTextEncoding): unknown {
  const json = encoding === 'base64-json' ? Buffer.from(text, 'base64').toString('utf8') : text;
  try {
    return JSON.parse(json) as unknown;
  } catch {
    return text;
  }
}

/** Marks a message text rewritten with notes by an abandon: `{ "$noted": 1, body, notes }`. */
const notedMarker = '$noted';

/** The body and the notes of a stored message (plain bodies have none). */
export function unwrapNotes(stored: unknown): { body: unknown; notes: MessageNotes } {
  if (typeof stored !== 'object' || stored === null || !(notedMarker in stored) || !('body' in stored) || !('notes' in stored)) return { body: stored, notes: {} };
  const notes: Record<string, string> = {};
  if (typeof stored.notes === 'object' && stored.notes !== null) {
    for (const [key, value] of Object.entries(stored.notes)) if (typeof value === 'string') notes[key] = value;
  }
  return { body: stored.body, notes };
}

export function wrapNotes(body: unknown, notes: MessageNotes): unknown {
  return Object.keys(notes).length === 0 ? body : { [notedMarker]: 1, body, notes };
}

/** Sends JSON messages to a Storage queue (the worker's results; the stand-in work queue). */
export class StorageQueueSender implements QueueSender {
  private ready: Promise<void> | undefined;

  constructor(
    protected readonly queue: QueueClient,
    protected readonly options: Pick<StorageQueueOptions, 'encoding' | 'createIfMissing'> = {},
  ) {}

  /** Storage queues have no duplicate detection: a `messageId` is accepted for the interface and not used. */
  async send(body: unknown, _options?: { messageId?: string }): Promise<void> {
    const text = encodeMessageText(body, this.options.encoding ?? 'json');
    await this.ensureQueues();
    await this.queue.sendMessage(text);
  }

  async close(): Promise<void> {
    // Storage clients hold no connection of their own.
  }

  protected ensureQueues(): Promise<void> {
    if (!this.options.createIfMissing) return Promise.resolve();
    this.ready ??= this.createQueues().catch((error: unknown) => {
      this.ready = undefined;
      throw error;
    });
    return this.ready;
  }

  protected async createQueues(): Promise<void> {
    await this.queue.createIfNotExists();
  }
}

/** The peek-lock queue on Storage: sender, receiver and dead-letter reader of one queue. */
export class StorageQueue extends StorageQueueSender implements NotedQueueReceiver {
  readonly lockDurationMs: number;
  private readonly lockSeconds: number;
  private readonly pollIntervalMs: number;

  constructor(
    queue: QueueClient,
    /** The queue dead letters go to (`deadLetterQueueName(queue.name)`). */
    private readonly deadLetters: QueueClient,
    options: StorageQueueOptions = {},
  ) {
    super(queue, options);
    this.lockSeconds = Math.max(1, Math.ceil((options.lockDurationMs ?? defaultLockDurationMs) / 1000));
    this.lockDurationMs = this.lockSeconds * 1000;
    this.pollIntervalMs = options.pollIntervalMs ?? 500;
  }

  get name(): string {
    return this.queue.name;
  }

  async receive(maxMessages: number, maxWaitMs: number): Promise<NotedLockedMessage[]> {
    await this.ensureQueues();
    const deadline = Date.now() + maxWaitMs;
    for (;;) {
      const response = await this.queue.receiveMessages({ numberOfMessages: Math.min(Math.max(1, maxMessages), maxBatch), visibilityTimeout: this.lockSeconds });
      if (response.receivedMessageItems.length > 0) return response.receivedMessageItems.map((item) => this.lock(item));
      const left = deadline - Date.now();
      if (left <= 0) return [];
      await delay(Math.min(this.pollIntervalMs, left));
    }
  }

  /** Up to 32 dead letters, oldest first, left in place (for tests and operators). */
  async readDeadLetters(): Promise<DeadLetteredMessage[]> {
    await this.ensureQueues();
    const response = await this.deadLetters.peekMessages({ numberOfMessages: maxBatch });
    return response.peekedMessageItems.map((item) => toDeadLettered(decodeMessageText(item.messageText, 'json')));
  }

  protected override async createQueues(): Promise<void> {
    await Promise.all([this.queue.createIfNotExists(), this.deadLetters.createIfNotExists()]);
  }

  private lock(item: DequeuedMessageItem): NotedLockedMessage {
    const queue = this.queue;
    const deadLetters = this.deadLetters;
    const lockSeconds = this.lockSeconds;
    const encoding = this.options.encoding ?? 'json';
    const { body, notes } = unwrapNotes(decodeMessageText(item.messageText, encoding));
    // Every update hands back a new pop receipt; the old one no longer settles the message.
    let popReceipt = item.popReceipt;
    const settle = async (action: () => Promise<unknown>): Promise<void> => {
      try {
        await action();
      } catch (error) {
        const status = asStoreError(error)?.detail.status;
        if (status === 404 || status === 400) throw new LockLostError(item.messageId);
        throw error;
      }
    };
    return {
      body,
      notes,
      messageId: item.messageId,
      deliveryCount: item.dequeueCount,
      complete: () => settle(() => queue.deleteMessage(item.messageId, popReceipt)),
      // With notes, the text is rewritten (Storage updates text and visibility in one call); a delay is the visibility timeout.
      abandon: (newNotes, options) =>
        settle(async () => {
          const text = newNotes === undefined ? undefined : encodeMessageText(wrapNotes(body, newNotes), encoding);
          popReceipt = (await queue.updateMessage(item.messageId, popReceipt, text, visibilitySecondsOf(options?.delayMs))).popReceipt ?? popReceipt;
        }),
      renewLock: () => settle(async () => (popReceipt = (await queue.updateMessage(item.messageId, popReceipt, undefined, lockSeconds)).popReceipt ?? popReceipt)),
      deadLetter: (reason, description) =>
        settle(async () => {
          const letter: DeadLetteredMessage = { body, reason, description, deliveryCount: item.dequeueCount };
          await deadLetters.sendMessage(encodeMessageText(letter, 'json'));
          await queue.deleteMessage(item.messageId, popReceipt);
        }),
    };
  }
}

/** Storage's longest visibility timeout. */
const maxVisibilitySeconds = 7 * 24 * 3600;

/** A delay as Storage's visibility timeout: whole seconds, rounded up, 0 (at once) without one. */
export function visibilitySecondsOf(delayMs: number | undefined): number {
  if (delayMs === undefined || !(delayMs > 0)) return 0;
  return Math.min(Math.ceil(delayMs / 1000), maxVisibilitySeconds);
}

/** The message's lock expired and someone else may hold it now: it can no longer be settled by this receiver. */
export class LockLostError extends Error {
  constructor(messageId: string) {
    super(`the lock on message ${messageId} was lost (it expired and the message may have been received again)`);
    this.name = 'LockLostError';
  }
}

function toDeadLettered(value: unknown): DeadLetteredMessage {
  const record = typeof value === 'object' && value !== null ? new Map(Object.entries(value)) : new Map<string, unknown>();
  const text = (key: string): string => {
    const field = record.get(key);
    return typeof field === 'string' ? field : '';
  };
  const count = record.get('deliveryCount');
  return { body: record.get('body'), reason: text('reason'), description: text('description'), deliveryCount: typeof count === 'number' ? count : 0 };
}
