/**
 * The job orchestrator: validate → plan tiles → fan out one tile sub-orchestration per tile
 * (each makes its COG and registers its STAC item as soon as the COG exists) → fan in:
 * finalize the collection → record the job's end in the jobs index. Deterministic: no I/O,
 * clock, randomness or settings reads here; time comes from `currentUtcDateTime` and everything
 * else from the input and activity results.
 */
import type { OrchestrationContext, OrchestrationHandler, Task } from 'durable-functions';
import {
  type DerivedCollectionPlan,
  activities,
  mosaicRequestOperations,
  orchestratorNames,
  type MosaicRunRequest,
  type FinalizedCollection,
  type IngestInput,
  type IngestOutput,
  type IngestProgress,
  type GridSlices,
  type RasterInfo,
  type RasterVariable,
  type RecordJobInput,
  type TileWindow,
  type TileLayout,
  type TileRoute,
  type JobFailure,
  type RegisteredItem,
  type SingleTileOutcome,
  type SourcePublication,
  type TileProgress,
  type VersionOrder,
  type DerivedOutcome,
} from '../pipeline/contracts.js';
import { hasGates, type GateViolation } from '../collections/quality.gates.js';
import { boundText } from '../pipeline/bounded.text.js';
import { encodeFailure, FailureError, failureFrom, isFinalFailure, summarizeFailures, type Failure, type FailureCode } from '../pipeline/failure.js';
import { deriveItemId, deriveTileInstanceId } from '../pipeline/ids.js';
import { bytesPerSample } from '../raster/data.type.js';
import { planTiles, planVariableTiles } from '../raster/tile.plan.js';
import { callActivity } from './activity.call.js';
import { asksBeforeStartingMosaicRun, collectionMosaicStep, derivesProducts, mergesSingleTile, publishesEvents, recordsEndWithFinalize } from './versions.js';
import { deriveFromPublication } from './derived.orchestrator.js';
import { collectionMosaicRequestsId } from './mosaic.orchestrator.js';
import { jobEvent } from '../collections/cloud.events.js';
import { runTileSteps, type IngestTileInput } from './tile.orchestrator.js';

/**
 * What one job's custom status may hold: Azure limits it to 16 KB of UTF-16 JSON (8,192
 * characters), and a blob name alone may be 1,024. Ten errors of 300 characters, a 300-character
 * source and the counts stay near 4,000.
 */
export const statusBounds = { source: 300, errors: 10, errorMessage: 300 } as const;

export function chooseLayout(tileCount: number): TileLayout {
  return tileCount === 1 ? 'single-tile' : 'fan-out';
}

/** The raster's size in memory: width × height × the bytes of one pixel across all bands. */
export function uncompressedBytes(info: Pick<RasterInfo, 'width' | 'height' | 'bands' | 'variables'>): number {
  if (info.variables) return info.variables.reduce((sum, variable) => sum + variable.width * variable.height * variable.steps * bytesPerSample(variable.band.gdalDataType), 0);
  return info.width * info.height * info.bands.reduce((sum, band) => sum + bytesPerSample(band.gdalDataType), 0);
}

/**
 * The job's tile windows: of the raster, or for a source of variables one per variable, step and
 * window (`planVariableTiles`), each with the CRS validation assumed for its raster.
 */
export function planJobTiles(info: Pick<RasterInfo, 'width' | 'height' | 'variables' | 'crsAssumed'>, tileSize: number): Array<{ window: TileWindow; assumedCrs: string | null }> {
  if (!info.variables) return planTiles(info.width, info.height, tileSize).map((window) => ({ window, assumedCrs: info.crsAssumed ?? null }));
  const assumed = new Map(info.variables.map((variable) => [variable.key, variable.crsAssumed ?? null]));
  return planVariableTiles(info.variables, tileSize).map((window) => ({ window, assumedCrs: assumed.get(window.slice!.variableKey) ?? null }));
}

