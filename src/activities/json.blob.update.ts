/**
 * The one read–change–write loop for JSON documents that several writers update (catalogs,
 * collections, source records, items): every write is conditional on what was read, and a lost
 * race reads again.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { WriteConflictError, type BlobRef, type BlobStore } from '../storage/blob.store.js';
import { mediaTypes } from '../stac/stac.types.js';

const maxAttempts = 20;

export interface JsonBlobUpdateOptions<T = unknown> {
  /**
   * JSON without indentation: the catalog's larger documents (a collection with 256 shard
   * summaries, a shard with hundreds of sources) are a third of their indented size.
   */
  compact?: boolean;
  /**
   * For blobs usually absent (a new item, a new source's record and catalog): the first attempt
   * skips the read and creates only if nothing is there; a blob already there fails that write,
   * and the next attempt reads it as usual.
   */
  createFirst?: boolean;
  /** Default `application/json`. */
  contentType?: string;
  /**
   * The blob as the caller already read it (`null`: found absent): the first attempt starts from
   * that instead of reading again. The write is still conditional on its ETag, so a change made
   * since is never lost (the attempt fails and the next one reads).
   */
  known?: { value: T; etag: string } | null;
}

/**
 * Read, change, write-if-unchanged; on a lost race re-read and try again. `change` may read more
 * or throw (it runs again on every attempt) and returns `undefined` to leave the blob as it is.
 */
export async function updateJsonBlob<T>(
  store: BlobStore,
  ref: BlobRef,
  change: (current: T | undefined) => T | undefined | Promise<T | undefined>,
  options: JsonBlobUpdateOptions<T> = {},
): Promise<{ value: T | undefined; url: string }> {
  const contentType = options.contentType ?? mediaTypes.json;
  for (let attempt = 1; ; attempt++) {
    const current = attempt === 1 && options.known !== undefined ? (options.known ?? undefined) : options.createFirst && attempt === 1 ? undefined : await store.readJson<T>(ref);
    const value = await change(current?.value);
    if (value === undefined) return { value: current?.value, url: store.url(ref) };
    const condition = current ? { ifMatch: current.etag } : { ifNoneExists: true };
    try {
      const { url } = options.compact
        ? await store.uploadBytes(ref, Buffer.from(JSON.stringify(value)), contentType, condition)
        : await store.writeJson(ref, value, condition, contentType);
      return { value, url };
    } catch (error) {
      if (!(error instanceof WriteConflictError) || attempt >= maxAttempts) throw error;
      // Jittered back-off so racing writers spread out.
      await sleep(Math.random() * 50 * Math.min(attempt, 8));
    }
  }
}
