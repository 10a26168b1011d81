/**
 * A batch: every blob under a prefix, or the sources a manifest lists, ingested as one DAG. Chunk
 * by chunk: list a page of sources (an activity), prepare their jobs (skipping what is already
 * published with the same blob version and options), run the jobs as sub-orchestrations a window
 * at a time, then finalize the collection once for the whole chunk, and continue as new with the
 * counts, so the history stays bounded however many sources there are. Deterministic.
 */
import type { OrchestrationContext, OrchestrationHandler, Task } from 'durable-functions';
import {
  activities,
  orchestratorNames,
  type BatchCarry,
  type BatchInput,
  type BatchOutput,
  type BatchProgress,
  type BatchSelection,
  type SourcePublication,
} from '../pipeline/contracts.js';
import { batchStatusBounds, fitBatchProgress, listedFailure, listedMissing } from '../pipeline/batch.status.js';
import { boundText } from '../pipeline/bounded.text.js';
import { failureFrom } from '../pipeline/failure.js';
import { callActivity } from './activity.call.js';
import { collectionMosaicStep } from './versions.js';

/** How many failures and missing entries the batch's status spells out (custom status is capped at 16 KB; see batch.status.ts). */
export const maxListedInBatchStatus = batchStatusBounds.listed;

export class BatchFailedError extends Error {
  constructor(selection: string, reason: string) {
    super(`Batch ${boundText(selection, batchStatusBounds.selection)} failed: ${boundText(reason, batchStatusBounds.reason)}`);
    this.name = 'BatchFailedError';
  }
}

export function describeSelection(selection: BatchSelection): string {
  return selection.kind === 'prefix' ? `${selection.container}/${selection.prefix}` : `manifest ${selection.container}/${selection.name}`;
}

function isSourcePublication(value: unknown): value is SourcePublication {
  return typeof value === 'object' && value !== null && 'outputs' in value && 'items' in value && Array.isArray(value.items) && 'source' in value && 'order' in value;
}

/** A job's output as the batch needs it: the publication it left for the batch to finalize. */
function publicationOf(output: unknown): SourcePublication | undefined {
  if (typeof output !== 'object' || output === null || !('publication' in output)) return undefined;
  return isSourcePublication(output.publication) ? output.publication : undefined;
}

