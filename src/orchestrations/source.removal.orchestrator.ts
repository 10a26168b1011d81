/**
 * `removeSource`: a source blob was deleted (Event Grid `BlobDeleted`), so every collection that
 * published it stops publishing it, and its outputs go: items (static catalog and STAC API),
 * tile COGs, thumbnails, VRT, source catalog and record; the collection's links and extent follow,
 * and its mosaic drops the source on its next run. One instance per deletion of a blob (its id is
 * derived from the blob and the event, src/jobs/source.removal.ts), so a redelivered event starts
 * nothing new; every step is idempotent, so a replayed or repeated removal changes nothing more.
 *
 * Nothing is removed while the blob exists: a delete event for a live blob (forged, stale, or
 * followed by a new upload) is answered `source-present`. A job of the source still running is
 * not waited for: its publication is refused once the blob is gone (collection.finalize.ts).
 * Deterministic: everything comes from the input and activity results.
 */
import type { OrchestrationContext, OrchestrationHandler, Task } from 'durable-functions';
import { activities, type RemovedSourceOutputs, type SourceOutputsInCollection, type SourceRemovalInput, type SourceRemovalOutput } from '../pipeline/contracts.js';
import { callActivity } from './activity.call.js';

/** One collection's part of the removal: its outputs of the source, then what else hangs on them. */
function* removeFromCollection(context: OrchestrationContext, input: SourceRemovalInput, outputs: SourceOutputsInCollection): Generator<Task, RemovedSourceOutputs, unknown> {
  const removed = yield* callActivity(context, activities.removeSourceOutputs, {
    source: input.source,
    outputs,
    removal: { instanceId: context.df.instanceId, eventTime: input.deletion.eventTime },
  });
  try {
    // The collection mosaic drops the source's cells on its next run (the removal marked them changed).
    yield* callActivity(context, activities.requestCollectionMosaic, { collection: outputs.collection });
  } catch {
    // Best effort, as after a job: the next publication in the collection builds the mosaic again.
  }
  return removed;
}

export const removeSourceOrchestrator: OrchestrationHandler = function* (context: OrchestrationContext) {
  const input = context.df.getInput<SourceRemovalInput>();
  const source = `${input.source.container}/${input.source.name}`;
  const found = yield* callActivity(context, activities.findSourceOutputs, input);
  if (found.outcome === 'source-present') return { source, outcome: 'source-present', collections: [] } satisfies SourceRemovalOutput;
  if (found.collections.length === 0) return { source, outcome: 'not-ingested', collections: [] } satisfies SourceRemovalOutput;
  const collections: RemovedSourceOutputs[] = [];
  for (const outputs of found.collections) collections.push(yield* removeFromCollection(context, input, outputs));
  return { source, outcome: 'removed', collections } satisfies SourceRemovalOutput;
};
