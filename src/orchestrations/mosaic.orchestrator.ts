/**
 * `collectionMosaic`: brings a collection's mosaic and overview up to date after jobs publish into
 * it, off their critical path (a job asks for it and completes; issue 11, section 3): the build
 * moves only the sources published since the last one (issue 22). Runs of one collection take
 * turns in a critical section on its `collectionMosaicRequests` entity, and a run builds only when
 * it claims an outstanding request, so a burst of jobs costs one or two builds, and a build never
 * runs concurrently with another of the same collection (the incremental build relies on that).
 * Pure and deterministic, like every orchestrator here.
 */
import * as df from 'durable-functions';
import type { OrchestrationContext, Task } from 'durable-functions';
import { activities, entityNames, mosaicRequestOperations, type CollectionMosaicRun, type CollectionMosaicRunOutput } from '../pipeline/contracts.js';
import { failureFrom } from '../pipeline/failure.js';
import { callActivity } from './activity.call.js';

export function collectionMosaicRequestsId(collection: string): df.EntityId {
  return new df.EntityId(entityNames.collectionMosaicRequests, collection);
}

function isRun(value: unknown): value is CollectionMosaicRun {
  return typeof value === 'object' && value !== null && 'collection' in value && typeof value.collection === 'string';
}

function isLock(value: unknown): value is { release: () => void } {
  return typeof value === 'object' && value !== null && 'release' in value && typeof value.release === 'function';
}

export function* collectionMosaicOrchestrator(context: OrchestrationContext): Generator<Task, CollectionMosaicRunOutput, unknown> {
  const input: unknown = context.df.getInput();
  if (!isRun(input)) throw new Error('collectionMosaic needs { collection }');
  const { collection } = input;
  const requests = collectionMosaicRequestsId(collection);
  const lock: unknown = yield context.df.lock([requests]);
  try {
    const claimed: unknown = yield context.df.callEntity(requests, mosaicRequestOperations.claim);
    if (claimed !== true) return { collection, outcome: 'coalesced' };
    try {
      const mosaic = yield* callActivity(context, activities.buildCollectionMosaic, { collection });
      return { collection, outcome: 'built', mosaic };
    } catch (error) {
      // The collection's items are published either way; the next job's request builds again.
      return { collection, outcome: 'failed', failure: failureFrom(error) };
    }
  } finally {
    if (isLock(lock)) lock.release();
  }
}
