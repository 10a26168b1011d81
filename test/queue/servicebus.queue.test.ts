/**
 * The Service Bus adapter without a network (no emulator runs here): how settings become a
 * connection, how bodies and ids map, and that each settlement reaches the SDK receiver with the
 * right message and options. The broker's behaviour itself is only exercised in Azure.
 */
import type { ServiceBusMessage, ServiceBusReceivedMessage, ServiceBusReceiver } from '@azure/service-bus';
import { describe, expect, it } from 'vitest';
import {
  carriedDeliveriesProperty,
  deliveryCountOf,
  hasServiceBusConnection,
  messageIdOf,
  notesAsProperties,
  notesOf,
  readServiceBusConnection,
  retryCopyOf,
  ServiceBusQueueReceiver,
  ServiceBusQueueSender,
  toServiceBusMessage,
} from '../../src/queue/servicebus.queue.js';

describe('Service Bus settings', () => {
  it('is configured by a connection string or a namespace, and not otherwise', () => {
    expect(hasServiceBusConnection({})).toBe(false);
    expect(hasServiceBusConnection({ ServiceBusConnection: '  ' })).toBe(false);
    expect(hasServiceBusConnection({ ServiceBusConnection: 'Endpoint=sb://x.servicebus.windows.net/;SharedAccessKeyName=k;SharedAccessKey=v' })).toBe(true);
    expect(hasServiceBusConnection({ ServiceBusConnection__fullyQualifiedNamespace: 'x.servicebus.windows.net' })).toBe(true);
  });

  it('prefers the connection string', () => {
    expect(readServiceBusConnection({ ServiceBusConnection: 'Endpoint=sb://a/', ServiceBusConnection__fullyQualifiedNamespace: 'b.servicebus.windows.net' })).toEqual({
      kind: 'connectionString',
      connectionString: 'Endpoint=sb://a/',
    });
  });

  it('reads identity settings the way the Functions host names them', () => {
    expect(
      readServiceBusConnection({
        ServiceBusConnection__fullyQualifiedNamespace: 'ingest-sb.servicebus.windows.net',
        ServiceBusConnection__credential: 'managedidentity',
        ServiceBusConnection__clientId: '00000000-0000-0000-0000-000000000001',
      }),
    ).toEqual({ kind: 'identity', fullyQualifiedNamespace: 'ingest-sb.servicebus.windows.net', credential: 'managedidentity', clientId: '00000000-0000-0000-0000-000000000001' });
    expect(readServiceBusConnection({ ServiceBusConnection__fullyQualifiedNamespace: 'sb://ingest-sb.servicebus.windows.net/' })).toEqual({
      kind: 'identity',
      fullyQualifiedNamespace: 'ingest-sb.servicebus.windows.net',
      credential: 'default',
      clientId: undefined,
    });
  });

  it('says what to set when nothing is', () => {
    expect(() => readServiceBusConnection({})).toThrow(/ServiceBusConnection__fullyQualifiedNamespace/);
  });
});

describe('Service Bus message mapping', () => {
  it('sends JSON bodies with the message id for duplicate detection', () => {
    expect(toServiceBusMessage({ kind: 'tile-work' }, { messageId: 'd-1' })).toEqual({ body: { kind: 'tile-work' }, contentType: 'application/json', messageId: 'd-1' });
    expect(toServiceBusMessage({ kind: 'tile-work' })).toEqual({ body: { kind: 'tile-work' }, contentType: 'application/json' });
  });

  it('counts this delivery: the SDK reports earlier attempts only', () => {
    expect(deliveryCountOf({ deliveryCount: 0 })).toBe(1);
    expect(deliveryCountOf({ deliveryCount: 4 })).toBe(5);
    expect(deliveryCountOf({})).toBe(1);
  });

  it('keeps notes as prefixed application properties, and reads back only those', () => {
    expect(notesAsProperties({ failureCode: 'TIMEOUT', failureMessage: 'an operation timed out' })).toEqual({ 'note.failureCode': 'TIMEOUT', 'note.failureMessage': 'an operation timed out' });
    expect(notesOf({ applicationProperties: { 'note.failureCode': 'TIMEOUT', other: 'x', 'note.count': 3 } })).toEqual({ failureCode: 'TIMEOUT' });
    expect(notesOf({})).toEqual({});
  });

  it('turns every kind of message id into text', () => {
    expect(messageIdOf({ messageId: 'abc' })).toBe('abc');
    expect(messageIdOf({ messageId: 42 })).toBe('42');
    expect(messageIdOf({ messageId: Buffer.from([1, 255]) })).toBe('01ff');
  });
});

