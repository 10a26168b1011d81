/**
 * Local copies of source blobs, shared by the activities running in one process: validation
 * downloads a source once and the tile activities that follow read the same file. Each copy is
 * pinned to the ETag the job was submitted with, so a blob replaced mid-job is never mixed in.
 *
 * The folder is this process's own (`scratch.space.ts`): no other process reads or deletes these
 * copies. Within the process, a copy is never deleted while an activity reads it, and a job's
 * eviction leaves it to the other jobs that said they read it (several jobs on one source). A
 * copy that disappears anyway (removed by hand, by a temp cleaner) is downloaded again.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, rename, rm, stat, statfs, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { SourceReadSetting } from '../config.js';
import type { OutputLocation, SourceBlob } from '../pipeline/contracts.js';
import { FailureError } from '../pipeline/failure.js';
import { ifMatchHeader, pinnedInPlacePath } from '../raster/in.place.path.js';
import { StoreError, type BlobStore } from '../storage/blob.store.js';
import { noPause, type PausePoint } from './pause.points.js';

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

/**
 * How the tiles of `source` read it. `copy` and `in-place` are the operator's choice; `auto` (the
 * default) copies a source only when it is at most half the scratch cap (`INGEST_SCRATCH_MAX_MB`),
 * so that the copy, the COGs of the tiles in flight and the next source's copy fit beside it, and
 * reads a larger one in place: a Container Apps replica has at most 8 GiB of disk, and the worker
 * route exists for the largest sources. `SourceCache.readModeFor` also checks the disk itself.
 */
export function tileReadMode(source: Pick<SourceBlob, 'size'>, setting: SourceReadSetting, scratchMaxBytes: number): SourceReadMode {
  if (setting !== 'auto') return setting;
  return source.size <= scratchMaxBytes / 2 ? 'copy' : 'in-place';
}

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
  /** Jobs that read the copy and have not evicted it yet (`JobKey`s): one job's eviction keeps it for the others. */
  jobs: Set<string>;
  lastUsed: number;
}

/** Names the job a read is for, so that its eviction leaves the copy to other jobs (see `jobKeyOf`). */
export type JobKey = string;

/** A job's key from its output location: one per collection, source version and options. */
export function jobKeyOf(outputs: OutputLocation): JobKey {
  return `${outputs.collection}/${outputs.sourceKey}/${outputs.version}`;
}

export class SourceCache {
  private readonly entries = new Map<string, CacheEntry>();
  private clock = 0;
  private downloadCount = 0;

  constructor(
    private readonly store: BlobStore,
    /** Folder the copies live in, this process's own; created on first use. */
    readonly directory: string,
    /** Idle copies beyond this many bytes are deleted, least recently used first (jobs that failed never evict theirs); `INGEST_SCRATCH_MAX_MB`. */
    readonly maxBytes: number = defaultSourceCacheBytes,
    /** Test hook: `source-copy` is reached with the download complete and not yet under its final name. */
    private readonly pause: PausePoint = noPause,
  ) {}

  /**
   * Runs `use` with the local path of `source`, downloading it once (concurrent callers share
   * one download); the copy is not trimmed while `use` runs. A copy found missing is fetched
   * again, before `use` or when `use` failed because it vanished under it (then `use` runs once
   * more). `job` names the job reading it, for `evict`.
   */
  async withLocalCopy<T>(source: SourceBlob, use: (path: string) => Promise<T>, job?: JobKey): Promise<T> {
    const key = cacheKey(source);
    const entry = this.entryFor(key, source);
    entry.users++;
    entry.lastUsed = ++this.clock;
    if (job !== undefined) entry.jobs.add(job);
    try {
      const path = await this.present(key, entry, source);
      await this.trim();
      try {
        return await use(path);
      } catch (error) {
        if (await isFile(path)) throw error;
        return await use(await this.present(key, entry, source));
      }
    } finally {
      entry.users--;
      entry.lastUsed = ++this.clock;
    }
  }

  /**
   * How this process's tiles read `source` (`tileReadMode`), and under `auto` the disk has the
   * last word: a copy is made only when the scratch volume has room for it and as much again
   * (other processes share the volume; a full disk would fail every tile of the source). A copy
   * this process already holds is read, room or not.
   */
  async readModeFor(source: SourceBlob, setting: SourceReadSetting): Promise<SourceReadMode> {
    const mode = tileReadMode(source, setting, this.maxBytes);
    if (setting !== 'auto' || mode === 'in-place' || this.entries.has(cacheKey(source))) return mode;
    const free = await freeBytes(this.directory);
    return free === undefined || free >= 2 * source.size ? 'copy' : 'in-place';
  }

  /** Copies downloaded (or started) by this cache since it was made: tests and benches check that one download serves many tiles. */
  get downloads(): number {
    return this.downloadCount;
  }

