/**
 * Retention of Durable Functions state: which finished orchestration instances the retention
 * timer purges. Only Durable's own instance rows and histories are removed; COGs, thumbnails and
 * STAC documents are outputs, never touched here.
 */
import * as df from 'durable-functions';
import { settingNames, type Environment } from '../config.js';


export const retentionDefaults = {
  days: 30,
  /** Daily at 03:00 UTC. */
  schedule: '0 0 3 * * *',
} as const;

/** Instances in these states are finished and may be purged; running, pending and suspended ones never are. */
export const finishedStatuses: readonly df.OrchestrationRuntimeStatus[] = [
  df.OrchestrationRuntimeStatus.Completed,
  df.OrchestrationRuntimeStatus.Failed,
  df.OrchestrationRuntimeStatus.Terminated,
];

const dayMs = 24 * 60 * 60 * 1000;

/** `DURABLE_RETENTION_DAYS`: a positive number of days (fractions allowed), default 30. */
export function readRetentionDays(env: Environment = process.env): number {
  const raw = env[settingNames.retentionDays];
  if (raw === undefined || raw.trim() === '') return retentionDefaults.days;
  const days = Number(raw);
  if (!Number.isFinite(days) || days <= 0) throw new Error(`Setting ${settingNames.retentionDays} must be a positive number of days, got "${raw}"`);
  return days;
}

/** `DURABLE_RETENTION_SCHEDULE`, read once when the function is registered; default daily at 03:00 UTC. */
export function readRetentionSchedule(env: Environment = process.env): string {
  return env[settingNames.retentionSchedule]?.trim() || retentionDefaults.schedule;
}

/** The purge filter: finished instances created before `now - days` (from the epoch: Azure's HTTP API wants a start). */
export function retentionFilter(now: Date, days: number): df.OrchestrationFilter {
  return {
    createdTimeFrom: new Date(0),
    createdTimeTo: new Date(now.getTime() - days * dayMs),
    runtimeStatus: [...finishedStatuses],
  };
}

/** The one client call the purge needs, so tests can pass a fake. */
export type PurgeClient = Pick<df.DurableClient, 'purgeInstanceHistoryBy'>;

export interface PurgeOutcome {
  instancesDeleted: number;
  createdBefore: Date;
}

/** Purges finished instances older than the retention period. */
export async function purgeExpiredInstances(client: PurgeClient, now: Date, days: number): Promise<PurgeOutcome> {
  const filter = retentionFilter(now, days);
  const result = await client.purgeInstanceHistoryBy(filter);
  return { instancesDeleted: result.instancesDeleted, createdBefore: filter.createdTimeTo! };
}
