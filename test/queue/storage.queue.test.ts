/**
 * The Storage-queue stand-in for Service Bus, against real Azurite: a lock hides the message,
 * renewing extends it, an expired lock redelivers with deliveryCount + 1, abandon redelivers at
 * once or after its delay (with notes for the next delivery), complete deletes, dead-lettering
 * keeps the body and the reason.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { QueueServiceClient } from '@azure/storage-queue';
import { describe, expect, it } from 'vitest';
import { createResultsQueueClient, createResultsSender, createStorageWorkQueue, createWorkQueue, type NotedLockedMessage } from '../../src/queue/queue.factory.js';
import { LockLostError, StorageQueue, visibilitySecondsOf } from '../../src/queue/storage.queue.js';
import { takeMessages, usePrivateAzurite } from '../worker/worker.support.js';

const azurite = usePrivateAzurite();
const environment = (): { AzureWebJobsStorage: string } => ({ AzureWebJobsStorage: azurite.connectionString });
const service = (): QueueServiceClient => QueueServiceClient.fromConnectionString(azurite.connectionString);

/** A fresh queue per test, so tests sharing one Azurite never see each other's messages. */
function freshQueue(lockDurationMs = 1000): StorageQueue {
  const name = `q-${randomUUID().slice(0, 12)}`;
  return createStorageWorkQueue(environment(), { lockDurationMs, pollIntervalMs: 100 }, name);
}

async function receiveOne(queue: StorageQueue, maxWaitMs = 10_000): Promise<NotedLockedMessage> {
  const [message] = await queue.receive(1, maxWaitMs);
  if (!message) throw new Error(`nothing arrived on ${queue.name} within ${maxWaitMs} ms`);
  return message;
}

