/**
 * One tile's branch of a job: make the COG, then register its STAC item right away, so items
 * appear while other tiles are still being made. A branch retries its own steps, reporting each
 * attempt in its status (the tile ledger reads it); when it fails for good, only this branch has
 * failed. Its failure carries a code and a message (`FailureError`), read back by the parent.
 */
import type { OrchestrationContext, OrchestrationHandler, Task } from 'durable-functions';
import {
  activities,
  type CreateTileCogInput,
  type OutputLocation,
  type RegisteredItem,
  type SourceBlob,
  type TileCog,
  type TileProgress,
  type TileRoute,
  type TileWindow,
  type VersionOrder,
  type WorkerRouting,
} from '../pipeline/contracts.js';
import { FailureError, failureFrom, isFailure } from '../pipeline/failure.js';
import type { IngestOptions } from '../pipeline/options.js';
import { isTileCog, tileResultEvent, tileResultMessageSchema, tileStartedMessageSchema } from '../queue/tile.messages.js';
import { callActivity, callActivityCountingAttempts } from './activity.call.js';
import { registersTileWithItsCog } from './versions.js';

/** Times a tile is sent to the worker before it fails with TIMEOUT (each wait is the routing's tile timeout). */
export const maxWorkerDispatches = 3;

export interface IngestTileInput {
  source: SourceBlob;
  outputs: OutputLocation;
  itemId: string;
  window: TileWindow;
  options: IngestOptions;
  datetime: string;
  order: VersionOrder;
  route: TileRoute;
  worker: WorkerRouting;
}

/**
 * The steps of one tile, shared by the tile sub-orchestration and by the parent's single-tile
 * route. `report` receives the tile's progress after every change, for the caller's own status.
 * Throws a `FailureError` when the tile fails for good.
 */
export function* runTileSteps(context: OrchestrationContext, input: IngestTileInput, report: (progress: TileProgress) => void): Generator<Task, RegisteredItem, unknown> {
  const progress: TileProgress = {
    itemId: input.itemId,
    stage: input.route === 'worker' ? 'queued' : 'creating-cog',
    route: input.route,
    attempts: 0,
    startedAt: context.df.currentUtcDateTime.toISOString(),
  };
  const onAttempt = (attempt: number): void => {
    progress.attempts = attempt;
    report(progress);
  };
  const cogInput: CreateTileCogInput = { source: input.source, outputs: input.outputs, itemId: input.itemId, window: input.window, options: input.options };
  try {
    let item: RegisteredItem | undefined;
    let tile: TileCog | undefined;
    if (input.route === 'worker') {
      tile = yield* makeCogOnWorker(context, cogInput, input.worker, progress, report);
    } else {
      try {
        if (registersTileWithItsCog(context.df.version)) {
          item = yield* callActivityCountingAttempts(context, activities.createAndRegisterTile, { ...cogInput, datetime: input.datetime, order: input.order }, onAttempt);
        } else {
          tile = yield* callActivityCountingAttempts(context, activities.createTileCog, cogInput, onAttempt);
        }
      } catch (error) {
        const failure = failureFrom(error);
        if (failure.code !== 'OUT_OF_MEMORY' && failure.code !== 'DISK_FULL') throw error;
        // Too big for a Functions instance: the worker, once, with the reason on record.
        progress.route = 'worker';
        progress.reroutedBecause = `${failure.code} on Functions: ${failure.message}`;
        tile = yield* makeCogOnWorker(context, cogInput, input.worker, progress, report);
      }
    }
    if (!item) {
      if (!tile) throw new FailureError({ code: 'INTERNAL', message: 'the tile has neither a COG nor an item' });
      progress.stage = 'registering';
      item = yield* callActivityCountingAttempts(
        context,
        activities.registerTileItem,
        { outputs: input.outputs, source: input.source, tile, datetime: input.datetime, order: input.order },
        onAttempt,
      );
    }
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

/**
 * Sends the tile to the container worker and waits for its result, raised as an external event by
 * the results queue's function. The worker first says it started (the ledger shows "running"),
 * then sends the outcome. No result within the timeout: the tile is sent again; a duplicate
 * delivery makes the same blobs, and a late result finds the tile already moved on.
 */
function* makeCogOnWorker(
  context: OrchestrationContext,
  input: CreateTileCogInput,
  routing: WorkerRouting,
  progress: TileProgress,
  report: (progress: TileProgress) => void,
): Generator<Task, TileCog, unknown> {
  const timeoutMs = routing.tileTimeoutSeconds * 1000;
  for (let dispatch = 1; dispatch <= maxWorkerDispatches; dispatch++) {
    progress.stage = 'queued';
    progress.attempts = dispatch;
    report(progress);
    const dispatchId = context.df.newGuid(`${context.df.instanceId}/${input.itemId}/${dispatch}`);
    yield* callActivity(context, activities.dispatchTile, { instanceId: context.df.instanceId, eventName: tileResultEvent, dispatchId, input });
    for (;;) {
      // Fresh tasks each time round: a task is never yielded twice (see README, durable-js #574).
      const event = context.df.waitForExternalEvent(tileResultEvent);
      const timer = context.df.createTimer(new Date(context.df.currentUtcDateTime.getTime() + timeoutMs));
      const winner: unknown = yield context.df.Task.any([event, timer]);
      if (winner !== event) break;
      timer.cancel();
      const message: unknown = event.result;
      if (tileStartedMessageSchema.safeParse(message).success) {
        progress.stage = 'running';
        report(progress);
        continue;
      }
      const result = tileResultMessageSchema.safeParse(message);
      if (!result.success) continue;
      const outcome = result.data.outcome;
      if (!outcome.ok) throw new FailureError(isFailure(outcome.failure) ? outcome.failure : { code: 'INTERNAL', message: 'the container worker failed the tile' });
      if (!isTileCog(outcome.value)) throw new FailureError({ code: 'INTERNAL', message: 'the container worker sent a result without a tile' });
      return outcome.value;
    }
  }
  throw new FailureError({ code: 'TIMEOUT', message: `the container worker sent no result for this tile in ${maxWorkerDispatches} tries of ${routing.tileTimeoutSeconds} s each` });
}

export const ingestTileOrchestrator: OrchestrationHandler = function* (context: OrchestrationContext) {
  const input = context.df.getInput<IngestTileInput>();
  return yield* runTileSteps(context, input, (progress) => context.df.setCustomStatus(progress));
};
