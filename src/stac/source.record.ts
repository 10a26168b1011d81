/**
 * What a collection publishes of one source: which version (blob ETag, options, tile size) and
 * its items. One small document per source (`sources/<source key>.json` in the collection's
 * folder), read-modify-written under an ETag condition, so versions of one source replace each
 * other in order and two sources that would share names are caught. Pure.
 */
import type { OutputLocation, RegisteredItem, SourceBlob, VersionOrder } from '../pipeline/contracts.js';

export interface SourceRecord {
  /** `<container>/<blob path>`, exactly: the owner of every name under this source key. */
  source: string;
  sourceKey: string;
  etag: string;
  /** The version folder the items' COGs live in. */
  version: string;
  order: VersionOrder;
  items: RegisteredItem[];
  /** The job whose output this is (its view names it when it replaces an older one). Optional: records written before it existed have none. */
  jobId?: string;
}

/** Item property naming the source (`<container>/<blob path>`) an item was made from. */
export const sourceProperty = 'raster-ingest:source';
/** Item properties that order versions of one source (see `compareVersionOrder`). */
export const sourceEtagProperty = 'raster-ingest:source_etag';
export const sourceModifiedProperty = 'raster-ingest:source_modified';

export function sourcePathOf(source: Pick<SourceBlob, 'container' | 'name'>): string {
  return `${source.container}/${source.name}`;
}

/** Negative when `a` is older than `b`, positive when newer, 0 when the same: by blob version first, then by job start. */
export function compareVersionOrder(a: VersionOrder, b: VersionOrder): number {
  const bySource = Date.parse(a.sourceModified) - Date.parse(b.sourceModified);
  if (bySource !== 0 && !Number.isNaN(bySource)) return bySource;
  return Date.parse(a.jobStarted) - Date.parse(b.jobStarted);
}

export function buildSourceRecord(source: SourceBlob, outputs: OutputLocation, order: VersionOrder, items: readonly RegisteredItem[], jobId?: string): SourceRecord {
  return { source: sourcePathOf(source), sourceKey: outputs.sourceKey, etag: source.etag, version: outputs.version, order, items: [...items], ...(jobId ? { jobId } : {}) };
}

/** Items the previous version published that the new one does not (their blobs are to be deleted). */
export function staleItems(previous: SourceRecord | undefined, current: readonly RegisteredItem[]): RegisteredItem[] {
  if (!previous) return [];
  const kept = new Set(current.map((item) => item.itemId));
  return previous.items.filter((item) => !kept.has(item.itemId));
}