describe('StorageQueue (Azurite)', () => {
  it('delivers the JSON body once per lock, with deliveryCount 1 first', async () => {
    const queue = freshQueue(30_000);
    await queue.send({ kind: 'tile-work', n: 1 });
    const message = await receiveOne(queue);
    expect(message.body).toEqual({ kind: 'tile-work', n: 1 });
    expect(message.deliveryCount).toBe(1);
    expect(message.messageId).toMatch(/\S/);
    // Locked: nobody else receives it while the lock lasts.
    expect(await queue.receive(1, 0)).toEqual([]);
    await message.complete();
  });

  it('complete deletes the message for good', async () => {
    const queue = freshQueue(1000);
    await queue.send({ n: 2 });
    const message = await receiveOne(queue);
    await message.complete();
    // Past the lock's end, nothing comes back.
    expect(await queue.receive(1, 2500)).toEqual([]);
  });

  it('an expired lock redelivers the same message with deliveryCount + 1, and the old lock can no longer settle it', async () => {
    const queue = freshQueue(1000);
    await queue.send({ n: 3 });
    const first = await receiveOne(queue);
    const again = await receiveOne(queue);
    expect(again.messageId).toBe(first.messageId);
    expect(again.body).toEqual({ n: 3 });
    expect(again.deliveryCount).toBe(2);
    await expect(first.complete()).rejects.toBeInstanceOf(LockLostError);
    await again.complete();
  });

  it('renewLock keeps the message hidden past its first lock, and the renewed lock still completes it', async () => {
    const queue = freshQueue(2000);
    await queue.send({ n: 4 });
    const message = await receiveOne(queue);
    // Renew a few times, each before the lock ends; a second receiver keeps finding nothing.
    let hiddenChecks = 0;
    for (let round = 0; round < 3; round++) {
      await message.renewLock();
      expect(await queue.receive(1, 900)).toEqual([]);
      hiddenChecks++;
    }
    expect(hiddenChecks).toBe(3);
    await message.complete();
    expect(await queue.receive(1, 2500)).toEqual([]);
  });

  it('abandon makes the message visible at once, counted as another delivery', async () => {
    const queue = freshQueue(60_000);
    await queue.send({ n: 5 });
    const message = await receiveOne(queue);
    await message.abandon();
    // With a 60 s lock, only the abandon can make it visible within this wait.
    const again = await receiveOne(queue, 5000);
    expect(again.messageId).toBe(message.messageId);
    expect(again.deliveryCount).toBe(2);
    await again.complete();
  });

  it('abandon with notes: the next delivery reads them, the body unchanged', async () => {
    const queue = freshQueue(60_000);
    await queue.send({ n: 8 });
    const message = await receiveOne(queue);
    expect(message.notes).toEqual({});
    await message.abandon({ failureCode: 'TIMEOUT', failureMessage: 'an operation timed out' });
    const again = await receiveOne(queue, 5000);
    expect(again.body).toEqual({ n: 8 });
    expect(again.notes).toEqual({ failureCode: 'TIMEOUT', failureMessage: 'an operation timed out' });
    expect(again.deliveryCount).toBe(2);
    // Dead letters keep the body, not the wrapper.
    await again.deadLetter('MaxDeliveriesExceeded', 'dead-lettered after 1 deliveries: an operation timed out');
    expect((await queue.readDeadLetters()).map((letter) => letter.body)).toEqual([{ n: 8 }]);
  });

  it('abandon with a delay hides the message until the delay has passed (the worker\'s back-off), then delivers it with its notes', async () => {
    const queue = freshQueue(60_000);
    await queue.send({ n: 9 });
    const message = await receiveOne(queue);
    const abandonedAt = Date.now();
    await message.abandon({ failureCode: 'INTERNAL', failureMessage: 'an unexpected error occurred' }, { delayMs: 2000 });
    // Nothing while the delay lasts (no redelivery within milliseconds)...
    expect(await queue.receive(1, 1000)).toEqual([]);
    // ...then the next delivery, one more in the count.
    const again = await receiveOne(queue, 10_000);
    expect(Date.now() - abandonedAt).toBeGreaterThanOrEqual(2000);
    expect(again).toMatchObject({ messageId: message.messageId, deliveryCount: 2, body: { n: 9 }, notes: { failureCode: 'INTERNAL' } });
    await again.complete();
    expect(visibilitySecondsOf(1)).toBe(1);
    expect(visibilitySecondsOf(0)).toBe(0);
    expect(visibilitySecondsOf(undefined)).toBe(0);
    expect(visibilitySecondsOf(30 * 24 * 3600 * 1000)).toBe(7 * 24 * 3600);
  });

  it('dead-lettering moves the body aside with its reason; readDeadLetters reads it back', async () => {
    const queue = freshQueue(30_000);
    await queue.send({ kind: 'tile-work', n: 6 });
    const message = await receiveOne(queue);
    await message.deadLetter('MaxDeliveriesExceeded', 'dead-lettered after 5 deliveries: an operation timed out');
    expect(await queue.receive(1, 0)).toEqual([]);
    expect(await queue.readDeadLetters()).toEqual([
      { body: { kind: 'tile-work', n: 6 }, reason: 'MaxDeliveriesExceeded', description: 'dead-lettered after 5 deliveries: an operation timed out', deliveryCount: 1 },
    ]);
  });

  it('a body that is not JSON arrives as its raw text (receivers validate and dead-letter it)', async () => {
    const queue = freshQueue(30_000);
    const raw = service().getQueueClient(queue.name);
    await raw.createIfNotExists();
    await raw.sendMessage('not json {');
    const message = await receiveOne(queue);
    expect(message.body).toBe('not json {');
    await message.complete();
  });

  it('receive waits for a message sent while it polls', async () => {
    const queue = freshQueue(30_000);
    const receiving = queue.receive(1, 10_000);
    await delay(300);
    await queue.send({ n: 7 });
    const [message] = await receiving;
    expect(message?.body).toEqual({ n: 7 });
    await message?.complete();
  });
});

describe('queue factory', () => {
  it('picks the Storage stand-in without Service Bus settings, Service Bus with them', async () => {
    const env = environment();
    const storage = createWorkQueue(env);
    expect(storage.transport).toBe('storage');
    await storage.close();
    const serviceBus = createWorkQueue({ ...env, ServiceBusConnection__fullyQualifiedNamespace: 'example.servicebus.windows.net' });
    // Nothing connects until a message is sent or received.
    expect(serviceBus.transport).toBe('service-bus');
    await serviceBus.close();
  });

  it('sends results to tile-results as base64 JSON, what a Functions queue trigger decodes by default', async () => {
    const env = environment();
    const marker = randomUUID();
    await createResultsSender(env).send({ kind: 'tile-result', marker });
    const results = createResultsQueueClient(env);
    const { peekedMessageItems } = await results.peekMessages({ numberOfMessages: 32 });
    const raw = peekedMessageItems.find((item) => Buffer.from(item.messageText, 'base64').toString('utf8').includes(marker));
    expect(raw?.messageText).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(await takeMessages(results, (body) => typeof body === 'object' && body !== null && 'marker' in body && body.marker === marker)).toEqual([{ kind: 'tile-result', marker }]);
  });
});
