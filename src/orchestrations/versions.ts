/**
 * What each orchestration version schedules (host.json `defaultVersion`; docs/deploy.md,
 * "Deploying while jobs run"). An instance keeps the version it started with, so a step added
 * later is taken only by instances of a version that has it, and older ones replay unchanged.
 */

/**
 * How a job (and a batch, after its last chunk) brings its collection's mosaic up to date:
 * - `none` (1.0, before the collection mosaic existed);
 * - `inline` (1.1): it builds the mosaic itself before completing;
 * - `requested` (1.2 on): it asks a `collectionMosaic` run for it and completes at once.
 */
export type CollectionMosaicStep = 'none' | 'inline' | 'requested';

export function collectionMosaicStep(version: string | undefined): CollectionMosaicStep {
  if (version === '1.0') return 'none';
  return startedBefore12(version) ? 'inline' : 'requested';
}

/** Instances of 1.0 and 1.1; any other version (and none: the default) has 1.2's steps. */
function startedBefore12(version: string | undefined): boolean {
  return version === '1.0' || version === '1.1';
}

/**
 * Tiles on the Functions route of 1.2 on make their COG and register their item in one activity
 * (`createAndRegisterTile`), so each item appears as soon as its COG exists; 1.1 and older called
 * `createTileCog`, then `registerTileItem`.
 */
export function registersTileWithItsCog(version: string | undefined): boolean {
  return !startedBefore12(version);
}

/**
 * Tiles on the Functions route of 1.3 on pass their activity a `startNotice` and wait for its
 * "work started" event alongside it, so a tile shows `queued` while it waits for an activity slot
 * and the ledger tells that wait from the work. Instances of 1.2 and older (and of no version:
 * started before versioning) schedule the activity alone, as they did.
 */
export function announcesWorkStart(version: string | undefined): boolean {
  return atLeast(version, [1, 3]);
}

/**
 * Tiles on the worker route of 1.4 on take a permit of the `workerDispatchPermits` entity before
 * their message is sent and give it back when their worker step ends, so a backlog waits its turn
 * in line instead of in the queue under the tile's timer. Instances of 1.3 and older dispatch at
 * once, as they did (their tiles hold no permit: during a deploy the bound can be exceeded by
 * them).
 */
export function boundsWorkerDispatch(version: string | undefined): boolean {
  return atLeast(version, [1, 4]);
}

/**
 * Jobs of 1.5 on publish their end (completed, failed, quarantined) as a CloudEvent through the
 * `publishEvents` activity after recording it (issue 24); older instances replay without it.
 */
export function publishesEvents(version: string | undefined): boolean {
  return atLeast(version, [1, 5]);
}

/**
 * Jobs of 1.6 on, once their items are published, read which collections derive from theirs
 * (`listDerivedCollections`) and run one `deriveProducts` sub-orchestration per derived collection
 * (issue 24, part 3); how each ended is in the job's status and output. Older instances replay
 * without the step.
 */
export function derivesProducts(version: string | undefined): boolean {
  return atLeast(version, [1, 6]);
}

/**
 * Jobs of 1.7 on validate with `validateAndCreateTile`: a source that plans one tile on the
 * Functions route gets its COG, item and quality gates in that same activity (issue 22), instead
 * of `validateRaster`, then `createAndRegisterTile`, then `checkQualityGates`. Older instances
 * replay their separate steps unchanged.
 */
export function mergesSingleTile(version: string | undefined): boolean {
  return atLeast(version, [1, 7]);
}

/**
 * A standalone job of 1.7 on passes its end record (Completed) to `finalizeCollection`, which
 * writes it once the publication is done, instead of calling `recordJob` after; a job that fails
 * or is quarantined still records its end with `recordJob`. Older instances replay `recordJob`.
 */
export function recordsEndWithFinalize(version: string | undefined): boolean {
  return atLeast(version, [1, 7]);
}

/**
 * Jobs of 1.7 on ask their collection's `collectionMosaicRequests` entity (`requestRun`) before
 * they call `requestCollectionMosaic`, and call it only when no run they started is still waiting
 * to claim (issue 22): one `collectionMosaic` run per burst, not per job. Older instances call the
 * activity every time.
 */
export function asksBeforeStartingMosaicRun(_version: string | undefined): boolean {
  // Off for now: with it on, a burst of three jobs on the local host sometimes left one source
  // out of every build (ingest.e2e, "one build for a burst of jobs"; cause not yet found). Every
  // job requests its own run again, as 1.6 did; the entity's requestRun stays for the fix.
  return false;
}

/** `major.minor[.…]` at least `minimum`; anything that does not parse is older. */
function atLeast(version: string | undefined, minimum: readonly [number, number]): boolean {
  const match = /^(\d+)\.(\d+)/.exec(version ?? '');
  if (!match) return false;
  const [major, minor] = [Number(match[1]), Number(match[2])];
  return major > minimum[0] || (major === minimum[0] && minor >= minimum[1]);
}
