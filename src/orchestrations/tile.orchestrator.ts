/**
 * One tile's branch of a job: make the COG, then register its STAC item right away, so items
 * appear while other tiles are still being made. A branch retries its own activities; when it
 * fails for good, only this branch has failed (and `rewind` re-runs only it).
 */
import type { OrchestrationContext, OrchestrationHandler } from 'durable-functions';
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

export const ingestTileOrchestrator: OrchestrationHandler = function* (context: OrchestrationContext) {
  const input = context.df.getInput<IngestTileInput>();
  const retry = createActivityRetryOptions();

  context.df.setCustomStatus({ stage: 'creating-cog' satisfies TileStage, itemId: input.itemId });
  const cogInput: CreateTileCogInput = {
    source: input.source,
    collection: input.collection,
    itemId: input.itemId,
    window: input.window,
    options: input.options,
  };
  const tile = (yield context.df.callActivityWithRetry(activityNames.createTileCog, retry, cogInput)) as TileCog;

  context.df.setCustomStatus({ stage: 'registering' satisfies TileStage, itemId: input.itemId });
  const registerInput: RegisterTileItemInput = { collection: input.collection, source: input.source, tile, datetime: input.datetime };
  const item = (yield context.df.callActivityWithRetry(activityNames.registerTileItem, retry, registerInput)) as RegisteredItem;

  context.df.setCustomStatus({ stage: 'registered' satisfies TileStage, itemId: input.itemId });
  return item;
};