/** The plan of a source of variables as the job's status carries it (the tile ledger plans from it): variables of one shape share an entry. */
export function summarizeGridSlices(variables: readonly RasterVariable[]): GridSlices[] {
  const slices: GridSlices[] = [];
  for (const variable of variables) {
    const last = slices.at(-1);
    // Only neighbours merge: the plan's order is the variables' order.
    if (last && last.width === variable.width && last.height === variable.height && last.steps === variable.steps && last.stepLabel === variable.stepLabel) last.keys.push(variable.key);
    else slices.push({ keys: [variable.key], width: variable.width, height: variable.height, steps: variable.steps, stepLabel: variable.stepLabel });
  }
  return slices;
}

function formatMegabytes(bytes: number): string {
  return `${Math.round(bytes / (1024 * 1024)).toLocaleString('en-US')} MB`;
}

/**
 * Functions or the container worker: the job's `route` option when it names one, else the worker
 * for rasters larger uncompressed than the threshold. Deterministic from the validation result.
 */
export function chooseTileRoute(info: Pick<RasterInfo, 'width' | 'height' | 'bands' | 'variables'>, option: 'auto' | 'functions' | 'worker' | undefined, thresholdBytes: number): { route: TileRoute; reason: string } {
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

/** A tile branch of a fan-out: counted as soon as its task has finished, in whatever order branches finish. */
interface TileBranch {
  itemId: string;
  task: Task;
}

/**
 * The job's progress (its custom status) and every failure, kept in step. Tiles done and failed,
 * items and errors are read from what has finished each time the status is read: the SDK applies
 * every history event of an episode to its task before the status is serialized, so a branch that
 * finished is counted even while the orchestrator still awaits an earlier one (tiles 1–3 done and
 * tile 0 running is 3 done, not 0). Nothing here schedules anything.
 */
class JobState {
  readonly progress: IngestProgress;
  /** Failures of the job itself and of its inline tile, in the order they happened. */
  private readonly recorded: JobFailure[] = [];
  /** Items taken from the previous attempt, or made inline. */
  private readonly settledItems: RegisteredItem[] = [];
  private inlineTilesFailed = 0;
  private branches: readonly TileBranch[] = [];
  /** The job's end is in the jobs index already (written by finalize, 1.7 on). */
  endRecorded = false;

  constructor(
    private readonly context: OrchestrationContext,
    input: IngestInput,
  ) {
    // Getters, so every read (the SDK's serialization, the job's end record) sees what has finished.
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the getters below are the status's own properties
    const state = this;
    this.progress = {
      // A blob name may be 1,024 characters: the status shows it cut, with a hash of the whole.
      source: boundText(`${input.source.container}/${input.source.name}`, statusBounds.source),
      collection: input.collection,
      stage: 'validating',
      get tilesDone() {
        return state.items.length;
      },
      get tilesFailed() {
        return state.tilesFailed;
      },
      tilesTotal: 0,
      get itemsRegistered() {
        return state.items.length;
      },
      // Custom status is limited to 16 KB of UTF-16 (8,192 characters): the first failures, counted all.
      get errors() {
        return summarizeFailures(state.failures, statusBounds.errors, statusBounds.errorMessage).shown;
      },
      get errorCount() {
        return state.failures.length;
      },
      get errorCodes() {
        return state.errorCodes;
      },
      attempt: input.attempt,
      ...(input.previousAttempt ? { previousAttempt: input.previousAttempt } : {}),
    };
  }

  publish(): void {
    this.context.df.setCustomStatus(this.progress);
  }

  /** The branches of a fan-out, once scheduled. */
  trackBranches(branches: readonly TileBranch[]): void {
    this.branches = branches;
  }

  recordFailure(failure: JobFailure): void {
    this.recorded.push(failure);
  }

  recordItem(item: RegisteredItem): void {
    this.settledItems.push(item);
  }

  recordTileFailure(itemId: string, error: unknown): void {
    this.inlineTilesFailed++;
    this.recordFailure({ ...failureFrom(error), itemId });
  }

  /** Every item registered so far: reused and inline ones, then each branch that finished with one. */
  get items(): RegisteredItem[] {
    const made = this.branches.flatMap(({ task }) => (task.isCompleted && isRegisteredItem(task.result) ? [task.result] : []));
    return [...this.settledItems, ...made];
  }

  get tilesFailed(): number {
    return this.inlineTilesFailed + this.branchFailures().length;
  }

  /** Every failure so far: failed branches in tile order, then the job's own. */
  get failures(): JobFailure[] {
    return [...this.branchFailures(), ...this.recorded];
  }

  get errorCodes(): FailureCode[] {
    return [...new Set(this.failures.map((failure) => failure.code))];
  }

  private branchFailures(): JobFailure[] {
    return this.branches.flatMap(({ itemId, task }): JobFailure[] => {
      if (task.isFaulted) return [{ ...failureFrom(task.result), itemId }];
      if (task.isCompleted && !isRegisteredItem(task.result)) return [{ code: 'INTERNAL', message: 'the tile branch returned no item', itemId }];
      return [];
    });
  }
}

export const ingestRasterOrchestrator: OrchestrationHandler = function* (context: OrchestrationContext) {
  const input = context.df.getInput<IngestInput>();
  const state = new JobState(context, input);
  state.publish();
  try {
    const output = yield* runJob(context, input, state);
    if (!state.endRecorded) yield* recordJobEnd(context, input, state, output.quarantine ? 'Quarantined' : 'Completed');
    yield* publishJobEvent(context, input, state, output.quarantine ? 'job.quarantined' : 'job.completed', output.quarantine?.violations.map((violation) => violation.rule));
    return output;
  } catch (error) {
    // An unexpected fault is a failure of its own, recorded like the expected ones.
    if (!(error instanceof IngestFailedError)) state.recordFailure(failureFrom(error));
    state.progress.stage = 'failed';
    state.publish();
    yield* recordJobEnd(context, input, state, 'Failed');
    yield* publishJobEvent(context, input, state, 'job.failed');
    throw error instanceof IngestFailedError ? error : new IngestFailedError(state.progress.source, state.failures.at(-1)?.message ?? 'the job failed', state.failures.at(-1));
  }
};

function* runJob(context: OrchestrationContext, input: IngestInput, state: JobState): Generator<Task, IngestOutput, unknown> {
  const { progress } = state;
  const fail = (reason: string): never => {
    throw new IngestFailedError(progress.source, reason, state.failures[0]);
  };

  // 1.7 on: a source of one tile on Functions gets it made with its validation (one activity);
  // its item's time is then the orchestration clock before validation, not after.
  const merged = mergesSingleTile(context.df.version);
  const validatedAt = merged ? context.df.currentUtcDateTime.toISOString() : undefined;
  let info: RasterInfo;
  let madeWithValidation: SingleTileOutcome | undefined;
  try {
    if (validatedAt !== undefined) {
      const validated = yield* callActivity(context, activities.validateAndCreateTile, {
        source: input.source,
        options: input.options,
        tileSize: input.tileSize,
        // A retry that reuses tiles of its failed attempt takes them as they are (below).
        ...((input.reuse ?? []).length === 0
          ? {
              singleTile: {
                outputs: input.outputs,
                datetime: validatedAt,
                order: { sourceModified: input.source.lastModified, jobStarted: validatedAt },
                worker: { thresholdBytes: input.worker.thresholdBytes },
                ...(input.definition && hasGates(input.definition.gates) ? { gates: input.definition.gates } : {}),
              },
            }
          : {}),
      });
      info = validated.info;
      madeWithValidation = validated.tile;
    } else {
      info = yield* callActivity(context, activities.validateRaster, { source: input.source, options: input.options, tileSize: input.tileSize });
    }
  } catch (error) {
    const failure = failureFrom(error);
    state.recordFailure(failure);
    return fail(failure.message);
  }

  const planned = planJobTiles(info, input.tileSize);
  const windows = planned.map(({ window }) => window);
  // The orchestration clock, not the wall clock: replays must produce identical items.
  const datetime = validatedAt ?? context.df.currentUtcDateTime.toISOString();
  const order: VersionOrder = { sourceModified: input.source.lastModified, jobStarted: datetime };
  const { route, reason } = chooseTileRoute(info, input.options.route, input.worker.thresholdBytes);
  progress.route = route;
  progress.routeReason = reason;
  progress.stage = 'creating-cogs';
  progress.tilesTotal = windows.length;
  progress.grid = { width: info.width, height: info.height, tileSize: input.tileSize, ...(info.variables ? { slices: summarizeGridSlices(info.variables) } : {}) };

  const tileInputs = planned.map(
    ({ window, assumedCrs }): IngestTileInput => ({
      source: input.source,
      outputs: input.outputs,
      itemId: deriveItemId(input.outputs.sourceKey, window),
      window,
      options: input.options,
      assumedCrs,
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
  // Gates measured on the tile made with validation (1.7 on); undefined: checked by their own activity.
  let gateViolations: GateViolation[] | undefined;
  if (progress.layout === 'single-tile') {
    // A small raster is one tile: its steps run inline, without a sub-orchestration to start,
    // replay and wait for. Its progress is part of the job's status.
    for (const tileInput of pending) {
      const report = (tile: TileProgress): void => {
        progress.tile = tile;
        state.publish();
      };
      const made = madeWithValidation && route === 'functions' ? takeTileMadeWithValidation(madeWithValidation, tileInput, context.df.currentUtcDateTime.toISOString()) : undefined;
      if (made?.item) {
        report(made.progress);
        state.recordItem(made.item);
        gateViolations = made.violations;
        continue;
      }
      if (made?.failedForGood) {
        report(made.progress);
        state.recordTileFailure(tileInput.itemId, new FailureError(made.failedForGood));
        continue;
      }
      try {
        state.recordItem(yield* runTileSteps(context, tileInput, report, made?.rerouteBecause));
      } catch (error) {
        state.recordTileFailure(tileInput.itemId, error);
      }
    }
  } else {
    const tileTasks = pending.map((tileInput) =>
      context.df.callSubOrchestrator(orchestratorNames.ingestTile, tileInput, deriveTileInstanceId(context.df.instanceId, tileInput.window)),
    );
    state.trackBranches(tileTasks.map((task, index) => ({ itemId: pending[index]!.itemId, task })));
    // Task.any schedules every branch at once; each branch is then awaited on its own (yielding
    // an already scheduled task does not schedule it again, while a new Task.any over the pending
    // ones would: azure-functions-durable-js #574). The status counts each branch as it finishes,
    // in any order (see JobState), and one failed branch does not hide the outcome of the others.
    if (tileTasks.length > 0) yield context.df.Task.any(tileTasks);
    for (const task of tileTasks) {
      try {
        yield task;
      } catch {
        // Read from the task itself: JobState.failures.
      }
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

  const publication: SourcePublication = {
    outputs: input.outputs,
    source: input.source,
    items,
    order,
    options: input.options,
    jobId: context.df.instanceId,
    assumedCrs: info.crsAssumed ?? null,
  };
  const tiles = items.map(({ itemId, cogUrl, itemUrl, cogBytes }) => ({ itemId, cogUrl, itemUrl, cogBytes }));
  const bytesOut = items.reduce((sum, item) => sum + item.cogBytes, 0);
  // The collection's quality gates (issue 24), read from the input (the definition version the job
  // was submitted with): a source that fails one is not published. The job ends quarantined with
  // its COGs and item blobs kept unlinked; an operator's approval publishes them, a rejection
  // deletes them (resolveQuarantine). Only instances whose input has gates schedule this step.
  if (input.definition && hasGates(input.definition.gates)) {
    let violations: GateViolation[];
    try {
      violations = gateViolations ?? (yield* callActivity(context, activities.checkQualityGates, {
        gates: input.definition.gates,
        info: { bands: info.bands, crs: info.crs, ...(info.crsAssumed ? { crsAssumed: info.crsAssumed } : {}) },
        sizeBytes: input.source.size,
        collection: input.collection,
        items: items.map(({ itemId, bbox, window }) => ({ itemId, bbox, ...(window ? { window } : {}) })),
      }));
    } catch (error) {
      const failure = failureFrom(error);
      state.recordFailure(failure);
      return fail(failure.message);
    }
    if (violations.length > 0) {
      progress.stage = 'quarantined';
      state.publish();
      return { collection: null, publication, tiles, bytesIn: input.source.size, bytesOut, quarantine: { violations, definitionVersion: input.definition.version } };
    }
  }
  if (input.deferFinalize) {
    progress.stage = 'completed';
    state.publish();
    return { collection: null, publication, tiles, bytesIn: input.source.size, bytesOut };
  }

  let collection: FinalizedCollection;
  try {
    const endRecord = recordsEndWithFinalize(context.df.version) ? jobEndRecord(context, input, state, 'Completed') : undefined;
    // With derived products to make, the job is not done when its own items are: finalize says whether it recorded the end.
    const lookUpDerived = endRecord !== undefined && derivesProducts(context.df.version);
    collection = yield* callActivity(context, activities.finalizeCollection, { collection: input.collection, publications: [publication], datetime, ...(endRecord ? { endRecord } : {}), ...(lookUpDerived ? { lookUpDerived } : {}) });
    state.endRecorded = lookUpDerived ? collection.endRecorded === true : endRecord !== undefined;
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
      else if (!asksBeforeStartingMosaicRun(context.df.version)) yield* callActivity(context, activities.requestCollectionMosaic, { collection: input.collection });
      else {
        const request: MosaicRunRequest = { at: context.df.currentUtcDateTime.toISOString() };
        const startRun: unknown = yield context.df.callEntity(collectionMosaicRequestsId(input.collection), mosaicRequestOperations.requestRun, request);
        // Marked either way; a run is started only when none this collection's jobs started is waiting to claim it.
        if (startRun === true) yield* callActivity(context, activities.requestCollectionMosaic, { collection: input.collection });
      }
    } catch {
      // Not the job's failure: its items are published, and the next job or batch rebuilds the mosaic.
    }
  }

  // Derived products (issue 24, 1.6 on): every collection deriving from this one makes its products
  // of the items just published. Their outcomes are data in the job's status and output; a failed
  // derived product never fails the job, whose own items are published.
  const derived = !collection.superseded && derivesProducts(context.df.version) ? yield* runDerivedProducts(context, input, publication, datetime, state, collection.derivedPlans) : [];

  progress.stage = 'completed';
  state.publish();
  return { collection, tiles, bytesIn: input.source.size, bytesOut, ...(derived.length > 0 ? { derived } : {}) };
}

/** Derived outcomes the job's status shows (custom status is capped at 16 KB): the first few, each with its first failure; the output has them all. */
export const derivedStatusBounds = { outcomes: 5, failures: 1 } as const;

/** The derived step of a job: its status shows the stage and each derived collection's outcome as it ends. */
function* runDerivedProducts(context: OrchestrationContext, input: IngestInput, publication: SourcePublication, datetime: string, state: JobState, plans?: DerivedCollectionPlan[]): Generator<Task, DerivedOutcome[], unknown> {
  const { progress } = state;
  const { outcomes, lookupFailure } = yield* deriveFromPublication(context, { collection: input.collection, publication, datetime, ...(plans ? { plans } : {}) }, (shown) => {
    progress.stage = 'deriving';
    progress.derived = shown.slice(0, derivedStatusBounds.outcomes).map((outcome) => ({ ...outcome, failures: outcome.failures.slice(0, derivedStatusBounds.failures) }));
    state.publish();
  });
  if (lookupFailure) {
    progress.derivedLookupFailure = lookupFailure;
    state.publish();
  }
  return outcomes;
}

/** Writes the job's end to the jobs index, so lists and bulk retry filter on its final state. */
function* recordJobEnd(context: OrchestrationContext, input: IngestInput, state: JobState, status: 'Completed' | 'Failed' | 'Quarantined'): Generator<Task, void, unknown> {
  yield* callActivity(context, activities.recordJob, jobEndRecord(context, input, state, status));
}

/** The job's row in the jobs index as it ends with `status`. */
function jobEndRecord(context: OrchestrationContext, input: IngestInput, state: JobState, status: 'Completed' | 'Failed' | 'Quarantined'): RecordJobInput {
  const { progress } = state;
  return {
    key: input.index.key,
    id: context.df.instanceId,
    ...(input.batchId ? { batch: input.batchId } : {}),
    // The index keeps the whole name: lists filter on it.
    source: `${input.source.container}/${input.source.name}`,
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
  };
}

/**
 * Publishes the job's end as a CloudEvent (1.5 on): to its collection's webhooks of the definition
 * version it ran, and to the Event Grid topic. Best effort for the job: its outcome stands whether
 * or not the events could be delivered after the activity's retries.
 */
function* publishJobEvent(context: OrchestrationContext, input: IngestInput, state: JobState, transition: 'job.completed' | 'job.failed' | 'job.quarantined', rules?: string[]): Generator<Task, void, unknown> {
  if (!publishesEvents(context.df.version)) return;
  const errorCode = state.failures[0]?.code;
  const event = jobEvent(transition, context.df.currentUtcDateTime.toISOString(), {
    jobId: context.df.instanceId,
    collection: input.collection,
    source: state.progress.source,
    definitionVersion: input.definition?.version ?? null,
    status: transition === 'job.completed' ? 'Completed' : transition === 'job.failed' ? 'Failed' : 'Quarantined',
    ...(transition === 'job.failed' && errorCode ? { errorCode } : {}),
    ...(rules ? { rules } : {}),
  });
  try {
    yield* callActivity(context, activities.publishEvents, { events: [event], collection: input.collection, definitionVersion: input.definition?.version ?? null });
  } catch {
    // Delivery failed after its retries: the receivers miss this one; the job's own record stands.
  }
}

/** A sub-orchestration's result is JSON: check its shape before trusting it. */
function isRegisteredItem(value: unknown): value is RegisteredItem {
  return typeof value === 'object' && value !== null && 'itemId' in value && typeof value.itemId === 'string' && 'itemUrl' in value && 'cogUrl' in value;
}

/** What the job does with the tile `validateAndCreateTile` made (or failed to make) for `tileInput`. */
interface TileMadeWithValidation {
  progress: TileProgress;
  item?: RegisteredItem;
  violations?: GateViolation[];
  /** A failure no retry fixes: the tile fails as its own steps would have failed it. */
  failedForGood?: Failure;
  /** Functions ran out of memory or disk: the tile's own steps go to the worker at once. */
  rerouteBecause?: string;
}

/**
 * The tile made with validation, when it is the one the job planned (same item id): registered,
 * with the time it ran (its wait includes the validation before it). A failure that a retry may fix
 * returns nothing: the tile's own steps run from their first attempt.
 */
export function takeTileMadeWithValidation(outcome: SingleTileOutcome, tileInput: IngestTileInput, now: string): TileMadeWithValidation | undefined {
  const base = { itemId: tileInput.itemId, route: 'functions' as const, attempts: 1, startedAt: tileInput.datetime };
  if (outcome.ok) {
    if (outcome.item.itemId !== tileInput.itemId) return undefined;
    const waitMs = Math.max(0, Date.parse(outcome.ran.startedAt) - Date.parse(tileInput.datetime));
    const workMs = Math.max(0, Date.parse(outcome.ran.endedAt) - Date.parse(outcome.ran.startedAt));
    return {
      progress: { ...base, stage: 'registered', endedAt: now, item: outcome.item, timing: { waitMs: Number.isFinite(waitMs) ? waitMs : 0, workMs: Number.isFinite(workMs) ? workMs : 0, startedAt: outcome.ran.startedAt } },
      item: outcome.item,
      ...(outcome.violations ? { violations: outcome.violations } : {}),
    };
  }
  const { failure } = outcome;
  if (failure.code === 'OUT_OF_MEMORY' || failure.code === 'DISK_FULL') return { progress: { ...base, stage: 'creating-cog' }, rerouteBecause: `${failure.code} on Functions: ${failure.message}` };
  if (isFinalFailure(failure)) return { progress: { ...base, stage: 'failed', endedAt: now, error: failure }, failedForGood: failure };
  return undefined;
}
