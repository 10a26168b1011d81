/**
 * `raster-ingest job <id>`: one job, its failures with their codes and its output; `--watch`
 * follows it (one started by an upload, say) with its progress until it ends.
 */
import { Command } from 'commander';
import { parsePositiveInteger } from '../cli.args.js';
import { createClient, exitCodes, globalOptions, printJson, type CliRun } from '../cli.context.js';
import { formatJobDetail } from '../cli.format.js';
import { watchJobs } from '../job.progress.js';

export function jobCommand(run: CliRun): Command {
  return new Command('job')
    .description('Show one job: status, tiles done and failed, failures with their codes, output; --watch follows it until it ends')
    .argument('<id>', 'the job id (ingest-...)')
    .option('--watch', 'show progress until the job ends; exit code 1 when it fails')
    .option('--timeout <seconds>', 'with --watch: stop waiting after this long (exit code 6)')
    .action(async (id: string, options: { watch?: boolean; timeout?: string }, command: Command) => {
      const global = globalOptions(command, run);
      const timeoutMs = options.timeout === undefined ? undefined : parsePositiveInteger(options.timeout, '--timeout') * 1000;
      const client = createClient(run, global);
      let view;
      if (options.watch) {
        // Read once first: an unknown id is an error at once, not a wait.
        await client.getJob(id);
        [view] = await watchJobs(client, [{ id }], { intervalMs: run.environment.pollIntervalMs, timeoutMs, stream: run.environment.progressStream });
        if (view && view.status !== 'Completed') run.exitCode = exitCodes.jobFailed;
      } else {
        view = await client.getJob(id);
      }
      if (!view) return;
      if (global.json) printJson(run, view);
      else run.environment.out(`${options.watch ? '\n' : ''}${formatJobDetail(view)}`);
    });
}
