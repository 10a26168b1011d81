import { Readable } from 'node:stream';
import {
  BlobSASPermissions,
  generateBlobSASQueryParameters,
  StorageSharedKeyCredential,
  type BlobServiceClient,
  type ContainerClient,
  type UserDelegationKey,
} from '@azure/storage-blob';
import { LRUCache } from 'lru-cache';
import type { Environment } from '../config.js';
import { WriteConflictError, type BlobRef, type BlobStat, type BlobStore, type StoredJson, type WriteCondition } from './blob.store.js';
import { createBlobServiceClient, resolveStorageConnection } from './connection.js';
import { asStoreError, StoreError, translateStoreErrors } from './store.error.js';

function quotedEtag(etag: string): string {
  return etag === '' || etag.startsWith('"') || etag.startsWith('W/') ? etag : `"${etag}"`;
}

/**
 * `BlobStore` on Azure Blob Storage (and Azurite). The SDK's errors end here: what leaves is a
 * `StoreError`, and Azurite's quirks are handled here too.
 */
export class AzureBlobStore implements BlobStore {
  private readonly ensuredContainers = new Map<string, Promise<void>>();
  private delegationKey: { key: Promise<UserDelegationKey>; expiresOn: Date } | undefined;
  /** A container client builds its own request pipeline (1.6 ms each in a batch's profile); the app uses a handful of containers. */
  private readonly containers = new LRUCache<string, ContainerClient>({ max: 64 });

  constructor(private readonly service: BlobServiceClient) {}

  static fromEnvironment(env: Environment = process.env): AzureBlobStore {
    return new AzureBlobStore(createBlobServiceClient(resolveStorageConnection(env)));
  }

  url(ref: BlobRef): string {
    return this.container(ref.container).getBlobClient(ref.name).url;
  }

  async stat(ref: BlobRef): Promise<BlobStat | undefined> {
    return notFoundAsUndefined(async () => {
      const props = await this.container(ref.container).getBlobClient(ref.name).getProperties();
      return {
        etag: props.etag ?? '',
        size: props.contentLength ?? 0,
        contentType: props.contentType,
        lastModified: props.lastModified,
      };
    });
  }

  async downloadToFile(ref: BlobRef, path: string, etag?: string): Promise<void> {
    try {
      await translateStoreErrors(() =>
        this.container(ref.container)
          .getBlobClient(ref.name)
          .downloadToFile(path, 0, undefined, { conditions: etag ? { ifMatch: etag } : undefined }),
      );
    } catch (error) {
      // Azurite answers 412 (not 404) to If-Match on a deleted blob: tell the two apart.
      if (error instanceof StoreError && error.kind === 'precondition' && !(await this.stat(ref))) {
        throw new StoreError('not-found', `Blob ${ref.container}/${ref.name} does not exist`, error.detail, { cause: error });
      }
      throw error;
    }
  }

  async uploadFile(ref: BlobRef, path: string, contentType: string): Promise<{ etag: string; url: string }> {
    await this.ensureContainer(ref.container);
    const client = this.container(ref.container).getBlockBlobClient(ref.name);
    const response = await translateStoreErrors(() =>
      client.uploadFile(path, {
        blobHTTPHeaders: { blobContentType: contentType },
        blockSize: 8 * 1024 * 1024,
        concurrency: 8,
      }),
    );
    return { etag: response.etag ?? '', url: client.url };
  }

  async uploadBytes(ref: BlobRef, bytes: Uint8Array, contentType: string, condition: WriteCondition = {}): Promise<{ etag: string; url: string }> {
    await this.ensureContainer(ref.container);
    const client = this.container(ref.container).getBlockBlobClient(ref.name);
    try {
      const response = await translateStoreErrors(() =>
        client.upload(bytes, bytes.byteLength, {
          blobHTTPHeaders: { blobContentType: contentType },
          conditions: condition.ifMatch ? { ifMatch: condition.ifMatch } : condition.ifNoneExists ? { ifNoneMatch: '*' } : undefined,
        }),
      );
      return { etag: response.etag ?? '', url: client.url };
    } catch (error) {
      // Only a failed condition is a lost race (store.error.ts); a lease or any other refusal stays what it is.
      if (error instanceof StoreError && (error.kind === 'precondition' || error.kind === 'conflict')) throw new WriteConflictError(ref, error.kind);
      throw error;
    }
  }

  async openRead(ref: BlobRef, etag?: string): Promise<{ ok: true; stream: NodeJS.ReadableStream } | { ok: false; reason: 'missing' | 'changed' }> {
    try {
      const response = await this.container(ref.container)
        .getBlobClient(ref.name)
        .download(0, undefined, { conditions: etag ? { ifMatch: etag } : undefined });
      return { ok: true, stream: response.readableStreamBody ?? Readable.from([]) };
    } catch (caught) {
      const error = asStoreError(caught);
      if (error?.kind === 'not-found') return { ok: false, reason: 'missing' };
      // Azurite answers 412 to If-Match on a deleted blob too; either way this version is gone.
      if (error?.kind === 'precondition') return { ok: false, reason: 'changed' };
      throw error ?? caught;
    }
  }

  async readBytes(ref: BlobRef): Promise<Buffer | undefined> {
    return notFoundAsUndefined(() => this.container(ref.container).getBlobClient(ref.name).downloadToBuffer());
  }

  async readJson<T>(ref: BlobRef): Promise<StoredJson<T> | undefined> {
    return notFoundAsUndefined(async () => {
      const client = this.container(ref.container).getBlobClient(ref.name);
      const response = await client.download();
      const body = await streamToBuffer(response.readableStreamBody);
      return { value: JSON.parse(body.toString('utf8')) as T, etag: response.etag ?? '' };
    });
  }

