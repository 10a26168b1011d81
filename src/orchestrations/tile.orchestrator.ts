/**
 * One tile's branch of a job: make the COG, then register its STAC item right away, so items
 * appear while other tiles are still being made. A branch retries its own steps, reporting each
 * attempt in its status (the tile ledger reads it); when it fails for good, only this branch has
 * failed. Its failure carries a code and a message (`FailureError`), read back by the parent.
 *
 * A branch tells waiting from working: a tile is `queued` until an activity slot takes it (its
 * activity says so by an event, version 1.3 on) or a worker starts on it (the worker's
 * `tile-started`), and its status adds up the time waited and the time worked (`TileTiming`),
 * from the times in its history only.
 */
import type { OrchestrationContext, OrchestrationHandler, Task } from 'durable-functions';
import {
  activities,
  dispatchPermitEvent,
  dispatchPermitOperations,
  type ActivityContract,
  type CreateTileCogInput,
  type StartNotice,
  type OutputLocation,
  type RegisteredItem,
  type SourceBlob,
  type TileCog,
  type TileProgress,
  type TileRoute,
  type TileWindow,
  type VersionOrder,
  type WorkerRouting,
  type WorkSpan,
  type WorkStartedEvent,
} from '../pipeline/contracts.js';
import { FailureError, failureFrom, isFailure, isFinalFailure } from '../pipeline/failure.js';
import type { IngestOptions } from '../pipeline/options.js';
import { isTileCog, tileResultEvent, tileResultMessageSchema, tileStartedMessageSchema } from '../queue/tile.messages.js';
import { callActivity, callActivityCountingAttempts, retryDelayMs, unwrapActivity } from './activity.call.js';
import { tileRetryPolicy } from './retry.policy.js';
import { dispatchPermitsId, isPermitAnswer, isPermitRelease, permitRecheckMs } from './dispatch.permits.entity.js';
import { announcesWorkStart, boundsWorkerDispatch, registersTileWithItsCog } from './versions.js';

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
  /** See `CreateTileCogInput.assumedCrs`; absent in tile branches started before it existed. */
  assumedCrs?: string | null;
}

/** Names of the events activities raise when they start: one per attempt, so a late one never counts for the next. */
export const workStartedEventPrefix = 'work-started';

/**
 * Adds one attempt of one step to the tile's timing: the wait from `queuedAtMs` (when it was
 * scheduled or sent) to the work's start, and the work as whoever did it measured it. A start may
 * be heard twice (the event, then the outcome's `ran`); the wait counts once.
 */
class StepClock {
  private waitCounted = false;

  constructor(
    private readonly progress: TileProgress,
    private readonly queuedAtMs: number,
  ) {}

  started(at: string): void {
    const timing = this.progress.timing;
    const startedMs = Date.parse(at);
    if (!timing || this.waitCounted || !Number.isFinite(startedMs)) return;
    this.waitCounted = true;
    timing.startedAt ??= at;
    // Clocks of different machines may disagree by a little: never a negative wait.
    timing.waitMs += Math.max(0, startedMs - this.queuedAtMs);
  }

  ran(span: WorkSpan | undefined): void {
    if (!span) return;
    this.started(span.startedAt);
    const workMs = Date.parse(span.endedAt) - Date.parse(span.startedAt);
    if (this.progress.timing && Number.isFinite(workMs)) this.progress.timing.workMs += Math.max(0, workMs);
  }
}

function isWorkStarted(value: unknown): value is WorkStartedEvent {
  return typeof value === 'object' && value !== null && 'kind' in value && value.kind === 'work-started' && 'startedAt' in value && typeof value.startedAt === 'string';
}

/**
 * The steps of one tile, shared by the tile sub-orchestration and by the parent's single-tile
 * route. `report` receives the tile's progress after every change, for the caller's own status.
 * Throws a `FailureError` when the tile fails for good. `reroutedBecause`: the tile already ran
 * out of memory or disk on Functions (made with its job's validation, 1.7 on): the worker, at once.
 */
