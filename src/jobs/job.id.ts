import { createHash } from 'node:crypto';
import type { IngestOptions } from '../pipeline/options.js';

export const jobInstancePrefix = 'ingest-';

/** JSON with object keys sorted, so equal option sets hash equally whatever their key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export interface JobIdentity {
  container: string;
  name: string;
  etag: string;
  collection: string;
  options: IngestOptions;
  tileSize: number;
}

/**
 * The orchestration instance id of a job: a hash of the blob's name, its ETag and the effective
 * options. Submitting the same upload with the same options twice yields the same id, so the
 * second submission finds the first job instead of starting another; a changed blob (new ETag)
 * or different options is a new job.
 */
export function deriveJobInstanceId(identity: JobIdentity): string {
  const digest = createHash('sha256')
    .update(canonicalJson({
      source: `${identity.container}/${identity.name}`,
      etag: identity.etag,
      collection: identity.collection,
      options: identity.options,
      tileSize: identity.tileSize,
    }))
    .digest('hex');
  return `${jobInstancePrefix}${digest.slice(0, 32)}`;
}
