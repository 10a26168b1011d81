/**
 * Deterministic names derived from a job's source. Pure (no crypto, no clock) so the
 * orchestrator can call them during replay.
 */
import type { TileWindow } from './contracts.js';

/** Path-and-URL-safe slug of a blob name without its extension: `2024/Scene A.tif` → `2024-scene-a`. */
export function slugifyBlobName(blobName: string): string {
  const withoutExtension = blobName.replace(/\.[A-Za-z0-9]{1,8}$/, '');
  const slug = withoutExtension
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^[-._]+|[-._]+$/g, '');
  return slug || 'raster';
}

/** STAC item id of one tile: the same source and window always give the same id. */
export function deriveItemId(blobName: string, window: Pick<TileWindow, 'row' | 'col'>): string {
  return `${slugifyBlobName(blobName)}-r${window.row}-c${window.col}`;
}

/** Instance id of the sub-orchestration that ingests one tile of a job. */
export function deriveTileInstanceId(jobInstanceId: string, window: Pick<TileWindow, 'index'>): string {
  return `${jobInstanceId}-tile-${window.index}`;
}
