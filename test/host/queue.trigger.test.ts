import { join } from 'node:path';
import { TableClient } from '@azure/data-tables';
import { QueueServiceClient } from '@azure/storage-queue';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { readQueuesOptions } from '../../host/settings.js';
import { decodeMessageText, minPollingIntervalMs, nextPollDelayMs } from '../../host/triggers/queue.trigger.js';
import { projectRoot, startHostProcess, waitForStatus, waitUntil, type HostProcess } from './support/host.process.js';

const queueApp = join(projectRoot, 'test/host/fixtures/queue-app');

describe('queue trigger options and polling (the Storage extension 5.x rules)', () => {
  it('fill in Azure defaults and read host.json durations in both forms', () => {
    expect(readQueuesOptions(undefined, 2)).toEqual({
      maxPollingIntervalMs: 60_000,
      visibilityTimeoutMs: 0,
      batchSize: 16,
      maxDequeueCount: 5,
      newBatchThreshold: 16,
      messageEncoding: 'base64',
    });
    expect(readQueuesOptions({ maxPollingInterval: '00:00:02', visibilityTimeout: '00:00:30', batchSize: 4, maxDequeueCount: 3, messageEncoding: 'None' }, 4)).toEqual({
      maxPollingIntervalMs: 2000,
      visibilityTimeoutMs: 30_000,
      batchSize: 4,
      maxDequeueCount: 3,
      newBatchThreshold: 8,
      messageEncoding: 'none',
    });
    // The older form: milliseconds as a number; never below the extension's 100 ms floor.
    expect(readQueuesOptions({ maxPollingInterval: 20 }).maxPollingIntervalMs).toBe(100);
    expect(() => readQueuesOptions({ batchSize: 64 })).toThrow(/batchSize must be 1-32/);
    expect(() => readQueuesOptions({ visibilityTimeout: 'soon' })).toThrow(/extensions.queues.visibilityTimeout "soon" is not a time span/);
  });

  it('back off exponentially on an empty queue up to maxPollingInterval, and poll at once after messages', () => {
    const half = () => 0.5; // no randomization: exactly double
    expect(nextPollDelayMs(minPollingIntervalMs, false, 60_000, half)).toBe(200);
    expect(nextPollDelayMs(200, false, 60_000, half)).toBe(400);
    expect(nextPollDelayMs(40_000, false, 60_000, half)).toBe(60_000);
    expect(nextPollDelayMs(60_000, true, 60_000, half)).toBe(minPollingIntervalMs);
    // ±20 % randomization keeps hosts sharing a queue from polling in step.
    expect(nextPollDelayMs(1000, false, 60_000, () => 0)).toBe(1600);
    expect(nextPollDelayMs(1000, false, 60_000, () => 1)).toBe(2400);
  });

  it('decode base64 message text, and tell text that is not base64 apart', () => {
    expect(decodeMessageText(Buffer.from('{"a":1}').toString('base64'), 'base64')).toBe('{"a":1}');
    expect(decodeMessageText('plain text!', 'base64')).toBeUndefined();
    expect(decodeMessageText('plain text!', 'none')).toBe('plain text!');
  });
});

const storage = inject('storageConnectionString');
const calls = TableClient.fromConnectionString(storage, 'fixtureQueueCalls', { allowInsecureConnection: true });
const hosts: HostProcess[] = [];

afterEach(async () => {
  for (const host of hosts.splice(0)) await host.stop();
});

interface Call {
  input: Record<string, unknown>;
  metadata: Record<string, unknown>;
}

async function callsFor(key: string): Promise<Call[]> {
  const found: Call[] = [];
  await calls.createTable().catch(() => undefined);
  for await (const entity of calls.listEntities<{ key: string; input: string; metadata: string }>({ queryOptions: { filter: `PartitionKey eq 'call' and key eq '${key}'` } })) {
    found.push({ input: JSON.parse(entity.input) as Record<string, unknown>, metadata: JSON.parse(entity.metadata) as Record<string, unknown> });
  }
  return found;
}

