/**
 * The job orchestrator: validate → plan tiles → fan out one tile sub-orchestration per tile
 * (each makes its COG and registers its STAC item as soon as the COG exists) → fan in:
 * finalize the collection. Deterministic: no I/O, clock, randomness or settings reads here;
 * time comes from `currentUtcDateTime` and everything else from the input and activity results.
 */
import type { OrchestrationContext, OrchestrationHandler } from 'durable-functions';
import {
  activities,
  orchestratorNames,
  type IngestInput,
  type IngestOutput,
  type IngestProgress,
  type IngestRoute,
  type JobFailure,
  type RasterInfo,
  type RegisteredItem,
  type VersionOrder,
} from '../pipeline/contracts.js';
import { failureFrom, summarizeFailures, type Failure } from '../pipeline/failure.js';
import { deriveItemId, deriveTileInstanceId } from '../pipeline/ids.js';
import { planTiles } from '../raster/tile.plan.js';
import { callActivity } from './activity.call.js';
import { runTileSteps, type IngestTileInput } from './tile.orchestrator.js';

export function chooseRoute(tileCount: number): IngestRoute {
  return tileCount === 1 ? 'single-tile' : 'fan-out';
}

/** A rejected or failed job: the message is what an administrator reads as the orchestration's output. */
export class IngestFailedError extends Error {
  constructor(source: string, reason: string) {
    super(`Cannot ingest ${source}: ${reason}`);
    this.name = 'IngestFailedError';
  }
}

export const ingestRasterOrchestrator: OrchestrationHandler = function* (context: OrchestrationContext) {
  const input = context.df.getInput<IngestInput>();
  const sourcePath = `${input.source.container}/${input.source.name}`;
  const progress: IngestProgress = {
    source: sourcePath,
    collection: input.collection,
    stage: 'validating',
    tilesDone: 0,
    tilesFailed: 0,
    tilesTotal: 0,
    itemsRegistered: 0,
    errors: [],
    errorCount: 0,
    attempt: input.attempt,
    ...(input.previousAttempt ? { previousAttempt: input.previousAttempt } : {}),
  };
  const failures: JobFailure[] = [];
  const recordFailure = (failure: JobFailure): void => {
    failures.push(failure);
    // Custom status is limited to 16 KB: keep the first failures, count them all.
    const { shown, total } = summarizeFailures(failures);
    progress.errors = shown;
    progress.errorCount = total;
  };
  /** Ends the job as Failed, with its reasons in the status. */
  const fail = (reason: string): never => {
    progress.stage = 'failed';
    context.df.setCustomStatus(progress);
    throw new IngestFailedError(sourcePath, reason);
  };
  context.df.setCustomStatus(progress);

  let info: RasterInfo;
  try {
    info = yield* callActivity(context, activities.validateRaster, { source: input.source, options: input.options });
  } catch (error) {
    const failure: Failure = failureFrom(error);
    recordFailure(failure);
    return fail(failure.message);
  }

  const windows = planTiles(info.width, info.height, input.tileSize);
  // The orchestration clock, not the wall clock: replays must produce identical items.
  const datetime = context.df.currentUtcDateTime.toISOString();
  const order: VersionOrder = { sourceModified: input.source.lastModified, jobStarted: datetime };
  progress.stage = 'creating-cogs';
  progress.tilesTotal = windows.length;
  context.df.setCustomStatus(progress);

  const tileInputs = windows.map(
    (window): IngestTileInput => ({
      source: input.source,
      outputs: input.outputs,
      itemId: deriveItemId(input.outputs.sourceKey, window),
      window,
      options: input.options,
      datetime,
      order,
    }),
  );

  const items: RegisteredItem[] = [];
  const recordItem = (item: RegisteredItem): void => {
    items.push(item);
    progress.tilesDone = items.length;
    progress.itemsRegistered = items.length;
  };
  const recordTileFailure = (itemId: string, error: unknown): void => {
    progress.tilesFailed++;
    recordFailure({ ...failureFrom(error), itemId });
  };

  if (chooseRoute(windows.length) === 'single-tile') {
    // A small raster is one tile: its steps run inline, without a sub-orchestration to start,
    // replay and wait for.
    progress.route = 'single-tile';
    context.df.setCustomStatus(progress);
    const tileInput = tileInputs[0]!;
    try {
      recordItem(yield* runTileSteps(context, tileInput, () => undefined));
    } catch (error) {
      recordTileFailure(tileInput.itemId, error);
    }
  } else {
    progress.route = 'fan-out';
    context.df.setCustomStatus(progress);
    const tileTasks = tileInputs.map((tileInput) =>
      context.df.callSubOrchestrator(orchestratorNames.ingestTile, tileInput, deriveTileInstanceId(context.df.instanceId, tileInput.window)),
    );
    // Task.any schedules every branch at once; each branch is then awaited on its own (yielding
    // an already scheduled task does not schedule it again), so the status counts tiles as they
    // register and one failed branch does not hide the outcome of the others.
    yield context.df.Task.any(tileTasks);
    for (const [index, task] of tileTasks.entries()) {
      const tileInput = tileInputs[index]!;
      try {
        const result: unknown = yield task;
        if (!isRegisteredItem(result)) throw new Error('the tile branch returned no item');
        recordItem(result);
      } catch (error) {
        recordTileFailure(tileInput.itemId, error);
      }
      context.df.setCustomStatus(progress);
    }
  }
  if (failures.length > 0) {
    const first = failures[0]!;
    const more = failures.length > 1 ? ` (and ${failures.length - 1} more failed tile${failures.length > 2 ? 's' : ''})` : '';
    return fail(`${failures.length} of ${windows.length} tiles failed; tile ${first.itemId ?? ''}: ${first.message}${more}`);
  }

  progress.stage = 'finalizing';
  context.df.setCustomStatus(progress);

  let collection;
  try {
    collection = yield* callActivity(context, activities.finalizeCollection, { outputs: input.outputs, source: input.source, items, datetime, options: input.options, order });
  } catch (error) {
    const failure = failureFrom(error);
    recordFailure(failure);
    return fail(failure.message);
  }

  progress.stage = 'completed';
  context.df.setCustomStatus(progress);

  const output: IngestOutput = {
    collection,
    tiles: items.map(({ itemId, cogUrl, itemUrl, cogBytes }) => ({ itemId, cogUrl, itemUrl, cogBytes })),
    bytesIn: input.source.size,
    bytesOut: items.reduce((sum, item) => sum + item.cogBytes, 0),
  };
  return output;
};

/** A sub-orchestration's result is JSON: check its shape before trusting it. */
function isRegisteredItem(value: unknown): value is RegisteredItem {
  return typeof value === 'object' && value !== null && 'itemId' in value && typeof value.itemId === 'string' && 'itemUrl' in value && 'cogUrl' in value;
}