  /**
   * Runs `use` with a path GDAL can open the source by: the shared local copy (`copy`), or a
   * short-lived read-only URL of the blob itself (`in-place`: `/vsicurl/…`, nothing lands on
   * disk). In place, the blob's ETag is checked before and after, so a source replaced meanwhile
   * is reported, never mixed in. The path is a secret while it lasts: `use` must redact it.
   */
  async withGdalPath<T>(source: SourceBlob, mode: SourceReadMode, use: (path: string) => Promise<T>, job?: JobKey): Promise<T> {
    if (mode === 'copy') return this.withLocalCopy(source, use, job);
    const ref = { container: source.container, name: source.name };
    const checkVersion = async (): Promise<void> => {
      const current = await this.store.stat(ref);
      if (!current) throw new SourceMissingError();
      if (current.etag !== source.etag) throw new SourceChangedError(source);
    };
    await checkVersion();
    // Every request GDAL makes carries If-Match with the job's ETag: a blob replaced from here on
    // answers 412 and none of its new bytes is read (in.place.path.ts).
    const pin = await this.pinFor(source);
    let result: T;
    try {
      result = await use(pinnedInPlacePath(await this.store.readUrl(ref, { version: source.etag }), pin));
    } catch (error) {
      // A read refused by the pin: the source changed (or went) under the tile; say so, not GDAL's HTTP 412.
      await checkVersion();
      throw error;
    }
    await checkVersion();
    return result;
  }

  /** The header file pinning in-place reads of `source` to its ETag, beside (not in) the copies' folder: it holds no byte of the source. */
  private async pinFor(source: SourceBlob): Promise<string> {
    const folder = `${this.directory}-pins`;
    const path = join(folder, `${cacheKey(source)}.headers`);
    if (!(await isFile(path))) {
      await mkdir(folder, { recursive: true });
      const partial = `${path}.${randomUUID()}.part`;
      await writeFile(partial, ifMatchHeader(source.etag));
      await rename(partial, path);
    }
    return path;
  }

  /**
   * The job no longer needs its copy of `source` (its tiles are done): deleted, unless an
   * activity is reading it or another job read it and has not evicted it yet. Without `job`
   * (validation refused the source), only copies no job holds are deleted.
   */
  async evict(source: SourceBlob, job?: JobKey): Promise<void> {
    const key = cacheKey(source);
    const entry = this.entries.get(key);
    if (entry) {
      if (job !== undefined) entry.jobs.delete(job);
      // Someone still reads it, or will: trimming gets it later if it grows idle.
      if (entry.users > 0 || entry.jobs.size > 0) return;
    }
    this.entries.delete(key);
    await rm(this.pathFor(key), { force: true });
  }

  /** Bytes of the copies this cache holds. */
  get cachedBytes(): number {
    let total = 0;
    for (const entry of this.entries.values()) total += entry.size;
    return total;
  }

  private entryFor(key: string, source: SourceBlob): CacheEntry {
    const existing = this.entries.get(key);
    if (existing) return existing;
    const path = this.pathFor(key);
    const created: CacheEntry = { path, size: source.size, users: 0, jobs: new Set(), lastUsed: 0, ready: this.download(source, path) };
    // A failed download must not poison later attempts (the orchestrator retries).
    created.ready.catch(() => {
      if (this.entries.get(key) === created) this.entries.delete(key);
    });
    this.entries.set(key, created);
    return created;
  }

  /** The copy's path once it exists on disk: downloaded again (once for every waiting caller) when it vanished. */
  private async present(key: string, entry: CacheEntry, source: SourceBlob): Promise<string> {
    const ready = entry.ready;
    const path = await ready;
    if (await isFile(path)) return path;
    if (entry.ready === ready) {
      entry.ready = this.download(source, entry.path);
      const again = entry.ready;
      again.catch(() => {
        if (this.entries.get(key) === entry && entry.ready === again) this.entries.delete(key);
      });
    }
    return entry.ready;
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
    this.downloadCount++;
    await mkdir(this.directory, { recursive: true });
    // A complete copy already in this folder is reused: copies only appear under their final
    // name once fully downloaded (a process killed mid-download leaves a .part, never a copy).
    const existing = await stat(path).catch(() => undefined);
    if (existing && existing.size === source.size) return path;
    const partial = `${path}.${randomUUID()}.part`;
    try {
      await this.store.downloadToFile({ container: source.container, name: source.name }, partial, source.etag);
      await this.pause('source-copy');
      await rename(partial, path);
    } catch (error) {
      await rm(partial, { force: true });
      if (error instanceof StoreError && error.kind === 'precondition') throw new SourceChangedError(source);
      if (error instanceof StoreError && error.kind === 'not-found') throw new SourceMissingError();
      throw error;
    }
    return path;
  }
}

/** Bytes free to this user on the volume of `directory` (or of its nearest existing parent); `undefined` when the system does not say. */
async function freeBytes(directory: string): Promise<number | undefined> {
  for (let folder = directory; ; folder = dirname(folder)) {
    const info = await statfs(folder).catch(() => undefined);
    if (info) return info.bavail * info.bsize;
    if (dirname(folder) === folder) return undefined;
  }
}

async function isFile(path: string): Promise<boolean> {
  const found = await stat(path).catch(() => undefined);
  return found?.isFile() ?? false;
}

function cacheKey(source: SourceBlob): string {
  return createHash('sha256').update(`${source.container}\n${source.name}\n${source.etag}`).digest('hex').slice(0, 32);
}

/** The scratch root: the configured folder or the OS temp dir. */
export function resolveScratchDir(configured: string | undefined): string {
  return configured ?? join(tmpdir(), 'raster-ingest');
}
