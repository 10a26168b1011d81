/**
 * Parsers for the CLI's option values. Pure; each throws a `CliUsageError` naming the bad value,
 * which the entry point reports with exit code 2.
 */
import { collectionIdSchema, ingestOptionsSchema } from '../src/pipeline/options.js';
import { failureCodes, type FailureCode } from './jobs.api.js';

export class CliUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliUsageError';
  }
}

/** `k=v` → `[k, v]`, with numbers and booleans as such (`tileSize=512`, `predictor=false`). */
export function parseOptionPair(pair: string): [string, string | number | boolean] {
  const separator = pair.indexOf('=');
  if (separator <= 0) throw new CliUsageError(`--option takes key=value, e.g. --option tileSize=1024 (got "${pair}")`);
  const key = pair.slice(0, separator).trim();
  const raw = pair.slice(separator + 1).trim();
  if (!/^[A-Za-z][A-Za-z0-9]*$/.test(key)) throw new CliUsageError(`--option key "${key}" is not an option name (letters and digits, e.g. tileSize)`);
  if (raw === 'true' || raw === 'false') return [key, raw === 'true'];
  if (raw !== '' && /^-?\d+(\.\d+)?$/.test(raw)) return [key, Number(raw)];
  return [key, raw];
}

/** Commander's collector for a repeatable `--option k=v`. */
export function collectOptionPair(pair: string, previous: Record<string, string | number | boolean>): Record<string, string | number | boolean> {
  const [key, value] = parseOptionPair(pair);
  return { ...previous, [key]: value };
}

/** `--since`: an age (`30m`, `12h`, `1d`, `2w`) or an ISO 8601 time; passed to the service as written. */
export function parseSince(value: string): string {
  const trimmed = value.trim();
  if (/^\d+[mhdw]$/.test(trimmed)) return trimmed;
  if (/^\d{4}-\d{2}-\d{2}/.test(trimmed) && !Number.isNaN(Date.parse(trimmed))) return trimmed;
  throw new CliUsageError(`--since takes an age such as 30m, 12h, 1d or 2w, or an ISO time such as 2026-11-30T08:00:00Z (got "${value}")`);
}

export function parsePositiveInteger(value: string, option: string, max = Number.MAX_SAFE_INTEGER): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1 || number > max) throw new CliUsageError(`${option} takes a whole number from 1 to ${max} (got "${value}")`);
  return number;
}

/** `Failed,Running` → `['Failed', 'Running']`; runtime statuses are matched case-insensitively and spelled as the service does. */
export const jobStatuses = ['Pending', 'Running', 'Completed', 'Failed', 'Terminated', 'Quarantined', 'Rejected'] as const;

export function parseStatusList(value: string): string[] {
  return value
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      const status = jobStatuses.find((known) => known.toLowerCase() === part.toLowerCase());
      if (!status) throw new CliUsageError(`--status takes a comma list of ${jobStatuses.join(', ')} (got "${part}")`);
      return status;
    });
}

function isFailureCode(value: string): value is FailureCode {
  return failureCodes.some((code) => code === value);
}

export function parseFailureCode(value: string): FailureCode {
  const code = value.trim().toUpperCase().replaceAll('-', '_');
  if (!isFailureCode(code)) throw new CliUsageError(`--error-code takes one of ${failureCodes.join(', ')} (got "${value}")`);
  return code;
}

/**
 * What `submit` is given: a local file, or a blob already in storage as `<container>/<blob>`.
 * A path that exists locally is a file; anything else must look like a container and a blob.
 */
export type SubmitTarget = { kind: 'file'; path: string } | { kind: 'blob'; container: string; name: string };

export function parseSubmitTarget(argument: string, isLocalFile: (path: string) => boolean): SubmitTarget {
  if (isLocalFile(argument)) return { kind: 'file', path: argument };
  const match = /^([a-z0-9](?:[a-z0-9-]{1,61}[a-z0-9])?)\/(.+)$/.exec(argument);
  if (!match) throw new CliUsageError(`"${argument}" is neither a local file nor a <container>/<blob> path such as uploads/scene.tif`);
  return { kind: 'blob', container: match[1]!, name: match[2]! };
}

/** The content type an upload is stored with, from its extension (the service reads the bytes, not this). */
export function contentTypeOf(fileName: string): string {
  const extension = fileName.toLowerCase().split('.').pop() ?? '';
  if (extension === 'tif' || extension === 'tiff') return 'image/tiff';
  if (extension === 'nc') return 'application/x-netcdf';
  return 'application/octet-stream';
}

/**
 * `--collection` and `--option` checked against the service's own schemas, before anything is
 * uploaded or sent: `tileSize=100` fails here, naming the option and what it takes.
 */
export function checkSubmitOptions(collection: string | undefined, options: Record<string, string | number | boolean>): void {
  if (collection !== undefined) {
    const parsed = collectionIdSchema.safeParse(collection);
    if (!parsed.success) throw new CliUsageError(`--collection "${collection}" ${parsed.error.issues[0]?.message ?? 'is not a collection id'}`);
  }
  const parsed = ingestOptionsSchema.safeParse(options);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const key = issue.path.join('.');
      if (issue.code === 'unrecognized_keys') return `${issue.keys.join(', ')}: not an option (see the README's options)`;
      return `${key}=${String(options[key])}: ${issue.message}`;
    });
    throw new CliUsageError(`--option ${problems.join('; ')}`);
  }
}
