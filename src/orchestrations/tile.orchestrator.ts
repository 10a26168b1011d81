/**
 * One tile's branch of a job: make the COG, then register its STAC item right away, so items
 * appear while other tiles are still being made. A branch retries its own activities; when it
 * fails for good, only this branch has failed (and `rewind` re-runs only it). Its failure carries
 * a code and a message (`FailureError`), which the parent reads back with `failureFrom`.
 */
import type { OrchestrationContext, OrchestrationHandler, Task } from 'durable-functions';
import { activities, type OutputLocation, type RegisteredItem, type SourceBlob, type TileWindow, type VersionOrder } from '../pipeline/contracts.js';
import { FailureError, failureFrom } from '../pipeline/failure.js';
import type { IngestOptions } from '../pipeline/options.js';
import { callActivity } from './activity.call.js';

export interface IngestTileInput {
  source: SourceBlob;
  outputs: OutputLocation;
  itemId: string;
  window: TileWindow;
  options: IngestOptions;
  datetime: string;
  order: VersionOrder;
}

export type TileStage = 'creating-cog' | 'registering' | 'registered';

/**
 * The steps of one tile, shared by the tile sub-orchestration and by the parent's single-tile
 * route. `reportStage` lets the caller show progress in its own custom status. Throws a
 * `FailureError` when the tile fails for good.
 */
export function* runTileSteps(
  context: OrchestrationContext,
  input: IngestTileInput,
  reportStage: (stage: TileStage) => void,
): Generator<Task, RegisteredItem, unknown> {
  try {
    reportStage('creating-cog');
    const tile = yield* callActivity(context, activities.createTileCog, {
      source: input.source,
      outputs: input.outputs,
      itemId: input.itemId,
      window: input.window,
      options: input.options,
    });
    reportStage('registering');
    const item = yield* callActivity(context, activities.registerTileItem, {
      outputs: input.outputs,
      source: input.source,
      tile,
      datetime: input.datetime,
      order: input.order,
    });
    reportStage('registered');
    return item;
  } catch (error) {
    // Whatever failed, the branch fails with a code and a message, never with raw error text.
    throw new FailureError(failureFrom(error));
  }
}

export const ingestTileOrchestrator: OrchestrationHandler = function* (context: OrchestrationContext) {
  const input = context.df.getInput<IngestTileInput>();
  return yield* runTileSteps(context, input, (stage) => context.df.setCustomStatus({ stage, itemId: input.itemId }));
};
