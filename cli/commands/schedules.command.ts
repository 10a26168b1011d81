/**
 * `raster-ingest schedules <collection>`: a collection's schedules as they stand (docs/collections.md,
 * "Schedules"): each one's cron and time zone, next run, last run (its batch and outcome), what an
 * open window waits for, and the windows it missed with their reasons.
 */
import { Command } from 'commander';
import { createClient, globalOptions, printJson, type CliRun } from '../cli.context.js';
import type { CollectionSchedules, ScheduleView } from '../jobs.api.js';

/** At most this many missed windows are spelled out per schedule (the total is shown too). */
const missedShown = 5;

function describeSchedule(schedule: ScheduleView): string[] {
  const after = schedule.after.map((entry) => ('collection' in entry ? `collection ${entry.collection}` : `batch ${entry.batch}`)).join(', ');
  const lines = [
    `${schedule.name}  ${schedule.cron}  (${schedule.timeZone})  ${schedule.state}`,
    `  source:   ${schedule.source ?? '–'}${after ? `, after ${after}` : ''}`,
    `  next run: ${schedule.nextRun ?? '–'}`,
  ];
  if (schedule.pendingWindow) lines.push(`  waiting:  the window of ${schedule.pendingWindow} waits for ${schedule.waitingFor.join(', ') || '(checking)'}`);
  const last = schedule.lastRun;
  lines.push(`  last run: ${last ? `${last.at} for ${last.window}: ${last.outcome}${last.batchId ? ` (batch ${last.batchId})` : ''}${last.detail ? ` – ${last.detail}` : ''}` : 'none yet'}`);
  if (schedule.problem) lines.push(`  problem:  ${schedule.problem}`);
  if (schedule.missedTotal > 0) {
    lines.push(`  missed:   ${schedule.missedTotal} window${schedule.missedTotal === 1 ? '' : 's'}`);
    for (const missed of schedule.missed.slice(0, missedShown)) {
      lines.push(`    ${missed.window}  ${missed.reason === 'after' ? `after not met: ${missed.waitingFor.join(', ')}` : 'not running (the host was down)'}`);
    }
  }
  return lines;
}

export function formatSchedules(view: CollectionSchedules): string {
  const lines = view.schedules.length ? view.schedules.flatMap(describeSchedule) : [`Collection ${view.collection} has no schedules.`];
  if (view.settingsSchedule) {
    const settings = view.settingsSchedule;
    lines.push(`settings (INGEST_BATCH_SCHEDULE)  ${settings.cron}  (${settings.timeZone})`, `  source:   ${settings.source}`, `  last run: ${settings.lastRun ?? 'none yet'}`);
  }
  return lines.join('\n');
}

export function schedulesCommand(run: CliRun): Command {
  return new Command('schedules')
    .description("A collection's schedules: next and last run, what each waits for, missed windows")
    .argument('<collection>', 'the collection id')
    .action(async (collection: string, _options: unknown, command: Command) => {
      const global = globalOptions(command, run);
      const view = await createClient(run, global).getCollectionSchedules(collection);
      if (global.json) printJson(run, view);
      else run.environment.out(formatSchedules(view));
    });
}
