/**
 * What a collection removed of a deleted source: a small document per source
 * (`removed/<source key>.json` in the collection's folder, never linked from STAC), kept after the
 * source's record is gone so the views of its jobs say "source removed" rather than listing COGs
 * that no longer exist. Pure.
 */

export interface SourceRemoval {
  /** The versions whose outputs this removal deleted. */
  versions: string[];
  /** When the blob was deleted (the event's time). */
  deletedAt: string;
  /** The `removeSource` instance that removed them. */
  removedBy: string;
}

export interface RemovedSource {
  /** `<container>/<blob path>`. */
  source: string;
  sourceKey: string;
  /** Newest last; a source deleted and uploaded again many times keeps its latest removals only. */
  removals: SourceRemoval[];
}

/** Removals kept per source. */
export const keptRemovals = 20;

/** The document after one more removal (the same removal recorded again changes nothing). */
export function recordRemoval(existing: RemovedSource | undefined, source: string, sourceKey: string, removal: SourceRemoval): RemovedSource | undefined {
  if (existing?.removals.some((known) => known.removedBy === removal.removedBy)) return undefined;
  return { source, sourceKey, removals: [...(existing?.removals ?? []), removal].slice(-keptRemovals) };
}

/** The removal that deleted `version`, if any. */
export function removalOf(removed: RemovedSource | undefined, version: string): SourceRemoval | undefined {
  return removed?.removals.findLast((removal) => removal.versions.includes(version));
}
