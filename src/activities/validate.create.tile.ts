/**
 * Activity (version 1.7 on): validate a source and, when it plans a single tile on the Functions
 * route, make that tile's COG, register its item and check the collection's quality gates in the
 * same call. A small job then costs one activity round trip and one replay instead of three, and
 * its source is read once (the copy validation made is the tile's). Validation is exactly
 * `validateRaster` (inspection child, limits, rejection); a rejected source makes no tile.
 *
 * The tile part never fails the call: its failure is returned as data, and the orchestrator takes
 * the tile's own steps from there (retries, the worker when Functions ran out of memory or disk).
 * The plan and the route are decided with the orchestrator's own pure functions, and the
 * orchestrator plans again from `info`: it uses the tile only where its plan agrees.
 */
import { hasGates, type GateViolation } from '../collections/quality.gates.js';
import { chooseTileRoute, planJobTiles } from '../orchestrations/ingest.orchestrator.js';
import type { ValidateAndCreateTileInput, ValidatedSource, WorkSpan } from '../pipeline/contracts.js';
import type { Failure } from '../pipeline/failure.js';
import { deriveItemId } from '../pipeline/ids.js';
import { classifyError } from './failure.classify.js';
import type { CheckQualityGates } from './quality.gates.js';
import type { CreateAndRegisterTile } from './tile.create.register.js';
import type { ValidateRaster } from './validate.raster.js';

/** `report` hears a failure of the tile part with the raw error, for the service's logs (the orchestrator gets only the failure). */
export type ValidateAndCreateTile = (input: ValidateAndCreateTileInput, report?: (failure: Failure, error: unknown) => void) => Promise<ValidatedSource>;

export function createValidateAndCreateTile(steps: { validateRaster: ValidateRaster; createAndRegisterTile: CreateAndRegisterTile; checkQualityGates: CheckQualityGates }): ValidateAndCreateTile {
  return async ({ singleTile, ...validation }, report) => {
    const info = await steps.validateRaster(validation);
    if (!singleTile) return { info };
    const planned = planJobTiles(info, validation.tileSize);
    const [only] = planned;
    if (!only || planned.length !== 1 || chooseTileRoute(info, validation.options.route, singleTile.worker.thresholdBytes).route !== 'functions') return { info };
    const { source, options } = validation;
    const { outputs, datetime, order, gates } = singleTile;
    const startedAt = new Date().toISOString();
    try {
      const item = await steps.createAndRegisterTile({ source, outputs, itemId: deriveItemId(outputs.sourceKey, only.window), window: only.window, options, assumedCrs: only.assumedCrs, datetime, order });
      const ran: WorkSpan = { startedAt, endedAt: new Date().toISOString() };
      let violations: GateViolation[] | undefined;
      if (gates && hasGates(gates)) {
        try {
          violations = await steps.checkQualityGates({
            gates,
            info: { bands: info.bands, crs: info.crs, ...(info.crsAssumed ? { crsAssumed: info.crsAssumed } : {}) },
            sizeBytes: source.size,
            collection: outputs.collection,
            items: [{ itemId: item.itemId, bbox: item.bbox, ...(item.window ? { window: item.window } : {}) }],
          });
        } catch (error) {
          // Unmeasured is not passed: the orchestrator checks the gates in their own activity (with its retries).
          report?.(classifyError(error), error);
        }
      }
      return { info, tile: { ok: true, item, ran, ...(violations ? { violations } : {}) } };
    } catch (error) {
      const failure = classifyError(error);
      report?.(failure, error);
      return { info, tile: { ok: false, failure } };
    }
  };
}
