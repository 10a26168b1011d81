/**
 * Local copies of source blobs, shared by the activities running in one process: validation
 * downloads a source once and the tile activities that follow read the same file. Each copy is
 * pinned to the ETag the job was submitted with, so a blob replaced mid-job is never mixed in.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RestError } from '@azure/storage-blob';
import type { SourceBlob } from '../pipeline/contracts.js';
import { FailureError } from '../pipeline/failure.js';
import type { BlobStore } from '../storage/blob.store.js';

/** The source blob no longer has the ETag the job was submitted with. */
export class SourceChangedError extends FailureError {
  constructor(source: SourceBlob) {
    super({
      code: 'SOURCE_CHANGED',
      message: `it was replaced after this job was submitted (expected ETag ${source.etag}); the new upload is a job of its own`,
    });
    this.name = 'SourceChangedError';
  }
}

/** The source blob was deleted after the job was submitted. */
export class SourceMissingError extends FailureError {
  constructor() {
    super({ code: 'SOURCE_MISSING', message: 'it no longer exists; upload it again' });
    this.name = 'SourceMissingError';
  }
}

/**
 * How tile activities read a source: one shared local copy per instance (`copy`), or windows
 * straight from storage (`in-place`). Validation and the mosaic's description read in place
 * (headers and a few blocks, not the whole file), except small sources: see `inspectionReadMode`.
 */
export type SourceReadMode = 'copy' | 'in-place';

/**
 * When tiles read local copies, sources up to this size are inspected from that copy too: one
 * download replaces the two ETag checks, GDAL's HEAD and its three or more range reads (a
 * small-raster batch made 12 requests per source to read a 100 KB file), and the tiles reuse it.
 */
export const wholeDownloadMaxBytes = 4 * 1024 ** 2;

/** How validation and the mosaic's description read a source, given how its tiles do: see `wholeDownloadMaxBytes`. */
export function inspectionReadMode(source: SourceBlob, tileReadMode: SourceReadMode): SourceReadMode {
  return tileReadMode === 'copy' && source.size <= wholeDownloadMaxBytes ? 'copy' : 'in-place';
}

/** Default cap on the bytes of idle copies kept: enough for a few large sources, well below a Functions instance's disk. */
export const defaultSourceCacheBytes = 16 * 1024 ** 3;

interface CacheEntry {
  ready: Promise<string>;
  path: string;
  size: number;
  /** Activities currently reading the copy; it is never deleted under them. */
  users: number;
  lastUsed: number;
}

export class SourceCache {
  private readonly entries = new Map<string, CacheEntry>();
  private clock = 0;

  constructor(
    private readonly store: BlobStore,
    /** Folder the copies live in; created on first use. */
    readonly directory: string,
    /** Idle copies beyond this many bytes are deleted, least recently used first (jobs that failed never evict theirs). */
    private readonly maxBytes: number = defaultSourceCacheBytes,
  ) {}

  /**
   * Runs `use` with the local path of `source`, downloading it once (concurrent callers share
   * one download); the copy is not trimmed while `use` runs.
   */
  async withLocalCopy<T>(source: SourceBlob, use: (path: string) => Promise<T>): Promise<T> {
    const key = cacheKey(source);
    let entry = this.entries.get(key);
    if (!entry) {
      const path = this.pathFor(key);
      const created: CacheEntry = { path, size: source.size, users: 0, lastUsed: 0, ready: this.download(source, path) };
      // A failed download must not poison later attempts (the orchestrator retries).
      created.ready.catch(() => {
        if (this.entries.get(key) === created) this.entries.delete(key);
      });
      this.entries.set(key, created);
      entry = created;
    }
    entry.users++;
    entry.lastUsed = ++this.clock;
    try {
      const path = await entry.ready;
      await this.trim();
      return await use(path);
    } finally {
      entry.users--;
      entry.lastUsed = ++this.clock;
    }
  }

  /**
   * Runs `use` with a path GDAL can open the source by: the shared local copy (`copy`), or a
   * short-lived read-only URL of the blob itself (`in-place`: `/vsicurl/…`, nothing lands on
   * disk). In place, the blob's ETag is checked before and after, so a source replaced meanwhile
   * is reported, never mixed in. The path is a secret while it lasts: `use` must redact it.
   */
  async withGdalPath<T>(source: SourceBlob, mode: SourceReadMode, use: (path: string) => Promise<T>): Promise<T> {
    if (mode === 'copy') return this.withLocalCopy(source, use);
    const ref = { container: source.container, name: source.name };
    const checkVersion = async (): Promise<void> => {
      const current = await this.store.stat(ref);
      if (!current) throw new SourceMissingError();
      if (current.etag !== source.etag) throw new SourceChangedError(source);
    };
    await checkVersion();
    const result = await use(`/vsicurl/${await this.store.readUrl(ref, { version: source.etag })}`);
    await checkVersion();
    return result;
  }

  /** Deletes the local copy of `source` (after the job no longer needs it). */
  async evict(source: SourceBlob): Promise<void> {
    const key = cacheKey(source);
    const entry = this.entries.get(key);
    if (entry && entry.users > 0) return; // someone is still reading it; trimming will get it later
    this.entries.delete(key);
    await rm(this.pathFor(key), { force: true });
  }

  /** Bytes of the copies this cache holds. */
  get cachedBytes(): number {
    let total = 0;
    for (const entry of this.entries.values()) total += entry.size;
    return total;
  }

  private async trim(): Promise<void> {
    const idle = [...this.entries.entries()].filter(([, entry]) => entry.users === 0).sort((a, b) => a[1].lastUsed - b[1].lastUsed);
    for (const [key, entry] of idle) {
      if (this.cachedBytes <= this.maxBytes) return;
      this.entries.delete(key);
      await rm(entry.path, { force: true });
    }
  }

  private pathFor(key: string): string {
    // No part of the blob name reaches the local path: the format is decided from the bytes
    // (source.format.ts), and no sidecar can be named after it.
    return join(this.directory, `${key}.source`);
  }

  private async download(source: SourceBlob, path: string): Promise<string> {
    await mkdir(this.directory, { recursive: true });
    // A complete copy from an earlier run of this process (or another one) is reused: copies
    // only appear under their final name once fully downloaded.
    const existing = await stat(path).catch(() => undefined);
    if (existing && existing.size === source.size) return path;
    const partial = `${path}.${randomUUID()}.part`;
    try {
      await this.store.downloadToFile({ container: source.container, name: source.name }, partial, source.etag);
      await rename(partial, path);
    } catch (error) {
      await rm(partial, { force: true });
      if (error instanceof RestError && error.statusCode === 412) {
        // Azurite answers 412 (not 404) to If-Match on a deleted blob: tell the two apart.
        const current = await this.store.stat({ container: source.container, name: source.name });
        throw current ? new SourceChangedError(source) : new SourceMissingError();
      }
      if (error instanceof RestError && error.statusCode === 404) throw new SourceMissingError();
      throw error;
    }
    return path;
  }
}

function cacheKey(source: SourceBlob): string {
  return createHash('sha256').update(`${source.container}\n${source.name}\n${source.etag}`).digest('hex').slice(0, 32);
}

/** The scratch root: the configured folder or the OS temp dir. */
export function resolveScratchDir(configured: string | undefined): string {
  return configured ?? join(tmpdir(), 'raster-ingest');
}
