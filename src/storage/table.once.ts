/** Table Storage helpers the app's tables share (the jobs index, retired outputs). */
import type { TableClient } from '@azure/data-tables';

/** The HTTP status of a storage error, if it carries one. */
export function statusOf(error: unknown): number | undefined {
  const status = typeof error === 'object' && error !== null && 'statusCode' in error ? error.statusCode : undefined;
  return typeof status === 'number' ? status : undefined;
}

/** Creates the table on first use, once per process (a failure is tried again next time). */
export function createTableOnce(table: TableClient): () => Promise<void> {
  let ready: Promise<void> | undefined;
  return () => {
    ready ??= table.createTable().catch((error: unknown) => {
      ready = undefined;
      // Someone else created it first: that is what we wanted.
      if (statusOf(error) !== 409) throw error;
    });
    return ready;
  };
}
