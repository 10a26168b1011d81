/**
 * Collection schedules (issue 24, part 4; docs/collections.md, "Schedules"): the schedule
 * orchestration and its activities, `GET /api/collections/{id}/schedules`, and a reconcile timer
 * that starts the instance of any defined schedule that has none (a definition written while
 * Durable could not be reached, or one written before schedules ran). A `PUT` of a definition
 * starts, wakes or stops its schedules' instances itself (collections.http.ts).
 */
import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { app } from '@azure/functions';
import * as df from 'durable-functions';
import { createCheckScheduleAfter, createReadScheduleDefinition, createRunScheduledBatch } from '../activities/schedule.steps.js';
import { runToOutcome } from '../activities/index.js';
import type { CollectionSchedules } from '../api/contract.js';
import { collectionIdPattern } from '../collections/definition.schema.js';
import { readBatchSchedule, readScheduleRecheckMs, readTimerTimeZone } from '../config.js';
import { submitBatch } from '../jobs/batch.submit.js';
import { findLatestAttempt } from '../jobs/job.submit.js';
import { ensureSchedule, readScheduleViews, settingsScheduleMark } from '../jobs/schedule.instances.js';
import { collectionScheduleOrchestrator } from '../orchestrations/schedule.orchestrator.js';
import { activities, orchestratorNames, type CheckScheduleAfterInput, type RunScheduledBatchInput, type ScheduleRef } from '../pipeline/contracts.js';
import { defaultCollectionId } from '../pipeline/options.js';
import { httpRoute } from './http.access.js';
import { guarded, problem } from './http.problem.js';
import { getBlobStore, getCollectionStore, getJobIndex } from './shared.store.js';

df.app.orchestration(orchestratorNames.collectionSchedule, collectionScheduleOrchestrator);

const logFailure = (name: string, context: InvocationContext) => (failure: { code: string; message: string }, error: unknown) => context.warn(`${name} failed (${failure.code}): ${failure.message}`, error);

df.app.activity(activities.readScheduleDefinition.name, {
  handler: (input: ScheduleRef, context: InvocationContext) =>
    runToOutcome(() => createReadScheduleDefinition({ readCollection: (id, version) => getCollectionStore().read(id, version) })(input), logFailure(activities.readScheduleDefinition.name, context)),
});

/** When the latest attempt of a batch completed; a batch id names its first attempt or any later one (`-a2`). */
async function batchCompletedAt(client: df.DurableClient, batchId: string): Promise<Date | undefined> {
  const latest = await findLatestAttempt(client, batchId.replace(/-a\d+$/, ''));
  if (!latest || latest.status.runtimeStatus !== 'Completed') return undefined;
  const time = new Date(latest.status.lastUpdatedTime);
  return Number.isNaN(time.getTime()) ? undefined : time;
}

df.app.activity(activities.checkScheduleAfter.name, {
  extraInputs: [df.input.durableClient()],
  handler: (input: CheckScheduleAfterInput, context: InvocationContext) => {
    const client = df.getClient(context);
    return runToOutcome(
      () => createCheckScheduleAfter({ collectionCompletedSince: (collection, since) => getJobIndex().hasCompletedSince(collection, since), batchCompletedAt: (batchId) => batchCompletedAt(client, batchId) })(input),
      logFailure(activities.checkScheduleAfter.name, context),
    );
  },
});

df.app.activity(activities.runScheduledBatch.name, {
  extraInputs: [df.input.durableClient()],
  handler: (input: RunScheduledBatchInput, context: InvocationContext) => {
    const client = df.getClient(context);
    return runToOutcome(async () => {
      const run = await createRunScheduledBatch({
        readCollection: (id, version) => getCollectionStore().read(id, version),
        submitBatch: (command) => submitBatch({ client, store: getBlobStore() }, command),
        now: () => new Date(),
      })(input);
      context.log(`Schedule ${input.collection}/${input.name}, window ${run.window}: ${run.outcome}${run.batchId ? ` ${run.batchId}` : ''}${run.detail ? ` (${run.detail})` : ''}`);
      return run;
    }, logFailure(activities.runScheduledBatch.name, context));
  },
});

export async function getCollectionSchedulesHandler(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const id = request.params['id'] ?? '';
  if (!collectionIdPattern.test(id)) return problem(400, 'Invalid collection id', 'id: must be 1-63 characters of a-z, 0-9, ".", "_" or "-", starting with a letter or digit', { fields: ['id'] });
  const collection = await getCollectionStore().read(id);
  if (!collection && id !== defaultCollectionId) return problem(404, 'Collection not found', 'No collection has that id');
  const now = new Date();
  const schedules = collection ? await readScheduleViews(df.getClient(context), collection, now) : [];
  const settings = id === defaultCollectionId ? readBatchSchedule() : undefined;
  const settingsSchedule = settings
    ? { cron: settings.schedule, timeZone: readTimerTimeZone(), source: settings.prefix, lastRun: (await getJobIndex().readScheduleMark(settingsScheduleMark(settings.prefix)))?.toISOString() ?? null }
    : null;
  return { status: 200, jsonBody: { collection: id, version: collection?.version ?? 0, schedules, settingsSchedule } satisfies CollectionSchedules };
}

httpRoute('getCollectionSchedules', { route: 'collections/{id}/schedules', methods: ['GET'], extraInputs: [df.input.durableClient()], handler: guarded(getCollectionSchedulesHandler) });

/** Every 10 minutes: a defined schedule without a live instance gets one (live ones are left alone). */
export async function reconcileSchedulesHandler(_timer: unknown, context: InvocationContext): Promise<void> {
  const client = df.getClient(context);
  const now = new Date();
  for (const collection of await getCollectionStore().list()) {
    for (const schedule of collection.definition.schedules) {
      try {
        const action = await ensureSchedule(client, collection.id, schedule.name, true, readScheduleRecheckMs(), now, false);
        if (action === 'started') context.log(`Schedule ${collection.id}/${schedule.name}: had no running instance; started`);
      } catch (error) {
        context.warn(`Schedule ${collection.id}/${schedule.name}: could not be started (${error instanceof Error ? error.message : 'unknown error'})`);
      }
    }
  }
}

app.timer('reconcileSchedules', { schedule: '0 */10 * * * *', extraInputs: [df.input.durableClient()], handler: reconcileSchedulesHandler });
