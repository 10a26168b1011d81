/**
 * Activities of quality gates (issue 24): measure what the gates of a job's collection need and
 * decide (`checkQualityGates`, after the tiles are made, before anything is published), and delete
 * a quarantined job's kept outputs when an operator rejects it (`deleteQuarantinedOutputs`).
 * Measurements come from validation's header facts, the upload's size, the tiles' WGS84 boxes and
 * the band statistics stored in the tiles' own items; nothing reads the source again.
 */
import pLimit from 'p-limit';
import { crsFamilyOf, evaluateGates, footprintOf, type GateMeasurements, type GateViolation } from '../collections/quality.gates.js';
import type { CheckQualityGatesInput, DeleteQuarantinedOutputsInput, RecordJobInput } from '../pipeline/contracts.js';
import { boundText } from '../pipeline/bounded.text.js';
import { cogBlob, itemBlob, thumbnailBlob } from '../stac/catalog.layout.js';
import type { BlobStore } from '../storage/blob.store.js';
import type { ActivityDependencies } from './activity.dependencies.js';

export type CheckQualityGates = (input: CheckQualityGatesInput) => Promise<GateViolation[]>;
export type DeleteQuarantinedOutputs = (input: DeleteQuarantinedOutputsInput) => Promise<{ deleted: number }>;
export type MarkJobDecision = (input: Pick<RecordJobInput, 'key' | 'status' | 'lastUpdatedTime'>) => Promise<void>;

const readConcurrency = 16;
/** A measured value or message shown in the job view: bounded, it may spell a name from the upload. */
const shownBound = 300;

interface ItemStatistics {
  assets?: { data?: { href?: unknown; bands?: Array<{ statistics?: { valid_percent?: unknown } }> } };
}

/**
 * The share of nodata pixels over every tile and band, each tile weighted by its pixel count
 * (its window; 1 without one): 1 − valid_percent / 100. `null` when any tile's item has no statistics.
 */
export async function measureNodataShare(store: BlobStore, collection: string, items: CheckQualityGatesInput['items']): Promise<number | null> {
  const limit = pLimit(readConcurrency);
  const shares = await Promise.all(
    items.map((item) =>
      limit(async (): Promise<{ weight: number; share: number } | null> => {
        const stored = await store.readJson<ItemStatistics>(itemBlob(collection, item.itemId));
        const bands = stored?.value.assets?.data?.bands ?? [];
        const valid = bands.map((band) => band.statistics?.valid_percent).filter((value): value is number => typeof value === 'number' && Number.isFinite(value));
        if (valid.length === 0 || valid.length !== bands.length) return null;
        const meanValid = valid.reduce((sum, value) => sum + Math.min(100, Math.max(0, value)), 0) / valid.length;
        return { weight: item.window ? item.window.width * item.window.height : 1, share: 1 - meanValid / 100 };
      }),
    ),
  );
  if (shares.length === 0 || shares.some((share) => share === null)) return null;
  const measured = shares as Array<{ weight: number; share: number }>;
  const total = measured.reduce((sum, { weight }) => sum + weight, 0);
  return total > 0 ? measured.reduce((sum, { weight, share }) => sum + weight * share, 0) / total : null;
}

export function createCheckQualityGates(deps: Pick<ActivityDependencies, 'store'>): CheckQualityGates {
  return async ({ gates, info, sizeBytes, collection, items }) => {
    const measured: GateMeasurements = {
      crsCode: info.crs?.code ?? info.crsAssumed ?? null,
      crsFamily: crsFamilyOf(info.crs?.wkt2),
      dataTypes: info.bands.map((band) => band.gdalDataType),
      bandCount: info.bands.length,
      sizeBytes,
      footprint: footprintOf(items.map((item) => item.bbox)),
      // Read only when a gate asks: one item blob per tile.
      nodataShare: gates.maxNodataShare === undefined ? null : await measureNodataShare(deps.store, collection, items),
    };
    return evaluateGates(gates, measured).map((violation) => ({ ...violation, measured: boundText(violation.measured, shownBound), message: boundText(violation.message, shownBound) }));
  };
}

export function createDeleteQuarantinedOutputs(deps: Pick<ActivityDependencies, 'store'>): DeleteQuarantinedOutputs {
  return async ({ outputs, itemIds }) => {
    const limit = pLimit(readConcurrency);
    const deleted = await Promise.all(
      itemIds.map((itemId) =>
        limit(async () => {
          const cog = cogBlob(outputs, itemId);
          // An item id is stable across versions of a source: its blob is deleted only while it still names this job's COG.
          const item = await deps.store.readJson<ItemStatistics>(itemBlob(outputs.collection, itemId));
          const ours = item !== undefined && item.value.assets?.data?.href === deps.store.url(cog);
          // Deleting what is already gone is not a fault: a retried rejection deletes the rest.
          await Promise.all([deps.store.delete(cog), deps.store.delete(thumbnailBlob(outputs, itemId)), ...(ours ? [deps.store.delete(itemBlob(outputs.collection, itemId))] : [])]);
          return ours ? 3 : 2;
        }),
      ),
    );
    return { deleted: deleted.reduce((sum, count) => sum + count, 0) };
  };
}

export function createMarkJobDecision(deps: Pick<ActivityDependencies, 'jobs'>): MarkJobDecision {
  return async (input) => {
    await deps.jobs.record(input);
  };
}
