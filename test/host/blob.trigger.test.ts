import { TableClient } from '@azure/data-tables';
import { BlobServiceClient } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import { afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { startHostProcess, waitUntil, type HostProcess } from './support/host.process.js';

/** Blob triggers: once per blob version, receipts in storage across restarts, poison after 5 failures. */
const storage = inject('storageConnectionString');
const container = BlobServiceClient.fromConnectionString(storage).getContainerClient('fixture-uploads');
const calls = TableClient.fromConnectionString(storage, 'fixtureBlobCalls', { allowInsecureConnection: true });
const hosts: HostProcess[] = [];

beforeAll(async () => {
  await container.createIfNotExists();
  await calls.createTable().catch(() => undefined);
});

afterEach(async () => {
  for (const host of hosts.splice(0)) await host.stop();
});

async function start(hub: string): Promise<HostProcess> {
  const host = await startHostProcess({ storage, hub, blobPollMs: 200 });
  hosts.push(host);
  return host;
}

async function callCount(name: string): Promise<number> {
  let count = 0;
  for await (const entity of calls.listEntities<{ name: string }>({ queryOptions: { filter: `PartitionKey eq 'call' and name eq '${name}'` } })) if (entity.name === name) count++;
  return count;
}

/** Polls until `predicate` holds (vi.waitFor through the shared helper). */
const waitFor = (what: string, predicate: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> => waitUntil(what, predicate, timeoutMs, 100);

/** Uploads a marker blob and waits until it was processed: every blob listed before it has had its turn. */
async function afterAFullPass(stamp: string): Promise<void> {
  const marker = `zz-marker-${stamp}-${Math.random().toString(16).slice(2, 8)}.txt`;
  await container.getBlockBlobClient(marker).upload('m', 1);
  await waitFor(`marker ${marker}`, async () => (await callCount(marker)) === 1);
}

describe('blob triggers', () => {
  it('start each new or changed blob once, keep receipts across restarts, and send failing blobs to the poison queue', async () => {
    const stamp = String(Date.now());
    const hub = `Blobs${Number(stamp) % 1e8}`;
    const good = `good-${stamp}.txt`;
    const bad = `bad-${stamp}.txt`;
    let host = await start(hub);

    await container.getBlockBlobClient(good).upload('hello', 5);
    await waitFor('the good blob to trigger', async () => (await callCount(good)) === 1);
    // The function started an orchestration through df.getClient with the blob name.
    await waitFor('the orchestration it started', async () => {
      const list = (await (await fetch(`${host.url}/runtime/webhooks/durabletask/instances?showInput=true&runtimeStatus=Completed`)).json()) as Array<{ input: { blob?: string } }>;
      return list.some((status) => status.input?.blob === good);
    });

    await container.getBlockBlobClient(bad).upload('broken', 6);
    await waitFor('the bad blob to fail five times', async () => (await callCount(bad)) === 5);
    await afterAFullPass(stamp);
    expect(await callCount(good)).toBe(1);
    expect(await callCount(bad)).toBe(5);
    // Moved to the poison queue, with its reason (the message itself, not the host's log line, is checked).
    const poison = QueueServiceClient.fromConnectionString(storage).getQueueClient('webjobs-blobtrigger-poison');
    const messages = (await poison.peekMessages({ numberOfMessages: 32 })).peekedMessageItems.map(
      (item) => JSON.parse(Buffer.from(item.messageText, 'base64').toString('utf8')) as Record<string, string>,
    );
    const message = messages.find((m) => m['BlobName'] === bad);
    expect(message).toMatchObject({ Type: 'BlobTrigger', FunctionId: 'Host.Functions.onUpload', ContainerName: 'fixture-uploads', BlobName: bad });
    expect(message!['Reason']).toContain(`cannot process ${bad}`);

    // A restarted host reads the receipts: nothing runs again. SIGTERM stops the first one gracefully.
    expect(await host.stop('SIGTERM')).toBe(0);
    expect(host.output()).toContain('SIGTERM received');
    host = await start(hub);
    await afterAFullPass(stamp);
    expect(await callCount(good)).toBe(1);
    expect(await callCount(bad)).toBe(5);

    // A changed blob (new ETag) triggers again, once.
    await container.getBlockBlobClient(good).upload('hello again', 11);
    await waitFor('the changed blob to trigger', async () => (await callCount(good)) === 2);
    await afterAFullPass(stamp);
    expect(await callCount(good)).toBe(2);
  });
});
