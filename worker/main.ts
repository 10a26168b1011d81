/**
 * The container worker: a long-running program that makes tile COGs from the work queue (Service
 * Bus in Azure, the Storage stand-in locally) and sends each result to the `tile-results` queue.
 * It reads the app's settings from the environment (AzureWebJobsStorage, INGEST_*, and
 * ServiceBusConnection when the queue is Service Bus) and uses the app's raster code, not the
 * Functions runtime.
 *
 *   node dist/worker/main.js [--concurrency 2] [--once] [--name worker-1]
 *
 * SIGTERM or SIGINT: stop receiving, let tiles in flight finish for `--grace-seconds`, give the
 * rest back to the queue, exit.
 */
import { hostname } from 'node:os';
import { Command, InvalidArgumentError } from 'commander';
import { createActivityDependencies } from '../src/activities/activity.dependencies.js';
import { createCreateTileCog } from '../src/activities/tile.cog.create.js';
import { readIngestSettings, readWorkerSettings, workerRetryDelayMs } from '../src/config.js';
import { JobIndex } from '../src/jobs/job.index.js';
import { RetiredOutputs } from '../src/jobs/retired.outputs.js';
import { createResultsSender, createWorkQueue } from '../src/queue/queue.factory.js';
import { AzureBlobStore } from '../src/storage/azure.blob.store.js';
import { TileWorker, type WorkerLog } from './tile.worker.js';

/** Tiles at once unless `--concurrency` says otherwise (infra passes one per vCPU). */
const defaultConcurrency = 2;

interface WorkerCommandOptions {
  concurrency: number;
  once: boolean;
  name: string;
  lockSeconds: number;
  graceSeconds: number;
}

function positiveInteger(raw: string): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new InvalidArgumentError('must be a positive integer');
  return value;
}

const log: WorkerLog = {
  info: (line) => console.log(`${new Date().toISOString()} ${line}`),
  error: (line, error) => console.error(`${new Date().toISOString()} ${line}`, ...(error === undefined ? [] : [error])),
};

async function main(): Promise<void> {
  const program = new Command('raster-ingest-worker')
    .description('Makes tile COGs from the large-rasters queue and reports each to tile-results')
    // Two keep both cores of a 2-vCPU replica busy: a tile's single-threaded steps (reading its
    // window, its overviews) and its upload overlap the other's multi-threaded compression.
    .option('--concurrency <n>', 'tiles worked on at once', positiveInteger, defaultConcurrency)
    .option('--once', 'exit when the queue is empty', false)
    .option('--name <name>', 'name in logs and results', `${hostname()}-${process.pid}`)
    .option('--lock-seconds <n>', "the queue's lock duration (Service Bus: the queue's lockDuration); locks are renewed every third of it", positiveInteger, 60)
    .option('--grace-seconds <n>', 'on SIGTERM, how long tiles in flight may finish before they go back to the queue', positiveInteger, 25)
    .parse();
  const options = program.opts<WorkerCommandOptions>();
  const env = process.env;
  const workerSettings = readWorkerSettings(env);
  const { maxDeliveries } = workerSettings;
  const deps = createActivityDependencies({ store: AzureBlobStore.fromEnvironment(env), settings: readIngestSettings(env), jobs: JobIndex.fromEnvironment(env), retired: RetiredOutputs.fromEnvironment(env) });
  const queue = createWorkQueue(env, { lockDurationMs: options.lockSeconds * 1000 });
  const results = createResultsSender(env);
  const worker = new TileWorker({
    name: options.name,
    concurrency: options.concurrency,
    once: options.once,
    maxDeliveries,
    receiver: queue.receiver,
    results,
    createTileCog: createCreateTileCog(deps),
    retryDelayMs: (deliveryCount) => workerRetryDelayMs(workerSettings, deliveryCount),
    log,
  });

  // A signal ends the program once the tiles in flight finished or were given back, even if their
  // GDAL work is still running (the process exit ends it).
  let shuttingDown: Promise<void> | undefined;
  let signalled: () => void = () => undefined;
  const stopRequested = new Promise<void>((resolve) => (signalled = resolve));
  const shutdown = (signal: string): void => {
    if (shuttingDown) return;
    log.info(`${options.name}: ${signal}: no new tiles; ${worker.tilesInFlight} in flight get ${options.graceSeconds} s to finish`);
    worker.stop();
    shuttingDown = worker.drain(options.graceSeconds * 1000);
    signalled();
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));

  log.info(
    `${options.name}: taking tiles from ${queue.transport === 'service-bus' ? 'Service Bus' : 'the Storage queue'} (concurrency ${options.concurrency}, retries after ${workerSettings.retryDelaySeconds} s doubling, dead-letter after ${maxDeliveries} deliveries)`,
  );
  await Promise.race([worker.run(), stopRequested]);
  await shuttingDown;
  await Promise.allSettled([queue.close(), results.close(), deps.scratch.close()]);
  log.info(`${options.name}: stopped`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    log.error('the worker failed to start or stopped unexpectedly', error);
    process.exit(1);
  },
);
