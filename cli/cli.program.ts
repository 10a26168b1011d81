/**
 * The `raster-ingest` command: global options, the subcommands, and how each error becomes a
 * message and an exit code (with `--json`, a JSON object on stdout). `runCli` takes its
 * environment as a parameter, so tests run it in process against a fake transport and the entry
 * point runs it against the real one.
 */
import { Command, CommanderError } from 'commander';
import { CliUsageError } from './cli.args.js';
import { exitCodes, printJson, type CliEnvironment, type CliRun } from './cli.context.js';
import { formatProblem } from './cli.format.js';
import { batchCommand } from './commands/batch.command.js';
import { batchesCommand } from './commands/batches.command.js';
import { collectionCommand, collectionsCommand } from './commands/collection.command.js';
import { approveCommand, rejectCommand } from './commands/quarantine.command.js';
import { dashboardCommand } from './commands/dashboard.command.js';
import { jobCommand } from './commands/job.command.js';
import { jobsCommand } from './commands/jobs.command.js';
import { retryCommand } from './commands/retry.command.js';
import { schedulesCommand } from './commands/schedules.command.js';
import { submitCommand } from './commands/submit.command.js';
import { tilesCommand } from './commands/tiles.command.js';
import { JobNotStartedError, uploadCommand } from './commands/upload.command.js';
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
  // With --json, commander's own messages (usage errors) are not printed: runCli prints them as JSON.
  const output = {
    writeOut: (text: string) => run.environment.out(text.trimEnd()),
    writeErr: (text: string) => {
      if (!run.json) run.environment.err(text.trimEnd());
    },
  };
  const program = new Command('raster-ingest')
    .description('Submit and upload rasters and batches, follow jobs, batches and tiles, and re-run only what failed, through the raster-ingest job API')
    .version(run.environment.version ?? 'unknown', '-V, --version', 'print the version of raster-ingest')
    .option('--url <url>', 'the app (env RASTER_INGEST_URL)', env['RASTER_INGEST_URL'] || defaultUrl)
    .option('--scope <scope>', "sign in with Entra ID for this API scope, api://<client id>/.default (env RASTER_INGEST_API_SCOPE; the deploy's AUTH_API_SCOPE)")
    .option('--sign-in <method>', 'how to sign in for --scope: cli (Azure CLI, az login; default) or device-code (env RASTER_INGEST_SIGN_IN)')
    .option('--token <token>', 'a bearer token to send as is, e.g. a development token for the local host with sign-in on (env RASTER_INGEST_TOKEN)')
    .option('--key <key>', 'function key, sent as x-functions-key: automation against an app that takes keys; with sign-in on (always in Azure) keys open no route (env RASTER_INGEST_KEY)')
    .option('--json', 'print machine-readable JSON instead of text, errors included')
    .showHelpAfterError('(add --help for usage)')
    .configureOutput(output)
    .exitOverride();
  // Subcommands (and theirs: batch submit) report their usage errors the same way as the program,
  // and their help lists the global options too (they may come before or after the subcommand).
  const reportLikeProgram = (command: Command): void => {
    command.exitOverride().configureOutput(output).configureHelp({ showGlobalOptions: true });
    command.commands.forEach(reportLikeProgram);
  };
  for (const command of [submitCommand(run), uploadCommand(run), jobsCommand(run), jobCommand(run), tilesCommand(run), retryCommand(run), batchesCommand(run), batchCommand(run), collectionsCommand(run), collectionCommand(run), schedulesCommand(run), approveCommand(run), rejectCommand(run), dashboardCommand(run)]) {
    reportLikeProgram(command);
    program.addCommand(command);
  }
  return program;
}

/** What went wrong, as `--json` prints it: `{"error": {kind, message, exitCode, ...}}`. */
export interface ErrorObject {
  kind: 'usage' | 'api' | 'unreachable' | 'upload' | 'timeout' | 'internal';
  message: string;
  exitCode: number;
  /** `api`: the request, the status and the service's problem detail. */
  request?: string;
  status?: number;
  title?: string;
  detail?: string;
  fields?: string[];
  /** `timeout`: what was being waited for. */
  id?: string;
}

/** A message for a person and an exit code, for anything a command throws; `error`: the same for scripts. */
export function describeFailure(error: unknown): { message: string; exitCode: number; error: ErrorObject } {
  const failure = (kind: ErrorObject['kind'], message: string, exitCode: number, extra: Partial<ErrorObject> = {}) => ({
    message: `error: ${message}`,
    exitCode,
    error: { kind, message, exitCode, ...extra },
  });
  if (error instanceof CliUsageError) return failure('usage', error.message, exitCodes.usage);
  if (error instanceof JobApiError) {
    const { title, detail, fields } = error.problem;
    return failure('api', formatProblem(error.request, error.status, error.problem), exitCodes.apiError, {
      request: error.request,
      status: error.status,
      ...(title ? { title } : {}),
      ...(detail ? { detail } : {}),
      ...(fields ? { fields } : {}),
    });
  }
  if (error instanceof JobApiUnreachableError || error instanceof JobApiShapeError) return failure('unreachable', error.message, exitCodes.unreachable);
  if (error instanceof UploadError) return failure('upload', error.message, exitCodes.uploadFailed);
  if (error instanceof JobNotStartedError) return failure('timeout', error.message, exitCodes.timeout);
  if (error instanceof JobWaitTimeoutError) {
    return failure('timeout', `${error.message}; it goes on running, follow it with raster-ingest ${error.kind} ${error.id}`, exitCodes.timeout, { id: error.id });
  }
  // Unexpected: the message only (no stack: it would show local paths).
  return failure('internal', error instanceof Error ? error.message : String(error), exitCodes.unreachable);
}

/** `--json` anywhere before a `--` (commander has not parsed anything yet when a usage error stops it). */
export function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).includes('--json');
}

/** Runs one command line (`argv` without node and the script); resolves with the exit code. */
export async function runCli(argv: readonly string[], environment: CliEnvironment): Promise<number> {
  const run: CliRun = { environment, exitCode: exitCodes.ok, json: wantsJson(argv) };
  const program = buildProgram(run);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return run.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are "errors" to commander; its message has already been printed, unless --json.
      if (error.exitCode === 0) return exitCodes.ok;
      if (run.json) {
        const message = error.message.replace(/^error: /, '');
        printJson(run, { error: { kind: 'usage', message, exitCode: exitCodes.usage, code: error.code } });
      }
      return exitCodes.usage;
    }
    const { message, exitCode, error: object } = describeFailure(error);
    if (run.json) printJson(run, { error: object });
    else environment.err(message);
    return exitCode;
  }
}
