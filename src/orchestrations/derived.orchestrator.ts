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
import { activities, isDerivedOutcome, orchestratorNames, type DerivedCollectionPlan, type DerivedOutcome, type DeriveProductsInput, type RegisteredItem, type SourcePublication } from '../pipeline/contracts.js';
import { failureFrom, isPermanentFailure, type Failure } from '../pipeline/failure.js';
import { boundText } from '../pipeline/bounded.text.js';
import { deriveDerivedOutputs, deriveProductsInstanceId } from '../raster/derived.plan.js';
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
  let downstream: DerivedOutcome[] = [];
  if (failures.length === 0 && made.length > 0) {
    status('publishing');
    const publication: SourcePublication = { outputs, source: input.source, items: made, order: input.order, jobId: context.df.instanceId, derivedFrom: { collection: input.sourceOutputs.collection } };
    let superseded = true;
    try {
      superseded = (yield* callActivity(context, activities.finalizeCollection, { collection: target.collection, publications: [publication], datetime: input.datetime })).superseded;
      if (!superseded) {
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
    // Newly published here: the collections deriving from this one make theirs, down the chain.
    const chain = [...(input.chain ?? [input.sourceOutputs.collection]), target.collection];
    if (published > 0 && chain.length <= maxDerivationDepth) {
      status('deriving');
      downstream = (yield* deriveFromPublication(context, { collection: target.collection, publication, datetime: input.datetime, chain }, () => undefined)).outcomes;
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
    ...(downstream.length > 0 ? { downstream } : {}),
  };
}

/** Collections in one derivation chain at most (the source's included): definitions refuse cycles; this bounds a chain however it came about. */
export const maxDerivationDepth = 8;


/** What a publication's derived step ended with: each derived collection's outcome, or why none ran. */
export interface DerivedStep {
  outcomes: DerivedOutcome[];
  /** The derived collections could not be read (after retries): nothing was derived. */
  lookupFailure?: Failure;
}

/**
 * The derived step of a publication (a job's, or an approved quarantined job's): reads which
 * collections derive from `collection` (their definitions as they are now, once: the activity's
 * answer is in the history) and runs one `deriveProducts` per derived collection, all at once,
 * with ids made from the caller's (`<instance id>-derived-<collection>`), each awaited on its own.
 * `onChange` hears the outcomes so far: once when they start (none yet), then as each ends. A
 * derived collection whose run fails outright is a failed outcome, never the caller's failure.
 */
export function* deriveFromPublication(
  context: OrchestrationContext,
  published: { collection: string; publication: SourcePublication; datetime: string; chain?: string[]; /** Already looked up (by finalize, 1.7 on). */ plans?: DerivedCollectionPlan[] },
  onChange: (outcomes: readonly DerivedOutcome[]) => void,
): Generator<Task, DerivedStep, unknown> {
  let plans: DerivedCollectionPlan[];
  if (published.plans) plans = published.plans;
  else {
    try {
      plans = yield* callActivity(context, activities.listDerivedCollections, { collection: published.collection });
    } catch (error) {
      return { outcomes: [], lookupFailure: failureFrom(error) };
    }
  }
  const chain = published.chain ?? [published.collection];
  // A collection already in the chain is never run again (a cycle slipped past the definitions' check).
  plans = plans.filter((plan) => !chain.includes(plan.collection));
  if (plans.length === 0) return { outcomes: [] };
  const { publication, datetime } = published;
  const items = publication.items.map(({ itemId, itemUrl, window }) => ({ itemId, itemUrl, ...(window ? { window } : {}) }));
  const runs = plans.map((target) => {
    const instanceId = deriveProductsInstanceId(context.df.instanceId, target.collection);
    const input: DeriveProductsInput = { jobId: publication.jobId ?? context.df.instanceId, source: publication.source, sourceOutputs: publication.outputs, order: publication.order, items, target, datetime, ...(published.chain ? { chain } : {}) };
    return { target, instanceId, task: context.df.callSubOrchestrator(orchestratorNames.deriveProducts, input, instanceId) };
  });
  onChange([]);
  // As the tile fan-out: Task.any schedules them all, then each is awaited on its own.
  yield context.df.Task.any(runs.map(({ task }) => task));
  const outcomes: DerivedOutcome[] = [];
  for (const { target, instanceId, task } of runs) {
    try {
      const result: unknown = yield task;
      if (isDerivedOutcome(result)) {
        // Flat for the job's view: this collection's outcome, then those of the collections deriving from it.
        const { downstream, ...own } = result;
        outcomes.push(own, ...(Array.isArray(downstream) ? downstream.filter(isDerivedOutcome) : []));
      } else outcomes.push(failedDerivation(target, instanceId, { code: 'INTERNAL', message: 'the derived step returned no outcome' }));
    } catch (error) {
      outcomes.push(failedDerivation(target, instanceId, failureFrom(error)));
    }
    onChange(outcomes);
  }
  return { outcomes };
}

function failedDerivation(target: DerivedCollectionPlan, instanceId: string, failure: Failure): DerivedOutcome {
  return { collection: target.collection, product: target.derivation.product, instanceId, status: 'failed', items: 0, failures: [{ ...failure, retryable: !isPermanentFailure(failure) }], failureCount: 1 };
}
