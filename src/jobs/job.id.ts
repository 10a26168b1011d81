import { createHash } from 'node:crypto';
import type { OutputLocation } from '../pipeline/contracts.js';
import { slugifyBlobName } from '../pipeline/ids.js';
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

/** Hex digits of SHA-256 kept in a source key: 48 bits; registration still refuses a collision (OUTPUT_CONFLICT). */
const sourceHashLength = 12;

/**
 * The key of a source in every output name: a readable slug of its blob path plus a short hash of
 * its container and exact blob path (with extension, in exact case), so `uploads/x.tif`,
 * `incoming/x.tif`, `X.tif`, `x.img` and `a/x.tif` all differ. The same source always gets the same key.
 */
export function deriveSourceKey(container: string, name: string): string {
  const digest = createHash('sha256').update(`${container}/${name}`).digest('hex');
  return `${slugifyBlobName(name)}-${digest.slice(0, sourceHashLength)}`;
}

/** Instance id of the `attempt`-th job for the same upload and options: the first is the base id itself. */
export function attemptInstanceId(baseInstanceId: string, attempt: number): string {
  return attempt <= 1 ? baseInstanceId : `${baseInstanceId}-a${attempt}`;
}

/** Where a job's outputs go: every attempt of one upload and option set writes (and overwrites) the same version folder. */
export function deriveOutputLocation(identity: JobIdentity): OutputLocation {
  const baseId = deriveJobInstanceId(identity);
  return {
    collection: identity.collection,
    sourceKey: deriveSourceKey(identity.container, identity.name),
    version: `v${baseId.slice(jobInstancePrefix.length, jobInstancePrefix.length + 12)}`,
  };
}
