/**
 * The job orchestrator: validate → plan tiles → fan out one tile sub-orchestration per tile
 * (each makes its COG and registers its STAC item as soon as the COG exists) → fan in:
 * finalize the collection. Deterministic: no I/O, clock, randomness or settings reads here;
 * time comes from `currentUtcDateTime` and everything else from the input and activity results.
 */
import type { OrchestrationContext, OrchestrationHandler } from 'durable-functions';
import {
  activityNames,
  orchestratorNames,
  type FinalizeCollectionInput,
  type FinalizedCollection,
  type IngestInput,
  type IngestOutput,
  type IngestProgress,
  type IngestRoute,
  type RegisteredItem,
  type ValidateRasterInput,
  type ValidationResult,
} from '../pipeline/contracts.js';
import { deriveItemId, deriveTileInstanceId } from '../pipeline/ids.js';
import { planTiles } from '../raster/tile.plan.js';
import { createActivityRetryOptions } from './retry.policy.js';
import { runTileSteps, type IngestTileInput } from './tile.orchestrator.js';

/** How many tile failures the status and error message spell out. */
const maxReportedFailures = 5;

export function chooseRoute(tileCount: number): IngestRoute {
  return tileCount === 1 ? 'single-tile' : 'fan-out';
}

/** A rejected or failed job: the message is what a person reads in the job's output. */
export class IngestRejectedError extends Error {
  constructor(source: string, reason: string) {
    super(`Cannot ingest ${source}: ${reason}`);
    this.name = 'IngestRejectedError';
  }
}

export const ingestRasterOrchestrator: OrchestrationHandler = function* (context: OrchestrationContext) {
  const input = context.df.getInput<IngestInput>();
  const sourcePath = `${input.source.container}/${input.source.name}`;
  const retry = createActivityRetryOptions();
  const progress: IngestProgress = {
    source: sourcePath,
    collection: input.collection,
    stage: 'validating',
    tilesDone: 0,
    tilesTotal: 0,
    itemsRegistered: 0,
    errors: [],
  };
  context.df.setCustomStatus(progress);

  const validateInput: ValidateRasterInput = { source: input.source, options: input.options };
  const verdict = (yield context.df.callActivityWithRetry(activityNames.validateRaster, retry, validateInput)) as ValidationResult;
  if (!verdict.accepted) {
    context.df.setCustomStatus({ ...progress, stage: 'failed', errors: [verdict.reason] } satisfies IngestProgress);
    throw new IngestRejectedError(sourcePath, verdict.reason);
  }

  const windows = planTiles(verdict.info.width, verdict.info.height, input.tileSize);
  // The orchestration clock, not the wall clock: replays must produce identical items.
  const datetime = context.df.currentUtcDateTime.toISOString();
  progress.stage = 'creating-cogs';
  progress.tilesTotal = windows.length;
  context.df.setCustomStatus(progress);

  const tileInputs = windows.map(
    (window): IngestTileInput => ({
      source: input.source,
      collection: input.collection,
      itemId: deriveItemId(input.source.name, window),
      window,
      options: input.options,
      datetime,
    }),
  );

  const items: RegisteredItem[] = [];
  const failures: string[] = [];
  const recordFailure = (itemId: string, error: unknown): void => {
    failures.push(`tile ${itemId}: ${error instanceof Error ? error.message : String(error)}`);
    // Custom status is limited to 16 KB: keep the first few reasons, count the rest.
    progress.errors = failures.slice(0, maxReportedFailures);
  };
  const recordItem = (item: RegisteredItem): void => {
    items.push(item);
    progress.tilesDone = items.length;
    progress.itemsRegistered = items.length;
  };

  if (chooseRoute(windows.length) === 'single-tile') {
    // A small raster is one tile: its steps run inline, without a sub-orchestration to start,
    // replay and wait for.
    progress.route = 'single-tile';
    context.df.setCustomStatus(progress);
    try {
      recordItem(yield* runTileSteps(context, tileInputs[0]!, () => undefined));
    } catch (error) {
      recordFailure(tileInputs[0]!.itemId, error);
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
      try {
        recordItem((yield task) as RegisteredItem);
      } catch (error) {
        recordFailure(tileInputs[index]!.itemId, error);
      }
      context.df.setCustomStatus(progress);
    }
  }
  if (failures.length > 0) {
    const more = failures.length > maxReportedFailures ? ` (and ${failures.length - maxReportedFailures} more)` : '';
    const reason = `${failures.length} of ${windows.length} tiles failed: ${failures.slice(0, maxReportedFailures).join('; ')}${more}`;
    context.df.setCustomStatus({ ...progress, stage: 'failed', errors: [reason] } satisfies IngestProgress);
    throw new IngestRejectedError(sourcePath, reason);
  }

  progress.stage = 'finalizing';
  context.df.setCustomStatus(progress);

  const finalizeInput: FinalizeCollectionInput = { collection: input.collection, source: input.source, items, datetime, options: input.options };
  const collection = (yield context.df.callActivityWithRetry(activityNames.finalizeCollection, retry, finalizeInput)) as FinalizedCollection;

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
