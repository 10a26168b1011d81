/**
 * Which collection an upload feeds, and what a job of a collection takes from its definition.
 * Pure: the callers read the definitions (`CollectionStore`) and pass them in.
 *
 * Routing: among every collection's sources, the rule whose container matches and whose prefix
 * is the longest start of the blob's name wins (a prefix is plain text, compared with
 * `startsWith`: no pattern is ever run). No rule matches: the default collection `rasters`, with
 * its definition if it has one.
 */
import type { JobCollectionDefinition } from '../pipeline/contracts.js';
import type { IngestOptions } from '../pipeline/options.js';
import { defaultCollectionId, ingestOptionsSchema } from '../pipeline/options.js';
import type { StoredCollection } from './collection.store.js';

export interface RoutedUpload {
  collection: string;
  /** The rule that matched, or `null` for the default. */
  matched: { container: string; prefix: string } | null;
}

export function routeUpload(collections: readonly StoredCollection[], source: { container: string; name: string }): RoutedUpload {
  let best: { collection: string; container: string; prefix: string } | undefined;
  for (const collection of collections) {
    for (const rule of collection.definition.sources) {
      if (rule.container !== source.container || !source.name.startsWith(rule.prefix)) continue;
      // Longest prefix wins; equal prefixes cannot belong to two collections (refused on write), the id breaks any tie.
      if (!best || rule.prefix.length > best.prefix.length || (rule.prefix.length === best.prefix.length && collection.id < best.collection)) {
        best = { collection: collection.id, container: rule.container, prefix: rule.prefix };
      }
    }
  }
  return best ? { collection: best.collection, matched: { container: best.container, prefix: best.prefix } } : { collection: defaultCollectionId, matched: null };
}

/** What a job takes from its collection's definition: read once, at submission, and passed in the job's input. */
export interface JobDefinition {
  options: IngestOptions;
  /** The definition's version and gates (absent for a collection without one), and its route rule: replaces the worker threshold setting when set. */
  definition?: JobCollectionDefinition & { workerThresholdBytes?: number };
}

/**
 * The job's options: the collection's defaults, then the request's own (`requestOptions`, as the
 * caller sent them, unparsed: a caller's explicit value wins, a default it did not send does not
 * hide the collection's), checked and completed by the ingest options schema.
 */
export function resolveJobDefinition(collection: StoredCollection | undefined, requestOptions: Readonly<Record<string, unknown>> | undefined): { ok: true; job: JobDefinition } | { ok: false; problem: string } {
  const merged = { ...(collection?.definition.options ?? {}), ...(requestOptions ?? {}) };
  const parsed = ingestOptionsSchema.safeParse(merged);
  if (!parsed.success) return { ok: false, problem: parsed.error.issues.map((issue) => `options.${issue.path.join('.')}: ${issue.message}`).join('; ') };
  if (!collection) return { ok: true, job: { options: parsed.data } };
  const thresholdMb = collection.definition.route.workerThresholdMb;
  return {
    ok: true,
    job: {
      options: parsed.data,
      definition: { version: collection.version, gates: collection.definition.gates, ...(thresholdMb !== undefined ? { workerThresholdBytes: thresholdMb * 1024 * 1024 } : {}) },
    },
  };
}
