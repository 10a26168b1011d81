import { Readable } from 'node:stream';
import {
  BlobSASPermissions,
  generateBlobSASQueryParameters,
  RestError,
  StorageSharedKeyCredential,
  type BlobServiceClient,
  type ContainerClient,
  type UserDelegationKey,
} from '@azure/storage-blob';
import { LRUCache } from 'lru-cache';
import { createBlobServiceClient, resolveStorageConnection } from './connection.js';
import type { Environment } from '../config.js';

/** A blob addressed by container and name. */
export interface BlobRef {
  container: string;
  name: string;
}

export interface BlobStat {
  etag: string;
  size: number;
  contentType: string | undefined;
  lastModified: Date | undefined;
}

export interface StoredJson<T> {
  value: T;
  etag: string;
}

export interface WriteCondition {
  /** Write only if the blob still has this ETag (optimistic concurrency). */
  ifMatch?: string;
  /** Write only if the blob does not exist yet. */
  ifNoneExists?: boolean;
}

/** Thrown when a conditional write loses a race; callers re-read and retry. */
export class WriteConflictError extends Error {
  constructor(ref: BlobRef) {
    super(`Blob ${ref.container}/${ref.name} changed while it was being updated`);
    this.name = 'WriteConflictError';
  }
}

/** Parses `"container/path/to/blob"`; the container is the first path segment. */
export function parseBlobPath(path: string): BlobRef {
  const trimmed = path.replace(/^\/+/, '');
  const slash = trimmed.indexOf('/');
  if (slash <= 0 || slash === trimmed.length - 1) {
    throw new Error(`"${path}" is not a blob path: expected "<container>/<blob name>"`);
  }
  return { container: trimmed.slice(0, slash), name: trimmed.slice(slash + 1) };
}

function quotedEtag(etag: string): string {
  return etag === '' || etag.startsWith('"') || etag.startsWith('W/') ? etag : `"${etag}"`;
}

function isStatus(error: unknown, ...codes: number[]): boolean {
  return error instanceof RestError && error.statusCode !== undefined && codes.includes(error.statusCode);
}

/**
 * The app's narrow view of Blob Storage. Activities depend on this, not on the SDK, so the
 * storage calls they make are few and visible.
 */
export class BlobStore {
  private readonly ensuredContainers = new Map<string, Promise<void>>();
  private delegationKey: { key: Promise<UserDelegationKey>; expiresOn: Date } | undefined;
  /** A container client builds its own request pipeline (1.6 ms each in a batch's profile); the app uses a handful of containers. */
  private readonly containers = new LRUCache<string, ContainerClient>({ max: 64 });

  constructor(private readonly service: BlobServiceClient) {}

  static fromEnvironment(env: Environment = process.env): BlobStore {
    return new BlobStore(createBlobServiceClient(resolveStorageConnection(env)));
  }

  url(ref: BlobRef): string {
    return this.container(ref.container).getBlobClient(ref.name).url;
  }

  async stat(ref: BlobRef): Promise<BlobStat | undefined> {
    try {
      const props = await this.container(ref.container).getBlobClient(ref.name).getProperties();
      return {
        etag: props.etag ?? '',
        size: props.contentLength ?? 0,
        contentType: props.contentType,
        lastModified: props.lastModified,
      };
    } catch (error) {
      if (isStatus(error, 404)) return undefined;
      throw error;
    }
  }

  /** Downloads a blob to a local file, failing if it changed since `etag` was read. */
  async downloadToFile(ref: BlobRef, path: string, etag?: string): Promise<void> {
    await this.container(ref.container)
      .getBlobClient(ref.name)
      .downloadToFile(path, 0, undefined, {
        conditions: etag ? { ifMatch: etag } : undefined,
      });
  }

  async uploadFile(ref: BlobRef, path: string, contentType: string): Promise<{ etag: string; url: string }> {
    await this.ensureContainer(ref.container);
    const client = this.container(ref.container).getBlockBlobClient(ref.name);
    const response = await client.uploadFile(path, {
      blobHTTPHeaders: { blobContentType: contentType },
      blockSize: 8 * 1024 * 1024,
      concurrency: 8,
    });
    return { etag: response.etag ?? '', url: client.url };
  }

