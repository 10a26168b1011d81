import * as df from 'durable-functions';

/**
 * Retry policy for activities that touch storage or GDAL. Transient faults (storage throttling,
 * a worker recycled mid-write) get four attempts with exponential back-off; a deterministic
 * failure (a bad raster) is reported by validation as a result and never reaches retries.
 */
export function createActivityRetryOptions(): df.RetryOptions {
  const options = new df.RetryOptions(2_000, 4);
  options.backoffCoefficient = 2;
  options.maxRetryIntervalInMilliseconds = 30_000;
  return options;
}
