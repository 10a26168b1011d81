/**
 * Local copies of source blobs, shared by the activities running in one process: validation
 * downloads a source once and the tile activities that follow read the same file. Each copy is
 * pinned to the ETag the job was submitted with, so a blob replaced mid-job is never mixed in.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { RestError } from '@azure/storage-blob';
import type { SourceBlob } from '../pipeline/contracts.js';
import type { BlobStore } from '../storage/blob.store.js';

/** The source blob no longer has the ETag the job was submitted with. */
export class SourceChangedError extends Error {
  constructor(source: SourceBlob) {
    super(
      `Source ${source.container}/${source.name} was replaced after this job was submitted (expected ETag ${source.etag}); ` +
        'the new upload is a job of its own',
    );
    this.name = 'SourceChangedError';
  }
}

/** The source blob was deleted after the job was submitted. */
export class SourceMissingError extends Error {
  constructor(source: SourceBlob) {
    super(`Source ${source.container}/${source.name} no longer exists; upload it again`);
    this.name = 'SourceMissingError';
  }
}

export class SourceCache {
  private readonly pending = new Map<string, Promise<string>>();

  constructor(
    private readonly store: BlobStore,
    /** Folder the copies live in; created on first use. */
    readonly directory: string,
  ) {}

  /** The local path of `source`, downloading it once (concurrent callers share one download). */
  async localPath(source: SourceBlob): Promise<string> {
    const key = cacheKey(source);
    let download = this.pending.get(key);
    if (!download) {
      download = this.download(source, key);
      // A failed download must not poison later attempts (the orchestrator retries).
      download.catch(() => this.pending.delete(key));
      this.pending.set(key, download);
    }
    return download;
  }

  /** Deletes the local copy of `source` (after the job no longer needs it). */
  async evict(source: SourceBlob): Promise<void> {
    const key = cacheKey(source);
    this.pending.delete(key);
    await rm(this.pathFor(source, key), { force: true });
  }

  private pathFor(source: SourceBlob, key: string): string {
    // Keep the extension: some GDAL drivers pick the format (or sidecar names) by it.
    return join(this.directory, `${key}${extname(source.name).toLowerCase()}`);
  }

  private async download(source: SourceBlob, key: string): Promise<string> {
    const path = this.pathFor(source, key);
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
      if (error instanceof RestError && error.statusCode === 412) throw new SourceChangedError(source);
      if (error instanceof RestError && error.statusCode === 404) throw new SourceMissingError(source);
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
