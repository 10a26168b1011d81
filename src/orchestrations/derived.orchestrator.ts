/**
 * `deriveProducts` (issue 24, part 3): one derived collection's products of the items one job
 * published in its source collection. Each source item becomes a derived COG and item
 * (`createDerivedItem`, one at a time: a job's items are few, and derived steps then never crowd
 * out tiles for activity slots); when every one is made they are published in the derived
 * collection by the same finalize step a job runs (records, catalogs, the collection, a replaced
 * version's outputs retired), and its mosaic is asked for. Like a job, a partial result is not
 * published: the derived collection keeps the products of the source's previous version.
 *
 * It never fails: how it ended (each failure with its code, message and whether a retry helps) is
 * its output, which the job's status and output show. Deterministic: everything comes from the
 * input and activity results.
 */
import type { OrchestrationContext, Task } from 'durable-functions';
import { activities, type DerivedOutcome, type DeriveProductsInput, type RegisteredItem } from '../pipeline/contracts.js';
import { failureFrom, isPermanentFailure, type Failure } from '../pipeline/failure.js';
import { boundText } from '../pipeline/bounded.text.js';
import { deriveDerivedOutputs } from '../raster/derived.plan.js';
import { callActivity } from './activity.call.js';

/** Failures an outcome shows (the job's status is bounded); `failureCount` counts them all. */
export const derivedOutcomeBounds = { failures: 5, message: 300 } as const;

export function* deriveProductsOrchestrator(context: OrchestrationContext): Generator<Task, DerivedOutcome, unknown> {
  const input = context.df.getInput<DeriveProductsInput>();
  const { target } = input;
  const outputs = deriveDerivedOutputs(input.sourceOutputs, target);
  const failures: Array<Failure & { itemId?: string }> = [];
  const made: RegisteredItem[] = [];
  const status = (stage: 'deriving' | 'publishing' | 'completed' | 'failed') =>
    context.df.setCustomStatus({ collection: target.collection, product: target.derivation.product, stage, itemsDone: made.length, itemsFailed: failures.length, itemsTotal: input.items.length });
  status('deriving');
  for (const sourceItem of input.items) {
    try {
      made.push(
        yield* callActivity(context, activities.createDerivedItem, {
          source: input.source,
          sourceOutputs: input.sourceOutputs,
          sourceItem,
          outputs,
          derivation: target.derivation,
          datetime: input.datetime,
          order: input.order,
        }),
      );
    } catch (error) {
      failures.push({ ...failureFrom(error), itemId: sourceItem.itemId });
    }
    status('deriving');
  }
  let published = 0;
  if (failures.length === 0 && made.length > 0) {
    status('publishing');
    try {
      const collection = yield* callActivity(context, activities.finalizeCollection, {
        collection: target.collection,
        publications: [{ outputs, source: input.source, items: made, order: input.order, jobId: context.df.instanceId, derivedFrom: { collection: input.sourceOutputs.collection } }],
        datetime: input.datetime,
      });
      if (!collection.superseded) {
        published = made.length;
        try {
          yield* callActivity(context, activities.requestCollectionMosaic, { collection: target.collection });
        } catch {
          // Best effort, as for a job: the next publication rebuilds the mosaic.
        }
      }
    } catch (error) {
      failures.push(failureFrom(error));
    }
  }
  status(failures.length === 0 ? 'completed' : 'failed');
  return {
    collection: target.collection,
    product: target.derivation.product,
    instanceId: context.df.instanceId,
    status: failures.length === 0 ? 'completed' : 'failed',
    items: published,
    failures: failures.slice(0, derivedOutcomeBounds.failures).map((failure) => ({ ...failure, message: boundText(failure.message, derivedOutcomeBounds.message), retryable: !isPermanentFailure(failure) })),
    failureCount: failures.length,
  };
}

/** A sub-orchestration's result is JSON: check its shape before the job shows it. */
export function isDerivedOutcome(value: unknown): value is DerivedOutcome {
  return typeof value === 'object' && value !== null && 'collection' in value && typeof value.collection === 'string' && 'status' in value && (value.status === 'completed' || value.status === 'failed') && 'failures' in value && Array.isArray(value.failures);
}
