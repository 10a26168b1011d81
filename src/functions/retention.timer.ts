/**
 * Timer: purges finished Durable instances (Completed, Failed, Terminated) older than
 * DURABLE_RETENTION_DAYS, on the DURABLE_RETENTION_SCHEDULE (daily at 03:00 UTC by default).
 * Their rows in the jobs index go too, and parsed manifest entries left by batches. Job outputs
 * (COGs, STAC) are not touched, except the COGs a newer version of their source replaced: once
 * INGEST_SUPERSEDED_GRACE_HOURS have passed since, they are deleted here.
 */
import { app, type InvocationContext, type Timer } from '@azure/functions';
import * as df from 'durable-functions';
import { deleteParsedManifestsBefore } from '../batches/manifest.pages.js';
import { purgeExpiredInstances, readRetentionDays, readRetentionSchedule } from '../jobs/retention.js';
import { sweepRetiredOutputs } from '../jobs/retired.outputs.js';
import { getBlobStore, getJobIndex, getRetiredOutputs } from './shared.store.js';

export async function purgeExpiredInstancesHandler(timer: Timer, context: InvocationContext): Promise<void> {
  const days = readRetentionDays();
  const now = new Date();
  const outcome = await purgeExpiredInstances(df.getClient(context), now, days);
  // The jobs index lists jobs; a purged job's row would point at nothing.
  const rowsDeleted = await getJobIndex().deleteFinishedBefore(outcome.createdBefore);
  // Parsed manifest entries a batch left behind (it failed, or stopped at its limit).
  const manifestPartsDeleted = await deleteParsedManifestsBefore(getBlobStore(), outcome.createdBefore);
  context.log(
    `Retention: purged ${outcome.instancesDeleted} finished orchestration instance(s) and ${rowsDeleted} jobs-index row(s) created before ${outcome.createdBefore.toISOString()} (${days} day(s)), and ${manifestPartsDeleted} parsed-manifest blob(s)` +
      (timer.isPastDue ? '; this run was past due' : ''),
  );
  const retired = getRetiredOutputs();
  const swept = await sweepRetiredOutputs({ store: getBlobStore(), retired }, now);
  context.log(`Retention: deleted ${swept.deleted} replaced output version(s) past their ${retired.graceHours} h grace period${swept.kept ? `; kept ${swept.kept} published again` : ''}`);
}

app.timer('purgeExpiredInstances', {
  schedule: readRetentionSchedule(),
  extraInputs: [df.input.durableClient()],
  handler: purgeExpiredInstancesHandler,
});
