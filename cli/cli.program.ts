/**
 * The `raster-ingest` command: global options, the subcommands, and how each error becomes a
 * message and an exit code. `runCli` takes its environment as a parameter, so tests run it in
 * process against a fake transport and the entry point runs it against the real one.
 */
import { Command, CommanderError } from 'commander';
import { CliUsageError } from './cli.args.js';
import { exitCodes, type CliEnvironment, type CliRun } from './cli.context.js';
import { formatProblem } from './cli.format.js';
import { batchCommand } from './commands/batch.command.js';
import { batchesCommand } from './commands/batches.command.js';
import { dashboardCommand } from './commands/dashboard.command.js';
import { jobCommand } from './commands/job.command.js';
import { jobsCommand } from './commands/jobs.command.js';
import { retryCommand } from './commands/retry.command.js';
import { submitCommand } from './commands/submit.command.js';
import { tilesCommand } from './commands/tiles.command.js';
import { JobApiError, JobApiShapeError, JobApiUnreachableError, JobWaitTimeoutError } from './jobs.client.js';

export const defaultUrl = 'http://localhost:7071';

/** Raised by the upload step; the message names the blob and the storage's status, never a key. */
export class UploadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UploadError';
  }
}

export function buildProgram(run: CliRun): Command {
  const { env } = run.environment;
  const program = new Command('raster-ingest')
    .description('Submit rasters and batches, follow jobs, batches and tiles, and re-run only what failed, through the raster-ingest job API')
    .option('--url <url>', 'the app (env RASTER_INGEST_URL)', env['RASTER_INGEST_URL'] || defaultUrl)
    .option('--key <key>', 'function key for Azure, sent as x-functions-key (env RASTER_INGEST_KEY)')
    .option('--json', 'print machine-readable JSON instead of text')
    .showHelpAfterError('(add --help for usage)')
    .configureOutput({
      writeOut: (text) => run.environment.out(text.trimEnd()),
      writeErr: (text) => run.environment.err(text.trimEnd()),
    })
    .exitOverride();
  // Subcommands (and theirs: batch submit) report their usage errors the same way as the program.
  const reportLikeProgram = (command: Command): void => {
    command.exitOverride().configureOutput({ writeOut: (text) => run.environment.out(text.trimEnd()), writeErr: (text) => run.environment.err(text.trimEnd()) });
    command.commands.forEach(reportLikeProgram);
  };
  for (const command of [submitCommand(run), jobsCommand(run), jobCommand(run), tilesCommand(run), retryCommand(run), batchesCommand(run), batchCommand(run), dashboardCommand(run)]) {
    reportLikeProgram(command);
    program.addCommand(command);
  }
  return program;
}

/** A message for a person and an exit code, for anything a command throws. */
export function describeFailure(error: unknown): { message: string; exitCode: number } {
  if (error instanceof CliUsageError) return { message: `error: ${error.message}`, exitCode: exitCodes.usage };
  if (error instanceof JobApiError) return { message: `error: ${formatProblem(error.request, error.status, error.problem)}`, exitCode: exitCodes.apiError };
  if (error instanceof JobApiUnreachableError || error instanceof JobApiShapeError) return { message: `error: ${error.message}`, exitCode: exitCodes.unreachable };
  if (error instanceof UploadError) return { message: `error: ${error.message}`, exitCode: exitCodes.uploadFailed };
  if (error instanceof JobWaitTimeoutError) return { message: `error: ${error.message}; it goes on running, follow it with raster-ingest ${error.kind} ${error.id}`, exitCode: exitCodes.timeout };
  // Unexpected: the message only (no stack: it would show local paths).
  return { message: `error: ${error instanceof Error ? error.message : String(error)}`, exitCode: exitCodes.unreachable };
}

/** Runs one command line (`argv` without node and the script); resolves with the exit code. */
export async function runCli(argv: readonly string[], environment: CliEnvironment): Promise<number> {
  const run: CliRun = { environment, exitCode: exitCodes.ok };
  const program = buildProgram(run);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return run.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are "errors" to commander; its message has already been printed.
      return error.exitCode === 0 ? exitCodes.ok : exitCodes.usage;
    }
    const { message, exitCode } = describeFailure(error);
    environment.err(message);
    return exitCode;
  }
}
