import { setTimeout as sleep } from 'node:timers/promises';

/** HTTP status of an Azure SDK error, if it has one. */
export function statusOf(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown } | undefined)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

/** Storage errors worth waiting out: no answer at all, throttling, or a server error. */
export function isTransient(error: unknown): boolean {
  const status = statusOf(error);
  if (status === undefined) {
    const code = (error as { code?: unknown } | undefined)?.code;
    // Programming errors (TypeError, ...) have neither status nor a network error code.
    return typeof code === 'string' || /ECONNREFUSED|ECONNRESET|socket|fetch failed|network/i.test(String((error as Error)?.message));
  }
  return status === 408 || status === 429 || status >= 500;
}

/**
 * SDK options for the host's storage clients: the SDKs' own retries off, so that a failed call
 * is retried in one place only: `withStorageRetry` (which waits out outages and says what it
 * waits for) or the polling loop that made it (the next poll). Two layers would multiply the
 * attempts and hide the wait from the log.
 */
export const singleAttemptStorageOptions = { retryOptions: { maxTries: 1 } } as const;

/** The same for Table clients (their retry options are core-rest-pipeline's). */
export function singleAttemptTableOptions(connectionString: string): { allowInsecureConnection?: boolean; retryOptions: { maxRetries: number } } {
  const insecure = /DefaultEndpointsProtocol=http;|Endpoint=http:\/\//i.test(connectionString);
  return { ...(insecure ? { allowInsecureConnection: true } : {}), retryOptions: { maxRetries: 0 } };
}

let logWaiting: (message: string) => void = (message) => console.warn(message);

export function setStorageWaitLogger(logger: (message: string) => void): void {
  logWaiting = logger;
}

/**
 * Runs a storage call until it succeeds or fails for a non-transient reason. While storage is
 * unreachable the host waits (and says what it is waiting for) instead of dropping work.
 */
export async function withStorageRetry<T>(what: string, call: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  let delayMs = 100;
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (!isTransient(error) || signal?.aborted) throw error;
      if (attempt === 1 || attempt % 10 === 0) {
        logWaiting(`storage unavailable while ${what} (attempt ${attempt}, retrying): ${(error as Error).message}`);
      }
      await sleep(delayMs);
      delayMs = Math.min(delayMs * 2, 2000);
    }
  }
}
