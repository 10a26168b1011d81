/**
 * The peek-lock queue (`message.queue.ts`) on Azure Service Bus, the transport in Azure. Thin by
 * design: no Service Bus emulator runs on development machines, so everything here beyond the
 * mapping functions (tested offline) runs only in Azure.
 *
 * The queue's own lock duration (`lockDuration` in infra) is the real lock; `lockDurationMs` only
 * tells the worker how often to renew, so keep the two equal. The queue's `maxDeliveryCount` must
 * exceed INGEST_WORKER_MAX_DELIVERIES, so the worker (not the broker) dead-letters a poison tile,
 * with its reason, and reports the tile failed.
 *
 * A delayed abandon (a retry with back-off) has no Service Bus operation of its own: the receiver
 * schedules a copy of the message for later, carrying its notes and the deliveries so far
 * (`retryCopyOf`), then completes the original. A crash between the two leaves both; the tile is
 * then made twice, which writes the same blobs and sends a result no one waits for.
 */
import { DefaultAzureCredential, ManagedIdentityCredential, type TokenCredential } from '@azure/identity';
import { ServiceBusClient, type ServiceBusMessage, type ServiceBusReceivedMessage, type ServiceBusReceiver, type ServiceBusSender } from '@azure/service-bus';
import { serviceBusConnection, type Environment } from '../config.js';
import type { QueueSender } from './message.queue.js';
import type { MessageNotes, NotedLockedMessage, NotedQueueReceiver } from './queue.factory.js';
import { defaultLockDurationMs } from './storage.queue.js';

/** How to reach the namespace behind `ServiceBusConnection`, resolved the way the Functions host resolves it. */
export type ServiceBusConnectionSettings =
  | { kind: 'connectionString'; connectionString: string }
  | { kind: 'identity'; fullyQualifiedNamespace: string; credential: 'managedidentity' | 'default'; clientId: string | undefined };

/** Whether the environment names a Service Bus namespace at all (else the work queue is the Storage stand-in). */
export function hasServiceBusConnection(env: Environment, name: string = serviceBusConnection): boolean {
  return Boolean(env[name]?.trim() || env[`${name}__fullyQualifiedNamespace`]?.trim());
}

/** A connection string in `<name>`, or `<name>__fullyQualifiedNamespace` (+ `__credential`, `__clientId`) for identity. */
export function readServiceBusConnection(env: Environment, name: string = serviceBusConnection): ServiceBusConnectionSettings {
  const connectionString = env[name]?.trim();
  if (connectionString) return { kind: 'connectionString', connectionString };
  const namespace = env[`${name}__fullyQualifiedNamespace`]?.trim();
  if (!namespace) throw new Error(`Service Bus is not configured: set ${name} to a connection string, or ${name}__fullyQualifiedNamespace for identity-based access`);
  // The Functions setting may be a bare host name or a URL; the SDK wants the host name.
  const fullyQualifiedNamespace = namespace.replace(/^[a-z]+:\/\//i, '').replace(/[:/].*$/, '');
  return {
    kind: 'identity',
    fullyQualifiedNamespace,
    credential: env[`${name}__credential`]?.trim().toLowerCase() === 'managedidentity' ? 'managedidentity' : 'default',
    clientId: env[`${name}__clientId`]?.trim() || undefined,
  };
}

function createCredential(settings: Extract<ServiceBusConnectionSettings, { kind: 'identity' }>): TokenCredential {
  const { clientId } = settings;
  return settings.credential === 'managedidentity'
    ? new ManagedIdentityCredential(clientId ? { clientId } : {})
    : new DefaultAzureCredential(clientId ? { managedIdentityClientId: clientId } : {});
}

export function createServiceBusClient(settings: ServiceBusConnectionSettings): ServiceBusClient {
  return settings.kind === 'connectionString' ? new ServiceBusClient(settings.connectionString) : new ServiceBusClient(settings.fullyQualifiedNamespace, createCredential(settings));
}

/** The message Service Bus carries: the body as JSON, `messageId` for duplicate detection. */
export function toServiceBusMessage(body: unknown, options: { messageId?: string } = {}): ServiceBusMessage {
  return { body, contentType: 'application/json', ...(options.messageId ? { messageId: options.messageId } : {}) };
}

/** Application property of a retry copy: the deliveries of the messages it replaces. */
export const carriedDeliveriesProperty = 'retry.deliveries';

/**
 * Deliveries so far, counting this one. The JavaScript SDK passes the AMQP header's
 * delivery-count through, which counts earlier attempts only (0 on the first delivery); a retry
 * copy (`retryCopyOf`) adds the deliveries of the messages before it.
 */
export function deliveryCountOf(message: Pick<ServiceBusReceivedMessage, 'deliveryCount' | 'applicationProperties'>): number {
  const carried = message.applicationProperties?.[carriedDeliveriesProperty];
  return (typeof carried === 'number' && Number.isInteger(carried) && carried > 0 ? carried : 0) + (message.deliveryCount ?? 0) + 1;
}

/**
 * The copy of `message` scheduled for a later delivery: same body and content type, `notes`
 * (else the ones it had), the deliveries so far, and a message id of its own per delivery (so
 * duplicate detection drops a second schedule of the same retry, not the retry itself).
 */
export function retryCopyOf(message: ServiceBusReceivedMessage, notes: MessageNotes | undefined): ServiceBusMessage {
  const deliveries = deliveryCountOf(message);
  const kept = Object.fromEntries(Object.entries(message.applicationProperties ?? {}).filter(([key]) => !key.startsWith(notePrefix) && key !== carriedDeliveriesProperty));
  return {
    body: message.body,
    ...(message.contentType ? { contentType: message.contentType } : {}),
    messageId: `${messageIdOf(message)}~${deliveries}`.slice(-128),
    applicationProperties: { ...kept, ...notesAsProperties(notes ?? notesOf(message)), [carriedDeliveriesProperty]: deliveries },
  };
}

export function messageIdOf(message: Pick<ServiceBusReceivedMessage, 'messageId' | 'sequenceNumber'>): string {
  const id = message.messageId;
  if (id === undefined) return `sequence-${message.sequenceNumber?.toString() ?? 'unknown'}`;
  return Buffer.isBuffer(id) ? id.toString('hex') : String(id);
}

/** A received body, parsed when it arrived as JSON text or bytes (senders other than ours). */
function bodyOf(message: ServiceBusReceivedMessage): unknown {
  const raw: unknown = message.body;
  const text = Buffer.isBuffer(raw) ? raw.toString('utf8') : typeof raw === 'string' ? raw : undefined;
  if (text === undefined) return raw;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return raw;
  }
}

