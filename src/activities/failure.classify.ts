/**
 * Turns whatever an activity threw into a `Failure`, by type, HTTP status and error code (never
 * by message text), and decides which failures are final (reported as results, not retried).
 */
import { FailureError, type Failure } from '../pipeline/failure.js';
import { StacApiUnavailableError } from '../stac/stac.api.client.js';
import { asStoreError, isTransientStoreError, type StoreError } from '../storage/store.error.js';

export { isFinalFailure } from '../pipeline/failure.js';

/** Node and undici network error codes that mean "try again". */
const transientNetworkCodes = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND', 'REQUEST_SEND_ERROR', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT']);

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function classifyStoreError(error: StoreError): Failure {
  const { status, code } = error.detail;
  // Storage's own error code (e.g. LeaseIdMissing) names the cause without exposing the request.
  const storageCode = code ? ` (${code})` : status === undefined ? ` (${error.kind})` : '';
  if (isTransientStoreError(error)) {
    return status === undefined
      ? { code: 'TRANSIENT_STORAGE', message: `storage could not be reached${storageCode}; the job retries on its own` }
      : { code: 'TRANSIENT_STORAGE', message: `storage answered HTTP ${status}${storageCode}; retrying later may succeed` };
  }
  return { code: 'STORAGE_REFUSED', message: `storage refused the request${status === undefined ? '' : ` with HTTP ${status}`}${storageCode}` };
}

export function classifyError(error: unknown): Failure {
  if (error instanceof FailureError) return error.failure;
  if (error instanceof StacApiUnavailableError) {
    // Its client already retried (the one retry layer for STAC requests); the URL stays in the logs.
    return { code: 'STAC_API_UNAVAILABLE', message: `the STAC API stayed busy or unreachable after ${error.attempts} attempt(s); retry the job once it answers` };
  }
  const storeError = asStoreError(error);
  if (storeError) return classifyStoreError(storeError);
  const code = errorCode(error);
  if (code === 'ENOSPC' || code === 'EDQUOT') return { code: 'DISK_FULL', message: 'the worker ran out of scratch disk space' };
  if (code === 'ENOMEM' || code === 'ERR_MEMORY_ALLOCATION_FAILED') {
    return { code: 'OUT_OF_MEMORY', message: 'the worker ran out of memory' };
  }
  if (code === 'ETIMEDOUT' || code === 'ABORT_ERR' || (error instanceof Error && error.name === 'TimeoutError')) {
    return { code: 'TIMEOUT', message: 'an operation timed out' };
  }
  if (code && transientNetworkCodes.has(code)) return { code: 'TRANSIENT_STORAGE', message: `storage could not be reached (${code}); the job retries on its own` };
  return { code: 'INTERNAL', message: 'an unexpected error occurred; the service logs have the details' };
}
