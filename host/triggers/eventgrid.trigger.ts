import { createHash, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import pLimit from 'p-limit';
import { BlobServiceClient, type BlobItem, type BlockBlobClient, type ContainerClient } from '@azure/storage-blob';
import { durableClientInputs, type HostEndpoints } from '../http/client.binding.js';
import { singleAttemptStorageOptions, statusOf, withStorageRetry } from '../storage/retry.js';
import { invokeRegistration, type Registration } from '../worker.shim.js';
import { receiptsContainerName } from './blob.trigger.js';
import { PollingLoop } from './polling.loop.js';

export const blobCreatedEventType = 'Microsoft.Storage.BlobCreated';
export const blobDeletedEventType = 'Microsoft.Storage.BlobDeleted';
/** The event types the stand-in raises, by their short names (as in `LOCAL_EVENTGRID_EVENT_TYPES`). */
export type BlobEventKind = 'BlobCreated' | 'BlobDeleted';
/** Events delivered at once (Event Grid pushes concurrently too). */
const deliveryParallelism = 4;

/** A `Microsoft.Storage.BlobCreated` event in the Event Grid schema (what Azure delivers to an eventGridTrigger). */
export interface BlobCreatedEvent {
  id: string;
  topic: string;
  subject: string;
  eventType: typeof blobCreatedEventType;
  eventTime: string;
  data: {
    api: string;
    clientRequestId: string;
    requestId: string;
    eTag: string;
    contentType: string;
    contentLength: number;
    blobType: string;
    url: string;
    sequencer: string;
    storageDiagnostics: { batchId: string };
  };
  dataVersion: string;
  metadataVersion: '1';
}

/** A `Microsoft.Storage.BlobDeleted` event in the Event Grid schema: as Azure's, it names no ETag and no length. */
export interface BlobDeletedEvent {
  id: string;
  topic: string;
  subject: string;
  eventType: typeof blobDeletedEventType;
  eventTime: string;
  data: {
    api: string;
    requestId: string;
    contentType: string;
    blobType: string;
    url: string;
    sequencer: string;
    identity: string;
    storageDiagnostics: { batchId: string };
  };
  dataVersion: string;
  metadataVersion: '1';
}

/** A fixed-length key for a blob name (names run to 1,024 characters; marker names must stay within storage's limit). */
function nameHash(name: string): string {
  return createHash('sha256').update(name).digest('hex').slice(0, 40);
}

/** A GUID derived from text: an event keeps its id across retries and restarts, as Event Grid redelivers the same event. */
function stableGuid(text: string): string {
  const hex = createHash('sha256').update(text).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** The event Azure Storage publishes for one blob version; built from the listing only, never the blob's content. */
export function blobCreatedEvent(accountName: string, container: string, blob: BlobItem, url: string): BlobCreatedEvent {
  const eTag = (blob.properties.etag ?? '').replace(/^"|"$/g, '');
  const created = blob.properties.lastModified;
  const key = `${accountName}/${container}/${blob.name}/${eTag}`;
  return {
    id: stableGuid(`event:${key}`),
    topic: topicOf(accountName),
    subject: `/blobServices/default/containers/${container}/blobs/${blob.name}`,
    eventType: blobCreatedEventType,
    eventTime: created.toISOString(),
    data: {
      api: 'PutBlob',
      clientRequestId: stableGuid(`client:${key}`),
      requestId: stableGuid(`request:${key}`),
      eTag,
      contentType: blob.properties.contentType ?? 'application/octet-stream',
      contentLength: blob.properties.contentLength ?? 0,
      blobType: blob.properties.blobType ?? 'BlockBlob',
      url,
      // Storage's sequencer orders the events of one blob: the modification time, zero-padded, does the same here.
      sequencer: created.getTime().toString(16).padStart(32, '0'),
      storageDiagnostics: { batchId: stableGuid(`batch:${key}`) },
    },
    dataVersion: '',
    metadataVersion: '1',
  };
}

function topicOf(accountName: string): string {
  return `/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/local/providers/Microsoft.Storage/storageAccounts/${accountName}`;
}

/** A blob the stand-in saw and no longer sees. */
export interface DeletedBlob {
  name: string;
  /** The last version seen: each deletion of a blob is its own event. */
  eTag: string;
  contentType: string;
  /** When the stand-in first missed it (kept across retries and restarts). */
  deletedAt: Date;
}

/** The event Azure Storage publishes when a blob is deleted; the same id for the same deletion (the version it removed). */
export function blobDeletedEvent(accountName: string, container: string, blob: DeletedBlob, url: string): BlobDeletedEvent {
  const key = `${accountName}/${container}/${blob.name}/${blob.eTag}/deleted`;
  return {
    id: stableGuid(`event:${key}`),
    topic: topicOf(accountName),
    subject: `/blobServices/default/containers/${container}/blobs/${blob.name}`,
    eventType: blobDeletedEventType,
    eventTime: blob.deletedAt.toISOString(),
    data: {
      api: 'DeleteBlob',
      requestId: stableGuid(`request:${key}`),
      contentType: blob.contentType,
      blobType: 'BlockBlob',
      url,
      // After the creation's sequencer of the version it deletes (both are times here).
      sequencer: blob.deletedAt.getTime().toString(16).padStart(32, '0'),
      identity: '$superuser',
      storageDiagnostics: { batchId: stableGuid(`batch:${key}`) },
    },
    dataVersion: '',
    metadataVersion: '1',
  };
}

/**
 * `LOCAL_EVENTGRID_EVENT_TYPES`: which events each Event Grid function subscribes to, as Azure's
 * subscriptions filter them (`<function>=BlobCreated+BlobDeleted`, comma separated). A function
 * not named takes BlobCreated only.
 */
export function parseEventTypes(raw: string): Map<string, Set<BlobEventKind>> {
  const subscriptions = new Map<string, Set<BlobEventKind>>();
  for (const entry of raw.split(',').map((part) => part.trim()).filter((part) => part !== '')) {
    const [name, types = ''] = entry.split('=').map((part) => part.trim());
    const kinds = types.split('+').map((type) => type.trim());
    if (!name || kinds.some((kind) => kind !== 'BlobCreated' && kind !== 'BlobDeleted')) {
      throw new Error(`LOCAL_EVENTGRID_EVENT_TYPES must be "<function>=BlobCreated+BlobDeleted" pairs separated by commas, got "${raw}"`);
    }
    subscriptions.set(name, new Set(kinds as BlobEventKind[]));
  }
  return subscriptions;
}

interface Subscription {
  registration: Registration;
  container: string;
  kinds: ReadonlySet<BlobEventKind>;
  /** Blobs last modified before the subscription existed raise no event (Event Grid delivers only what happens after). */
  since: Date;
}

interface PendingRetry {
  attempts: number;
  notBefore: number;
}

export interface EventGridOptions {
  registrations: Iterable<Registration>;
  /** Storage the events are about and the receipts live in (AzureWebJobsStorage). */
  hostStorage: string;
  hostId: string;
  /** Containers whose new and deleted blobs raise events (LOCAL_EVENTGRID_BLOB_CONTAINERS). */
  containers: string[];
  /** The events each function subscribes to (LOCAL_EVENTGRID_EVENT_TYPES); others take BlobCreated. */
  eventTypes?: ReadonlyMap<string, ReadonlySet<BlobEventKind>>;
  intervalMs: number;
  /** Waits before the 2nd, 3rd, ... attempt; the delivery is given up after the last. */
  retryDelaysMs: number[];
  endpoints: () => HostEndpoints;
  log: (line: string) => void;
}

/**
 * Stands in for an Event Grid subscription on the storage account: for every `app.eventGrid`
 * function it watches the configured containers and delivers one `Microsoft.Storage.BlobCreated`
 * event per new blob version (metadata from the listing; the blob is never read), and, to the
 * functions subscribed to it, one `Microsoft.Storage.BlobDeleted` event per blob it saw and no
 * longer sees. A receipt under `azure-webjobs-hosts/eventgridreceipts/` records each delivery, so
 * a restart neither re-delivers nor forgets failed attempts; a marker per blob seen
 * (`.../blobs/<container>/<hash of the name>`) remembers what existed, so a blob deleted while the
 * host was down is still reported. A failed delivery is retried after Event Grid's first back-off
 * steps, then given up with a log line (no dead-letter destination locally). Delivery is at least
 * once, as Event Grid's. Unlike storage, a blob deleted and uploaded again between two polls
 * looks like a new version (BlobCreated only), and one created and deleted between two polls is
 * not seen at all.
 */
export class EventGridBlobEvents {
  private readonly subscriptions: Subscription[] = [];
  private readonly blobs: BlobServiceClient;
  private readonly receipts: ContainerClient;
  private readonly done = new Set<string>();
  private readonly pending = new Map<string, PendingRetry>();
  private readonly registrations: Registration[];
  private readonly loop: PollingLoop;

  constructor(private readonly options: EventGridOptions) {
    this.loop = new PollingLoop(() => this.pollOnce(), options.intervalMs, (error) => options.log(`Event Grid stand-in: polling failed (will retry): ${(error as Error).message}`));
    this.blobs = BlobServiceClient.fromConnectionString(options.hostStorage, singleAttemptStorageOptions);
    this.receipts = this.blobs.getContainerClient(receiptsContainerName);
    this.registrations = [...options.registrations].filter((registration) => registration.trigger.type === 'eventGridTrigger');
  }

  get count(): number {
    return this.options.intervalMs === 0 ? 0 : this.registrations.length;
  }

  private kindsOf(registration: Registration): ReadonlySet<BlobEventKind> {
    return this.options.eventTypes?.get(registration.name) ?? new Set<BlobEventKind>(['BlobCreated']);
  }

  describe(): string[] {
    return this.registrations.map(
      (registration) =>
        `${registration.name}: eventGridTrigger (local stand-in: ${[...this.kindsOf(registration)].sort().join('+')} for ${this.options.containers.map((name) => `${name}/`).join(', ') || 'no container'}${this.options.intervalMs === 0 ? ', off' : ''})`,
    );
  }

  private receiptPrefix(): string {
    return `eventgridreceipts/${this.options.hostId}/`;
  }

  private functionPrefix(registration: Registration): string {
    return `${this.receiptPrefix()}Host.Functions.${registration.name}/`;
  }

  private receiptName(subscription: Subscription, blobName: string, eTag: string): string {
    return `${this.functionPrefix(subscription.registration)}${eTag}/${subscription.container}/${blobName}`;
  }

  async start(): Promise<void> {
    if (this.registrations.length === 0 || this.options.intervalMs === 0) return;
    await withStorageRetry('creating the receipts container', () => this.receipts.createIfNotExists());
    for (const registration of this.registrations) {
      for (const container of this.options.containers) {
        this.subscriptions.push({ registration, container, kinds: this.kindsOf(registration), since: await this.subscriptionTime(registration, container) });
      }
    }
    for await (const blob of this.receipts.listBlobsFlat({ prefix: this.receiptPrefix(), includeMetadata: true })) {
      if (blob.metadata?.['delivered'] === 'true' || blob.metadata?.['abandoned'] === 'true') this.done.add(blob.name);
    }
    this.loop.start();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
  }

  /** When this function's subscription to the container began: stored on first start, storage's clock. */
  private async subscriptionTime(registration: Registration, container: string): Promise<Date> {
    const marker = this.receipts.getBlockBlobClient(`${this.functionPrefix(registration)}subscriptions/${container}`);
    try {
      await withStorageRetry('storing an Event Grid subscription marker', () => marker.upload('', 0, { conditions: { ifNoneMatch: '*' } }));
    } catch (error) {
      // Already there: the subscription is older than this start.
      if (statusOf(error) !== 409 && statusOf(error) !== 412) throw error;
    }
    const properties = await withStorageRetry('reading an Event Grid subscription marker', () => marker.getProperties());
    return properties.createdOn ?? properties.lastModified ?? new Date(0);
  }

  /** Markers of the blobs seen in a container (for BlobDeleted). */
  private markerPrefix(container: string): string {
    return `${this.receiptPrefix()}blobs/${container}/`;
  }

  /** One pass over every watched container; up to `deliveryParallelism` deliveries at once. */
  async pollOnce(): Promise<void> {
    const accountName = this.blobs.accountName;
    const limit = pLimit(deliveryParallelism);
    const work: Array<Promise<void>> = [];
    for (const containerName of new Set(this.subscriptions.map((subscription) => subscription.container))) {
      const subscriptions = this.subscriptions.filter((subscription) => subscription.container === containerName);
      const created = subscriptions.filter((subscription) => subscription.kinds.has('BlobCreated'));
      const deleted = subscriptions.filter((subscription) => subscription.kinds.has('BlobDeleted'));
      const container = this.blobs.getContainerClient(containerName);
      if (!(await container.exists())) continue;
      /** The blobs listed now, by the hash of their name (deletions are found against the markers). */
      const present = new Map<string, { name: string; eTag: string; contentType: string }>();
      for await (const blob of container.listBlobsFlat()) {
        if (this.loop.stopped) return;
        const eTag = (blob.properties.etag ?? '').replace(/^"|"$/g, '');
        if (deleted.length > 0) present.set(nameHash(blob.name), { name: blob.name, eTag, contentType: blob.properties.contentType ?? 'application/octet-stream' });
        for (const subscription of created) {
          // Storage times have whole seconds: a blob written in the subscription's own second still counts (at least once).
          if (blob.properties.lastModified.getTime() < Math.floor(subscription.since.getTime() / 1000) * 1000) continue;
          const receiptName = this.receiptName(subscription, blob.name, eTag);
          if (this.done.has(receiptName)) continue;
          const retry = this.pending.get(receiptName);
          if (retry && Date.now() < retry.notBefore) continue;
          const event = blobCreatedEvent(accountName, subscription.container, blob, container.getBlobClient(blob.name).url);
          work.push(limit(() => this.deliver(subscription, event, receiptName)));
        }
      }
      if (deleted.length > 0) work.push(...(await this.deletions(containerName, present, deleted, limit)));
    }
    const results = await Promise.allSettled(work);
    const failure = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failure) throw failure.reason;
  }

  /**
   * Compares the listing with the markers of what was seen: a new blob (or version) gets its
   * marker; a marked blob no longer listed is deleted, its event delivered to each subscribed
   * function, and its marker goes once every delivery is done (delivered or given up).
   */
  private async deletions(containerName: string, present: ReadonlyMap<string, { name: string; eTag: string; contentType: string }>, subscriptions: readonly Subscription[], limit: ReturnType<typeof pLimit>): Promise<Array<Promise<void>>> {
    const prefix = this.markerPrefix(containerName);
    const marked = new Map<string, { eTag: string; deletedAt?: number }>();
    for await (const marker of this.receipts.listBlobsFlat({ prefix, includeMetadata: true })) {
      const deletedAt = Number(marker.metadata?.['deletedat'] ?? '');
      marked.set(marker.name.slice(prefix.length), { eTag: marker.metadata?.['etag'] ?? '', ...(Number.isFinite(deletedAt) && deletedAt > 0 ? { deletedAt } : {}) });
    }
    const work: Array<Promise<void>> = [];
    for (const [hash, blob] of present) {
      const known = marked.get(hash);
      if (known?.eTag === blob.eTag && known.deletedAt === undefined) continue;
      // The name is the marker's content: blob names may hold what metadata cannot.
      await withStorageRetry('writing an Event Grid blob marker', () => this.receipts.getBlockBlobClient(`${prefix}${hash}`).upload(blob.name, Buffer.byteLength(blob.name), { metadata: { etag: blob.eTag, contenttype: blob.contentType } }));
    }
    for (const [hash, known] of marked) {
      if (present.has(hash) || this.loop.stopped) continue;
      const marker = this.receipts.getBlockBlobClient(`${prefix}${hash}`);
      let deletedAt = known.deletedAt;
      if (deletedAt === undefined) {
        // First missed now: that time is the deletion's, on every attempt and after a restart.
        deletedAt = Date.now();
        const properties = await withStorageRetry('reading an Event Grid blob marker', () => marker.getProperties());
        await withStorageRetry('marking an Event Grid blob marker deleted', () => marker.setMetadata({ ...properties.metadata, deletedat: String(deletedAt) }));
      }
      const receipts = subscriptions.map((subscription) => ({ subscription, receiptName: `${this.functionPrefix(subscription.registration)}deleted/${hash}/${known.eTag}` }));
      if (receipts.every(({ receiptName }) => this.done.has(receiptName))) {
        await withStorageRetry('removing an Event Grid blob marker', () => marker.deleteIfExists());
        continue;
      }
      const name = (await withStorageRetry('reading an Event Grid blob marker', () => marker.downloadToBuffer())).toString('utf8');
      const properties = await withStorageRetry('reading an Event Grid blob marker', () => marker.getProperties());
      const event = blobDeletedEvent(this.blobs.accountName, containerName, { name, eTag: known.eTag, contentType: properties.metadata?.['contenttype'] ?? 'application/octet-stream', deletedAt: new Date(deletedAt) }, this.blobs.getContainerClient(containerName).getBlobClient(name).url);
      for (const { subscription, receiptName } of receipts) {
        if (this.done.has(receiptName)) continue;
        const retry = this.pending.get(receiptName);
        if (retry && Date.now() < retry.notBefore) continue;
        work.push(limit(() => this.deliver(subscription, event, receiptName)));
      }
    }
    return work;
  }

  private async deliver(subscription: Subscription, event: BlobCreatedEvent | BlobDeletedEvent, receiptName: string): Promise<void> {
    const { registration } = subscription;
    const receipt = this.receipts.getBlockBlobClient(receiptName);
    let attempts = this.pending.get(receiptName)?.attempts;
    if (attempts === undefined) {
      attempts = 0;
      try {
        const existing = await receipt.getProperties();
        if (existing.metadata?.['delivered'] === 'true' || existing.metadata?.['abandoned'] === 'true') {
          this.done.add(receiptName);
          return;
        }
        attempts = Number(existing.metadata?.['attempts'] ?? 0) || 0;
        const notBefore = Number(existing.metadata?.['notbefore'] ?? 0) || 0;
        if (Date.now() < notBefore) {
          // A retry scheduled before a restart keeps its back-off.
          this.pending.set(receiptName, { attempts, notBefore });
          return;
        }
      } catch (error) {
        if (statusOf(error) !== 404) throw error;
      }
    }
    const maxAttempts = this.options.retryDelaysMs.length + 1;
    const blobPath = `${subscription.container}/${event.subject.split('/blobs/')[1] ?? ''}`;
    const started = performance.now();
    try {
      await invokeRegistration(registration, {
        inputData: [{ name: registration.triggerName, data: { json: JSON.stringify(event) } }, ...durableClientInputs(registration, this.options.endpoints())],
        triggerMetadata: { Data: { json: JSON.stringify(event.data) } },
        invocationId: randomUUID(),
      });
      this.options.log(`Executed 'Functions.${registration.name}' (Succeeded, ${event.eventType} for ${blobPath}, attempt ${attempts + 1}, Duration=${(performance.now() - started).toFixed(0)}ms)`);
      await this.writeReceipt(receipt, { delivered: 'true', attempts: String(attempts + 1), eventid: event.id });
      this.pending.delete(receiptName);
      this.done.add(receiptName);
      return;
    } catch (error) {
      attempts++;
      const message = error instanceof Error ? error.message : String(error);
      this.options.log(
        `Executed 'Functions.${registration.name}' (Failed attempt ${attempts}/${maxAttempts}, ${event.eventType} for ${blobPath}, Duration=${(performance.now() - started).toFixed(0)}ms): ${message}`,
      );
      if (attempts >= maxAttempts) {
        await this.writeReceipt(receipt, { abandoned: 'true', attempts: String(attempts), eventid: event.id });
        this.pending.delete(receiptName);
        this.done.add(receiptName);
        this.options.log(`Event Grid stand-in: gave up delivering ${event.eventType} for ${blobPath} to '${registration.name}' after ${attempts} attempts (event ${event.id}); it will not be retried.`);
        return;
      }
      const notBefore = Date.now() + this.options.retryDelaysMs[attempts - 1]!;
      await this.writeReceipt(receipt, { attempts: String(attempts), notbefore: String(notBefore), eventid: event.id });
      this.pending.set(receiptName, { attempts, notBefore });
    }
  }

  private async writeReceipt(receipt: BlockBlobClient, metadata: Record<string, string>): Promise<void> {
    await withStorageRetry('writing an Event Grid delivery receipt', () => receipt.upload('', 0, { metadata }));
  }
}
