/**
 * The job orchestrator: validate → plan tiles → fan out one tile sub-orchestration per tile
 * (each makes its COG and registers its STAC item as soon as the COG exists) → fan in:
 * finalize the collection → record the job's end in the jobs index. Deterministic: no I/O,
 * clock, randomness or settings reads here; time comes from `currentUtcDateTime` and everything
 * else from the input and activity results.
 */
import type { OrchestrationContext, OrchestrationHandler, Task } from 'durable-functions';
import {
  activities,
  orchestratorNames,
  type FinalizedCollection,
  type IngestInput,
  type IngestOutput,
  type IngestProgress,
  type RasterInfo,
  type TileLayout,
  type TileRoute,
  type JobFailure,
  type RegisteredItem,
  type SourcePublication,
  type VersionOrder,
} from '../pipeline/contracts.js';
import { encodeFailure, failureFrom, summarizeFailures, type Failure, type FailureCode } from '../pipeline/failure.js';
import { deriveItemId, deriveTileInstanceId } from '../pipeline/ids.js';
import { bytesPerSample } from '../raster/data.type.js';
import { planTiles } from '../raster/tile.plan.js';
import { callActivity } from './activity.call.js';
import { collectionMosaicStep } from './versions.js';
import { runTileSteps, type IngestTileInput } from './tile.orchestrator.js';

export function chooseLayout(tileCount: number): TileLayout {
  return tileCount === 1 ? 'single-tile' : 'fan-out';
}

/** The raster's size in memory: width × height × the bytes of one pixel across all bands. */
export function uncompressedBytes(info: Pick<RasterInfo, 'width' | 'height' | 'bands'>): number {
  return info.width * info.height * info.bands.reduce((sum, band) => sum + bytesPerSample(band.gdalDataType), 0);
}

function formatMegabytes(bytes: number): string {
  return `${Math.round(bytes / (1024 * 1024)).toLocaleString('en-US')} MB`;
}

/**
 * Functions or the container worker: the job's `route` option when it names one, else the worker
 * for rasters larger uncompressed than the threshold. Deterministic from the validation result.
 */
export function chooseTileRoute(info: Pick<RasterInfo, 'width' | 'height' | 'bands'>, option: 'auto' | 'functions' | 'worker' | undefined, thresholdBytes: number): { route: TileRoute; reason: string } {
  if (option === 'functions' || option === 'worker') return { route: option, reason: `the job's route option asks for ${option}` };
  const size = uncompressedBytes(info);
  return size > thresholdBytes
    ? { route: 'worker', reason: `${formatMegabytes(size)} uncompressed, over the worker threshold of ${formatMegabytes(thresholdBytes)}` }
    : { route: 'functions', reason: `${formatMegabytes(size)} uncompressed, within the worker threshold of ${formatMegabytes(thresholdBytes)}` };
}

/**
 * A rejected or failed job: the message is what an administrator reads as the orchestration's
 * output, and carries the first failure's code for whoever awaits the job (a batch).
 */
export class IngestFailedError extends Error {
  constructor(source: string, reason: string, failure?: Failure) {
    super(`Cannot ingest ${source}: ${reason}${failure ? ` ${encodeFailure(failure)}` : ''}`);
    this.name = 'IngestFailedError';
  }
}

/** The job's progress (its custom status) and every failure, kept in step. */
class JobState {
  readonly progress: IngestProgress;
  readonly failures: JobFailure[] = [];
  readonly items: RegisteredItem[] = [];

