import { performance } from 'node:perf_hooks';
import { QueueServiceClient, type DequeuedMessageItem, type QueueClient } from '@azure/storage-queue';
import { durableClientInputs, type HostEndpoints } from '../http/client.binding.js';
import type { QueuesOptions } from '../settings.js';
import { singleAttemptStorageOptions, statusOf, withStorageRetry } from '../storage/retry.js';
import { invokeRegistration, type Registration, type TypedData } from '../worker.shim.js';

/** The Storage extension's shortest wait between polls. */
export const minPollingIntervalMs = 100;
/** How long a fetched message stays invisible while its function runs (renewed at half time), as the extension does. */
export const processingVisibilityMs = 10 * 60_000;

export function poisonQueueOf(queueName: string): string {
  return `${queueName}-poison`;
}

/**
 * The next wait of the Storage extension's randomized exponential back-off: after a poll that
 * found messages, the minimum; after an empty one, about twice the last wait (±20 %), capped at
 * maxPollingInterval.
 */
export function nextPollDelayMs(previousMs: number, foundMessages: boolean, maxPollingIntervalMs: number, random: () => number = Math.random): number {
  if (foundMessages) return minPollingIntervalMs;
  const doubled = Math.max(minPollingIntervalMs, previousMs) * 2 * (0.8 + 0.4 * random());
  return Math.min(maxPollingIntervalMs, Math.round(doubled));
}

const base64Pattern = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** The message text as the function sees it, or undefined when base64 encoding is expected and the text is not base64. */
export function decodeMessageText(messageText: string, encoding: QueuesOptions['messageEncoding']): string | undefined {
  if (encoding === 'none') return messageText;
  if (!base64Pattern.test(messageText)) return undefined;
  return Buffer.from(messageText, 'base64').toString('utf8');
}

/** Trigger metadata the Storage queue extension supplies (the Node library camel-cases the names). */
export function queueTriggerMetadata(message: DequeuedMessageItem, text: string, popReceipt: string): Record<string, TypedData> {
  return {
    QueueTrigger: { string: text },
    Id: { string: message.messageId },
    DequeueCount: { json: String(message.dequeueCount) },
    InsertionTime: { json: JSON.stringify(message.insertedOn.toISOString()) },
    ExpirationTime: { json: JSON.stringify(message.expiresOn.toISOString()) },
    NextVisibleTime: { json: JSON.stringify(message.nextVisibleOn.toISOString()) },
    PopReceipt: { string: popReceipt },
  };
}

interface QueueListener {
  registration: Registration;
  queueName: string;
  queue: QueueClient;
  poison: QueueClient;
  inFlight: number;
  delayMs: number;
  timer: NodeJS.Timeout | undefined;
  polling: Promise<void> | undefined;
}

export interface QueueTriggerOptions {
  registrations: Iterable<Registration>;
  /** Setting name → value (connection strings). */
  settings: Record<string, string>;
  queues: QueuesOptions;
  endpoints: () => HostEndpoints;
  log: (line: string) => void;
}

/**
 * Runs `app.storageQueue` functions as the Storage extension does: each function polls its queue
 * with randomized exponential back-off up to maxPollingInterval, fetches batchSize messages at a
 * time (a new batch once no more than newBatchThreshold are in flight), deletes a message when
 * its function succeeds, makes it visible again after visibilityTimeout when it fails, and after
 * maxDequeueCount deliveries moves it to `<queue>-poison`.
 */
export class QueueTriggers {
  private readonly listeners: QueueListener[] = [];
  private readonly running = new Set<Promise<void>>();
  private stopped = false;

