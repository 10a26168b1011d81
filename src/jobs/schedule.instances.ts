/**
 * Collection schedules' instances (`schedule:<collection>:<name>`, src/orchestrations/schedule.orchestrator.ts):
 * started, woken or left to stop when a definition is written, started when missing (the
 * reconcile timer), and read back as the schedule view. The instance's custom status is the one
 * owner of a schedule's state (last run, missed windows, what it waits for).
 */
import { createHash } from 'node:crypto';
import type { DurableClient } from 'durable-functions';
import type { ScheduleView } from '../api/contract.js';
import type { StoredCollection } from '../collections/collection.store.js';
import { initialCarry, nextFireTime, scheduleInstanceId, type ScheduleCarry, type ScheduleStatus } from '../collections/schedule.plan.js';
import { snapshotOf } from '../activities/schedule.steps.js';
import { orchestratorNames, scheduleChangedEvent, type ScheduleInput } from '../pipeline/contracts.js';
import { findInstance, type InstanceStatus } from './durable.instances.js';

const liveStatuses = new Set(['Running', 'Pending', 'Suspended', 'ContinuedAsNew']);

export type ScheduleAction = 'started' | 'woken' | 'none';

function isScheduleStatus(value: unknown): value is ScheduleStatus {
  return typeof value === 'object' && value !== null && 'state' in value && 'missed' in value && Array.isArray(value.missed) && 'lastRun' in value;
}

/** What a restarted schedule keeps of its earlier instance (its runs and misses), so a stop and start loses no history. */
function carryFrom(previous: InstanceStatus | undefined, now: Date): ScheduleCarry {
  const carry = initialCarry(now);
  if (!previous || !isScheduleStatus(previous.customStatus)) return carry;
  const { lastRun, missed, missedTotal } = previous.customStatus;
  return { ...carry, lastRun, missed, missedTotal, listedUpTo: lastRun && lastRun.outcome !== 'failed' ? lastRun.at : null };
}

/**
 * After a definition is written: each schedule of it or of the version it replaced is woken
 * (it reads the definition again: a changed cron re-plans, a removed schedule stops) or, when
 * it has no live instance, started. Returns what was done, by schedule name.
 */
export async function syncSchedules(client: DurableClient, collection: StoredCollection, previous: StoredCollection | undefined, recheckMs: number, now: Date): Promise<Record<string, ScheduleAction>> {
  const names = new Set([...(previous?.definition.schedules ?? []), ...collection.definition.schedules].map((schedule) => schedule.name));
  const actions: Record<string, ScheduleAction> = {};
  for (const name of names) {
    const defined = collection.definition.schedules.some((schedule) => schedule.name === name);
    actions[name] = await ensureSchedule(client, collection.id, name, defined, recheckMs, now);
  }
  return actions;
}

/** Starts the schedule's instance if it should run and does not; wakes a live one when `wake`. */
export async function ensureSchedule(client: DurableClient, collection: string, name: string, defined: boolean, recheckMs: number, now: Date, wake = true): Promise<ScheduleAction> {
  const instanceId = scheduleInstanceId(collection, name);
  const status = await findInstance(client, instanceId);
  if (status && liveStatuses.has(status.runtimeStatus)) {
    if (!wake) return 'none';
    await client.raiseEvent(instanceId, scheduleChangedEvent, { at: now.toISOString() });
    return 'woken';
  }
  if (!defined) return 'none';
  const input: ScheduleInput = { collection, name, recheckMs, carry: carryFrom(status, now) };
  try {
    await client.startNew(orchestratorNames.collectionSchedule, { instanceId, input });
  } catch (error) {
    // Started meanwhile by another writer or the reconcile timer: it reads the current definition itself.
    const again = await findInstance(client, instanceId);
    if (again && liveStatuses.has(again.runtimeStatus)) return 'none';
    throw error;
  }
  return 'started';
}

/** The schedule view of each schedule of a collection's current definition (`GET /api/collections/{id}/schedules`). */
export async function readScheduleViews(client: DurableClient, collection: StoredCollection, now: Date): Promise<ScheduleView[]> {
  const views: ScheduleView[] = [];
  for (const schedule of collection.definition.schedules) {
    const instanceId = scheduleInstanceId(collection.id, schedule.name);
    const status = await findInstance(client, instanceId);
    const shown = status && isScheduleStatus(status.customStatus) ? status.customStatus : undefined;
    const snapshot = snapshotOf(collection, schedule.name);
    let computedNext: string | null = null;
    try {
      computedNext = nextFireTime(schedule, now)?.toISOString() ?? null;
    } catch {
      computedNext = null;
    }
    const live = status !== undefined && liveStatuses.has(status.runtimeStatus);
    views.push({
      name: schedule.name,
      instanceId,
      cron: schedule.cron,
      timeZone: schedule.timeZone,
      source: snapshot?.source ?? null,
      after: schedule.after.map((after) => ('collection' in after ? { collection: after.collection } : { batch: after.batch })),
      // A live instance's own status wins; without one the schedule is not running (say so), and its next window is computed.
      state: live ? (shown?.state ?? 'planned') : status ? 'stopped' : 'not-started',
      runtimeStatus: status?.runtimeStatus ?? null,
      definitionVersion: collection.version,
      instanceVersion: shown?.version ?? null,
      nextRun: live ? (shown?.nextRun ?? computedNext) : computedNext,
      pendingWindow: live ? (shown?.pendingWindow ?? null) : null,
      waitingFor: live ? (shown?.waitingFor ?? []) : [],
      lastRun: shown?.lastRun ? { window: shown.lastRun.window, at: shown.lastRun.at, batchId: shown.lastRun.batchId, outcome: shown.lastRun.outcome, ...(shown.lastRun.detail ? { detail: shown.lastRun.detail } : {}), version: shown.lastRun.version } : null,
      missed: shown?.missed ?? [],
      missedTotal: shown?.missedTotal ?? 0,
      ...(shown?.problem ? { problem: shown.problem } : {}),
      checkedAt: shown?.checkedAt ?? null,
    });
  }
  return views;
}

/** The jobs index row where the settings' scheduled batch (`INGEST_BATCH_SCHEDULE`, src/functions/batch.timer.ts) keeps its last run. */
export function settingsScheduleMark(prefix: string): string {
  return `batch-${createHash('sha256').update(prefix).digest('hex').slice(0, 16)}`;
}