  async writeJson(ref: BlobRef, value: unknown, condition: WriteCondition = {}, contentType = 'application/json'): Promise<{ etag: string; url: string }> {
    return this.uploadBytes(ref, Buffer.from(JSON.stringify(value, null, 2)), contentType, condition);
  }

  async readRange(ref: BlobRef, offset: number, count?: number): Promise<Buffer> {
    return translateStoreErrors(() => this.container(ref.container).getBlobClient(ref.name).downloadToBuffer(offset, count));
  }

  /**
   * Signed with the account key (connection strings, Azurite) or with a user delegation key from
   * the app's identity (Azure). `version` is signed into the URL as its Content-Disposition.
   */
  async readUrl(ref: BlobRef, options: { minutes?: number; version?: string } = {}): Promise<string> {
    const blob = this.container(ref.container).getBlobClient(ref.name);
    const startsOn = new Date(Date.now() - 5 * 60_000); // clock skew
    const expiresOn = new Date(Date.now() + (options.minutes ?? 60) * 60_000);
    const permissions = BlobSASPermissions.parse('r');
    const contentDisposition = options.version ? `inline; filename="v-${options.version.replace(/[^A-Za-z0-9]/g, '')}"` : undefined;
    if (this.service.credential instanceof StorageSharedKeyCredential) {
      return blob.generateSasUrl({ permissions, startsOn, expiresOn, ...(contentDisposition ? { contentDisposition } : {}) });
    }
    const key = await translateStoreErrors(() => this.userDelegationKey(expiresOn));
    const query = generateBlobSASQueryParameters(
      { containerName: ref.container, blobName: ref.name, permissions, startsOn, expiresOn, ...(contentDisposition ? { contentDisposition } : {}) },
      key,
      this.service.accountName,
    );
    return `${blob.url}?${query.toString()}`;
  }

  /** One user delegation key, renewed when a URL would outlive it (keys last up to 7 days; we take a day). */
  private async userDelegationKey(until: Date): Promise<UserDelegationKey> {
    if (!this.delegationKey || this.delegationKey.expiresOn.getTime() < until.getTime() + 60_000) {
      const expiresOn = new Date(Date.now() + 24 * 3600_000);
      const key: Promise<UserDelegationKey> = this.service.getUserDelegationKey(new Date(Date.now() - 5 * 60_000), expiresOn);
      key.catch(() => (this.delegationKey = undefined));
      this.delegationKey = { key, expiresOn };
    }
    return this.delegationKey.key;
  }

  /** Deletes the blob and its snapshots. */
  async delete(ref: BlobRef, condition: Pick<WriteCondition, 'ifMatch'> = {}): Promise<void> {
    try {
      await translateStoreErrors(() =>
        this.container(ref.container).getBlobClient(ref.name).deleteIfExists({ deleteSnapshots: 'include', ...(condition.ifMatch ? { conditions: { ifMatch: condition.ifMatch } } : {}) }),
      );
    } catch (error) {
      if (condition.ifMatch && error instanceof StoreError && (error.kind === 'precondition' || error.kind === 'conflict')) {
        // A condition on a blob that is gone fails too (412): gone is what was asked for.
        if (!(await this.stat(ref))) return;
        throw new WriteConflictError(ref, error.kind);
      }
      throw error;
    }
  }

  async listPage(container: string, prefix: string, continuationToken: string | undefined, pageSize: number): Promise<{ blobs: Array<BlobStat & { name: string }>; continuationToken: string | undefined }> {
    try {
      const pages = this.container(container).listBlobsFlat({ prefix }).byPage({ maxPageSize: pageSize, ...(continuationToken ? { continuationToken } : {}) });
      for await (const page of pages) {
        return {
          blobs: page.segment.blobItems.map((blob) => ({
            name: blob.name,
            // Listings give the ETag bare; every other answer gives it quoted, as HTTP does.
            etag: quotedEtag(blob.properties.etag ?? ''),
            size: blob.properties.contentLength ?? 0,
            contentType: blob.properties.contentType,
            lastModified: blob.properties.lastModified,
          })),
          continuationToken: page.continuationToken || undefined,
        };
      }
    } catch (caught) {
      const error = asStoreError(caught);
      if (error?.kind === 'not-found') return { blobs: [], continuationToken: undefined };
      throw error ?? caught;
    }
    return { blobs: [], continuationToken: undefined };
  }

  async list(container: string, prefix: string): Promise<string[]> {
    const names: string[] = [];
    const listed = await notFoundAsUndefined(async () => {
      for await (const blob of this.container(container).listBlobsFlat({ prefix })) names.push(blob.name);
      return names;
    });
    return listed ?? [];
  }

  async ensureContainer(name: string): Promise<void> {
    let pending = this.ensuredContainers.get(name);
    if (!pending) {
      pending = translateStoreErrors(() => this.container(name).createIfNotExists()).then(() => undefined);
      pending.catch(() => this.ensuredContainers.delete(name));
      this.ensuredContainers.set(name, pending);
    }
    await pending;
  }

  private container(name: string): ContainerClient {
    let client = this.containers.get(name);
    if (!client) {
      client = this.service.getContainerClient(name);
      this.containers.set(name, client);
    }
    return client;
  }
}

/** The call's answer, `undefined` when storage says the blob (or container) is not there; other failures as `StoreError`s. */
async function notFoundAsUndefined<T>(call: () => Promise<T>): Promise<T | undefined> {
  try {
    return await translateStoreErrors(call);
  } catch (error) {
    if (error instanceof StoreError && error.kind === 'not-found') return undefined;
    throw error;
  }
}

async function streamToBuffer(stream: NodeJS.ReadableStream | undefined): Promise<Buffer> {
  if (!stream) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks);
}