  constructor(
    private readonly context: OrchestrationContext,
    input: IngestInput,
  ) {
    this.progress = {
      source: `${input.source.container}/${input.source.name}`,
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
  }

  publish(): void {
    this.context.df.setCustomStatus(this.progress);
  }

  recordFailure(failure: JobFailure): void {
    this.failures.push(failure);
    // Custom status is limited to 16 KB: keep the first failures, count them all.
    const { shown, total } = summarizeFailures(this.failures);
    this.progress.errors = shown;
    this.progress.errorCount = total;
  }

  recordItem(item: RegisteredItem): void {
    this.items.push(item);
    this.progress.tilesDone = this.items.length;
    this.progress.itemsRegistered = this.items.length;
  }

  recordTileFailure(itemId: string, error: unknown): void {
    this.progress.tilesFailed++;
    this.recordFailure({ ...failureFrom(error), itemId });
  }

  get errorCodes(): FailureCode[] {
    return [...new Set(this.failures.map((failure) => failure.code))];
  }
}

export const ingestRasterOrchestrator: OrchestrationHandler = function* (context: OrchestrationContext) {
  const input = context.df.getInput<IngestInput>();
  const state = new JobState(context, input);
  state.publish();
  try {
    const output = yield* runJob(context, input, state);
    yield* recordJobEnd(context, input, state, 'Completed');
    return output;
  } catch (error) {
    // An unexpected fault is a failure of its own, recorded like the expected ones.
    if (!(error instanceof IngestFailedError)) state.recordFailure(failureFrom(error));
    state.progress.stage = 'failed';
    state.publish();
    yield* recordJobEnd(context, input, state, 'Failed');
    throw error instanceof IngestFailedError ? error : new IngestFailedError(state.progress.source, state.failures.at(-1)?.message ?? 'the job failed', state.failures.at(-1));
  }
};

function* runJob(context: OrchestrationContext, input: IngestInput, state: JobState): Generator<Task, IngestOutput, unknown> {
  const { progress } = state;
  const fail = (reason: string): never => {
    throw new IngestFailedError(progress.source, reason, state.failures[0]);
  };

  let info: RasterInfo;
  try {
    info = yield* callActivity(context, activities.validateRaster, { source: input.source, options: input.options, tileSize: input.tileSize });
  } catch (error) {
    const failure = failureFrom(error);
    state.recordFailure(failure);
    return fail(failure.message);
  }

  const windows = planTiles(info.width, info.height, input.tileSize);
  // The orchestration clock, not the wall clock: replays must produce identical items.
  const datetime = context.df.currentUtcDateTime.toISOString();
  const order: VersionOrder = { sourceModified: input.source.lastModified, jobStarted: datetime };
  const { route, reason } = chooseTileRoute(info, input.options.route, input.worker.thresholdBytes);
  progress.route = route;
  progress.routeReason = reason;
  progress.stage = 'creating-cogs';
  progress.tilesTotal = windows.length;
  progress.grid = { width: info.width, height: info.height, tileSize: input.tileSize };

  const tileInputs = windows.map(
    (window): IngestTileInput => ({
      source: input.source,
      outputs: input.outputs,
      itemId: deriveItemId(input.outputs.sourceKey, window),
      window,
      options: input.options,
      datetime,
      order,
      route,
      worker: input.worker,
    }),
  );
  // A retry takes the tiles the failed attempt made as they are.
  const reusable = new Map((input.reuse ?? []).map((item) => [item.itemId, item]));
  const pending: IngestTileInput[] = [];
  for (const tileInput of tileInputs) {
    const reused = reusable.get(tileInput.itemId);
    if (reused) state.recordItem(reused);
    else pending.push(tileInput);
  }
  if (reusable.size > 0) progress.tilesReused = tileInputs.length - pending.length;

  progress.layout = chooseLayout(windows.length);
  state.publish();
  if (progress.layout === 'single-tile') {
    // A small raster is one tile: its steps run inline, without a sub-orchestration to start,
    // replay and wait for. Its progress is part of the job's status.
    for (const tileInput of pending) {
      try {
        state.recordItem(
          yield* runTileSteps(context, tileInput, (tile) => {
            progress.tile = tile;
            state.publish();
          }),
        );
      } catch (error) {
        state.recordTileFailure(tileInput.itemId, error);
      }
    }
  } else {
    const tileTasks = pending.map((tileInput) =>
      context.df.callSubOrchestrator(orchestratorNames.ingestTile, tileInput, deriveTileInstanceId(context.df.instanceId, tileInput.window)),
    );
    // Task.any schedules every branch at once; each branch is then awaited on its own (yielding
    // an already scheduled task does not schedule it again), so the status counts tiles as they
    // register and one failed branch does not hide the outcome of the others.
    if (tileTasks.length > 0) yield context.df.Task.any(tileTasks);
    for (const [index, task] of tileTasks.entries()) {
      const tileInput = pending[index]!;
      try {
        const result: unknown = yield task;
        if (!isRegisteredItem(result)) throw new Error('the tile branch returned no item');
        state.recordItem(result);
      } catch (error) {
        state.recordTileFailure(tileInput.itemId, error);
      }
      state.publish();
    }
  }
  if (state.failures.length > 0) {
    const first = state.failures[0]!;
    const more = state.failures.length > 1 ? ` (and ${state.failures.length - 1} more failed tile${state.failures.length > 2 ? 's' : ''})` : '';
    return fail(`${state.failures.length} of ${windows.length} tiles failed; tile ${first.itemId ?? ''}: ${first.message}${more}`);
  }

  progress.stage = 'finalizing';
  state.publish();
  // Items in tile order, whichever finished (or was reused) first.
  const rank = new Map(tileInputs.map((tileInput, index) => [tileInput.itemId, index]));
  const items = [...state.items].sort((a, b) => (rank.get(a.itemId) ?? 0) - (rank.get(b.itemId) ?? 0));

  const publication: SourcePublication = { outputs: input.outputs, source: input.source, items, order, options: input.options };
  const tiles = items.map(({ itemId, cogUrl, itemUrl, cogBytes }) => ({ itemId, cogUrl, itemUrl, cogBytes }));
  const bytesOut = items.reduce((sum, item) => sum + item.cogBytes, 0);
  if (input.deferFinalize) {
    progress.stage = 'completed';
    state.publish();
    return { collection: null, publication, tiles, bytesIn: input.source.size, bytesOut };
  }

  let collection: FinalizedCollection;
  try {
    collection = yield* callActivity(context, activities.finalizeCollection, { collection: input.collection, publications: [publication], datetime });
  } catch (error) {
    const failure = failureFrom(error);
    state.recordFailure(failure);
    return fail(failure.message);
  }
  // The collection mosaic, now with this source (issue 11, section 3). Best effort: the job's output is published.
  const mosaicStep = collectionMosaicStep(context.df.version);
  if (!collection.superseded && mosaicStep !== 'none') {
    try {
      if (mosaicStep === 'inline') yield* callActivity(context, activities.buildCollectionMosaic, { collection: input.collection });
      else yield* callActivity(context, activities.requestCollectionMosaic, { collection: input.collection });
    } catch {
      // Not the job's failure: its items are published, and the next job or batch rebuilds the mosaic.
    }
  }

  progress.stage = 'completed';
  state.publish();
  return { collection, tiles, bytesIn: input.source.size, bytesOut };
}

/** Writes the job's end to the jobs index, so lists and bulk retry filter on its final state. */
function* recordJobEnd(context: OrchestrationContext, input: IngestInput, state: JobState, status: 'Completed' | 'Failed'): Generator<Task, void, unknown> {
  const { progress } = state;
  yield* callActivity(context, activities.recordJob, {
    key: input.index.key,
    id: context.df.instanceId,
    ...(input.batchId ? { batch: input.batchId } : {}),
    source: progress.source,
    collection: input.collection,
    createdTime: input.index.createdTime,
    attempt: input.attempt,
    previousAttempt: input.previousAttempt ?? null,
    status,
    lastUpdatedTime: context.df.currentUtcDateTime.toISOString(),
    tilesDone: progress.tilesDone,
    tilesFailed: progress.tilesFailed,
    tilesTotal: progress.tilesTotal,
    errors: progress.errors.slice(0, 5),
    errorCodes: state.errorCodes,
  });
}

/** A sub-orchestration's result is JSON: check its shape before trusting it. */
function isRegisteredItem(value: unknown): value is RegisteredItem {
  return typeof value === 'object' && value !== null && 'itemId' in value && typeof value.itemId === 'string' && 'itemUrl' in value && 'cogUrl' in value;
}
