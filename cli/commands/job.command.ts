/** `raster-ingest job <id>`: one job's status, progress, failures and output. */
import { Command } from 'commander';
import { createClient, globalOptions, printJson, type CliRun } from '../cli.context.js';
import { formatJobDetail } from '../cli.format.js';

export function jobCommand(run: CliRun): Command {
  return new Command('job')
    .description("Show one job: status, tiles done and failed, failures with their codes, output")
    .argument('<id>', 'the job id (ingest-...)')
    .action(async (id: string, _options: unknown, command: Command) => {
      const global = globalOptions(command, run);
      const view = await createClient(run, global).getJob(id);
      if (global.json) printJson(run, view);
      else run.environment.out(formatJobDetail(view));
    });
}
