/** The ingestion activities, built from one set of dependencies (one shared source cache). */
import { activityNames } from '../pipeline/contracts.js';
import type { ActivityDependencies } from './activity.dependencies.js';
import { createFinalizeCollection } from './collection.finalize.js';
import { createCreateTileCog } from './tile.cog.create.js';
import { createRegisterTileItem } from './tile.item.register.js';
import { createValidateRaster } from './validate.raster.js';

export { createActivityDependencies, type ActivityDependencies } from './activity.dependencies.js';
export { createValidateRaster, type ValidateRaster } from './validate.raster.js';
export { createCreateTileCog, type CreateTileCog } from './tile.cog.create.js';
export { createRegisterTileItem, type RegisterTileItem } from './tile.item.register.js';
export { createFinalizeCollection, type FinalizeCollection } from './collection.finalize.js';
export { SourceCache, SourceChangedError, SourceMissingError } from './source.cache.js';

/** All four activities keyed by their registered names. */
export function createIngestActivities(deps: ActivityDependencies) {
  return {
    [activityNames.validateRaster]: createValidateRaster(deps),
    [activityNames.createTileCog]: createCreateTileCog(deps),
    [activityNames.registerTileItem]: createRegisterTileItem(deps),
    [activityNames.finalizeCollection]: createFinalizeCollection(deps),
  } as const;
}
