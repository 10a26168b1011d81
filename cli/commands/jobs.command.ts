/** `raster-ingest jobs`: the job list, newest first, filtered by the service; `--all` follows every page. */
import { Command } from 'commander';
import { parseFailureCode, parsePositiveInteger, parseSince, parseStatusList } from '../cli.args.js';
import { createClient, globalOptions, printJson, type CliRun } from '../cli.context.js';
import { formatJobTable } from '../cli.format.js';
import type { JobFilter, JobView } from '../jobs.api.js';

interface JobsOptions {
  status?: string;
  collection?: string;
  since?: string;
  errorCode?: string;
  batch?: string;
  source?: string;
  top: string;
  all?: boolean;
  continuationToken?: string;
}

/** The filter options shared by `jobs` and bulk `retry`, read into the API's filter. */
export function readJobFilter(options: { status?: string; collection?: string; since?: string; errorCode?: string; batch?: string; source?: string }): JobFilter {
  const filter: JobFilter = {};
  if (options.status !== undefined) filter.status = parseStatusList(options.status);
  if (options.collection !== undefined) filter.collection = options.collection;
  if (options.since !== undefined) filter.since = parseSince(options.since);
  if (options.errorCode !== undefined) filter.errorCode = parseFailureCode(options.errorCode);
  if (options.batch !== undefined) filter.batch = options.batch;
  if (options.source !== undefined) filter.source = options.source;
  return filter;
}

export function jobsCommand(run: CliRun): Command {
  return new Command('jobs')
    .description('List jobs, newest first')
    .option('--status <list>', 'comma list: Pending, Running, Completed, Failed, Terminated')
    .option('--collection <id>', 'only jobs of this STAC collection')
    .option('--since <span|time>', 'only jobs created since: 30m, 12h, 1d, 2w or an ISO time')
    .option('--error-code <code>', 'only jobs with a failure of this code, e.g. TRANSIENT_STORAGE')
    .option('--batch <id>', 'only the jobs of this batch')
    .option('--source <prefix>', 'only jobs whose source starts with this: <container>/<path>, or a blob path in any container')
    .option('--top <n>', 'jobs per page (1-500)', '50')
    .option('--all', 'follow every page, not just the first')
    .option('--continuation-token <token>', 'start at this page (from a previous --json answer)')
    .action(async (options: JobsOptions, command: Command) => {
      const global = globalOptions(command, run);
      const filter = readJobFilter(options);
      const top = parsePositiveInteger(options.top, '--top', 500);
      const client = createClient(run, global);
      let jobs: JobView[];
      let continuationToken: string | null = null;
      if (options.all) {
        jobs = [];
        for await (const job of client.allJobs(filter, top)) jobs.push(job);
      } else {
        const page = await client.listJobs(filter, { top, continuationToken: options.continuationToken });
        jobs = page.jobs;
        continuationToken = page.continuationToken;
      }
      if (global.json) return printJson(run, { jobs, continuationToken });
      run.environment.out(formatJobTable(jobs));
      if (continuationToken) run.environment.err(`More jobs match: add --all, or --continuation-token '${continuationToken}' for the next page.`);
    });
}