  constructor(private readonly options: QueueTriggerOptions) {
    for (const registration of options.registrations) {
      if (registration.trigger.type !== 'queueTrigger') continue;
      const connectionName = String(registration.trigger['connection'] ?? '') || 'AzureWebJobsStorage';
      const connectionString = options.settings[connectionName];
      if (!connectionString) throw new Error(`Queue trigger '${registration.name}' uses connection setting '${connectionName}', which is not set.`);
      const queueName = String(registration.trigger['queueName'] ?? '');
      if (!/^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}$/.test(queueName)) {
        throw new Error(`Queue trigger '${registration.name}': "${queueName}" is not a valid queue name (3-63 lower-case letters, digits and single hyphens)`);
      }
      const service = QueueServiceClient.fromConnectionString(connectionString, singleAttemptStorageOptions);
      this.listeners.push({
        registration,
        queueName,
        queue: service.getQueueClient(queueName),
        poison: service.getQueueClient(poisonQueueOf(queueName)),
        inFlight: 0,
        delayMs: minPollingIntervalMs,
        timer: undefined,
        polling: undefined,
      });
    }
  }

  get count(): number {
    return this.listeners.length;
  }

  describe(): string[] {
    const { batchSize, maxDequeueCount, maxPollingIntervalMs } = this.options.queues;
    return this.listeners.map(
      (listener) => `${listener.registration.name}: queueTrigger (${listener.queueName}; batchSize ${batchSize}, maxDequeueCount ${maxDequeueCount}, maxPollingInterval ${maxPollingIntervalMs} ms)`,
    );
  }

  start(): void {
    for (const listener of this.listeners) this.schedule(listener, 0);
  }

  /** Stops polling and waits for the invocations under way (their messages are then settled). */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const listener of this.listeners) clearTimeout(listener.timer);
    await Promise.all(this.listeners.map((listener) => listener.polling));
    await Promise.all(this.running);
  }

  private schedule(listener: QueueListener, delayMs: number): void {
    if (this.stopped) return;
    listener.timer = setTimeout(() => {
      listener.polling = this.poll(listener).then(
        (delay) => this.schedule(listener, delay),
        (error: unknown) => {
          this.options.log(`Queue trigger '${listener.registration.name}' could not poll ${listener.queueName} (will retry): ${(error as Error).message}`);
          listener.delayMs = nextPollDelayMs(listener.delayMs, false, this.options.queues.maxPollingIntervalMs);
          this.schedule(listener, listener.delayMs);
        },
      );
    }, delayMs);
  }

  /** One poll; resolves with the wait before the next. */
  private async poll(listener: QueueListener): Promise<number> {
    const { batchSize, newBatchThreshold, maxPollingIntervalMs } = this.options.queues;
    // Busy: look again soon without fetching (a fetched message's invisibility would run out unused).
    if (listener.inFlight > newBatchThreshold) return minPollingIntervalMs;
    let messages: DequeuedMessageItem[] = [];
    try {
      const response = await listener.queue.receiveMessages({ numberOfMessages: batchSize, visibilityTimeout: processingVisibilityMs / 1000 });
      messages = response.receivedMessageItems;
    } catch (error) {
      // A queue nobody created yet is an empty queue (the extension does not create it either).
      if (statusOf(error) !== 404) throw error;
    }
    for (const message of messages) {
      listener.inFlight++;
      const work = this.process(listener, message).finally(() => {
        listener.inFlight--;
        this.running.delete(work);
      });
      this.running.add(work);
    }
    listener.delayMs = nextPollDelayMs(listener.delayMs, messages.length > 0, maxPollingIntervalMs);
    return listener.delayMs;
  }

  private async process(listener: QueueListener, message: DequeuedMessageItem): Promise<void> {
    const { registration, queueName } = listener;
    const { maxDequeueCount, visibilityTimeoutMs, messageEncoding } = this.options.queues;
    const receipt = { popReceipt: message.popReceipt };
    try {
      // Delivered more often than allowed (e.g. the host died mid-invocation each time): no further attempt.
      if (message.dequeueCount > maxDequeueCount) {
        await this.moveToPoison(listener, message, receipt.popReceipt, `it was delivered ${message.dequeueCount} times (maxDequeueCount ${maxDequeueCount})`);
        return;
      }
      const text = decodeMessageText(message.messageText, messageEncoding);
      if (text === undefined) {
        await this.moveToPoison(listener, message, receipt.popReceipt, 'its text is not valid base64 (host.json extensions.queues.messageEncoding is base64)');
        return;
      }
      const renewal = setInterval(() => {
        // Keep the message invisible while the function runs; the update hands out a new pop receipt.
        listener.queue.updateMessage(message.messageId, receipt.popReceipt, message.messageText, processingVisibilityMs / 1000).then(
          (updated) => {
            if (updated.popReceipt) receipt.popReceipt = updated.popReceipt;
          },
          (error: unknown) => this.options.log(`Queue trigger '${registration.name}': could not extend the invisibility of message ${message.messageId}: ${(error as Error).message}`),
        );
      }, processingVisibilityMs / 2);
      const started = performance.now();
      let failure: Error | undefined;
      try {
        await invokeRegistration(registration, {
          inputData: [{ name: registration.triggerName, data: { string: text } }, ...durableClientInputs(registration, this.options.endpoints())],
          triggerMetadata: queueTriggerMetadata(message, text, receipt.popReceipt),
        });
      } catch (error) {
        failure = error instanceof Error ? error : new Error(String(error));
      } finally {
        clearInterval(renewal);
      }
      const duration = (performance.now() - started).toFixed(0);
      if (!failure) {
        this.options.log(`Executed 'Functions.${registration.name}' (Succeeded, message ${message.messageId} on ${queueName}, DequeueCount=${message.dequeueCount}, Duration=${duration}ms)`);
        await withStorageRetry('deleting a processed queue message', () => listener.queue.deleteMessage(message.messageId, receipt.popReceipt));
        return;
      }
      this.options.log(
        `Executed 'Functions.${registration.name}' (Failed, message ${message.messageId} on ${queueName}, DequeueCount=${message.dequeueCount}/${maxDequeueCount}, Duration=${duration}ms): ${failure.message}`,
      );
      if (message.dequeueCount >= maxDequeueCount) {
        await this.moveToPoison(listener, message, receipt.popReceipt, `its function failed on each of ${message.dequeueCount} deliveries`);
      } else {
        await withStorageRetry('releasing a failed queue message', () =>
          listener.queue.updateMessage(message.messageId, receipt.popReceipt, message.messageText, Math.ceil(visibilityTimeoutMs / 1000)),
        );
      }
    } catch (error) {
      // Deleted or updated meanwhile (our receipt is stale): the queue redelivers or has it settled already.
      if (statusOf(error) === 404) return;
      this.options.log(`Queue trigger '${registration.name}': could not settle message ${message.messageId} (it becomes visible again later): ${(error as Error).message}`);
    }
  }

  /** Copies the message text, unchanged, to `<queue>-poison` and deletes the original (as the extension does). */
  private async moveToPoison(listener: QueueListener, message: DequeuedMessageItem, popReceipt: string, why: string): Promise<void> {
    await withStorageRetry('creating the poison queue', () => listener.poison.createIfNotExists());
    await withStorageRetry('writing to the poison queue', () => listener.poison.sendMessage(message.messageText));
    await withStorageRetry('deleting a poison message', () => listener.queue.deleteMessage(message.messageId, popReceipt));
    this.options.log(`Message ${message.messageId} on ${listener.queueName} moved to queue ${poisonQueueOf(listener.queueName)}: ${why}.`);
  }
}
