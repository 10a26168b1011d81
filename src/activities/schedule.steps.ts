/**
 * The activities of a collection schedule (src/orchestrations/schedule.orchestrator.ts): read its
 * definition, check its "after" dependencies, submit its batch. Their I/O is passed in, so unit
 * tests run them on fakes.
 */
import type { StoredCollection } from '../collections/collection.store.js';
import { resolveJobDefinition } from '../collections/collection.routing.js';
import { dependencyLabel, scheduleBounds, type ScheduleRun, type ScheduleSnapshot } from '../collections/schedule.plan.js';
import type { SubmitBatchCommand, SubmitBatchResult } from '../jobs/batch.submit.js';
import { boundText } from '../pipeline/bounded.text.js';
import type { CheckScheduleAfterInput, RunScheduledBatchInput, ScheduleRef } from '../pipeline/contracts.js';

export interface ScheduleStepDependencies {
  readCollection(id: string, version?: number): Promise<StoredCollection | undefined>;
  /** Whether a job of the collection completed at or after `since`. */
  collectionCompletedSince(collection: string, since: Date): Promise<boolean>;
  /** When the batch (its latest attempt) completed, or `undefined` when it has not (or does not exist). */
  batchCompletedAt(batchId: string): Promise<Date | undefined>;
  submitBatch(command: SubmitBatchCommand): Promise<SubmitBatchResult>;
  now(): Date;
}

/** The schedule as a run uses it; `source` defaults to the collection's first source rule. */
export function snapshotOf(collection: StoredCollection, name: string): ScheduleSnapshot | null {
  const schedule = collection.definition.schedules.find((candidate) => candidate.name === name);
  if (!schedule) return null;
  const first = collection.definition.sources[0];
  const source = schedule.source ?? (first ? `${first.container}/${first.prefix}` : null);
  if (source === null) return null;
  return { version: collection.version, cron: schedule.cron, timeZone: schedule.timeZone, source, after: schedule.after };
}

export function createReadScheduleDefinition(deps: Pick<ScheduleStepDependencies, 'readCollection'>): (input: ScheduleRef) => Promise<ScheduleSnapshot | null> {
  return async ({ collection, name }) => {
    const stored = await deps.readCollection(collection);
    return stored ? snapshotOf(stored, name) : null;
  };
}

export function createCheckScheduleAfter(deps: Pick<ScheduleStepDependencies, 'collectionCompletedSince' | 'batchCompletedAt'>): (input: CheckScheduleAfterInput) => Promise<string[]> {
  return async ({ after, since }) => {
    const sinceTime = new Date(since);
    const unmet: string[] = [];
    for (const dependency of after) {
      const met = 'collection' in dependency ? await deps.collectionCompletedSince(dependency.collection, sinceTime) : ((await deps.batchCompletedAt(dependency.batch))?.getTime() ?? -Infinity) >= sinceTime.getTime();
      if (!met) unmet.push(boundText(dependencyLabel(dependency), scheduleBounds.label));
    }
    return unmet;
  };
}

export function createRunScheduledBatch(deps: Pick<ScheduleStepDependencies, 'readCollection' | 'submitBatch' | 'now'>): (input: RunScheduledBatchInput) => Promise<ScheduleRun> {
  return async ({ collection, snapshot, window, since }) => {
    // Taken before listing, so a blob written while this run lists is taken next time; floored to
    // the second because blob Last-Modified times are whole seconds (as the settings' scheduled batch).
    const at = new Date(Math.floor(deps.now().getTime() / 1000) * 1000).toISOString();
    const base = { window, at, version: snapshot.version };
    // The options of the version the step read, so one run uses one version throughout.
    const stored = await deps.readCollection(collection, snapshot.version);
    const resolved = resolveJobDefinition(stored, undefined);
    if (!resolved.ok) return { ...base, batchId: null, outcome: 'failed', detail: boundText(resolved.problem, scheduleBounds.detail) };
    const result = await deps.submitBatch({
      selection: { kind: 'prefix', path: snapshot.source },
      collection,
      options: resolved.job.options,
      filters: since ? { since } : {},
      allowEmpty: true,
    });
    switch (result.outcome) {
      case 'started':
        return { ...base, batchId: result.instanceId, outcome: 'started' };
      case 'existing':
        return { ...base, batchId: result.instanceId, outcome: 'existing' };
      case 'missing':
        return { ...base, batchId: null, outcome: 'nothing-new', detail: boundText(result.problem, scheduleBounds.detail) };
      case 'invalid':
        return { ...base, batchId: null, outcome: 'failed', detail: boundText(`${result.field}: ${result.problem}`, scheduleBounds.detail) };
    }
  };
}
