/**
 * What every command receives: the global options, a client, where to print, and the few
 * outside effects (files, storage) — injected, so argument parsing is tested without a service.
 */
import type { TokenCredential } from '@azure/identity';
import type { Command } from 'commander';
import type { ProgressStream } from './job.progress.js';
import { JobsClient } from './jobs.client.js';
import { createTokenProvider, readSignInOptions, type SignInOptions } from './sign.in.js';

/** Exit codes, documented in cli/README.md. */
export const exitCodes = {
  ok: 0,
  /** A watched job ended Failed, Terminated or Canceled; a watched batch did, or completed with failed sources. */
  jobFailed: 1,
  /** Bad arguments. */
  usage: 2,
  /** The service answered an error (4xx/5xx); its problem detail is printed. */
  apiError: 3,
  /** The service could not be reached, or answered something that is not this API. */
  unreachable: 4,
  /** Uploading the local file to storage failed. */
  uploadFailed: 5,
  /** `--timeout` passed before the watched job ended. */
  timeout: 6,
} as const;

export interface GlobalOptions {
  url: string;
  key?: string;
  /** How to sign in (cli/sign.in.ts): a given token, or a scope to get one for. */
  signIn: SignInOptions;
  json: boolean;
}

export interface UploadRequest {
  path: string;
  container: string;
  name: string;
  contentType: string;
  /** Storage connection string (`--connection-string` or `AzureWebJobsStorage`). */
  connectionString?: string;
  /** Blob service URL for Microsoft Entra ID sign-in (`--account-url`). */
  accountUrl?: string;
  /** The job API's URL: a local host's means its Azurite when no storage is given. */
  apiUrl: string;
}

export interface CliEnvironment {
  env: NodeJS.ProcessEnv;
  /** A line on stdout. */
  out(text: string): void;
  /** A line on stderr. */
  err(text: string): void;
  /** Where progress bars or progress lines go. */
  progressStream: ProgressStream;
  fetch?: typeof fetch;
  isLocalFile(path: string): boolean;
  upload(request: UploadRequest): Promise<void>;
  /** Between two reads of a watched job. */
  pollIntervalMs?: number;
  /** The package's version, for `--version`. */
  version?: string;
  /** Injected in tests: the Entra ID credential for `--scope` (default: Azure CLI or device code). */
  credentialFor?: (options: SignInOptions) => Promise<TokenCredential>;
}

export interface CliRun {
  environment: CliEnvironment;
  /** Set by commands; read by the entry point once the command has finished. */
  exitCode: number;
  /** `--json` was given: results and errors are printed as JSON on stdout. */
  json: boolean;
}

/** The global options; the key falls back to RASTER_INGEST_KEY here, not as a commander default (help would print it). */
export function globalOptions(command: Command, run: CliRun): GlobalOptions {
  const options = command.optsWithGlobals<{ url: string; key?: string; token?: string; scope?: string; signIn?: string; json?: boolean }>();
  return {
    url: options.url,
    key: options.key || run.environment.env['RASTER_INGEST_KEY'] || undefined,
    signIn: readSignInOptions(options, run.environment.env),
    json: options.json === true,
  };
}

export function createClient(run: CliRun, options: GlobalOptions): JobsClient {
  const token = createTokenProvider(options.signIn, (line) => run.environment.err(line), run.environment.credentialFor);
  return new JobsClient({ baseUrl: options.url, key: options.key, ...(token ? { token } : {}), fetch: run.environment.fetch });
}

/** Prints an API object as indented JSON on stdout (`--json`). */
export function printJson(run: CliRun, value: unknown): void {
  run.environment.out(JSON.stringify(value, null, 2));
}
