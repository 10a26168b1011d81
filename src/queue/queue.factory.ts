/**
 * Which transport carries tiles to the container worker, chosen from the environment in one
 * place:
 * - Service Bus when `ServiceBusConnection` (connection string) or
 *   `ServiceBusConnection__fullyQualifiedNamespace` (identity) is set. Only Azure runs this path:
 *   there is no Service Bus emulator for development machines.
 * - Otherwise the Storage stand-in (`storage.queue.ts`) on the `AzureWebJobsStorage` account, the
 *   same queue name, with its dead letters on `<name>-deadletter`. This is what runs locally
 *   (Azurite) and in the tests.
 * The worker's results always travel on the `tile-results` Storage queue of that account (Azure
 * and local alike), base64-encoded as an Azure Functions queue trigger expects by default.
 */
import { QueueClient, QueueServiceClient } from '@azure/storage-queue';
import { queues, settingNames, storageQueues, type Environment } from '../config.js';
import { resolveStorageConnection } from '../storage/connection.js';
import type { LockedMessage, QueueReceiver, QueueSender } from './message.queue.js';
import { createServiceBusClient, createServiceBusQueue, hasServiceBusConnection, readServiceBusConnection } from './servicebus.queue.js';
import { deadLetterQueueName, StorageQueue, StorageQueueSender, type StorageQueueOptions } from './storage.queue.js';

/**
 * Short text notes that travel with a message from one delivery to the next: an abandoning
 * receiver leaves them, whoever receives the message next reads them (another replica, or a new
 * process after a crash). Service Bus keeps them as application properties; the Storage stand-in
 * in the message text. The worker uses them for the last failure, the reason given when a tile is
 * finally dead-lettered. (An extension of `message.queue.ts`, kept here until it moves there.)
 */
export type MessageNotes = Readonly<Record<string, string>>;

export interface NotedLockedMessage extends LockedMessage {
  /** What earlier deliveries noted (empty on the first). */
  readonly notes: MessageNotes;
  /**
   * Gives the message back for another delivery, with `notes` replacing the ones it had: at once,
   * or not before `delayMs` (a retry with back-off). Either way the next delivery counts one more.
   */
  abandon(notes?: MessageNotes, options?: AbandonOptions): Promise<void>;
}

export interface AbandonOptions {
  /** The message is delivered again no sooner than this (Storage: its visibility timeout; Service Bus: a scheduled copy). */
  delayMs?: number;
}

export interface NotedQueueReceiver extends QueueReceiver {
  receive(maxMessages: number, maxWaitMs: number): Promise<NotedLockedMessage[]>;
}

export interface WorkQueue {
  transport: 'service-bus' | 'storage';
  sender: QueueSender;
  receiver: NotedQueueReceiver;
  close(): Promise<void>;
}

export interface WorkQueueOptions {
  /** The lock the worker renews against (Service Bus: must equal the queue's lockDuration). Default 60 s. */
  lockDurationMs?: number;
  /** Storage stand-in only: pause between empty polls. */
  pollIntervalMs?: number;
}

/**
 * The Storage queue service of `AzureWebJobsStorage`: its connection string, or its identity
 * settings (`__queueServiceUri`, else `__accountName`, else the blob URI with `.queue.`).
 */
export function createQueueServiceClient(env: Environment): QueueServiceClient {
  const connection = resolveStorageConnection(env, settingNames.storage);
  if (connection.kind === 'connectionString') return QueueServiceClient.fromConnectionString(connection.connectionString);
  const name = settingNames.storage;
  const accountName = env[`${name}__accountName`];
  const queueServiceUri = env[`${name}__queueServiceUri`] ?? (accountName ? `https://${accountName}.queue.core.windows.net` : connection.blobServiceUri.replace('.blob.', '.queue.'));
  return new QueueServiceClient(queueServiceUri, connection.credential);
}

/** Local development creates its queues on first use; in Azure `infra/` provisions them (and the identity may not create queues). */
function createsQueues(env: Environment): boolean {
  return resolveStorageConnection(env, settingNames.storage).kind === 'connectionString';
}

/** The Storage stand-in of the work queue (also what the tests and the local host use directly). */
export function createStorageWorkQueue(env: Environment, options: StorageQueueOptions = {}, queueName: string = queues.largeRasters): StorageQueue {
  const service = createQueueServiceClient(env);
  return new StorageQueue(service.getQueueClient(queueName), service.getQueueClient(deadLetterQueueName(queueName)), { createIfMissing: createsQueues(env), ...options });
}

/** The queue tiles travel on to the container worker: Service Bus when configured, else the Storage stand-in. */
export function createWorkQueue(env: Environment = process.env, options: WorkQueueOptions = {}): WorkQueue {
  if (hasServiceBusConnection(env)) {
    const client = createServiceBusClient(readServiceBusConnection(env));
    const { sender, receiver } = createServiceBusQueue(client, queues.largeRasters, options.lockDurationMs);
    return {
      transport: 'service-bus',
      sender,
      receiver,
      async close() {
        await Promise.allSettled([sender.close(), receiver.close()]);
        await client.close();
      },
    };
  }
  const queue = createStorageWorkQueue(env, { ...(options.lockDurationMs ? { lockDurationMs: options.lockDurationMs } : {}), ...(options.pollIntervalMs ? { pollIntervalMs: options.pollIntervalMs } : {}) });
  return { transport: 'storage', sender: queue, receiver: queue, close: () => queue.close() };
}

/** The `tile-results` Storage queue client (for senders, and for tests reading it back). */
export function createResultsQueueClient(env: Environment = process.env): QueueClient {
  return createQueueServiceClient(env).getQueueClient(storageQueues.tileResults);
}

/** Sends the worker's `TileResultMessage`s to `tile-results`, base64-encoded JSON (the Functions queue trigger's default encoding). */
export function createResultsSender(env: Environment = process.env): QueueSender {
  return new StorageQueueSender(createResultsQueueClient(env), { encoding: 'base64-json', createIfMissing: createsQueues(env) });
}
