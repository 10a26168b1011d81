import { JobIndex } from '../jobs/job.index.js';
import { BlobStore } from '../storage/blob.store.js';

let store: BlobStore | undefined;
let jobs: JobIndex | undefined;

/** One BlobStore per worker process, created on first use (settings are read then, not at import). */
export function getBlobStore(): BlobStore {
  store ??= BlobStore.fromEnvironment();
  return store;
}

/** One jobs index per worker process, created on first use. */
export function getJobIndex(): JobIndex {
  jobs ??= JobIndex.fromEnvironment();
  return jobs;
}
