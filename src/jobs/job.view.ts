/**
 * What a person sees of a job, built from the orchestration status and the progress the
 * orchestrator keeps in its custom status. Pure, so it is unit-tested without a host.
 */
import type { IngestInput, IngestOutput, IngestProgress, IngestRoute } from '../pipeline/contracts.js';

/** The fields of a Durable orchestration status this view reads. */
export interface OrchestrationStatusLike {
  instanceId: string;
  name: string;
  runtimeStatus: string;
  createdTime: Date | string;
  lastUpdatedTime: Date | string;
  input: unknown;
  output: unknown;
  customStatus?: unknown;
}

export interface JobView {
  id: string;
  status: string;
  stage: IngestProgress['stage'] | 'pending';
  /** `single-tile` (inline) or `fan-out` (one branch per tile), once validation has planned the tiles. */
  route: IngestRoute | null;
  source: string | null;
  collection: string | null;
  tiles: { done: number; total: number };
  itemsRegistered: number;
  errors: string[];
  output: IngestOutput | null;
  createdTime: string;
  lastUpdatedTime: string;
}

function isProgress(value: unknown): value is IngestProgress {
  return typeof value === 'object' && value !== null && 'stage' in value && 'tilesTotal' in value;
}

function isIngestInput(value: unknown): value is IngestInput {
  return typeof value === 'object' && value !== null && 'source' in value && 'collection' in value;
}

function toIso(value: Date | string): string {
  return value instanceof Date ? value.toISOString() : new Date(value).toISOString();
}

export function buildJobView(status: OrchestrationStatusLike): JobView {
  const progress = isProgress(status.customStatus) ? status.customStatus : undefined;
  const input = isIngestInput(status.input) ? status.input : undefined;
  const failed = status.runtimeStatus === 'Failed' || status.runtimeStatus === 'Terminated';
  // A failed orchestration's output is its error message, which names the source: lead with it,
  // then any reason recorded in the progress that it does not already contain.
  const failure = failed && typeof status.output === 'string' ? status.output : undefined;
  const errors = [...(failure ? [failure] : []), ...(progress?.errors ?? []).filter((error) => !failure?.includes(error))];
  return {
    id: status.instanceId,
    status: status.runtimeStatus,
    stage: failed ? 'failed' : (progress?.stage ?? 'pending'),
    route: progress?.route ?? null,
    source: progress?.source ?? (input ? `${input.source.container}/${input.source.name}` : null),
    collection: progress?.collection ?? input?.collection ?? null,
    tiles: { done: progress?.tilesDone ?? 0, total: progress?.tilesTotal ?? 0 },
    itemsRegistered: progress?.itemsRegistered ?? 0,
    errors,
    output: status.runtimeStatus === 'Completed' ? (status.output as IngestOutput) : null,
    createdTime: toIso(status.createdTime),
    lastUpdatedTime: toIso(status.lastUpdatedTime),
  };
}