/** Records what the adapter asks of the SDK receiver (and of the sender that schedules retry copies). */
function recordingReceiver(messages: ServiceBusReceivedMessage[]): { receiver: ServiceBusQueueReceiver; calls: Array<[string, ...unknown[]]> } {
  const calls: Array<[string, ...unknown[]]> = [];
  const fake: Pick<ServiceBusReceiver, 'receiveMessages' | 'completeMessage' | 'abandonMessage' | 'deadLetterMessage' | 'renewMessageLock' | 'close'> = {
    receiveMessages: async (max, options) => {
      calls.push(['receive', max, options]);
      return messages;
    },
    completeMessage: async (message) => void calls.push(['complete', message.messageId]),
    abandonMessage: async (message, properties) => void calls.push(['abandon', message.messageId, properties]),
    deadLetterMessage: async (message, options) => void calls.push(['deadLetter', message.messageId, options]),
    renewMessageLock: async (message) => {
      calls.push(['renew', message.messageId]);
      return new Date(0);
    },
    close: async () => void calls.push(['close']),
  };
  const scheduler = {
    scheduleMessages: async (message: ServiceBusMessage | ServiceBusMessage[], at: Date) => {
      calls.push(['schedule', message, at]);
      return [];
    },
  };
  return { receiver: new ServiceBusQueueReceiver(fake, 90_000, scheduler), calls };
}

function received(fields: Partial<ServiceBusReceivedMessage>): ServiceBusReceivedMessage {
  return { body: undefined, state: 'active', ...fields } satisfies Partial<ServiceBusReceivedMessage> as ServiceBusReceivedMessage;
}

describe('ServiceBusQueueReceiver', () => {
  it('receives with a wait bound and settles each message through the SDK', async () => {
    const { receiver, calls } = recordingReceiver([received({ messageId: 'm1', deliveryCount: 2, body: { kind: 'tile-work' } }), received({ messageId: 'm2', body: '{"n":1}' })]);
    expect(receiver.lockDurationMs).toBe(90_000);
    const [first, second] = await receiver.receive(2, 5000);
    expect(first).toMatchObject({ messageId: 'm1', deliveryCount: 3, body: { kind: 'tile-work' }, notes: {} });
    // JSON that arrived as text (another sender) is parsed.
    expect(second).toMatchObject({ messageId: 'm2', deliveryCount: 1, body: { n: 1 } });
    await first!.renewLock();
    await first!.deadLetter('MaxDeliveriesExceeded', 'dead-lettered after 5 deliveries: timed out');
    await second!.abandon();
    await second!.abandon({ failureCode: 'TIMEOUT' });
    await second!.complete();
    await receiver.close();
    expect(calls).toEqual([
      ['receive', 2, { maxWaitTimeInMs: 5000 }],
      ['renew', 'm1'],
      ['deadLetter', 'm1', { deadLetterReason: 'MaxDeliveriesExceeded', deadLetterErrorDescription: 'dead-lettered after 5 deliveries: timed out' }],
      ['abandon', 'm2', undefined],
      ['abandon', 'm2', { 'note.failureCode': 'TIMEOUT' }],
      ['complete', 'm2'],
      ['close'],
    ]);
  });

  it('gives a message back with a delay as a copy scheduled for later, carrying notes and deliveries, and completes it', async () => {
    const body = { kind: 'tile-work', dispatchId: 'd-1' };
    const { receiver, calls } = recordingReceiver([received({ messageId: 'd-1', deliveryCount: 1, body, contentType: 'application/json', applicationProperties: { 'note.failureCode': 'OLD', other: 'kept' } })]);
    const [message] = await receiver.receive(1, 1000);
    expect(message!.deliveryCount).toBe(2);
    const before = Date.now();
    await message!.abandon({ failureCode: 'INTERNAL', failureMessage: 'an unexpected error occurred' }, { delayMs: 20_000 });
    expect(calls.slice(1).map(([call]) => call)).toEqual(['schedule', 'complete']);
    const [, copy, at] = calls[1]! as [string, ServiceBusMessage, Date];
    expect(copy).toEqual({
      body,
      contentType: 'application/json',
      messageId: 'd-1~2',
      applicationProperties: { other: 'kept', 'note.failureCode': 'INTERNAL', 'note.failureMessage': 'an unexpected error occurred', [carriedDeliveriesProperty]: 2 },
    });
    expect(at.getTime()).toBeGreaterThanOrEqual(before + 20_000);
    // The copy, delivered later, counts the deliveries before it: the worker still dead-letters after N.
    expect(deliveryCountOf({ deliveryCount: 0, applicationProperties: copy.applicationProperties })).toBe(3);
    expect(deliveryCountOf({ deliveryCount: 1, applicationProperties: copy.applicationProperties })).toBe(4);
    // Without new notes, the copy keeps the ones it had.
    expect(retryCopyOf(received({ messageId: 'x', deliveryCount: 0, body, applicationProperties: { 'note.failureCode': 'TIMEOUT' } }), undefined).applicationProperties).toEqual({
      'note.failureCode': 'TIMEOUT',
      [carriedDeliveriesProperty]: 1,
    });
  });

  it('sends through the SDK sender', async () => {
    const sent: unknown[] = [];
    const sender = new ServiceBusQueueSender({ sendMessages: async (message) => void sent.push(message), close: async () => undefined });
    await sender.send({ n: 1 }, { messageId: 'x' });
    expect(sent).toEqual([{ body: { n: 1 }, contentType: 'application/json', messageId: 'x' }]);
  });
});
