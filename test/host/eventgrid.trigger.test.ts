import { join } from 'node:path';
import { TableClient } from '@azure/data-tables';
import { BlobServiceClient, type BlobItem } from '@azure/storage-blob';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { blobCreatedEvent, blobDeletedEvent, parseEventTypes, type BlobCreatedEvent, type BlobDeletedEvent } from '../../host/triggers/eventgrid.trigger.js';
import { projectRoot, startHostProcess, waitUntil, type HostProcess } from './support/host.process.js';

const queueApp = join(projectRoot, 'test/host/fixtures/queue-app');

describe('BlobCreated events of the Event Grid stand-in', () => {
  it('have Event Grid\'s schema, built from the listing alone, with the same id for the same blob version', () => {
    const item: BlobItem = {
      name: 'drop/a b.tif',
      deleted: false,
      snapshot: '',
      properties: { etag: '"0x8DC0FFEE"', lastModified: new Date('2026-01-02T03:04:05Z'), contentLength: 1234, contentType: 'image/tiff', blobType: 'BlockBlob' },
    };
    const event = blobCreatedEvent('devstoreaccount1', 'uploads', item, 'http://127.0.0.1:10000/devstoreaccount1/uploads/drop/a%20b.tif');
    expect(event).toMatchObject({
      topic: '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/local/providers/Microsoft.Storage/storageAccounts/devstoreaccount1',
      subject: '/blobServices/default/containers/uploads/blobs/drop/a b.tif',
      eventType: 'Microsoft.Storage.BlobCreated',
      eventTime: '2026-01-02T03:04:05.000Z',
      data: { api: 'PutBlob', eTag: '0x8DC0FFEE', contentType: 'image/tiff', contentLength: 1234, blobType: 'BlockBlob', url: 'http://127.0.0.1:10000/devstoreaccount1/uploads/drop/a%20b.tif' },
      dataVersion: '',
      metadataVersion: '1',
    });
    for (const id of [event.id, event.data.requestId, event.data.clientRequestId, event.data.storageDiagnostics.batchId]) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(event.data.sequencer).toMatch(/^[0-9a-f]{32}$/);
    expect(blobCreatedEvent('devstoreaccount1', 'uploads', item, event.data.url)).toEqual(event);
    const changed = blobCreatedEvent('devstoreaccount1', 'uploads', { ...item, properties: { ...item.properties, etag: '"0x8DC0FFEF"' } }, event.data.url);
    expect(changed.id).not.toBe(event.id);
  });
});

const storage = inject('storageConnectionString');
const calls = TableClient.fromConnectionString(storage, 'fixtureEventCalls', { allowInsecureConnection: true });
const hosts: HostProcess[] = [];

afterEach(async () => {
  for (const host of hosts.splice(0)) await host.stop();
});

async function eventsFor(name: string): Promise<BlobCreatedEvent[]> {
  const found: BlobCreatedEvent[] = [];
  await calls.createTable().catch(() => undefined);
  for await (const entity of calls.listEntities<{ key: string; input: string }>({ queryOptions: { filter: `PartitionKey eq 'call' and key eq '${name}'` } })) {
    found.push(JSON.parse(entity.input) as BlobCreatedEvent);
  }
  return found;
}

