/**
 * Continuation tokens of the list APIs (`GET /api/jobs`, `POST /api/jobs/retry`,
 * `GET /api/batches`): opaque, URL-safe strings to clients, and untrusted like any request field
 * when they come back. Each is checked — length, alphabet, canonical base64url, UTF-8, the JSON
 * structure this API wrote — before anything reaches storage; a token that fails is an
 * `InvalidContinuationTokenError`, which the HTTP layer answers with a 400 naming
 * `continuationToken`, never a 500.
 */
import type { TableContinuation } from '../storage/table.store.js';

/** Far above any token this API gives (a few hundred characters). */
export const maxContinuationTokenLength = 4096;

/** A token this API did not give, or no longer accepts; `problem` is for the caller and never repeats the token. */
export class InvalidContinuationTokenError extends Error {
  constructor(readonly problem: string) {
    super(`continuationToken: ${problem}`);
    this.name = 'InvalidContinuationTokenError';
  }
}

const base64UrlPattern = /^[A-Za-z0-9_-]+$/;
const base64Pattern = /^[A-Za-z0-9+/]+={0,2}$/;
/** Printable ASCII without space: what table continuation keys are made of, and safe in a header. */
const keyPattern = /^[\x21-\x7e]{1,1024}$/;
/** Printable ASCII (space included): safe as an HTTP header value, whatever the task hub's backend puts in it. */
const headerValuePattern = /^[\x20-\x7e]{1,2048}$/;

const notOurs = 'not a token this API gave; start again without it';

function toBase64Url(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}

/** The bytes of a base64url token, or an `InvalidContinuationTokenError`. */
function decodeBase64Url(token: string): Buffer {
  if (token.length === 0 || token.length > maxContinuationTokenLength) throw new InvalidContinuationTokenError(`must be 1 to ${maxContinuationTokenLength} characters`);
  if (!base64UrlPattern.test(token)) throw new InvalidContinuationTokenError('must hold only the characters A-Z, a-z, 0-9, "-" and "_"');
  const bytes = Buffer.from(token, 'base64url');
  // Buffer skips what it cannot read: only a token that encodes back to itself was written by us.
  if (bytes.toString('base64url') !== token) throw new InvalidContinuationTokenError(notOurs);
  return bytes;
}

/** The JSON object in `bytes` (UTF-8), or an `InvalidContinuationTokenError`. */
function parseJsonObject(bytes: Buffer): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new InvalidContinuationTokenError(notOurs);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new InvalidContinuationTokenError(notOurs);
  return parsed as Record<string, unknown>;
}

function hasOnlyKeys(value: Record<string, unknown>, required: readonly string[], optional: readonly string[] = []): boolean {
  const keys = Object.keys(value);
  return required.every((key) => keys.includes(key)) && keys.every((key) => required.includes(key) || optional.includes(key));
}

/**
 * The jobs index's tokens: where its table resumes, as base64 of `{"nextPartitionKey", "nextRowKey"}`
 * (the Table SDK's own form), base64url-encoded once more for URLs, as they always were.
 */
export function encodeJobsToken(continuation: TableContinuation): string {
  const { nextPartitionKey, nextRowKey } = continuation;
  return toBase64Url(Buffer.from(JSON.stringify({ nextPartitionKey, ...(nextRowKey ? { nextRowKey } : {}) }), 'utf8').toString('base64'));
}

/** Where the table resumes, from a jobs token's checked parts; throws `InvalidContinuationTokenError`. */
export function decodeJobsToken(token: string): TableContinuation {
  const tableToken = decodeBase64Url(token).toString('latin1');
  if (!base64Pattern.test(tableToken) || tableToken.length % 4 !== 0) throw new InvalidContinuationTokenError(notOurs);
  const json = Buffer.from(tableToken, 'base64');
  if (json.toString('base64') !== tableToken) throw new InvalidContinuationTokenError(notOurs);
  const value = parseJsonObject(json);
  const { nextPartitionKey, nextRowKey } = value;
  if (!hasOnlyKeys(value, ['nextPartitionKey'], ['nextRowKey'])) throw new InvalidContinuationTokenError(notOurs);
  if (typeof nextPartitionKey !== 'string' || !keyPattern.test(nextPartitionKey)) throw new InvalidContinuationTokenError(notOurs);
  if (nextRowKey !== undefined && (typeof nextRowKey !== 'string' || !keyPattern.test(nextRowKey))) throw new InvalidContinuationTokenError(notOurs);
  return { nextPartitionKey, ...(nextRowKey !== undefined ? { nextRowKey } : {}) };
}

/**
 * The batches list's tokens wrap the task hub's own (`x-ms-continuation-token`, whose form depends
 * on the backend) in `{"instances": "<token>"}`, so a token can be checked for what we wrote.
 */
export function encodeBatchesToken(instancesToken: string): string {
  return toBase64Url(JSON.stringify({ instances: instancesToken }));
}

/** The task hub's token inside a batches token; throws `InvalidContinuationTokenError`. */
export function decodeBatchesToken(token: string): string {
  const value = parseJsonObject(decodeBase64Url(token));
  const { instances } = value;
  if (!hasOnlyKeys(value, ['instances']) || typeof instances !== 'string' || !headerValuePattern.test(instances)) throw new InvalidContinuationTokenError(notOurs);
  return instances;
}
