import { performance } from 'node:perf_hooks';
import pLimit from 'p-limit';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import { singleAttemptStorageOptions, statusOf, withStorageRetry } from '../storage/retry.js';
import { durableClientInputs, type HostEndpoints } from '../http/client.binding.js';
import { invokeRegistration, type Registration, type TypedData } from '../worker.shim.js';
import { PollingLoop } from './polling.loop.js';

/** Attempts before a blob is given up on, as in Azure Functions. */
export const maxBlobAttempts = 5;
export const poisonQueueName = 'webjobs-blobtrigger-poison';
export const receiptsContainerName = 'azure-webjobs-hosts';

interface BlobTrigger {
  registration: Registration;
  container: string;
  /** Literal part of the path pattern before the first {parameter}: the listing prefix. */
  prefix: string;
  pattern: RegExp;
  parameters: string[];
  blobs: BlobServiceClient;
  queues: QueueServiceClient;
}

/** Splits `uploads/{name}` into container and a pattern whose groups are the binding data. */
export function compileBlobPath(path: string): { container: string; prefix: string; pattern: RegExp; parameters: string[] } {
  const slash = path.indexOf('/');
  const container = slash < 0 ? path : path.slice(0, slash);
  const blobPattern = slash < 0 ? '{name}' : path.slice(slash + 1);
  const parameters: string[] = [];
  let regex = '';
  let last = 0;
  for (const match of blobPattern.matchAll(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g)) {
    regex += escapeRegExp(blobPattern.slice(last, match.index));
    parameters.push(match[1]!);
    regex += '(.+?)';
    last = match.index! + match[0].length;
  }
  regex += escapeRegExp(blobPattern.slice(last));
  const firstParameter = blobPattern.indexOf('{');
  return { container, prefix: firstParameter < 0 ? blobPattern : blobPattern.slice(0, firstParameter), pattern: new RegExp(`^${regex}$`, 's'), parameters };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export interface BlobTriggerOptions {
  registrations: Iterable<Registration>;
  /** Setting name → value (connection strings). */
  settings: Record<string, string>;
  /** Storage for receipts (AzureWebJobsStorage). */
  hostStorage: string;
  hostId: string;
  intervalMs: number;
  /**
   * Blobs larger than this reach the function as an empty buffer (binding data and metadata
   * intact), so a multi-gigabyte upload does not have to fit in the host's memory. 0: no limit.
   */
  maxContentBytes: number;
  /** Blobs processed at once. */
  parallelism?: number;
  endpoints: () => HostEndpoints;
  log: (line: string) => void;
}

/**
 * Polls the containers of blob-triggered functions. Each new or changed blob (new ETag) is
 * processed once: a receipt blob under `azure-webjobs-hosts` records it (and failed attempts), so
 * a restart neither re-triggers nor forgets failures; after 5 failures the blob goes to the
 * `webjobs-blobtrigger-poison` queue with the reason.
 */
export class BlobTriggerPoller {
  private readonly triggers: BlobTrigger[] = [];
  private readonly receipts: ContainerClient;
  private readonly done = new Set<string>();
  private readonly loop: PollingLoop;

  constructor(private readonly options: BlobTriggerOptions) {
    this.loop = new PollingLoop(() => this.pollOnce(), options.intervalMs, (error) => options.log(`Blob trigger polling failed (will retry): ${(error as Error).message}`));
    this.receipts = BlobServiceClient.fromConnectionString(options.hostStorage, singleAttemptStorageOptions).getContainerClient(receiptsContainerName);
    for (const registration of options.registrations) {
      if (registration.trigger.type !== 'blobTrigger') continue;
      const connectionName = String(registration.trigger['connection'] ?? 'AzureWebJobsStorage') || 'AzureWebJobsStorage';
      const connectionString = options.settings[connectionName];
      if (!connectionString) throw new Error(`Blob trigger '${registration.name}' uses connection setting '${connectionName}', which is not set.`);
      const compiled = compileBlobPath(String(registration.trigger['path']));
      this.triggers.push({
        registration,
        ...compiled,
        blobs: BlobServiceClient.fromConnectionString(connectionString, singleAttemptStorageOptions),
        queues: QueueServiceClient.fromConnectionString(connectionString, singleAttemptStorageOptions),
      });
    }
  }

  get count(): number {
    return this.options.intervalMs === 0 ? 0 : this.triggers.length;
  }

  async start(): Promise<void> {
    // An interval of 0 turns blob triggers off (e.g. for hosts that share a container with another).
    if (this.triggers.length === 0 || this.options.intervalMs === 0) return;
    await withStorageRetry('creating the receipts container', () => this.receipts.createIfNotExists());
    for await (const blob of this.receipts.listBlobsFlat({ prefix: this.receiptPrefix(), includeMetadata: true })) {
      if (blob.metadata?.['completed'] === 'true' || blob.metadata?.['poisoned'] === 'true') this.done.add(blob.name);
    }
    this.loop.start();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
  }

  private receiptPrefix(): string {
    return `blobreceipts/${this.options.hostId}/`;
  }

  private receiptName(trigger: BlobTrigger, blobName: string, etag: string): string {
    return `${this.receiptPrefix()}Host.Functions.${trigger.registration.name}/${etag}/${trigger.container}/${blobName}`;
  }

  /** One pass over every trigger's container (host.json extensions.blobs.maxDegreeOfParallelism blobs at once). */
  async pollOnce(): Promise<void> {
    const limit = pLimit(Math.max(1, this.options.parallelism ?? 1));
    const work: Array<Promise<void>> = [];
    for (const trigger of this.triggers) {
      const container = trigger.blobs.getContainerClient(trigger.container);
      if (!(await container.exists())) continue;
      for await (const blob of container.listBlobsFlat({ prefix: trigger.prefix, includeMetadata: true })) {
        if (this.loop.stopped) break;
        const match = trigger.pattern.exec(blob.name);
        if (!match) continue;
        const etag = blob.properties.etag ?? '';
        const receipt = this.receiptName(trigger, blob.name, etag);
        if (this.done.has(receipt)) continue;
        const bindingData = Object.fromEntries(trigger.parameters.map((name, index) => [name, match[index + 1]!]));
        work.push(limit(() => this.process(trigger, container, blob.name, etag, receipt, bindingData, blob.properties as unknown as Record<string, unknown>, blob.metadata ?? {})));
      }
    }
    const results = await Promise.allSettled(work);
    const failure = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failure) throw failure.reason;
  }

  private async process(
    trigger: BlobTrigger,
    container: ContainerClient,
    blobName: string,
    etag: string,
    receiptName: string,
    bindingData: Record<string, string>,
    properties: Record<string, unknown>,
    metadata: Record<string, string>,
  ): Promise<void> {
    const receipt = this.receipts.getBlockBlobClient(receiptName);
    let failures = 0;
    try {
      const existing = await receipt.getProperties();
      if (existing.metadata?.['completed'] === 'true' || existing.metadata?.['poisoned'] === 'true') {
        this.done.add(receiptName);
        return;
      }
      failures = Number(existing.metadata?.['failurecount'] ?? 0) || 0;
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
    }
    const blobClient = container.getBlobClient(blobName);
    let lastError = '';
    while (failures < maxBlobAttempts && !this.loop.stopped) {
      const started = performance.now();
      try {
        const size = Number(properties['contentLength'] ?? 0);
        const inline = this.options.maxContentBytes === 0 || size <= this.options.maxContentBytes;
        if (!inline && failures === 0) {
          this.options.log(
            `Blob ${trigger.container}/${blobName} is ${(size / 2 ** 20).toFixed(0)} MiB, over BLOB_TRIGGER_MAX_CONTENT_MB: '${trigger.registration.name}' gets an empty buffer (binding data and metadata as usual).`,
          );
        }
        const content = inline ? await blobClient.downloadToBuffer(0, undefined, { conditions: { ifMatch: etag } }) : Buffer.alloc(0);
        const triggerMetadata: Record<string, TypedData> = {
          BlobTrigger: { string: `${trigger.container}/${blobName}` },
          Uri: { string: blobClient.url },
          Properties: { json: JSON.stringify(properties) },
          Metadata: { json: JSON.stringify(metadata) },
        };
        for (const [name, value] of Object.entries(bindingData)) triggerMetadata[name] = { string: value };
        await invokeRegistration(trigger.registration, {
          inputData: [{ name: trigger.registration.triggerName, data: { bytes: content } }, ...durableClientInputs(trigger.registration, this.options.endpoints())],
          triggerMetadata,
        });
        this.options.log(`Executed 'Functions.${trigger.registration.name}' (Succeeded, blob ${trigger.container}/${blobName}, Duration=${(performance.now() - started).toFixed(0)}ms)`);
        await this.writeReceipt(receipt, { completed: 'true', failurecount: String(failures) });
        this.done.add(receiptName);
        return;
      } catch (error) {
        if (statusOf(error) === 412 || statusOf(error) === 404) return; // changed or deleted meanwhile: the next poll sees the new version
        failures++;
        lastError = (error as Error).message;
        this.options.log(
          `Executed 'Functions.${trigger.registration.name}' (Failed attempt ${failures}/${maxBlobAttempts}, blob ${trigger.container}/${blobName}, Duration=${(performance.now() - started).toFixed(0)}ms): ${lastError}`,
        );
        await this.writeReceipt(receipt, { failurecount: String(failures) });
      }
    }
    if (failures >= maxBlobAttempts) {
      const queue = trigger.queues.getQueueClient(poisonQueueName);
      await withStorageRetry('creating the poison queue', () => queue.createIfNotExists());
      const message = {
        Type: 'BlobTrigger',
        FunctionId: `Host.Functions.${trigger.registration.name}`,
        BlobType: 'BlockBlob',
        ContainerName: trigger.container,
        BlobName: blobName,
        ETag: etag,
        Reason: `Function '${trigger.registration.name}' failed ${failures} times for blob ${trigger.container}/${blobName}; last error: ${lastError}`,
      };
      // Functions encodes queue messages in base64 by default.
      await withStorageRetry('writing to the poison queue', () => queue.sendMessage(Buffer.from(JSON.stringify(message)).toString('base64')));
      await this.writeReceipt(receipt, { poisoned: 'true', failurecount: String(failures) });
      this.done.add(receiptName);
      this.options.log(`Blob ${trigger.container}/${blobName} moved to queue ${poisonQueueName} after ${failures} failures; it will not be retried.`);
    }
  }

  private async writeReceipt(receipt: ReturnType<ContainerClient['getBlockBlobClient']>, metadata: Record<string, string>): Promise<void> {
    await withStorageRetry('writing a blob receipt', () => receipt.upload('', 0, { metadata }));
  }
}
