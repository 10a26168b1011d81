import * as df from 'durable-functions';

/** Attempts and back-off of every activity: transient faults (storage throttling, a worker recycled mid-write) get four tries. */
export const tileRetryPolicy = {
  maxAttempts: 4,
  firstDelayMs: 2_000,
  backoffCoefficient: 2,
  maxDelayMs: 30_000,
} as const;

/**
 * Durable's retry options for activities that touch storage or GDAL. A deterministic failure (a
 * bad raster) comes back as a result and never reaches retries.
 */
export function createActivityRetryOptions(): df.RetryOptions {
  const options = new df.RetryOptions(tileRetryPolicy.firstDelayMs, tileRetryPolicy.maxAttempts);
  options.backoffCoefficient = tileRetryPolicy.backoffCoefficient;
  options.maxRetryIntervalInMilliseconds = tileRetryPolicy.maxDelayMs;
  return options;
}