/** Polls until `predicate` holds (vi.waitFor through the shared helper). */
const waitFor = (what: string, predicate: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> => waitUntil(what, predicate, timeoutMs, 100);

/**
 * A fresh container for one test, named `fixture-<kind>-<stamp>`, and how to start a host (on its
 * own task hub) whose Event Grid stand-in watches it with short retry delays; each host started
 * is stopped after the test, and can be started again to test a restart.
 */
async function watchedContainer(kind: string, hubPrefix: string) {
  const stamp = String(Date.now());
  const containerName = `fixture-${kind}-${stamp}`;
  const container = BlobServiceClient.fromConnectionString(storage).getContainerClient(containerName);
  await container.createIfNotExists();
  const hub = `${hubPrefix}${Number(stamp) % 1e8}`;
  const start = async (): Promise<HostProcess> => {
    const host = await startHostProcess({
      storage,
      hub,
      appRoot: queueApp,
      blobPollMs: 200,
      env: { LOCAL_EVENTGRID_BLOB_CONTAINERS: containerName, LOCAL_EVENTGRID_EVENT_TYPES: 'onBlobDeleted=BlobDeleted', LOCAL_EVENTGRID_RETRY_DELAYS_MS: '100,200,300,400', FIXTURE_QUEUE_NAME: `unused-${stamp}` },
    });
    hosts.push(host);
    return host;
  };
  return { stamp, containerName, container, hub, start };
}

describe('Event Grid triggers (local stand-in)', () => {
  it('deliver one BlobCreated event per new blob version, retry with back-off, give up, and remember across restarts', async () => {
    const { stamp, containerName, container, start } = await watchedContainer('events', 'Events');
    const upload = async (name: string, text: string) => (await container.getBlockBlobClient(name).upload(text, text.length)).etag!.replace(/"/g, '');
    /** Uploads a marker blob and waits for its event: every blob listed before it has had its turn. */
    const afterAFullPass = async () => {
      const marker = `zz-marker-${Math.random().toString(16).slice(2, 8)}.txt`;
      await upload(marker, 'm');
      await waitFor(`the event for ${marker}`, async () => (await eventsFor(marker)).length === 1);
    };

    // A blob from before the subscription existed raises no event (Event Grid delivers what happens after).
    const old = `old-${stamp}.txt`;
    const oldTime = (await container.getBlockBlobClient(old).upload('old', 3)).lastModified!.getTime();
    await waitFor('storage\'s clock to pass the old blob\'s second', async () => (await container.getBlockBlobClient(`clock-${stamp}`).upload('', 0)).lastModified!.getTime() > oldTime);
    await container.getBlockBlobClient(`clock-${stamp}`).delete();

    let host = await start();
    // No container worker is built in the fixture app: the host says so and carries on.
    // (Logged once the host listens: wait for the line, not for a moment.)
    await waitFor('the container worker line', async () => host.output().includes('Container worker: dist/worker/main.js not found'));
    expect(host.output()).toContain(`onBlobCreated: eventGridTrigger (local stand-in: BlobCreated for ${containerName}/)`);

    const good = `good-${stamp}.tif`;
    const eTag = await upload(good, 'not really a tiff');
    await waitFor('the event for the good blob', async () => (await eventsFor(good)).length === 1);
    const [event] = await eventsFor(good);
    expect(event).toMatchObject({
      subject: `/blobServices/default/containers/${containerName}/blobs/${good}`,
      eventType: 'Microsoft.Storage.BlobCreated',
      metadataVersion: '1',
      data: { eTag, contentLength: 17, blobType: 'BlockBlob', url: container.getBlobClient(good).url },
    });
    await waitFor('the orchestration it started', async () => {
      const list = (await (await fetch(`${host.url}/runtime/webhooks/durabletask/instances?showInput=true&runtimeStatus=Completed`)).json()) as Array<{ input: { event?: string } }>;
      return list.some((status) => status.input?.event === good);
    });

    const bad = `bad-${stamp}.tif`;
    await upload(bad, 'broken');
    await waitFor('five attempts for the bad blob', async () => (await eventsFor(bad)).length === 5);
    await waitFor('the give-up line', async () => host.output().includes(`gave up delivering Microsoft.Storage.BlobCreated for ${containerName}/${bad} to 'onBlobCreated' after 5 attempts`));
    // Every attempt carried the same event, as Event Grid redelivers it.
    expect(new Set((await eventsFor(bad)).map((attempt) => attempt.id)).size).toBe(1);

    // A restarted host reads its receipts: nothing is delivered again.
    expect(await host.stop('SIGTERM')).toBe(0);
    host = await start();
    await afterAFullPass();
    expect(await eventsFor(good)).toHaveLength(1);
    expect(await eventsFor(bad)).toHaveLength(5);
    expect(await eventsFor(old)).toHaveLength(0);

    // A new version of a blob is a new BlobCreated event.
    const newETag = await upload(good, 'a second version');
    await waitFor('the event for the new version', async () => (await eventsFor(good)).length === 2);
    expect((await eventsFor(good)).map((e) => e.data.eTag).sort()).toEqual([eTag, newETag].sort());
  });
});

describe('BlobDeleted events of the Event Grid stand-in', () => {
  it('have Event Grid\'s schema (no ETag, no length, as Azure\'s), with the same id for the same deletion and another for the next', () => {
    const deleted = { name: 'drop/a b.tif', eTag: '0x8DC0FFEE', contentType: 'image/tiff', deletedAt: new Date('2026-01-02T03:04:05Z') };
    const url = 'http://127.0.0.1:10000/devstoreaccount1/uploads/drop/a%20b.tif';
    const event = blobDeletedEvent('devstoreaccount1', 'uploads', deleted, url);
    expect(event).toMatchObject({
      subject: '/blobServices/default/containers/uploads/blobs/drop/a b.tif',
      eventType: 'Microsoft.Storage.BlobDeleted',
      eventTime: '2026-01-02T03:04:05.000Z',
      data: { api: 'DeleteBlob', contentType: 'image/tiff', blobType: 'BlockBlob', url, identity: '$superuser' },
      dataVersion: '',
      metadataVersion: '1',
    });
    expect(event.data).not.toHaveProperty('eTag');
    expect(event.data).not.toHaveProperty('contentLength');
    expect(event.data.sequencer).toMatch(/^[0-9a-f]{32}$/);
    expect(blobDeletedEvent('devstoreaccount1', 'uploads', deleted, url)).toEqual(event);
    expect(blobDeletedEvent('devstoreaccount1', 'uploads', { ...deleted, eTag: '0x8DC0FFEF' }, url).id).not.toBe(event.id);
  });

  it('are subscribed per function (LOCAL_EVENTGRID_EVENT_TYPES); a function not named takes BlobCreated only', () => {
    expect(parseEventTypes('removeDeletedSource=BlobDeleted, both=BlobCreated+BlobDeleted')).toEqual(
      new Map([
        ['removeDeletedSource', new Set(['BlobDeleted'])],
        ['both', new Set(['BlobCreated', 'BlobDeleted'])],
      ]),
    );
    for (const bad of ['fn=BlobRenamed', '=BlobDeleted', 'fn', 'fn=BlobDeleted+']) expect(() => parseEventTypes(bad), bad).toThrow(/LOCAL_EVENTGRID_EVENT_TYPES/);
  });
});

async function deletionsFor(name: string): Promise<BlobDeletedEvent[]> {
  const table = TableClient.fromConnectionString(storage, 'fixtureDeleteCalls', { allowInsecureConnection: true });
  await table.createTable().catch(() => undefined);
  const found: BlobDeletedEvent[] = [];
  for await (const entity of table.listEntities<{ key: string; input: string }>({ queryOptions: { filter: `PartitionKey eq 'call' and key eq '${name}'` } })) {
    found.push(JSON.parse(entity.input) as BlobDeletedEvent);
  }
  return found;
}

describe('Event Grid BlobDeleted (local stand-in)', () => {
  it('delivers one BlobDeleted per deleted blob to the functions subscribed to it, at least once, also for a blob deleted while the host was down', async () => {
    const { stamp, containerName, container, hub, start } = await watchedContainer('deletes', 'Deletes');
    const markers = BlobServiceClient.fromConnectionString(storage).getContainerClient('azure-webjobs-hosts');
    const markerPrefix = `eventgridreceipts/localhost-${hub.toLowerCase()}/blobs/${containerName}/`;
    const markerCount = async (): Promise<number> => {
      let count = 0;
      for await (const marker of markers.listBlobsFlat({ prefix: markerPrefix })) if (marker.name) count++;
      return count;
    };
    const upload = async (name: string) => (await container.getBlockBlobClient(name).upload('x', 1)).etag!;

    let host = await start();
    await waitFor('the subscriptions line', async () => host.output().includes(`onBlobDeleted: eventGridTrigger (local stand-in: BlobDeleted for ${containerName}/)`));
    expect(host.output()).toContain(`onBlobCreated: eventGridTrigger (local stand-in: BlobCreated for ${containerName}/)`);

    const gone = `gone-${stamp}.tif`;
    const bad = `bad-${stamp}.tif`;
    const later = `later-${stamp}.tif`;
    for (const name of [gone, bad, later]) await upload(name);
    // Seen: one marker per blob, and the BlobCreated events went to onBlobCreated only.
    await waitFor('a marker per blob', async () => (await markerCount()) === 3);
    // (onBlobCreated fails for "bad" names: its BlobCreated is retried, so it counts one or more.)
    await waitFor('the BlobCreated events', async () => (await eventsFor(gone)).length === 1 && (await eventsFor(bad)).length >= 1);

    await container.getBlockBlobClient(gone).delete();
    await waitFor('the BlobDeleted event', async () => (await deletionsFor(gone)).length === 1);
    const [event] = await deletionsFor(gone);
    expect(event).toMatchObject({
      subject: `/blobServices/default/containers/${containerName}/blobs/${gone}`,
      eventType: 'Microsoft.Storage.BlobDeleted',
      data: { api: 'DeleteBlob', url: container.getBlobClient(gone).url },
    });
    // Its marker goes once delivered; the function subscribed to BlobCreated never hears of the deletion.
    await waitFor('the delivered deletion\'s marker to go', async () => (await markerCount()) === 2);
    expect((await eventsFor(gone)).map((e) => e.eventType)).toEqual(['Microsoft.Storage.BlobCreated']);

    // A failing delivery is retried (the same event each time), then given up.
    await container.getBlockBlobClient(bad).delete();
    await waitFor('five attempts for the bad deletion', async () => (await deletionsFor(bad)).length === 5);
    await waitFor('the give-up line', async () => host.output().includes(`gave up delivering Microsoft.Storage.BlobDeleted for ${containerName}/${bad} to 'onBlobDeleted' after 5 attempts`));
    expect(new Set((await deletionsFor(bad)).map((attempt) => attempt.id)).size).toBe(1);
    await waitFor('the given-up deletion\'s marker to go', async () => (await markerCount()) === 1);

    // Deleted while the host is down: reported after the restart, from the marker; nothing is delivered twice.
    expect(await host.stop('SIGTERM')).toBe(0);
    await container.getBlockBlobClient(later).delete();
    host = await start();
    await waitFor('the deletion missed while down', async () => (await deletionsFor(later)).length === 1);
    await waitFor('its marker to go', async () => (await markerCount()) === 0);
    expect(await deletionsFor(gone)).toHaveLength(1);
    expect(await deletionsFor(bad)).toHaveLength(5);
  });
});
