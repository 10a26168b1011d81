import { CollectionStore } from '../collections/collection.store.js';
import { JobIndex } from '../jobs/job.index.js';
import { RetiredOutputs } from '../jobs/retired.outputs.js';
import type { QueueSender } from '../queue/message.queue.js';
import { createWorkQueue } from '../queue/queue.factory.js';
import type { BlobStore } from '../storage/blob.store.js';
import { AzureBlobStore } from '../storage/azure.blob.store.js';

let store: BlobStore | undefined;
let jobs: JobIndex | undefined;
let workQueue: QueueSender | undefined;
let retired: RetiredOutputs | undefined;
let collections: CollectionStore | undefined;

/** One BlobStore per worker process, created on first use (settings are read then, not at import). */
export function getBlobStore(): BlobStore {
  store ??= AzureBlobStore.fromEnvironment();
  return store;
}

/** One jobs index per worker process, created on first use. */
export function getJobIndex(): JobIndex {
  jobs ??= JobIndex.fromEnvironment();
  return jobs;
}

/** Replaced outputs awaiting deletion, created on first use. */
export function getRetiredOutputs(): RetiredOutputs {
  retired ??= RetiredOutputs.fromEnvironment();
  return retired;
}

/** The container worker's work queue (Service Bus in Azure, the Storage stand-in locally), opened on first use. */
export function getWorkQueueSender(): QueueSender {
  workQueue ??= createWorkQueue().sender;
  return workQueue;
}

/** Collection definitions (src/collections), opened on first use. */
export function getCollectionStore(): CollectionStore {
  collections ??= CollectionStore.fromEnvironment();
  return collections;
}
