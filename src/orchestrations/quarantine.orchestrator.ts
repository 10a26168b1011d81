/**
 * An operator's decision on a quarantined job (issue 24): `approve` publishes the outputs the job
 * kept unpublished (the same finalize step a job runs, with the job's own publication, then the
 * collection mosaic request), `reject` deletes them. Either way the job's row in the jobs index
 * says how it ended. Its instance id is the job's with `-decision`, so a job is decided once,
 * whoever asks twice. An approval of version 1.6 on also runs the derived products of the
 * collections deriving from the job's, as a job does (their outcomes are in its output). Deterministic: everything comes from the input and activity results.
 */
import type { OrchestrationContext, OrchestrationHandler, Task } from 'durable-functions';
import { jobEvent } from '../collections/cloud.events.js';
import { boundText } from '../pipeline/bounded.text.js';
import { activities, type ResolveQuarantineInput, type ResolveQuarantineOutput } from '../pipeline/contracts.js';
import { callActivity } from './activity.call.js';
import { deriveFromPublication } from './derived.orchestrator.js';
import { derivesProducts } from './versions.js';

/** The decision as a CloudEvent (best effort, as a job's end). */
function* publishDecision(context: OrchestrationContext, input: ResolveQuarantineInput, transition: 'job.approved' | 'job.rejected'): Generator<Task, void, unknown> {
  const event = jobEvent(transition, context.df.currentUtcDateTime.toISOString(), {
    jobId: input.jobId,
    collection: input.collection,
    source: boundText(`${input.publication.source.container}/${input.publication.source.name}`, 300),
    definitionVersion: input.definitionVersion ?? null,
    status: transition === 'job.approved' ? 'Completed' : 'Rejected',
  });
  try {
    yield* callActivity(context, activities.publishEvents, { events: [event], collection: input.collection, definitionVersion: input.definitionVersion ?? null });
  } catch {
    // Delivery failed after its retries; the decision stands.
  }
}

export const resolveQuarantineOrchestrator: OrchestrationHandler = function* (context: OrchestrationContext) {
  const input = context.df.getInput<ResolveQuarantineInput>();
  const datetime = context.df.currentUtcDateTime.toISOString();
  if (input.decision === 'approve') {
    const collection = yield* callActivity(context, activities.finalizeCollection, { collection: input.collection, publications: [input.publication], datetime });
    if (!collection.superseded) {
      try {
        yield* callActivity(context, activities.requestCollectionMosaic, { collection: input.collection });
      } catch {
        // Best effort, as for a job: the next job or batch rebuilds the mosaic.
      }
    }
    // Published now: the collections deriving from it make their products, as after a job (1.6 on).
    const derived = !collection.superseded && derivesProducts(context.df.version) ? yield* deriveFromPublication(context, { collection: input.collection, publication: input.publication, datetime }, () => undefined) : undefined;
    yield* callActivity(context, activities.markJobDecision, { key: input.index.key, status: 'Completed', lastUpdatedTime: context.df.currentUtcDateTime.toISOString() });
    yield* publishDecision(context, input, 'job.approved');
    return { jobId: input.jobId, decision: 'approve', collection, ...(derived && derived.outcomes.length > 0 ? { derived: derived.outcomes } : {}) } satisfies ResolveQuarantineOutput;
  }
  const { deleted } = yield* callActivity(context, activities.deleteQuarantinedOutputs, { outputs: input.publication.outputs, itemIds: input.publication.items.map((item) => item.itemId) });
  yield* callActivity(context, activities.markJobDecision, { key: input.index.key, status: 'Rejected', lastUpdatedTime: context.df.currentUtcDateTime.toISOString() });
  yield* publishDecision(context, input, 'job.rejected');
  return { jobId: input.jobId, decision: 'reject', deleted } satisfies ResolveQuarantineOutput;
};
