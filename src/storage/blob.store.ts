/** The app's own interface to Blob Storage, and the types it speaks. */
import { StoreError } from './store.error.js';

export { StoreError, type StoreErrorKind } from './store.error.js';

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

/** Thrown when a conditional write loses a race (kind `precondition` or `conflict`); callers re-read and retry. */
export class WriteConflictError extends StoreError {
  constructor(ref: BlobRef, kind: 'precondition' | 'conflict') {
    super(kind, `Blob ${ref.container}/${ref.name} changed while it was being updated`);
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

/**
 * The app's narrow view of Blob Storage. Activities depend on this, not on the SDK, so the
 * storage calls they make are few and visible. Two implementations keep the same contract
 * (test/storage/blob.store.contract.ts runs against both): `AzureBlobStore` (Azure, Azurite) and
 * `MemoryBlobStore` (test/support/memory.blob.store.ts, for unit tests).
 *
 * Every failure is a `StoreError` with a kind; ETags are quoted, as HTTP gives them.
 */
export interface BlobStore {
  /** The blob's URL (unsigned: readable only where the container is public, or with `readUrl`). */
  url(ref: BlobRef): string;
  /** The blob's properties, or `undefined` when it (or its container) does not exist. */
  stat(ref: BlobRef): Promise<BlobStat | undefined>;
  /** Downloads a blob to a local file: `not-found` when it is gone, `precondition` when it changed since `etag`. */
  downloadToFile(ref: BlobRef, path: string, etag?: string): Promise<void>;
  /** Uploads a local file (creating the container if needed), replacing any blob there. */
  uploadFile(ref: BlobRef, path: string, contentType: string): Promise<{ etag: string; url: string }>;
  /** Writes bytes (creating the container if needed); a failed `condition` throws `WriteConflictError`. */
  uploadBytes(ref: BlobRef, bytes: Uint8Array, contentType: string, condition?: WriteCondition): Promise<{ etag: string; url: string }>;
  /**
   * A blob's bytes as a stream, pinned to `etag` when given (`changed` once the blob was replaced),
   * so a large blob is read without holding it whole; stop reading and the download stops.
   */
  openRead(ref: BlobRef, etag?: string): Promise<{ ok: true; stream: NodeJS.ReadableStream } | { ok: false; reason: 'missing' | 'changed' }>;
  /** The whole blob, or `undefined` when it does not exist. */
  readBytes(ref: BlobRef): Promise<Buffer | undefined>;
  /** The blob parsed as JSON with its ETag, or `undefined` when it does not exist. */
  readJson<T>(ref: BlobRef): Promise<StoredJson<T> | undefined>;
  /** Writes a value as indented JSON, under `condition` as `uploadBytes`. */
  writeJson(ref: BlobRef, value: unknown, condition?: WriteCondition, contentType?: string): Promise<{ etag: string; url: string }>;
  /** `count` bytes of a blob from `offset` (to the end when `count` is omitted), within the blob; `not-found` when it does not exist. */
  readRange(ref: BlobRef, offset: number, count?: number): Promise<Buffer>;
  /**
   * A read-only URL of one blob, valid for `minutes`. It is a secret while it lasts: never log it.
   * `version` (the blob's ETag) makes each version of a blob its own URL: GDAL caches what it
   * reads by URL, and must never serve the bytes of a replaced version.
   */
  readUrl(ref: BlobRef, options?: { minutes?: number; version?: string }): Promise<string>;
  /**
   * Deletes a blob; a blob already gone is not an error. With `condition.ifMatch`, only while the
   * blob still has that ETag (else `WriteConflictError`: another writer replaced it meanwhile).
   */
  delete(ref: BlobRef, condition?: Pick<WriteCondition, 'ifMatch'>): Promise<void>;
  /**
   * One page of the blobs under a prefix, in name order, with their properties, and where the
   * next page starts (`undefined` on the last page). A missing container lists nothing.
   */
  listPage(container: string, prefix: string, continuationToken: string | undefined, pageSize: number): Promise<{ blobs: Array<BlobStat & { name: string }>; continuationToken: string | undefined }>;
  /** Names of the blobs under a prefix, in name order; a missing container lists nothing. */
  list(container: string, prefix: string): Promise<string[]>;
  /** Creates the container unless it exists. */
  ensureContainer(name: string): Promise<void>;
}
