#!/usr/bin/env node
import { Command, InvalidArgumentError } from 'commander';
import { startHost } from './host.js';

function integer(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0) throw new InvalidArgumentError('must be a non-negative integer');
  return parsed;
}

const program = new Command()
  .name('raster-ingest-host')
  .description('Runs the built Azure Functions app locally with Durable Functions semantics, all state in Azure Storage (Azurite).')
  .option('-p, --port <port>', 'HTTP port (env PORT; default 7071)', integer)
  .option('--listen <address>', 'address to listen on; 0.0.0.0 opens the unauthenticated API to the network (env HOST_LISTEN_ADDRESS; default 127.0.0.1)')
  .option('--app-root <dir>', 'folder with the app\'s package.json (default: this project)')
  .option('--hub <name>', 'task hub name (default: host.json extensions.durableTask.hubName, else TestHubName)')
  .option('--max-concurrent-activities <n>', 'activities run at once (env DURABLE_MAX_CONCURRENT_ACTIVITIES; default: number of cores)', integer)
  .option('--blob-poll-ms <ms>', 'blob container polling interval (blob triggers and the Event Grid stand-in); 0 turns both off (env BLOB_TRIGGER_POLL_MS; default 2000)', integer)
  .option('--quiet-activities', 'do not print a line per activity invocation')
  .option('--no-worker', 'do not start the container worker process (env HOST_NO_WORKER=1)')
  .showHelpAfterError();

program.parse();
const options = program.opts<{ port?: number; listen?: string; appRoot?: string; hub?: string; maxConcurrentActivities?: number; blobPollMs?: number; quietActivities?: boolean; worker: boolean }>();

try {
  const host = await startHost({
    ...(options.appRoot ? { appRoot: options.appRoot } : {}),
    ...(options.port !== undefined ? { port: options.port } : {}),
    ...(options.listen !== undefined ? { listenAddress: options.listen } : {}),
    ...(options.hub ? { hubName: options.hub } : {}),
    ...(options.maxConcurrentActivities !== undefined ? { maxConcurrentActivities: options.maxConcurrentActivities } : {}),
    ...(options.blobPollMs !== undefined ? { blobPollIntervalMs: options.blobPollMs } : {}),
    ...(options.worker ? {} : { startWorker: false }),
    logActivities: !options.quietActivities,
  });
  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) {
      process.stdout.write(`Second ${signal}: exiting now\n`);
      process.exit(130);
    }
    stopping = true;
    process.stdout.write(`${signal} received: finishing running work and stopping (press Ctrl+C again to exit at once)\n`);
    host.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`Shutdown failed: ${(error as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
} catch (error) {
  process.stderr.write(`The host could not start: ${describeStartupError(error)}\n`);
  process.exit(1);
}

/**
 * A storage SDK error's message can be the service's raw XML answer; an operator needs its status,
 * its code and which setting to check instead.
 */
function describeStartupError(error: unknown): string {
  const { statusCode, code, message } = error as { statusCode?: unknown; code?: unknown; message?: unknown };
  if (typeof statusCode === 'number') {
    const hint = statusCode === 403 ? ': check the account name and key (or the identity\'s roles) in AzureWebJobsStorage' : '';
    return `storage answered ${statusCode}${typeof code === 'string' ? ` ${code}` : ''}${hint}`;
  }
  return String(message ?? error);
}