export function* runTileSteps(context: OrchestrationContext, input: IngestTileInput, report: (progress: TileProgress) => void, reroutedBecause?: string): Generator<Task, RegisteredItem, unknown> {
  if (reroutedBecause !== undefined && input.route === 'functions') {
    const onWorker = yield* runTileSteps(context, { ...input, route: 'worker' }, (progress) => report({ ...progress, reroutedBecause }));
    return onWorker;
  }
  const announce = input.route === 'functions' && announcesWorkStart(context.df.version);
  const progress: TileProgress = {
    itemId: input.itemId,
    stage: input.route === 'worker' || announce ? 'queued' : 'creating-cog',
    route: input.route,
    attempts: 0,
    startedAt: context.df.currentUtcDateTime.toISOString(),
    // Branches that hear when work starts keep the time waited apart from the time worked.
    ...(input.route === 'worker' || announce ? { timing: { waitMs: 0, workMs: 0 } } : {}),
  };
  let notices = 0;
  const nextNotice = (): StartNotice => ({ instanceId: context.df.instanceId, eventName: `${workStartedEventPrefix}-${++notices}` });
  const onAttempt = (attempt: number): void => {
    progress.attempts = attempt;
    report(progress);
  };
  const cogInput: CreateTileCogInput = {
    source: input.source,
    outputs: input.outputs,
    itemId: input.itemId,
    window: input.window,
    options: input.options,
    ...(input.assumedCrs !== undefined ? { assumedCrs: input.assumedCrs } : {}),
  };
  try {
    let item: RegisteredItem | undefined;
    let tile: TileCog | undefined;
    if (input.route === 'worker') {
      tile = yield* makeCogOnWorker(context, cogInput, input.worker, progress, report);
    } else {
      try {
        if (registersTileWithItsCog(context.df.version)) {
          item = yield* callTileStep(context, activities.createAndRegisterTile, { ...cogInput, datetime: input.datetime, order: input.order }, progress, report, {
            working: 'creating-cog',
            ...(announce ? { notice: nextNotice } : {}),
          });
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
      item = yield* callTileStep(
        context,
        activities.registerTileItem,
        { outputs: input.outputs, source: input.source, tile, datetime: input.datetime, order: input.order },
        progress,
        report,
        { working: 'registering' },
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
 * One step of a tile in an activity, retried here (as `callActivityCountingAttempts` does, with
 * the same back-off) so each attempt is seen and timed. With `notice` (1.3 on) the activity gets a
 * `startNotice` and the step waits for its "started" event alongside it: the tile is `queued`
 * until the event (or the outcome) arrives, then `working`. Without it the step schedules exactly
 * what older versions did: the activity alone, `working` from the start.
 */
function* callTileStep<Input extends object, Output>(
  context: OrchestrationContext,
  contract: ActivityContract<Input, Output>,
  input: Input,
  progress: TileProgress,
  report: (progress: TileProgress) => void,
  options: { working: 'creating-cog' | 'registering'; notice?: () => StartNotice },
): Generator<Task, Output, unknown> {
  for (let attempt = 1; ; attempt++) {
    progress.attempts = attempt;
    const clock = new StepClock(progress, context.df.currentUtcDateTime.getTime());
    let task: Task;
    if (options.notice) {
      const startNotice = options.notice();
      task = context.df.callActivity(contract.name, { ...input, startNotice });
      const started = context.df.waitForExternalEvent(startNotice.eventName);
      progress.stage = 'queued';
      report(progress);
      // The same activity task is yielded again below: that waits for it, it does not schedule it twice.
      const first: unknown = yield context.df.Task.any([task, started]);
      if (first === started) {
        const event: unknown = started.result;
        if (isWorkStarted(event)) clock.started(event.startedAt);
        progress.stage = options.working;
        report(progress);
      }
    } else {
      progress.stage = options.working;
      report(progress);
      task = context.df.callActivity(contract.name, input);
    }
    try {
      return yield* unwrapActivity(contract, task, (ran) => clock.ran(ran));
    } catch (error) {
      const failure = failureFrom(error);
      if (isFinalFailure(failure) || attempt >= tileRetryPolicy.maxAttempts) throw new FailureError(failure);
      yield context.df.createTimer(new Date(context.df.currentUtcDateTime.getTime() + retryDelayMs(attempt)));
    }
  }
}

/**
 * Sends the tile to the container worker and waits for its result, raised as an external event by
 * the results queue's function. The worker first says it started (the ledger shows "running"),
 * then sends the outcome. No result within the timeout: the tile is sent again; a duplicate
 * delivery makes the same blobs, and a late result finds the tile already moved on.
 *
 * From version 1.4 the tile first waits its turn for a dispatch permit (`waitForDispatchPermit`),
 * queued and with no timer against it, and gives the permit back however the step ends. Holding
 * one means a worker slot is free for the tile, so the timer after the send covers only the
 * pickup (a lost message) and, from the worker's "started", the work itself.
 */
function* makeCogOnWorker(
  context: OrchestrationContext,
  input: CreateTileCogInput,
  routing: WorkerRouting,
  progress: TileProgress,
  report: (progress: TileProgress) => void,
): Generator<Task, TileCog, unknown> {
  const queuedAtMs = context.df.currentUtcDateTime.getTime();
  const capacity = routing.dispatchPermits;
  if (capacity === undefined || !boundsWorkerDispatch(context.df.version)) return yield* sendToWorker(context, input, routing, progress, report, queuedAtMs);
  progress.stage = 'queued';
  progress.attempts = 1;
  report(progress);
  yield* waitForDispatchPermit(context, capacity, progress, report);
  try {
    return yield* sendToWorker(context, input, routing, progress, report, queuedAtMs);
  } finally {
    const released: unknown = yield context.df.callEntity(dispatchPermitsId(), dispatchPermitOperations.release, { holder: context.df.instanceId });
    yield* announcePermits(context, isPermitRelease(released) ? released.grants : []);
  }
}

/**
 * Waits until the `workerDispatchPermits` entity grants this instance a permit: at once when one
 * is free, else when the tile it waits behind announces the grant, or when asking again finds it
 * granted (an announcement lost with a terminated releaser). The tile shows `queued` with its place
 * in line meanwhile. A recheck handed the audit checks the holders and reclaims the permits of
 * those gone, so a terminated or purged holder cannot keep the line waiting.
 */
function* waitForDispatchPermit(context: OrchestrationContext, capacity: number, progress: TileProgress, report: (progress: TileProgress) => void): Generator<Task, void, unknown> {
  const holder = context.df.instanceId;
  const permits = dispatchPermitsId();
  const ask = function* (recheck: boolean): Generator<Task, unknown, unknown> {
    return yield context.df.callEntity(permits, dispatchPermitOperations.acquire, { holder, capacity, at: context.df.currentUtcDateTime.toISOString(), ...(recheck ? { recheck } : {}) });
  };
  let answer: unknown = yield* ask(false);
  for (;;) {
    if (!isPermitAnswer(answer)) throw new FailureError({ code: 'INTERNAL', message: 'the dispatch permits answered in an unexpected shape' });
    let granted = answer.granted;
    const others = answer.grants.filter((other) => other !== holder);
    if (!granted && answer.audit && answer.audit.length > 0) {
      const gone = yield* callActivity(context, activities.auditDispatchPermits, { holders: answer.audit.filter((other) => other !== holder) });
      if (gone.length > 0) {
        const reclaimed: unknown = yield context.df.callEntity(permits, dispatchPermitOperations.reclaim, { holders: gone });
        const grants = isPermitRelease(reclaimed) ? reclaimed.grants : [];
        granted = grants.includes(holder);
        others.push(...grants.filter((other) => other !== holder));
      }
    }
    yield* announcePermits(context, others);
    if (granted) break;
    progress.inLine = answer.position;
    report(progress);
    // Fresh tasks each time round (README, durable-js #574).
    const announced = context.df.waitForExternalEvent(dispatchPermitEvent);
    const recheck = context.df.createTimer(new Date(context.df.currentUtcDateTime.getTime() + permitRecheckMs(answer.position, capacity)));
    const winner: unknown = yield context.df.Task.any([announced, recheck]);
    if (winner === announced) {
      recheck.cancel();
      break;
    }
    answer = yield* ask(true);
  }
  delete progress.inLine;
}

/** Tells the tiles granted a permit by this instance's operation that their turn has come. Best effort: their rechecks repair a miss. */
function* announcePermits(context: OrchestrationContext, holders: string[]): Generator<Task, void, unknown> {
  if (holders.length === 0) return;
  try {
    yield* callActivity(context, activities.announceDispatchPermits, { holders });
  } catch {
    // Each granted tile asks again within minutes and finds its permit.
  }
}

/** The dispatches of one tile to the worker (see `makeCogOnWorker`); `queuedAtMs` is when it started waiting, for its timing. */
function* sendToWorker(
  context: OrchestrationContext,
  input: CreateTileCogInput,
  routing: WorkerRouting,
  progress: TileProgress,
  report: (progress: TileProgress) => void,
  queuedAtMs: number,
): Generator<Task, TileCog, unknown> {
  const timeoutMs = routing.tileTimeoutSeconds * 1000;
  for (let dispatch = 1; dispatch <= maxWorkerDispatches; dispatch++) {
    progress.stage = 'queued';
    progress.attempts = dispatch;
    report(progress);
    // The first dispatch's wait counts from when the tile got in line for its permit.
    const clock = new StepClock(progress, dispatch === 1 ? queuedAtMs : context.df.currentUtcDateTime.getTime());
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
      const startedMessage = tileStartedMessageSchema.safeParse(message);
      if (startedMessage.success) {
        clock.started(startedMessage.data.worker.startedAt);
        progress.stage = 'running';
        report(progress);
        continue;
      }
      const result = tileResultMessageSchema.safeParse(message);
      if (!result.success) continue;
      clock.ran({ startedAt: result.data.worker.startedAt, endedAt: result.data.worker.endedAt });
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
