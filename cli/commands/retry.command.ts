/**
 * `raster-ingest retry <id>` re-runs what failed of one failed job (its failed tiles; or its
 * finalize step, or the whole job, when no tile failed) — only when a retry can help: a permanent
 * failure (the upload must change) or a replaced source is refused with the reason, unless
 * `--force`; `raster-ingest retry --failed --since 1d [...]` does so for every job the filter
 * matches, page by page on the server (`--dry-run` says what would run and what is skipped, and
 * why); `raster-ingest retry --batch <id>` re-runs the failed sources of a batch the same way.
 */
import { Command } from 'commander';
import { CliUsageError, parsePositiveInteger } from '../cli.args.js';
import { createClient, exitCodes, globalOptions, printJson, type CliRun } from '../cli.context.js';
import { formatBulkRetry, formatJobDetail } from '../cli.format.js';
import { watchJobs } from '../job.progress.js';
import type { BulkRetryJob, RetryAnswer } from '../jobs.api.js';
import { maxBulkRetryTop } from '../../src/jobs/retry.advice.js';
import { readJobFilter } from './jobs.command.js';

interface RetryOptions {
  failed?: boolean;
  status?: string;
  collection?: string;
  since?: string;
  errorCode?: string;
  batch?: string;
  dryRun?: boolean;
  top: string;
  watch?: boolean;
  force?: boolean;
}

/** What the retry runs again: its failed tiles, only the finalize step, or the whole job (never "0 failed tiles"). */
export function describeRetry(answer: RetryAnswer): string {
  const kept = (count: number): string => `${count} done tile${count === 1 ? '' : 's'} kept as they are`;
  const reruns = answer.reruns ?? (answer.retriedTiles > 0 ? 'tiles' : (answer.reusedTiles ?? 0) > 0 ? 'finalize' : 'job');
  switch (reruns) {
    case 'tiles':
      return `Retrying ${answer.retriedTiles} failed tile${answer.retriedTiles === 1 ? '' : 's'} of ${answer.previousAttempt} as ${answer.id}${answer.reusedTiles ? `; ${kept(answer.reusedTiles)}` : ''}`;
    case 'finalize':
      return `No tile of ${answer.previousAttempt} failed: re-running its finalize step as ${answer.id}; ${kept(answer.reusedTiles ?? 0)}`;
    case 'job':
      return `${answer.previousAttempt} failed before making any tile: re-running the whole job as ${answer.id}`;
  }
}

export function retryCommand(run: CliRun): Command {
  return new Command('retry')
    .description('Re-run what failed, where a retry can help: of one job (<id>), of every failed job a filter matches (--failed), or of a batch\'s failed sources (--batch)')
    .argument('[id]', 'the failed job to retry')
    .option('--failed', 'bulk: every job the filter matches (default status Failed)')
    .option('--status <list>', 'bulk: statuses to match (default Failed)')
    .option('--collection <id>', 'bulk: only jobs of this collection')
    .option('--since <span|time>', 'bulk: only jobs created since: 30m, 12h, 1d, 2w or an ISO time')
    .option('--error-code <code>', 'bulk: only jobs with a failure of this code')
    .option('--batch <id>', 'bulk: the failed jobs of this batch (implies --failed)')
    .option('--dry-run', 'bulk: list what would be retried, start nothing')
    .option('--top <n>', `bulk: jobs per server page (1-${maxBulkRetryTop})`, String(maxBulkRetryTop))
    .option('--watch', 'one job: show the new attempt\'s progress until it ends')
    .option('--force', 'one job: retry although its failure is permanent (the same input runs again unchanged)')
    .action(async (id: string | undefined, options: RetryOptions, command: Command) => {
      const global = globalOptions(command, run);
      const bulkOnly = (['status', 'collection', 'since', 'errorCode', 'batch', 'dryRun'] as const).filter((name) => options[name] !== undefined);
      const bulk = options.failed === true || options.batch !== undefined;
      if (id !== undefined && options.failed) throw new CliUsageError('give either a job id or --failed with a filter, not both');
      if (id === undefined && !bulk) throw new CliUsageError('give the job id to retry, --failed (with --since, --collection, --error-code) for every failed job, or --batch <id> for a batch\'s failed sources');
      if (id !== undefined && bulkOnly.length > 0) throw new CliUsageError(`--${bulkOnly[0]!.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} applies to retry --failed only`);
      if (id === undefined && options.watch) throw new CliUsageError('--watch applies to retrying one job; follow bulk retries with raster-ingest jobs --status Running');
      if (id === undefined && options.force) throw new CliUsageError('--force applies to retrying one job: bulk retry never re-runs a permanent failure');
      const client = createClient(run, global);

      if (id !== undefined) {
        const answer = await client.retry(id, { force: options.force === true });
        if (!options.watch) {
          if (global.json) printJson(run, answer);
          else run.environment.out(describeRetry(answer));
          return;
        }
        if (!global.json) run.environment.out(describeRetry(answer));
        const [view] = await watchJobs(client, [{ id: answer.id }], { intervalMs: run.environment.pollIntervalMs, stream: run.environment.progressStream });
        if (view && view.status !== 'Completed') run.exitCode = exitCodes.jobFailed;
        if (global.json) printJson(run, { retry: answer, job: view });
        else if (view) run.environment.out(`\n${formatJobDetail(view)}`);
        return;
      }

      const filter = readJobFilter(options);
      const dryRun = options.dryRun === true;
      const top = parsePositiveInteger(options.top, '--top', maxBulkRetryTop);
      const jobs: BulkRetryJob[] = [];
      for await (const page of client.bulkRetryAll({ ...filter, dryRun }, top)) {
        jobs.push(...page.jobs);
        if (!global.json && page.continuationToken) run.environment.err(`${jobs.length} jobs so far, next page…`);
      }
      if (global.json) printJson(run, { dryRun, jobs });
      else run.environment.out(formatBulkRetry(jobs, dryRun));
    });
}
