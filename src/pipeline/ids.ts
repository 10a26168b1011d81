/**
 * Deterministic names derived from a job's inputs. Pure (no crypto, no clock) so the orchestrators
 * can call them during replay; the hashed parts (`OutputLocation`) are made at submission.
 */
import type { TileWindow } from './contracts.js';

/** Longest slug kept in ids and paths, so names stay readable and well under Azure's limits. */
const maxSlugLength = 60;

/** Path-and-URL-safe slug of a blob name without its extension: `2024/Scene A.tif` → `2024-scene-a`. Not unique on its own. */
export function slugifyBlobName(blobName: string): string {
  const withoutExtension = blobName.replace(/\.[A-Za-z0-9]{1,8}$/, '');
  const slug = withoutExtension
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, maxSlugLength)
    .replace(/-+$/, '');
  return slug || 'raster';
}

/**
 * STAC item id of one tile: the same source key and window always give the same id. A window of a
 * variable adds the variable's key and its step: `<source key>-<variable>[-t<step>|-b<band>]-r<row>-c<col>`
 * (steps count from 0, bands from 1 as GDAL numbers them). Keys hold no `-`, so the parts can never
 * run into each other: distinct variables, steps and windows never share an id (or a COG).
 */
export function deriveItemId(sourceKey: string, window: Pick<TileWindow, 'row' | 'col' | 'slice'>): string {
  const slice = window.slice;
  if (!slice) return `${sourceKey}-r${window.row}-c${window.col}`;
  const step = slice.band === undefined ? '' : slice.stepLabel === 't' ? `-t${slice.band - 1}` : `-b${slice.band}`;
  return `${sourceKey}-${slice.variableKey}${step}-r${window.row}-c${window.col}`;
}

/** The prefix every tile branch of a job shares, and nothing else does. */
export function tileInstancePrefix(jobInstanceId: string): string {
  return `${jobInstanceId}-tile-`;
}

/** Instance id of the sub-orchestration that ingests one tile of a job; zero-padded so ids sort in tile order. */
export function deriveTileInstanceId(jobInstanceId: string, window: Pick<TileWindow, 'index'>): string {
  return `${tileInstancePrefix(jobInstanceId)}${String(window.index).padStart(6, '0')}`;
}
