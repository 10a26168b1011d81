/**
 * One tile's branch of a job: make the COG, then register its STAC item right away, so items
 * appear while other tiles are still being made. A branch retries its own activities; when it
 * fails for good, only this branch has failed (and `rewind` re-runs only it).
 */
import type { OrchestrationContext, OrchestrationHandler, Task } from 'durable-functions';
import {
  activityNames,
  type CreateTileCogInput,
  type RegisterTileItemInput,
  type RegisteredItem,
  type SourceBlob,
  type TileCog,
  type TileWindow,
} from '../pipeline/contracts.js';
import type { IngestOptions } from '../pipeline/options.js';
import { createActivityRetryOptions } from './retry.policy.js';

export interface IngestTileInput {
  source: SourceBlob;
  collection: string;
  itemId: string;
  window: TileWindow;
  options: IngestOptions;
  datetime: string;
}

export type TileStage = 'creating-cog' | 'registering' | 'registered';

/**
 * The steps of one tile, shared by the tile sub-orchestration and by the parent's single-tile
 * route. `reportStage` lets the caller show progress in its own custom status.
 */
export function* runTileSteps(
  context: OrchestrationContext,
  input: IngestTileInput,
  reportStage: (stage: TileStage) => void,
): Generator<Task, RegisteredItem, unknown> {
  const retry = createActivityRetryOptions();
  reportStage('creating-cog');
  const cogInput: CreateTileCogInput = {
    source: input.source,
    collection: input.collection,
    itemId: input.itemId,
    window: input.window,
    options: input.options,
  };
  const tile = (yield context.df.callActivityWithRetry(activityNames.createTileCog, retry, cogInput)) as TileCog;

  reportStage('registering');
  const registerInput: RegisterTileItemInput = { collection: input.collection, source: input.source, tile, datetime: input.datetime };
  const item = (yield context.df.callActivityWithRetry(activityNames.registerTileItem, retry, registerInput)) as RegisteredItem;
  reportStage('registered');
  return item;
}

export const ingestTileOrchestrator: OrchestrationHandler = function* (context: OrchestrationContext) {
  const input = context.df.getInput<IngestTileInput>();
  return yield* runTileSteps(context, input, (stage) => context.df.setCustomStatus({ stage, itemId: input.itemId }));
};
