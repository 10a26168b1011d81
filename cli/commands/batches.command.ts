/** `raster-ingest batches`: batches with their counts, newest first; `--status` filters them here (the API lists all). */
import { Command } from 'commander';
import { parsePositiveInteger, parseStatusList } from '../cli.args.js';
import { createClient, globalOptions, printJson, type CliRun } from '../cli.context.js';
import { formatBatchTable } from '../cli.format.js';
import type { BatchView } from '../jobs.api.js';

interface BatchesOptions {
  status?: string;
  top: string;
  continuationToken?: string;
}

export function batchesCommand(run: CliRun): Command {
  return new Command('batches')
    .description('List batches: status, stage, sources done/failed/skipped/running of the total, throughput, time left')
    .option('--status <list>', 'comma list: Pending, Running, Completed, Failed, Terminated')
    .option('--top <n>', 'batches to show (1-500)', '50')
    .option('--continuation-token <token>', 'start at this page (from a previous --json answer)')
    .action(async (options: BatchesOptions, command: Command) => {
      const global = globalOptions(command, run);
      const statuses = options.status === undefined ? undefined : new Set(parseStatusList(options.status));
      const top = parsePositiveInteger(options.top, '--top', 500);
      const client = createClient(run, global);
      // Without a status, one page of `top`; with one, pages are read until `top` batches match.
      const batches: BatchView[] = [];
      let continuationToken: string | null = options.continuationToken ?? null;
      do {
        const page = await client.listBatches({ top, ...(continuationToken ? { continuationToken } : {}) });
        batches.push(...page.batches.filter((batch) => !statuses || statuses.has(batch.status)));
        continuationToken = page.continuationToken;
      } while (statuses && continuationToken && batches.length < top);
      const shown = batches.slice(0, top).sort((a, b) => b.createdTime.localeCompare(a.createdTime));
      if (global.json) return printJson(run, { batches: shown, continuationToken });
      run.environment.out(formatBatchTable(shown));
      if (continuationToken) run.environment.err(`More batches: --continuation-token '${continuationToken}' for the next page.`);
    });
}