  async uploadBytes(ref: BlobRef, bytes: Uint8Array, contentType: string, condition: WriteCondition = {}): Promise<{ etag: string; url: string }> {
    await this.ensureContainer(ref.container);
    const client = this.container(ref.container).getBlockBlobClient(ref.name);
    try {
      const response = await client.upload(bytes, bytes.byteLength, {
        blobHTTPHeaders: { blobContentType: contentType },
        conditions: condition.ifMatch ? { ifMatch: condition.ifMatch } : condition.ifNoneExists ? { ifNoneMatch: '*' } : undefined,
      });
      return { etag: response.etag ?? '', url: client.url };
    } catch (error) {
      // Only a failed condition is a lost race; a lease (LeaseIdMissing, 412) or any other refusal stays what it is.
      if (error instanceof RestError && (error.code === 'ConditionNotMet' || error.code === 'BlobAlreadyExists')) throw new WriteConflictError(ref);
      throw error;
    }
  }

  /**
   * A blob's bytes as a stream, pinned to `etag` when given (`changed` once the blob was replaced),
   * so a large blob is read without holding it whole; stop reading and the download stops.
   */
  async openRead(ref: BlobRef, etag?: string): Promise<{ ok: true; stream: NodeJS.ReadableStream } | { ok: false; reason: 'missing' | 'changed' }> {
    try {
      const response = await this.container(ref.container)
        .getBlobClient(ref.name)
        .download(0, undefined, { conditions: etag ? { ifMatch: etag } : undefined });
      return { ok: true, stream: response.readableStreamBody ?? Readable.from([]) };
    } catch (error) {
      if (isStatus(error, 404)) return { ok: false, reason: 'missing' };
      if (isStatus(error, 412)) return { ok: false, reason: 'changed' };
      throw error;
    }
  }

  async readBytes(ref: BlobRef): Promise<Buffer | undefined> {
    try {
      return await this.container(ref.container).getBlobClient(ref.name).downloadToBuffer();
    } catch (error) {
      if (isStatus(error, 404)) return undefined;
      throw error;
    }
  }

  async readJson<T>(ref: BlobRef): Promise<StoredJson<T> | undefined> {
    try {
      const client = this.container(ref.container).getBlobClient(ref.name);
      const response = await client.download();
      const body = await streamToBuffer(response.readableStreamBody);
      return { value: JSON.parse(body.toString('utf8')) as T, etag: response.etag ?? '' };
    } catch (error) {
      if (isStatus(error, 404)) return undefined;
      throw error;
    }
  }

  async writeJson(ref: BlobRef, value: unknown, condition: WriteCondition = {}, contentType = 'application/json'): Promise<{ etag: string; url: string }> {
    return this.uploadBytes(ref, Buffer.from(JSON.stringify(value, null, 2)), contentType, condition);
  }

  /** `count` bytes of a blob from `offset` (to the end when `count` is omitted). */
  async readRange(ref: BlobRef, offset: number, count?: number): Promise<Buffer> {
    return this.container(ref.container).getBlobClient(ref.name).downloadToBuffer(offset, count);
  }

  /**
   * A read-only URL of one blob, valid for `minutes`: signed with the account key (connection
   * strings, Azurite) or with a user delegation key from the app's identity (Azure). It is a
   * secret while it lasts: never log it.
   *
   * `version` (the blob's ETag) is signed into the URL as its Content-Disposition, so each version
   * of a blob gets its own URL: GDAL caches what it reads by URL, and must never serve the bytes
   * of a replaced version.
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
    const key = await this.userDelegationKey(expiresOn);
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

  /** Deletes a blob (and its snapshots); a blob already gone is not an error. */
  async delete(ref: BlobRef): Promise<void> {
    await this.container(ref.container).getBlobClient(ref.name).deleteIfExists({ deleteSnapshots: 'include' });
  }

  /** One page of the blobs under a prefix, with their properties, and where the next page starts. */
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
    } catch (error) {
      if (isStatus(error, 404)) return { blobs: [], continuationToken: undefined };
      throw error;
    }
    return { blobs: [], continuationToken: undefined };
  }

  /** Names of the blobs under a prefix. */
  async list(container: string, prefix: string): Promise<string[]> {
    const names: string[] = [];
    try {
      for await (const blob of this.container(container).listBlobsFlat({ prefix })) names.push(blob.name);
    } catch (error) {
      if (isStatus(error, 404)) return [];
      throw error;
    }
    return names;
  }

  async ensureContainer(name: string): Promise<void> {
    let pending = this.ensuredContainers.get(name);
    if (!pending) {
      pending = this.container(name)
        .createIfNotExists()
        .then(() => undefined);
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

async function streamToBuffer(stream: NodeJS.ReadableStream | undefined): Promise<Buffer> {
  if (!stream) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks);
}
