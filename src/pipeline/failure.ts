/**
 * Failures as data: a code a program can act on plus a message for a person. Pure: the
 * orchestrators import it.
 *
 * An activity that throws reaches the orchestrator only as text (the SDK turns the failed task
 * into `Error("<reason> \n <stack>")`), so a thrown failure travels inside its reason as one
 * delimited, base64url-encoded JSON token that `failureFrom` reads back whole. Nothing else in a
 * reason is trusted or shown: an error without the token becomes an `INTERNAL` failure with a
 * generic message, so stack traces and local paths never reach a job's status.
 */

export const failureCodes = [
  /** The upload or the request cannot be ingested as it is; the message says what to change. */
  'INVALID_INPUT',
  /** The upload is of a format (or uses a feature) this service refuses to read. */
  'UNSUPPORTED_FORMAT',
  /** The source blob was replaced after the job was submitted. */
  'SOURCE_CHANGED',
  /** The source blob was deleted after the job was submitted. */
  'SOURCE_MISSING',
  /** Another source already owns an output this job would write. */
  'OUTPUT_CONFLICT',
  /**
   * The upload hit a processing limit (time, memory, declared size against bytes present, tiles
   * per job): the input itself, or the limit's setting, must change. Never retried.
   */
  'INPUT_LIMIT',
  /** Storage answered with throttling, a timeout or a server error; retrying later may work. */
  'TRANSIENT_STORAGE',
  /** Storage refused the request (permission, lease, missing container, ...). */
  'STORAGE_REFUSED',
  /**
   * The STAC API stayed busy or unreachable through its client's own retries (the only retry
   * layer for its requests): not retried again by the activity; an operator's retry may work once the API answers.
   */
  'STAC_API_UNAVAILABLE',
  'OUT_OF_MEMORY',
  'DISK_FULL',
  'TIMEOUT',
  /** Anything else: a defect or an unexpected condition; the logs have the details. */
  'INTERNAL',
] as const;

export type FailureCode = (typeof failureCodes)[number];

export interface Failure {
  code: FailureCode;
  /** For a person: what went wrong and what to do. Never a stack trace, a local path or a secret. */
  message: string;
}

/** Failures that no retry can fix: activities return them as results, and nothing retries them. */
const permanentCodes: ReadonlySet<FailureCode> = new Set<FailureCode>(['INVALID_INPUT', 'UNSUPPORTED_FORMAT', 'SOURCE_CHANGED', 'SOURCE_MISSING', 'OUTPUT_CONFLICT', 'INPUT_LIMIT']);

/** Failures the activity's retry policy does not retry: the permanent ones, and those already retried below it. */
const finalCodes: ReadonlySet<FailureCode> = new Set<FailureCode>([...permanentCodes, 'STAC_API_UNAVAILABLE']);

/** The activity returns this failure as its result (no Durable retry). */
export function isFinalFailure(failure: Failure): boolean {
  return finalCodes.has(failure.code);
}

/** No retry of the job can fix this failure: the upload or its options must change. */
export function isPermanentFailure(failure: Failure): boolean {
  return permanentCodes.has(failure.code);
}

/** A failure thrown from an activity, so that retries still see an exception. */
export class FailureError extends Error {
  constructor(readonly failure: Failure) {
    super(`${failure.message} ${encodeFailure(failure)}`);
    this.name = 'FailureError';
  }
}

const tokenStart = '[[failure:';
const tokenEnd = ']]';
const tokenPattern = /\[\[failure:([A-Za-z0-9_-]+)\]\]/;

function toBase64Url(text: string): string {
  // btoa/atob and TextEncoder are globals in Node 16+, and deterministic: fine in orchestrators.
  const bytes = new TextEncoder().encode(text);
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

function fromBase64Url(encoded: string): string {
  const binary = atob(encoded.replaceAll('-', '+').replaceAll('_', '/'));
  return new TextDecoder().decode(Uint8Array.from(binary, (char) => char.charCodeAt(0)));
}

export function encodeFailure(failure: Failure): string {
  return `${tokenStart}${toBase64Url(JSON.stringify({ code: failure.code, message: failure.message }))}${tokenEnd}`;
}

export function isFailureCode(value: unknown): value is FailureCode {
  return typeof value === 'string' && (failureCodes as readonly string[]).includes(value);
}

export function isFailure(value: unknown): value is Failure {
  return typeof value === 'object' && value !== null && isFailureCode((value as { code?: unknown }).code) && typeof (value as { message?: unknown }).message === 'string';
}

/** The failure an error carries, or an `INTERNAL` one that shows nothing of the error's text. */
export function failureFrom(error: unknown, fallbackMessage = 'an unexpected error occurred; the service logs have the details'): Failure {
  if (error instanceof FailureError) return error.failure;
  const text = error instanceof Error ? error.message : typeof error === 'string' ? error : '';
  const token = tokenPattern.exec(text)?.[1];
  if (token) {
    try {
      const decoded: unknown = JSON.parse(fromBase64Url(token));
      if (isFailure(decoded)) return { code: decoded.code, message: decoded.message };
    } catch {
      // A damaged token is not trusted: fall through to the generic failure.
    }
  }
  return { code: 'INTERNAL', message: fallbackMessage };
}

/** Custom status is capped at 16 KB: keep at most `limit` failures (messages cut short), and say how many there were. */
export function summarizeFailures<T extends Failure>(failures: readonly T[], limit = 20, maxMessageLength = 400): { shown: T[]; total: number } {
  return {
    shown: failures.slice(0, limit).map((failure) => (failure.message.length > maxMessageLength ? { ...failure, message: `${failure.message.slice(0, maxMessageLength - 1)}…` } : failure)),
    total: failures.length,
  };
}

/**
 * Makes a third-party message (GDAL's, say) safe to show: each known local path becomes the name
 * a person knows it by, and any other absolute local path becomes `<path>`.
 */
export function redactLocalPaths(text: string, known: ReadonlyArray<readonly [path: string, shownAs: string]> = []): string {
  let redacted = text;
  for (const [path, shownAs] of [...known].sort((a, b) => b[0].length - a[0].length)) redacted = redacted.replaceAll(path, shownAs);
  // A URL's query may hold a signature (SAS): never shown.
  redacted = redacted.replace(/(https?:\/\/[^\s?'"`]+)\?[^\s'"`)]*/g, '$1?<redacted>');
  // An absolute path: "/" then at least one more "/"-separated part, not inside a URL or a blob path.
  return redacted.replace(/(?<![\w.:/-])\/(?:[^\s/'"`()<>,;]+\/)+[^\s/'"`()<>,;]*/g, '<path>');
}
