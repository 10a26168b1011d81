/**
 * Storage failures as the app sees them: a kind to decide on, never an SDK type. The Azure
 * implementations translate the SDK's `RestError` here, and nowhere else in the app names it.
 */
import { isRestError } from '@azure/core-rest-pipeline';

/**
 * - `not-found`: the blob, row (or their container, table) does not exist.
 * - `precondition`: an If-Match condition failed: the blob or row changed since its ETag was read.
 * - `conflict`: a create-only write (If-None-Match: *, a row insert, a table create) found it already there.
 * - `throttled`: storage asked us to slow down (429, 503 ServerBusy).
 * - `unavailable`: storage could not be reached or failed on its side; retrying may succeed.
 * - `refused`: anything else storage said no to (permission, lease, bad request).
 */
export type StoreErrorKind = 'not-found' | 'precondition' | 'conflict' | 'throttled' | 'unavailable' | 'refused';

export class StoreError extends Error {
  constructor(
    readonly kind: StoreErrorKind,
    message: string,
    /** Storage's own answer, when there was one: its HTTP status and error code (e.g. LeaseIdMissing). */
    readonly detail: { status?: number; code?: string } = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StoreError';
  }
}

/** True for the kinds worth retrying later. */
export function isTransientStoreError(error: StoreError): boolean {
  return error.kind === 'throttled' || error.kind === 'unavailable';
}

const unavailableStatuses = new Set([408, 500, 502, 504]);

function kindOf(status: number | undefined, code: string | undefined): StoreErrorKind {
  if (status === undefined) return 'unavailable';
  if (status === 404) return 'not-found';
  // Only a failed condition is a lost race; a lease (LeaseIdMissing, 412) or any other refusal stays what it is.
  if (status === 412 && (code === 'ConditionNotMet' || code === 'UpdateConditionNotSatisfied')) return 'precondition';
  if (status === 409 && (code === 'BlobAlreadyExists' || code === 'EntityAlreadyExists' || code === 'TableAlreadyExists')) return 'conflict';
  if (status === 429 || (status === 503 && code === 'ServerBusy')) return 'throttled';
  if (status === 503 || unavailableStatuses.has(status)) return 'unavailable';
  return 'refused';
}

/**
 * The app's view of an Azure SDK storage error (blobs, tables, queues), or `undefined` for
 * anything else. A `StoreError` is returned as it is.
 */
export function asStoreError(error: unknown): StoreError | undefined {
  if (error instanceof StoreError) return error;
  if (!isRestError(error)) return undefined;
  const status = error.statusCode;
  const code = error.code;
  const answer = status === undefined ? 'could not be reached' : `answered HTTP ${status}`;
  return new StoreError(kindOf(status, code), `storage ${answer}${code ? ` (${code})` : ''}`, {
    ...(status !== undefined ? { status } : {}),
    ...(code ? { code } : {}),
  }, { cause: error });
}

/** Runs a storage call and throws what it throws as a `StoreError` (other errors pass unchanged). */
export async function translateStoreErrors<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw asStoreError(error) ?? error;
  }
}
