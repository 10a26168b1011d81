/**
 * Activity: decide whether a source can become correct COGs, and describe it. The upload is
 * inspected in a child process (`src/inspection/`), never on this event loop, within a time and
 * memory limit. A rejection is a `FailureError` with a reason a person can act on (returned to
 * the orchestrator as a final failure, not retried); storage trouble is retried.
 */
import type { RasterInfo, ValidateRasterInput } from '../pipeline/contracts.js';
import { boundText } from '../pipeline/bounded.text.js';
import { FailureError } from '../pipeline/failure.js';
import { defaultDeclaredSizeLimits } from '../raster/declared.size.js';
import type { ActivityDependencies } from './activity.dependencies.js';
import { isFinalFailure } from './failure.classify.js';
import { inspectionReadMode, tileReadMode } from './source.cache.js';

export type ValidateRaster = (input: ValidateRasterInput) => Promise<RasterInfo>;

/** The orchestrator prefixes the source ("Cannot ingest uploads/x.tif: …"), so reasons start with what is wrong. */
function reject(why: string): never {
  throw new FailureError({ code: 'INVALID_INPUT', message: why });
}

/** How long a blob name may be in a validation message (the orchestrator already names the source). */
const shownNameBound = 120;

export function createValidateRaster(deps: Pick<ActivityDependencies, 'settings' | 'sources' | 'scratchDir' | 'inspector'>): ValidateRaster {
  const { settings } = deps;
  return async ({ source, options, tileSize }) => {
    if (source.size === 0) reject('the file is empty (0 bytes); upload it again');
    try {
      // Headers and a few blocks, read where the blob is; a small source is downloaded whole (see inspectionReadMode).
      return await deps.sources.withGdalPath(source, inspectionReadMode(source, tileReadMode(source, settings.sourceRead, settings.scratchMaxBytes)), (path) =>
        deps.inspector.inspect({
          path,
          shownAs: boundText(source.name, shownNameBound),
          size: source.size,
          ...(options ? { options } : {}),
          tileSize: tileSize ?? options?.tileSize ?? settings.tileSize,
          maxTilesPerJob: settings.inspection.maxTilesPerJob,
          maxDimension: settings.maxDimension,
          declaredSize: { ...defaultDeclaredSizeLimits, maxExpansionRatio: settings.inspection.maxExpansionRatio },
          scratchDir: deps.scratchDir,
          assumeCfLonLat: settings.assumeCfLonLat,
        }),
      );
    } catch (error) {
      // A rejected source has no tiles coming: free its copy now.
      if (error instanceof FailureError && isFinalFailure(error.failure)) await deps.sources.evict(source);
      throw error;
    }
  };
}
