/**
 * `raster-ingest submit <local file | container/blob>`: uploads a local file first, then submits
 * the job; `--watch` shows its progress until it ends. Everything the service would refuse
 * (options, collection, a container it does not read) is refused before the upload, so no
 * orphan blob is left behind.
 */
import { basename } from 'node:path';
import { Command } from 'commander';
import { checkSubmitOptions, CliUsageError, collectOptionPair, contentTypeOf, parsePositiveInteger, parseSubmitTarget } from '../cli.args.js';
import { createClient, exitCodes, globalOptions, printJson, type CliRun, type GlobalOptions } from '../cli.context.js';
import { formatJobDetail } from '../cli.format.js';
import { watchJobs } from '../job.progress.js';
import type { JobView, SubmitAnswer, SubmitRequest } from '../jobs.api.js';

/** The container whose blob trigger starts a job with default options for every upload. */
export const triggerContainer = 'uploads';

/** `200 existing`: the upload already had this job (its view, when the service could read it). */
function isExistingAnswer(answer: SubmitAnswer): answer is SubmitAnswer & { existing: true; job: JobView | null } {
  return 'existing' in answer && answer.existing === true;
}

/** Where a local file goes and how storage is reached (`submit` and `upload`). */
export interface UploadOptions {
  container: string;
  name?: string;
  connectionString?: string;
  accountUrl?: string;
}

interface SubmitOptions extends UploadOptions {
  collection?: string;
  option: Record<string, string | number | boolean>;
  /** netCDF: the one variable to ingest. */
  variable?: string;
  force?: boolean;
  watch?: boolean;
  timeout?: string;
}

/** The options of a local file's upload, shared by `submit` and `upload`. */
export function addUploadOptions(command: Command, containerHelp: string): Command {
  return command
    .option('--container <name>', containerHelp, triggerContainer)
    .option('--name <blob>', 'the blob name to upload as (default: the file name)')
    .option('--connection-string <string>', 'storage connection string (default: env AzureWebJobsStorage; for a local host, its Azurite)')
    .option('--account-url <url>', 'blob service URL, signing in with DefaultAzureCredential (Azure CLI, managed identity, ...)');
}

/** Uploads a local file as `<container>/<name>`; resolves with that source path. */
export async function uploadLocalFile(run: CliRun, global: GlobalOptions, path: string, options: UploadOptions): Promise<string> {
  const name = options.name ?? basename(path);
  await run.environment.upload({
    path,
    container: options.container,
    name,
    contentType: contentTypeOf(name),
    connectionString: options.connectionString ?? run.environment.env['AzureWebJobsStorage'],
    accountUrl: options.accountUrl,
    apiUrl: global.url,
  });
  return `${options.container}/${name}`;
}

export function submitCommand(run: CliRun): Command {
  const command = new Command('submit')
    .description('Ingest a raster: a local file (uploaded first) or a blob already in storage, as <container>/<blob>')
    .argument('<source>', 'a local file, or <container>/<blob> (a path that exists locally is taken as a file)')
    .option('--collection <id>', 'STAC collection to ingest into (the service default: rasters)')
    .option('--option <key=value>', 'an ingest option, repeatable: tileSize=1024 (256-65536), compression=ZSTD, targetCrs=EPSG:3857, ...', collectOptionPair, {})
    .option('--variable <name>', 'netCDF: ingest this gridded variable only (the same as --option variable=<name>); without it every gridded variable becomes its own items')
    .option('--force', 'start a new attempt even when the same upload with the same options already has a job that completed or failed')
    .option('--watch', 'show progress until the job ends; exit code 1 when it fails')
    .option('--timeout <seconds>', 'with --watch: stop waiting after this long (exit code 6)');
  return addUploadOptions(
    command,
    `local file: the container to upload to; "${triggerContainer}" starts a job with default options by itself, any other must be in the service's INGEST_SOURCE_CONTAINERS`,
  ).action(async (sourceArgument: string, options: SubmitOptions, self: Command) => {
    const global = globalOptions(self, run);
    const target = parseSubmitTarget(sourceArgument, run.environment.isLocalFile);
    if (options.variable !== undefined) options.option = { ...options.option, variable: options.variable };
    const hasOptions = Object.keys(options.option).length > 0;
    const timeoutMs = options.timeout === undefined ? undefined : parsePositiveInteger(options.timeout, '--timeout') * 1000;
    checkSubmitOptions(options.collection, options.option);

    const client = createClient(run, global);
    const request = (source: string): SubmitRequest => ({
      source,
      ...(options.collection !== undefined ? { collection: options.collection } : {}),
      ...(hasOptions ? { options: options.option } : {}),
      ...(options.force ? { force: true } : {}),
    });
    let source: string;
    if (target.kind === 'file') {
      if (options.container === triggerContainer && (options.collection !== undefined || hasOptions)) {
        // The upload trigger would start a second job, with default options, for the same blob.
        throw new CliUsageError(
          `an upload to "${triggerContainer}/" starts a job with default options by itself; for --collection or --option, ` +
            'upload to another container the service reads (its INGEST_SOURCE_CONTAINERS setting, e.g. uploads,incoming), e.g. --container incoming',
        );
      }
      // The service checks the request (its options, the container, the path) before anything is uploaded.
      await client.checkSubmit(request(`${options.container}/${options.name ?? basename(target.path)}`));
      source = await uploadLocalFile(run, global, target.path, options);
      if (!global.json) run.environment.err(`Uploaded ${target.path} to ${source}`);
    } else {
      source = `${target.container}/${target.name}`;
    }

    const answer = await client.submit(request(source));
    if (!global.json) {
      // One job per upload version, collection and options: a second submission is answered with the first job, whatever its state.
      const existing = isExistingAnswer(answer) ? answer.job : undefined;
      const how = 'existing' in answer ? `already has job${existing ? ` (${existing.status})` : ''}` : `started job (attempt ${answer.attempt})`;
      run.environment.out(`${source} ${how} ${answer.id}`);
      if (existing && (existing.status === 'Failed' || existing.status === 'Terminated')) {
        run.environment.out(existing.retry.offered ? `It failed; re-run what failed: raster-ingest retry ${answer.id}` : `It failed; no retry: ${existing.retry.reason ?? 'a retry cannot help'}`);
      }
    }
    let finalView: JobView | null = null;
    if (options.watch) {
      [finalView] = await watchJobs(client, [{ id: answer.id, label: basename(source) }], {
        intervalMs: run.environment.pollIntervalMs,
        timeoutMs,
        stream: run.environment.progressStream,
      });
      if (finalView && finalView.status !== 'Completed') run.exitCode = exitCodes.jobFailed;
    }
    if (global.json) printJson(run, { source, submitted: answer, job: finalView });
    else if (finalView) run.environment.out(`\n${formatJobDetail(finalView)}`);
    else run.environment.out(`Follow it: raster-ingest job ${answer.id} --watch`);
  });
}
