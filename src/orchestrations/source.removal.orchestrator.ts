/**
 * `removeSource`: a source blob was deleted (Event Grid `BlobDeleted`), so every collection that
 * published it stops publishing it, and its outputs go: items (static catalog and STAC API),
 * tile COGs, thumbnails, VRT, source catalog and record; the collection's links and extent follow,
 * and its mosaic drops the source on its next run. One instance per deletion of a blob (its id is
 * derived from the blob and the event, src/jobs/source.removal.ts), so a redelivered event starts
 * nothing new; every step is idempotent, so a replayed or repeated removal changes nothing more.
 *
 * Nothing is removed while the blob exists: a delete event for a live blob (forged, stale, or
 * followed by a new upload) is answered `source-present`. Jobs of the source still running are
 * waited for (a while, then no longer): they publish nothing once the blob is gone
 * (collection.finalize.ts), and the tiles they made before they ended are removed with the rest.
 * Deterministic: everything comes from the input, activity results and durable timers.
 */
import type { OrchestrationContext, OrchestrationHandler, Task } from 'durable-functions';
import { activities, type RemovedSourceOutputs, type SourceOutputsInCollection, type SourceRemovalInput, type SourceRemovalOutput } from '../pipeline/contracts.js';
import { callActivity } from './activity.call.js';
import { derivesProducts } from './versions.js';

/** How long a removal waits for running jobs of the source: checks a minute apart, an hour in all. */
export const runningJobsWait = { intervalMs: 60_000, checks: 60 } as const;

/** One collection's part of the removal: its outputs of the source, then what else hangs on them. */
function* removeFromCollection(context: OrchestrationContext, input: SourceRemovalInput, outputs: SourceOutputsInCollection): Generator<Task, RemovedSourceOutputs, unknown> {
  const removed = yield* callActivity(context, activities.removeSourceOutputs, {
    source: input.source,
    outputs,
    removal: { instanceId: context.df.instanceId, eventTime: input.deletion.eventTime },
  });
  // Its derived products in the collections deriving from this one, down the chain (1.6 on; idempotent: what this removal already took is skipped).
  if (derivesProducts(context.df.version)) yield* callActivity(context, activities.removeDerivedProducts, { sourceCollection: outputs.collection, sourceKey: outputs.sourceKey });
  try {
    // The collection mosaic drops the source's cells on its next run (the removal marked them changed).
    yield* callActivity(context, activities.requestCollectionMosaic, { collection: outputs.collection });
  } catch {
    // Best effort, as after a job: the next publication in the collection builds the mosaic again.
  }
  return removed;
}

/** Waits while jobs of the source run (bounded); returns the ones seen. */
function* waitForRunningJobs(context: OrchestrationContext, input: SourceRemovalInput): Generator<Task, string[], unknown> {
  const seen = new Set<string>();
  for (let check = 1; check <= runningJobsWait.checks; check++) {
    const running = yield* callActivity(context, activities.findRunningJobs, { source: input.source });
    if (running.length === 0) break;
    for (const id of running) seen.add(id);
    yield context.df.createTimer(new Date(context.df.currentUtcDateTime.getTime() + runningJobsWait.intervalMs));
  }
  return [...seen].sort();
}

export const removeSourceOrchestrator: OrchestrationHandler = function* (context: OrchestrationContext) {
  const input = context.df.getInput<SourceRemovalInput>();
  const source = `${input.source.container}/${input.source.name}`;
  const present: SourceRemovalOutput = { source, outcome: 'source-present', collections: [] };
  const first = yield* callActivity(context, activities.findSourceOutputs, input);
  if (first.outcome === 'source-present') return present;
  const waitedFor = yield* waitForRunningJobs(context, input);
  // Looked at again after the wait: the jobs may have left tiles, or the blob been uploaded again.
  const found = waitedFor.length > 0 ? yield* callActivity(context, activities.findSourceOutputs, input) : first;
  const waited = waitedFor.length > 0 ? { waitedFor } : {};
  if (found.outcome === 'source-present') return { ...present, ...waited };
  if (found.collections.length === 0) return { source, outcome: 'not-ingested', collections: [], ...waited } satisfies SourceRemovalOutput;
  const collections: RemovedSourceOutputs[] = [];
  for (const outputs of found.collections) collections.push(yield* removeFromCollection(context, input, outputs));
  return { source, outcome: 'removed', collections, ...waited } satisfies SourceRemovalOutput;
};
