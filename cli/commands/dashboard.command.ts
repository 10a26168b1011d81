/** `raster-ingest dashboard`: the URL of the web dashboard the app serves. */
import { Command } from 'commander';
import { createClient, globalOptions, printJson, type CliRun } from '../cli.context.js';

export function dashboardCommand(run: CliRun): Command {
  return new Command('dashboard')
    .description('Print the URL of the dashboard (jobs, tile grid, timeline, map, retry buttons)')
    .action((_options: unknown, command: Command) => {
      const global = globalOptions(command, run);
      const url = createClient(run, global).dashboardUrl();
      if (global.json) printJson(run, { url });
      else run.environment.out(url);
    });
}
