/**
 * `raster-ingest batch <id>` shows one batch (`--watch`: a progress bar until it ends);
 * `raster-ingest batch submit --source <container>/<prefix>/ | --manifest <container>/<blob>`
 * starts one.
 */
import { Command } from 'commander';
import { CliUsageError, parsePositiveInteger, parseSince } from '../cli.args.js';
import { createClient, exitCodes, globalOptions, printJson, type CliRun } from '../cli.context.js';
import { batchSucceeded, formatBatchDetail } from '../cli.format.js';
import { watchBatch } from '../batch.progress.js';
import type { BatchView, SubmitBatchRequest } from '../jobs.api.js';
import type { JobsClient } from '../jobs.client.js';

interface WatchFlags {
  watch?: boolean;
  timeout?: string;
}

interface SubmitBatchOptions extends WatchFlags {
  source?: string;
  manifest?: string;
  collection?: string;
  include?: string;
  since?: string;
  limit?: string;
}

/** `--since` as the batch API takes it: an ISO time with an offset; an age (`1d`) is counted back from now. */
export function batchSinceTime(value: string, now: Date): string {
  const since = parseSince(value);
  const age = /^(\d+)([mhdw])$/.exec(since);
  if (!age) return new Date(since).toISOString();
  const unitMs: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
  return new Date(now.getTime() - Number(age[1]) * unitMs[age[2]!]!).toISOString();
}

/** Follows the batch to its end; a batch that failed or has failed sources sets exit code 1. */
async function watchToEnd(run: CliRun, client: JobsClient, id: string, flags: WatchFlags): Promise<BatchView> {
  const timeoutMs = flags.timeout === undefined ? undefined : parsePositiveInteger(flags.timeout, '--timeout') * 1000;
  const batch = await watchBatch(client, id, { intervalMs: run.environment.pollIntervalMs, timeoutMs, stream: run.environment.progressStream });
  if (!batchSucceeded(batch)) run.exitCode = exitCodes.jobFailed;
  return batch;
}

function submitBatchCommand(run: CliRun): Command {
  return new Command('submit')
    .description('Start a batch: every blob under a prefix, or the sources a manifest blob lists')
    .option('--source <container/prefix>', 'every blob under this prefix, e.g. incoming/2026/scenes/')
    .option('--manifest <container/blob>', 'a text list, CSV or JSON array of <container>/<blob> sources')
    .option('--collection <id>', 'STAC collection to ingest into (the service default: rasters)')
    .option('--include <glob>', "only blob names matching this glob, e.g. '**/*.tif'")
    .option('--since <span|time>', 'only blobs modified since: 30m, 12h, 1d, 2w or an ISO time')
    .option('--limit <n>', 'at most this many sources')
    .option('--watch', 'show progress until the batch ends; exit code 1 when it fails or has failed sources')
    .option('--timeout <seconds>', 'with --watch: stop waiting after this long (exit code 6)')
    .action(async (_options: SubmitBatchOptions, command: Command) => {
      // With globals: `batch` has --watch and --timeout too, and takes them when given after `submit`.
      const options = command.optsWithGlobals<SubmitBatchOptions>();
      const global = globalOptions(command, run);
      if ((options.source === undefined) === (options.manifest === undefined)) {
        throw new CliUsageError('give either --source <container>/<prefix>/ or --manifest <container>/<blob>, not both');
      }
      const request: SubmitBatchRequest = options.source !== undefined ? { source: options.source } : { manifest: options.manifest! };
      if (options.collection !== undefined) request.collection = options.collection;
      if (options.include !== undefined) request.include = options.include;
      if (options.since !== undefined) request.since = batchSinceTime(options.since, new Date());
      if (options.limit !== undefined) request.limit = parsePositiveInteger(options.limit, '--limit', 1_000_000);
      const client = createClient(run, global);
      const answer = await client.submitBatch(request);
      const what = request.source ?? request.manifest!;
      if (!global.json) run.environment.out(`${what} ${'existing' in answer ? 'already has running batch' : `started batch (attempt ${answer.attempt})`} ${answer.id}`);
      let batch: BatchView | null = null;
      if (options.watch) batch = await watchToEnd(run, client, answer.id, options);
      if (global.json) printJson(run, { submitted: answer, batch });
      else if (batch) run.environment.out(`\n${formatBatchDetail(batch)}`);
      else run.environment.out(`Follow it: raster-ingest batch ${answer.id} --watch`);
    });
}

export function batchCommand(run: CliRun): Command {
  const command = new Command('batch')
    .description('Show one batch: counts, throughput, time left, failures, missing manifest entries (batch submit: start one)')
    .argument('<id>', 'the batch id (batch-...)')
    .option('--watch', 'show progress until the batch ends; exit code 1 when it fails or has failed sources')
    .option('--timeout <seconds>', 'with --watch: stop waiting after this long (exit code 6)')
    .action(async (id: string, options: WatchFlags, self: Command) => {
      const global = globalOptions(self, run);
      const client = createClient(run, global);
      const batch = options.watch ? await watchToEnd(run, client, id, options) : await client.getBatch(id);
      if (global.json) printJson(run, batch);
      else run.environment.out(`${options.watch ? '\n' : ''}${formatBatchDetail(batch)}`);
    });
  command.addCommand(submitBatchCommand(run));
  return command;
}
