/** The ingestion activities, built from one set of dependencies (one shared source cache). */
import type { activities } from '../pipeline/contracts.js';
import type { ActivityDependencies } from './activity.dependencies.js';
import type { ActivityImplementation } from './activity.outcome.js';
import { createCheckQualityGates, createDeleteQuarantinedOutputs, createMarkJobDecision } from './quality.gates.js';
import { createFinalizeCollection } from './collection.finalize.js';
import { createBuildCollectionMosaic } from './collection.mosaic.js';
import { createListBatchSources } from './batch.sources.js';
import { createRecordJob } from './job.record.js';
import { createDispatchTile } from './tile.dispatch.js';
import { createCreateTileCog } from './tile.cog.create.js';
import { createCreateAndRegisterTile } from './tile.create.register.js';
import { createRegisterTileItem } from './tile.item.register.js';
import { createValidateRaster } from './validate.raster.js';
import { createValidateAndCreateTile } from './validate.create.tile.js';
import { createFindRunningJobs, createFindSourceOutputs, createRemoveSourceOutputs } from './source.removal.js';

export { createActivityDependencies, type ActivityDependencies } from './activity.dependencies.js';
export { createValidateRaster, type ValidateRaster } from './validate.raster.js';
export { createValidateAndCreateTile, type ValidateAndCreateTile } from './validate.create.tile.js';
export { createCreateTileCog, type CreateTileCog } from './tile.cog.create.js';
export { createRegisterTileItem, type RegisterTileItem } from './tile.item.register.js';
export { createFinalizeCollection, withDerivedLookup, type FinalizeCollection } from './collection.finalize.js';
export { createBuildCollectionMosaic, type BuildCollectionMosaic } from './collection.mosaic.js';
export { SourceCache, SourceChangedError, SourceMissingError } from './source.cache.js';
export { createRequestCollectionMosaic, type RequestCollectionMosaic } from './collection.mosaic.request.js';
export { createPrepareBatchJobs, type ExistingJob } from './batch.sources.js';
export { createAnnounceDispatchPermits, createAuditDispatchPermits } from './dispatch.permits.js';
export { runToOutcome, type ActivityImplementation } from './activity.outcome.js';
export { createCreateDerivedItem, createListDerivedCollections, createRemoveDerivedProducts, type DerivedDependencies } from './derived.products.js';

/** Activities that use the invocation's durable client: built per call where they are registered. */
export type DurableClientActivityName = 'requestCollectionMosaic' | 'prepareBatchJobs' | 'announceDispatchPermits' | 'auditDispatchPermits';
/** Activities registered in a module of their own, with their own dependencies (src/functions/events.activities.ts, src/functions/schedules.functions.ts). */
type SeparatelyRegistered = 'publishEvents' | DerivedActivityName | ScheduleActivityName;
/** Derived products' activities (src/activities/derived.products.ts): they also read the collection definitions. */
type DerivedActivityName = 'listDerivedCollections' | 'createDerivedItem' | 'removeDerivedProducts';
/** A collection schedule's activities (src/activities/schedule.steps.ts). */
type ScheduleActivityName = 'readScheduleDefinition' | 'checkScheduleAfter' | 'runScheduledBatch';

export type IngestActivities = { [Name in Exclude<keyof typeof activities, DurableClientActivityName | SeparatelyRegistered>]: ActivityImplementation<(typeof activities)[Name]> };

/** All activities, each checked against its contract in `contracts.ts`. */
export function createIngestActivities(deps: ActivityDependencies): IngestActivities {
  const createTileCog = createCreateTileCog(deps);
  const registerTileItem = createRegisterTileItem(deps);
  const validateRaster = createValidateRaster(deps);
  const createAndRegisterTile = createCreateAndRegisterTile({ createTileCog, registerTileItem });
  const checkQualityGates = createCheckQualityGates(deps);
  return {
    validateRaster,
    validateAndCreateTile: createValidateAndCreateTile({ validateRaster, createAndRegisterTile, checkQualityGates }),
    createTileCog,
    createAndRegisterTile,
    registerTileItem,
    finalizeCollection: createFinalizeCollection(deps),
    recordJob: createRecordJob(deps),
    dispatchTile: createDispatchTile(deps),
    listBatchSources: createListBatchSources(deps),
    buildCollectionMosaic: createBuildCollectionMosaic(deps),
    checkQualityGates,
    deleteQuarantinedOutputs: createDeleteQuarantinedOutputs(deps),
    markJobDecision: createMarkJobDecision(deps),
    findSourceOutputs: createFindSourceOutputs(deps),
    findRunningJobs: createFindRunningJobs(deps),
    removeSourceOutputs: createRemoveSourceOutputs(deps),
  };
}