export class ServiceBusQueueSender implements QueueSender {
  constructor(private readonly sender: Pick<ServiceBusSender, 'sendMessages' | 'close'>) {}

  async send(body: unknown, options?: { messageId?: string }): Promise<void> {
    await this.sender.sendMessages(toServiceBusMessage(body, options));
  }

  close(): Promise<void> {
    return this.sender.close();
  }
}

type SettlingReceiver = Pick<ServiceBusReceiver, 'receiveMessages' | 'completeMessage' | 'abandonMessage' | 'deadLetterMessage' | 'renewMessageLock' | 'close'>;
/** Schedules the retry copies of delayed abandons (a sender on the same queue). */
type SchedulingSender = Pick<ServiceBusSender, 'scheduleMessages'>;

/** Notes are application properties prefixed with `note.`; other properties are not ours. */
const notePrefix = 'note.';

export function notesOf(message: Pick<ServiceBusReceivedMessage, 'applicationProperties'>): MessageNotes {
  const notes: Record<string, string> = {};
  for (const [key, value] of Object.entries(message.applicationProperties ?? {})) {
    if (key.startsWith(notePrefix) && typeof value === 'string') notes[key.slice(notePrefix.length)] = value;
  }
  return notes;
}

export function notesAsProperties(notes: MessageNotes): Record<string, string> {
  return Object.fromEntries(Object.entries(notes).map(([key, value]) => [`${notePrefix}${key}`, value]));
}

export class ServiceBusQueueReceiver implements NotedQueueReceiver {
  constructor(
    private readonly receiver: SettlingReceiver,
    readonly lockDurationMs: number = defaultLockDurationMs,
    private readonly scheduler?: SchedulingSender,
  ) {}

  async receive(maxMessages: number, maxWaitMs: number): Promise<NotedLockedMessage[]> {
    const messages = await this.receiver.receiveMessages(Math.max(1, maxMessages), { maxWaitTimeInMs: maxWaitMs });
    return messages.map((message) => this.lock(message));
  }

  close(): Promise<void> {
    return this.receiver.close();
  }

  private lock(message: ServiceBusReceivedMessage): NotedLockedMessage {
    const receiver = this.receiver;
    const scheduler = this.scheduler;
    return {
      body: bodyOf(message),
      notes: notesOf(message),
      messageId: messageIdOf(message),
      deliveryCount: deliveryCountOf(message),
      complete: () => receiver.completeMessage(message),
      abandon: async (notes, options) => {
        const delayMs = options?.delayMs ?? 0;
        if (delayMs > 0 && scheduler) {
          await scheduler.scheduleMessages(retryCopyOf(message, notes), new Date(Date.now() + delayMs));
          await receiver.completeMessage(message);
          return;
        }
        await (notes === undefined ? receiver.abandonMessage(message) : receiver.abandonMessage(message, notesAsProperties(notes)));
      },
      deadLetter: (reason, description) => receiver.deadLetterMessage(message, { deadLetterReason: reason, deadLetterErrorDescription: description }),
      renewLock: async () => {
        await receiver.renewMessageLock(message);
      },
    };
  }
}

/** Sender and peek-lock receiver of one Service Bus queue, sharing one connection. The SDK's own lock renewal is off: the worker renews while it works, and only then. */
export function createServiceBusQueue(client: ServiceBusClient, queueName: string, lockDurationMs: number = defaultLockDurationMs): { sender: QueueSender; receiver: NotedQueueReceiver } {
  const sender = client.createSender(queueName);
  return {
    sender: new ServiceBusQueueSender(sender),
    receiver: new ServiceBusQueueReceiver(client.createReceiver(queueName, { receiveMode: 'peekLock', maxAutoLockRenewalDurationInMs: 0 }), lockDurationMs, sender),
  };
}
