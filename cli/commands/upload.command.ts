/**
 * `raster-ingest upload <file>`: uploads a local file without submitting it. In `uploads/` the
 * upload trigger starts its job (default options, collection `rasters`); `--watch` finds that
 * job and follows it until it ends.
 */
import { basename } from 'node:path';
import { Command } from 'commander';
import { CliUsageError, parsePositiveInteger } from '../cli.args.js';
import { createClient, exitCodes, globalOptions, printJson, type CliRun } from '../cli.context.js';
import { formatJobDetail } from '../cli.format.js';
import { watchJobs } from '../job.progress.js';
import type { JobView } from '../jobs.api.js';
import type { JobsClient } from '../jobs.client.js';
import { addUploadOptions, triggerContainer, uploadLocalFile, type UploadOptions } from './submit.command.js';

interface UploadCommandOptions extends UploadOptions {
  watch?: boolean;
  timeout?: string;
}

/** How long `--watch` waits for the upload trigger's job to appear, without `--timeout`. */
const defaultAppearSeconds = 300;
/** Jobs of the same source listed before the upload: the trigger's job is the one not among them. */
const knownJobsPage = 50;

/** No job of the uploaded source appeared in time: the upload trigger is off, or slow. */
export class JobNotStartedError extends Error {
  constructor(
    readonly source: string,
    readonly timeoutMs: number,
  ) {
    super(
      `no job for ${source} appeared within ${Math.round(timeoutMs / 1000)} s; is the upload trigger on (in Azure, the Event Grid subscription on ${triggerContainer}/)? ` +
        `Look with raster-ingest jobs --source ${source}`,
    );
    this.name = 'JobNotStartedError';
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The id of the first job of `source` not in `known`, once the upload trigger has started it. */
async function waitForNewJob(client: JobsClient, source: string, known: ReadonlySet<string>, intervalMs: number, timeoutMs: number): Promise<string> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const page = await client.listJobs({ source }, { top: knownJobsPage });
    const started = page.jobs.find((job) => job.source === source && !known.has(job.id));
    if (started) return started.id;
    if (performance.now() + intervalMs > deadline) throw new JobNotStartedError(source, timeoutMs);
    await sleep(intervalMs);
  }
}

export function uploadCommand(run: CliRun): Command {
  const command = new Command('upload')
    .description(`Upload a local file without submitting it: in ${triggerContainer}/ the upload trigger starts its job (default options, collection rasters)`)
    .argument('<file>', 'the local file')
    .option('--watch', `find the job the upload trigger starts (${triggerContainer}/ only) and show its progress until it ends; exit code 1 when it fails`)
    .option('--timeout <seconds>', `with --watch: stop waiting after this long (exit code 6; default ${defaultAppearSeconds} s for the job to appear)`);
  return addUploadOptions(command, `the container to upload to; "${triggerContainer}" starts a job by itself`).action(async (file: string, options: UploadCommandOptions, self: Command) => {
    const global = globalOptions(self, run);
    if (!run.environment.isLocalFile(file)) throw new CliUsageError(`"${file}" is not a local file; a blob already in storage is submitted with raster-ingest submit <container>/<blob>`);
    const timeoutMs = options.timeout === undefined ? undefined : parsePositiveInteger(options.timeout, '--timeout') * 1000;
    const triggered = options.container === triggerContainer;
    if (options.watch && !triggered) throw new CliUsageError(`--watch follows the job the upload trigger starts, and only ${triggerContainer}/ has one; submit a blob elsewhere with raster-ingest submit <container>/<blob> --watch`);
    const client = createClient(run, global);
    const source = `${options.container}/${options.name ?? basename(file)}`;
    // The service checks the container and the path (and reads them) before anything is uploaded.
    await client.checkSubmit({ source });
    const known = options.watch ? new Set((await client.listJobs({ source }, { top: knownJobsPage })).jobs.map((job) => job.id)) : new Set<string>();

    await uploadLocalFile(run, global, file, options);
    const next = triggered
      ? `the upload trigger starts its job (default options, collection rasters): raster-ingest jobs --source ${source}`
      : `no job starts by itself (only ${triggerContainer}/ has the upload trigger): raster-ingest submit ${source}`;
    if (!global.json) run.environment.out(`Uploaded ${file} to ${source}; ${next}`);

    let job: JobView | null = null;
    if (options.watch) {
      const intervalMs = run.environment.pollIntervalMs ?? 1000;
      const id = await waitForNewJob(client, source, known, intervalMs, timeoutMs ?? defaultAppearSeconds * 1000);
      if (!global.json) run.environment.err(`The upload trigger started job ${id}`);
      [job] = await watchJobs(client, [{ id, label: basename(source) }], { intervalMs, timeoutMs, stream: run.environment.progressStream });
      if (job && job.status !== 'Completed') run.exitCode = exitCodes.jobFailed;
      if (job && !global.json) run.environment.out(`\n${formatJobDetail(job)}`);
    }
    if (global.json) printJson(run, { source, uploaded: true, job });
  });
}