export const ingestBatchOrchestrator: OrchestrationHandler = function* (context: OrchestrationContext) {
  const input = context.df.getInput<BatchInput>();
  const carry: BatchCarry = input.carry ?? {
    cursor: null,
    chunk: 0,
    counts: { total: 0, done: 0, failed: 0, skipped: 0, missing: 0 },
    failures: [],
    missing: [],
    startedAt: context.df.currentUtcDateTime.toISOString(),
  };
  const selection = describeSelection(input.selection);
  const progress: BatchProgress = {
    stage: 'listing',
    collection: input.collection,
    selection,
    chunk: carry.chunk,
    counts: { ...carry.counts },
    running: 0,
    failures: [...carry.failures],
    missing: [...carry.missing],
    startedAt: carry.startedAt,
    attempt: input.attempt,
    ...(input.previousAttempt ? { previousAttempt: input.previousAttempt } : {}),
  };
  // Every upload-derived string bounded and the lists trimmed to fit Azure's 16 KB, each time.
  const publish = (): void => context.df.setCustomStatus(fitBatchProgress(progress));
  const fail = (reason: string): never => {
    progress.stage = 'failed';
    progress.reason = reason;
    publish();
    throw new BatchFailedError(selection, reason);
  };
  publish();

  const { counts } = progress;
  let page;
  try {
    page = yield* callActivity(context, activities.listBatchSources, { selection: input.selection, filters: input.filters, cursor: carry.cursor, pageSize: input.chunkSize, taken: counts.total });
  } catch (error) {
    return fail(failureFrom(error).message);
  }
  counts.total += page.sources.length;
  counts.missing += page.missing.length;
  for (const missing of page.missing) if (progress.missing.length < maxListedInBatchStatus) progress.missing.push(listedMissing(missing.entry, missing.reason));
  if (carry.chunk === 0 && counts.total === 0 && page.cursor === null && !input.allowEmpty) {
    return fail(counts.missing > 0 ? `none of its ${counts.missing} manifest entries names a blob it may read` : 'it selects no blobs (check the prefix and the filters)');
  }

  const prepared = yield* callActivity(context, activities.prepareBatchJobs, {
    batchId: context.df.instanceId,
    chunk: carry.chunk,
    sources: page.sources,
    collection: input.collection,
    options: input.options,
    tileSize: input.tileSize,
    worker: input.worker,
  });
  counts.skipped += prepared.filter((job) => job.kind === 'skip').length;
  const runs = prepared.flatMap((job) => (job.kind === 'run' ? [job] : []));
  const recordFailure = (failure: ReturnType<typeof failureFrom>, source: string, jobId: string): void => {
    counts.failed++;
    if (progress.failures.length < maxListedInBatchStatus) progress.failures.push(listedFailure(failure, source, jobId));
  };
  // A source whose job exists already (the upload trigger's, a submission's, another batch's) is
  // not started again: a failed one is this batch's failure too (its job retries it), any other is skipped.
  for (const job of prepared) {
    if (job.kind !== 'existing') continue;
    if (job.failure) recordFailure(job.failure, job.source, job.instanceId);
    else counts.skipped++;
  }

  progress.stage = 'ingesting';
  publish();
  const publications: SourcePublication[] = [];
  const settle = function* (task: Task, job: (typeof runs)[number]): Generator<Task, void, unknown> {
    try {
      const output: unknown = yield task;
      const publication = publicationOf(output);
      if (publication) publications.push(publication);
      counts.done++;
    } catch (error) {
      recordFailure(failureFrom(error), job.source, job.instanceId);
    }
  };
  // A window of jobs at a time; each is awaited on its own, so one failure hides no other outcome.
  // Not a sliding window: that needs `Task.any` again over jobs still pending, which the JS SDK
  // schedules a second time (azure-functions-durable-js #574).
  for (let start = 0; start < runs.length; start += input.window) {
    const wave = runs.slice(start, start + input.window);
    const tasks = wave.map((job) => context.df.callSubOrchestrator(orchestratorNames.ingestRaster, job.input, job.instanceId));
    progress.running = wave.length;
    publish();
    yield context.df.Task.any(tasks);
    for (const [index, task] of tasks.entries()) {
      yield* settle(task, wave[index]!);
      progress.running--;
      publish();
    }
  }

  // Once per chunk: every source of the chunk published in one collection merge.
  if (publications.length > 0) {
    progress.stage = 'finalizing';
    publish();
    try {
      const finalized = yield* callActivity(context, activities.finalizeCollection, {
        collection: input.collection,
        publications,
        datetime: context.df.currentUtcDateTime.toISOString(),
      });
      for (const [index, outcome] of finalized.sources.entries()) {
        if (outcome.outcome !== 'conflict' || !outcome.failure) continue;
        counts.done--;
        const publication = publications[index]!;
        recordFailure(outcome.failure, `${publication.source.container}/${publication.source.name}`, '');
      }
    } catch (error) {
      return fail(`the collection could not be finalized for chunk ${carry.chunk + 1}: ${failureFrom(error).message}`);
    }
  }

  if (page.cursor !== null && page.cursor !== undefined) {
    fitBatchProgress(progress);
    const next: BatchInput = {
      ...input,
      carry: { cursor: page.cursor, chunk: carry.chunk + 1, counts, failures: progress.failures, missing: progress.missing, startedAt: carry.startedAt },
    };
    context.df.continueAsNew(next);
    return undefined;
  }
  // Once per batch, every chunk in: the collection mosaic and overview over all its tiles (issue 11,
  // section 3). Best effort: every source is published already; a failure is reported, not fatal.
  // From version 1.2 the batch asks a `collectionMosaic` run for it, as jobs do, and completes.
  let mosaic: BatchOutput['mosaic'];
  const mosaicStep = collectionMosaicStep(context.df.version);
  if (counts.done > 0 && mosaicStep !== 'none') {
    progress.stage = 'finalizing';
    publish();
    try {
      if (mosaicStep === 'requested') {
        mosaic = { requested: (yield* callActivity(context, activities.requestCollectionMosaic, { collection: input.collection })).instanceId };
      } else {
        const built = yield* callActivity(context, activities.buildCollectionMosaic, { collection: input.collection });
        mosaic = { mosaics: built.mosaics.map((m) => m.url), ...(built.overview ? { overview: built.overview.url } : {}), skipped: built.skipped.length };
      }
    } catch (error) {
      mosaic = { error: boundText(failureFrom(error).message, batchStatusBounds.reason) };
    }
  }
  progress.stage = 'completed';
  publish();
  const output: BatchOutput = { collection: input.collection, counts, chunks: carry.chunk + 1, ...(mosaic ? { mosaic } : {}) };
  return output;
};
