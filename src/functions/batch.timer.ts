/**
 * The scheduled batch ("run at 3 am after X"): on INGEST_BATCH_SCHEDULE, a batch over
 * INGEST_BATCH_SCHEDULE_PREFIX takes the blobs that arrived since its last run (the first run
 * takes everything there). Registered only when both settings are set.
 *
 * Collection schedules (docs/collections.md, "Schedules") are the general form: this one is a
 * schedule of the default collection with no "after", a six-field NCRONTAB in WEBSITE_TIME_ZONE,
 * run by the Functions timer instead of a schedule instance; `GET /api/collections/rasters/schedules`
 * shows it as `settingsSchedule`.
 */
import { app, type InvocationContext, type Timer } from '@azure/functions';
import * as df from 'durable-functions';
import { readBatchSchedule } from '../config.js';
import { submitBatch } from '../jobs/batch.submit.js';
import { settingsScheduleMark } from '../jobs/schedule.instances.js';
import { defaultCollectionId, ingestOptionsSchema } from '../pipeline/options.js';
import { getBlobStore, getJobIndex } from './shared.store.js';

export async function scheduledBatchHandler(timer: Timer, context: InvocationContext): Promise<void> {
  const schedule = readBatchSchedule();
  if (!schedule) return;
  const mark = settingsScheduleMark(schedule.prefix);
  const jobs = getJobIndex();
  const since = await jobs.readScheduleMark(mark);
  // Taken before listing, so a blob written while this run lists is picked up next time; floored
  // to the second because blob Last-Modified times are whole seconds (a blob written later in the
  // same second would otherwise fall before the mark and be missed for good). A blob taken twice
  // this way is skipped the second time as already published.
  const startedAt = new Date(Math.floor(Date.now() / 1000) * 1000);
  const result = await submitBatch(
    { client: df.getClient(context), store: getBlobStore() },
    {
      selection: { kind: 'prefix', path: schedule.prefix },
      collection: defaultCollectionId,
      options: ingestOptionsSchema.parse({}),
      filters: since ? { since: since.toISOString() } : {},
      allowEmpty: true,
    },
  );
  if (result.outcome === 'invalid') {
    context.error(`Scheduled batch over ${schedule.prefix}: ${result.problem}`);
    return;
  }
  await jobs.writeScheduleMark(mark, startedAt);
  context.log(
    `Scheduled batch over ${schedule.prefix} since ${since?.toISOString() ?? 'the beginning'}: ${result.outcome === 'missing' ? 'nothing there yet' : `${result.outcome} ${result.instanceId}`}` +
      (timer.isPastDue ? ' (past due)' : ''),
  );
}

const schedule = readBatchSchedule();
if (schedule) {
  app.timer('scheduledBatch', {
    schedule: schedule.schedule,
    extraInputs: [df.input.durableClient()],
    handler: scheduledBatchHandler,
  });
}
