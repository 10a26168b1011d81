import { BlobStore } from '../storage/blob.store.js';

let store: BlobStore | undefined;

/** One BlobStore per worker process, created on first use (settings are read then, not at import). */
export function getBlobStore(): BlobStore {
  store ??= BlobStore.fromEnvironment();
  return store;
}
