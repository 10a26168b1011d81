/** `raster-ingest tiles <id>`: the job's tile ledger (every page), optionally only the tiles in one state. */
import { Command } from 'commander';
import { CliUsageError } from '../cli.args.js';
import { createClient, globalOptions, printJson, type CliRun } from '../cli.context.js';
import { formatTileTable } from '../cli.format.js';
import { tileStates, type TileState } from '../jobs.api.js';

function parseTileState(value: string): TileState {
  const state = tileStates.find((known) => known === value.trim().toLowerCase());
  if (!state) throw new CliUsageError(`--state takes one of ${tileStates.join(', ')} (got "${value}")`);
  return state;
}

export function tilesCommand(run: CliRun): Command {
  return new Command('tiles')
    .description("List a job's tiles: state, attempts, duration, error")
    .argument('<id>', 'the job id (ingest-...)')
    .option('--state <state>', `only tiles in this state: ${tileStates.join(', ')}`)
    .action(async (id: string, options: { state?: string }, command: Command) => {
      const global = globalOptions(command, run);
      const state = options.state === undefined ? undefined : parseTileState(options.state);
      const tiles = (await createClient(run, global).allTiles(id)).filter((tile) => state === undefined || tile.state === state);
      if (global.json) printJson(run, { jobId: id, tiles });
      else run.environment.out(formatTileTable(tiles));
    });
}