/** Polls until `predicate` holds (vi.waitFor through the shared helper). */
const waitFor = (what: string, predicate: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> => waitUntil(what, predicate, timeoutMs, 100);

describe('storage queue triggers', () => {
  it('run each message once with its metadata, retry failures, and move poison messages to <queue>-poison', async () => {
    const stamp = String(Date.now());
    const queueName = `fixture-work-${stamp}`;
    const queues = QueueServiceClient.fromConnectionString(storage);
    const queue = queues.getQueueClient(queueName);
    await queue.createIfNotExists();
    const host = await startHostProcess({ storage, hub: `Queues${Number(stamp) % 1e8}`, appRoot: queueApp, env: { FIXTURE_QUEUE_NAME: queueName }, args: ['--no-worker'] });
    hosts.push(host);
    expect(host.output()).toContain('Container worker: not started (--no-worker / HOST_NO_WORKER=1)');
    expect(host.output()).toContain(`onQueueMessage: queueTrigger (${queueName}; batchSize 4, maxDequeueCount 5, maxPollingInterval 1000 ms)`);

    const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64');
    const good = `good-${stamp}`;
    const sent = await queue.sendMessage(encode({ key: good, size: 3 }));
    await waitFor('the good message to run', async () => (await callsFor(good)).length === 1);
    const [call] = await callsFor(good);
    // The JSON message reaches the function parsed; the trigger metadata is the extension's.
    expect(call!.input).toEqual({ key: good, size: 3 });
    expect(call!.metadata).toMatchObject({ id: sent.messageId, dequeueCount: 1, queueTrigger: { key: good, size: 3 } });
    for (const field of ['insertionTime', 'expirationTime', 'nextVisibleTime']) expect(new Date(String(call!.metadata[field])).getTime()).not.toBeNaN();
    expect(typeof call!.metadata['popReceipt']).toBe('string');
    // The durableClient extra input works here as for other triggers: the function started an orchestration.
    await waitFor('the orchestration it started', async () => {
      const list = (await (await fetch(`${host.url}/runtime/webhooks/durabletask/instances?showInput=true`)).json()) as Array<{ instanceId: string; input: { queued?: string } }>;
      const started = list.find((status) => status.input?.queued === good);
      return started !== undefined && (await waitForStatus(host.url, started.instanceId))['runtimeStatus'] === 'Completed';
    });

    const bad = `bad-${stamp}`;
    const badText = encode({ key: bad, fail: true });
    await queue.sendMessage(badText);
    await queue.sendMessage('this is not base64!');
    const poison = queues.getQueueClient(`${queueName}-poison`);
    const poisonTexts = async () => ((await poison.exists()) ? (await poison.peekMessages({ numberOfMessages: 32 })).peekedMessageItems.map((item) => item.messageText) : []);
    await waitFor('both messages in the poison queue', async () => (await poisonTexts()).length === 2);
    expect((await poisonTexts()).sort()).toEqual([badText, 'this is not base64!'].sort());
    // Five deliveries (visibilityTimeout 0: each retry at once), counted by the queue itself.
    expect((await callsFor(bad)).map((c) => c.metadata['dequeueCount'])).toEqual(expect.arrayContaining([1, 2, 3, 4, 5]));
    expect(await callsFor(bad)).toHaveLength(5);
    // Why each was moved is only in the log (a storage queue message carries no reason): the line is the contract.
    expect(host.output()).toContain(`on ${queueName} moved to queue ${queueName}-poison: its function failed on each of 5 deliveries.`);
    expect(host.output()).toContain('moved to queue ' + `${queueName}-poison: its text is not valid base64`);
    // Nothing is left on the queue, and the good message ran once only.
    await waitFor('the queue to be empty', async () => (await queue.getProperties()).approximateMessagesCount === 0);
    expect(await callsFor(good)).toHaveLength(1);
  });
});
