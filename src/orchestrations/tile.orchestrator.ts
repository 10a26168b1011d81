/**
 * One tile's branch of a job: make the COG, then register its STAC item right away, so items
 * appear while other tiles are still being made. A branch retries its own steps, reporting each
 * attempt in its status (the tile ledger reads it); when it fails for good, only this branch has
 * failed. Its failure carries a code and a message (`FailureError`), read back by the parent.
 */
import type { OrchestrationContext, OrchestrationHandler, Task } from 'durable-functions';
import { activities, type OutputLocation, type RegisteredItem, type SourceBlob, type TileProgress, type TileWindow, type VersionOrder } from '../pipeline/contracts.js';
import { FailureError, failureFrom } from '../pipeline/failure.js';
import type { IngestOptions } from '../pipeline/options.js';
import { callActivityCountingAttempts } from './activity.call.js';

export interface IngestTileInput {
  source: SourceBlob;
  outputs: OutputLocation;
  itemId: string;
  window: TileWindow;
  options: IngestOptions;
  datetime: string;
  order: VersionOrder;
}

/**
 * The steps of one tile, shared by the tile sub-orchestration and by the parent's single-tile
 * route. `report` receives the tile's progress after every change, for the caller's own status.
 * Throws a `FailureError` when the tile fails for good.
 */
export function* runTileSteps(context: OrchestrationContext, input: IngestTileInput, report: (progress: TileProgress) => void): Generator<Task, RegisteredItem, unknown> {
  const progress: TileProgress = { itemId: input.itemId, stage: 'creating-cog', attempts: 0, startedAt: context.df.currentUtcDateTime.toISOString() };
  const onAttempt = (attempt: number): void => {
    progress.attempts = attempt;
    report(progress);
  };
  try {
    const tile = yield* callActivityCountingAttempts(
      context,
      activities.createTileCog,
      { source: input.source, outputs: input.outputs, itemId: input.itemId, window: input.window, options: input.options },
      onAttempt,
    );
    progress.stage = 'registering';
    const item = yield* callActivityCountingAttempts(
      context,
      activities.registerTileItem,
      { outputs: input.outputs, source: input.source, tile, datetime: input.datetime, order: input.order },
      onAttempt,
    );
    progress.stage = 'registered';
    progress.item = item;
    progress.endedAt = context.df.currentUtcDateTime.toISOString();
    report(progress);
    return item;
  } catch (error) {
    // Whatever failed, the branch fails with a code and a message, never with raw error text.
    const failure = failureFrom(error);
    progress.stage = 'failed';
    progress.error = failure;
    progress.endedAt = context.df.currentUtcDateTime.toISOString();
    report(progress);
    throw new FailureError(failure);
  }
}

export const ingestTileOrchestrator: OrchestrationHandler = function* (context: OrchestrationContext) {
  const input = context.df.getInput<IngestTileInput>();
  return yield* runTileSteps(context, input, (progress) => context.df.setCustomStatus(progress));
};
