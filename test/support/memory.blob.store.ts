/**
 * `BlobStore` in memory, for unit tests that need storage but no Azurite. It keeps the Azure
 * store's contract (ETags, conditional writes, name-ordered paged listings, ranges, typed
 * errors): test/support/blob.store.contract.ts runs against both, so the two cannot drift.
 */
import { randomUUID } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { StoreError, WriteConflictError, type BlobRef, type BlobStat, type BlobStore, type StoredJson, type WriteCondition } from '../../src/storage/blob.store.js';

interface StoredBlob {
  bytes: Buffer;
  etag: string;
  contentType: string | undefined;
  lastModified: Date;
}

type ReadResult = { ok: true; stream: NodeJS.ReadableStream } | { ok: false; reason: 'missing' | 'changed' };

export class MemoryBlobStore implements BlobStore {
  private readonly containers = new Map<string, Map<string, StoredBlob>>();
  private version = 0;
  /** Every call by method name, so a test can see how often storage was asked (e.g. downloads). */
  readonly calls = new Map<string, number>();

  constructor(private readonly origin = 'https://memory.blob.invalid/devstoreaccount1') {}

  url(ref: BlobRef): string {
    return `${this.origin}/${ref.container}/${ref.name.split('/').map(encodeURIComponent).join('/')}`;
  }

  async stat(ref: BlobRef): Promise<BlobStat | undefined> {
    this.count('stat');
    const blob = this.find(ref);
    return blob && statOf(blob);
  }

  async downloadToFile(ref: BlobRef, path: string, etag?: string): Promise<void> {
    this.count('downloadToFile');
    await writeFile(path, this.read(ref, etag).bytes);
  }

  async uploadFile(ref: BlobRef, path: string, contentType: string): Promise<{ etag: string; url: string }> {
    this.count('uploadFile');
    return this.put(ref, await readFile(path), contentType, {});
  }

  async uploadBytes(ref: BlobRef, bytes: Uint8Array, contentType: string, condition: WriteCondition = {}): Promise<{ etag: string; url: string }> {
    this.count('uploadBytes');
    return this.put(ref, Buffer.from(bytes), contentType, condition);
  }

  async openRead(ref: BlobRef, etag?: string): Promise<ReadResult> {
    this.count('openRead');
    const blob = this.find(ref);
    if (!blob) return { ok: false, reason: 'missing' };
    if (etag && blob.etag !== etag) return { ok: false, reason: 'changed' };
    return { ok: true, stream: Readable.from([Buffer.from(blob.bytes)]) };
  }

  async readBytes(ref: BlobRef): Promise<Buffer | undefined> {
    this.count('readBytes');
    const blob = this.find(ref);
    return blob && Buffer.from(blob.bytes);
  }

  async readJson<T>(ref: BlobRef): Promise<StoredJson<T> | undefined> {
    this.count('readJson');
    const blob = this.find(ref);
    return blob && { value: JSON.parse(blob.bytes.toString('utf8')) as T, etag: blob.etag };
  }

  async writeJson(ref: BlobRef, value: unknown, condition: WriteCondition = {}, contentType = 'application/json'): Promise<{ etag: string; url: string }> {
    this.count('writeJson');
    return this.put(ref, Buffer.from(JSON.stringify(value, null, 2)), contentType, condition);
  }

  async readRange(ref: BlobRef, offset: number, count?: number): Promise<Buffer> {
    this.count('readRange');
    const blob = this.read(ref);
    // As the Azure SDK: a range that runs past the end fails (the store's callers clamp to the size).
    if (offset > blob.bytes.length || (count !== undefined && offset + count > blob.bytes.length)) {
      throw new StoreError('refused', 'storage answered HTTP 416 (InvalidRange)', { status: 416, code: 'InvalidRange' });
    }
    return Buffer.from(blob.bytes.subarray(offset, count === undefined ? undefined : offset + count));
  }

  async readUrl(ref: BlobRef, options: { minutes?: number; version?: string } = {}): Promise<string> {
    this.count('readUrl');
    const version = options.version ? `&v=${options.version.replace(/[^A-Za-z0-9]/g, '')}` : '';
    return `${this.url(ref)}?sig=memory${version}`;
  }

  async delete(ref: BlobRef, condition: Pick<WriteCondition, 'ifMatch'> = {}): Promise<void> {
    this.count('delete');
    const blob = this.containers.get(ref.container)?.get(ref.name);
    if (blob && condition.ifMatch && blob.etag !== condition.ifMatch) throw new WriteConflictError(ref, 'precondition');
    this.containers.get(ref.container)?.delete(ref.name);
  }

  async listPage(container: string, prefix: string, continuationToken: string | undefined, pageSize: number): Promise<{ blobs: Array<BlobStat & { name: string }>; continuationToken: string | undefined }> {
    this.count('listPage');
    const names = this.names(container, prefix).filter((name) => continuationToken === undefined || name >= continuationToken);
    const page = names.slice(0, pageSize);
    const blobs = this.containers.get(container)!;
    return {
      blobs: page.map((name) => ({ name, ...statOf(blobs.get(name)!) })),
      continuationToken: names.length > pageSize ? names[pageSize] : undefined,
    };
  }

  async list(container: string, prefix: string): Promise<string[]> {
    this.count('list');
    return this.names(container, prefix);
  }

  async ensureContainer(name: string): Promise<void> {
    if (!this.containers.has(name)) this.containers.set(name, new Map());
  }

  /** How many times `method` was called. */
  callCount(method: keyof BlobStore): number {
    return this.calls.get(method) ?? 0;
  }

  private count(method: string): void {
    this.calls.set(method, (this.calls.get(method) ?? 0) + 1);
  }

  private find(ref: BlobRef): StoredBlob | undefined {
    return this.containers.get(ref.container)?.get(ref.name);
  }

  private read(ref: BlobRef, etag?: string): StoredBlob {
    const blob = this.find(ref);
    if (!blob) throw new StoreError('not-found', `Blob ${ref.container}/${ref.name} does not exist`, { status: 404, code: 'BlobNotFound' });
    if (etag && blob.etag !== etag) throw new StoreError('precondition', `Blob ${ref.container}/${ref.name} changed`, { status: 412, code: 'ConditionNotMet' });
    return blob;
  }

  private async put(ref: BlobRef, bytes: Buffer, contentType: string, condition: WriteCondition): Promise<{ etag: string; url: string }> {
    await this.ensureContainer(ref.container);
    const blobs = this.containers.get(ref.container)!;
    const current = blobs.get(ref.name);
    if (condition.ifMatch && current?.etag !== condition.ifMatch) throw new WriteConflictError(ref, 'precondition');
    if (condition.ifNoneExists && current) throw new WriteConflictError(ref, 'conflict');
    const etag = `"0x${(++this.version).toString(16).toUpperCase()}${randomUUID().slice(0, 8).toUpperCase()}"`;
    blobs.set(ref.name, { bytes, etag, contentType, lastModified: new Date() });
    return { etag, url: this.url(ref) };
  }

  private names(container: string, prefix: string): string[] {
    const blobs = this.containers.get(container);
    if (!blobs) return [];
    // Azure lists by name, byte order; code-unit order is the same for the names the app writes.
    return [...blobs.keys()].filter((name) => name.startsWith(prefix)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }
}

function statOf(blob: StoredBlob): BlobStat {
  return { etag: blob.etag, size: blob.bytes.length, contentType: blob.contentType, lastModified: blob.lastModified };
}
