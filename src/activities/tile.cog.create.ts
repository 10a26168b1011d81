/**
 * Activity: write the COG of one tile window, measure it, and upload it under a deterministic
 * name in its version's folder (a retry overwrites the same blob; another version or another
 * source never does). What it returns is bounded (`metadata.bounds.ts`): the orchestration
 * history stores it, and the worker sends it in one queue message.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { CreateTileCogInput, OutputLocation, TileCog, TileWindow } from '../pipeline/contracts.js';
import { hashFile } from '../raster/checksum.js';
import { describeCog, writeThumbnail, writeTileCog } from '../raster/cog.create.js';
import { describeUndecodableSource } from '../raster/source.decode.js';
import { sourcePathNames, type CrsAssumption } from '../raster/source.open.js';
import { FailureError } from '../pipeline/failure.js';
import { cogBlob, thumbnailBlob } from '../stac/catalog.layout.js';
import { mediaTypes } from '../stac/stac.types.js';
import { canRenderThumbnail } from '../raster/thumbnail.command.js';
import { boundCrs, boundMeasuredBand, boundNotes } from '../raster/metadata.bounds.js';
import type { BlobStore } from '../storage/blob.store.js';
import type { ActivityDependencies } from './activity.dependencies.js';
import { jobKeyOf } from './source.cache.js';

export type CreateTileCog = (input: CreateTileCogInput) => Promise<TileCog>;

/**
 * The CRS validation assumed for the tile's raster (EPSG:4326 for a CF longitude/latitude grid),
 * passed on by the job; a tile of a job from before it was passed decides again from the header,
 * under the setting.
 */
export function crsAssumption(input: Pick<CreateTileCogInput, 'assumedCrs' | 'source'>, assumeCfLonLat: boolean): CrsAssumption {
  return input.assumedCrs !== undefined ? { assumedCrs: input.assumedCrs } : { assumeCfLonLat, size: input.source.size };
}

export function createCreateTileCog(deps: Pick<ActivityDependencies, 'store' | 'sources' | 'scratchDir' | 'settings' | 'pause'>): CreateTileCog {
  return async (input) => {
    await mkdir(deps.scratchDir, { recursive: true });
    const workDir = await mkdtemp(join(deps.scratchDir, 'tile-'));
    try {
      const cogPath = join(workDir, `${input.itemId}.tif`);
      const written = await deps.sources.withGdalPath(
        input.source,
        await deps.sources.readModeFor(input.source, deps.settings.sourceRead),
        (sourcePath) =>
          writeTileCog(sourcePath, input.source.name, cogPath, input.window, input.options, undefined, crsAssumption(input, deps.settings.assumeCfLonLat)).catch((error: unknown) => {
            // Validation decodes a few blocks; one corrupt in the middle shows only here, and is the upload's, not ours.
            const corrupt = error instanceof Error ? describeUndecodableSource(error.message, sourcePathNames(sourcePath, input.source.name)) : null;
            throw corrupt ? new FailureError(corrupt) : error;
          }),
        jobKeyOf(input.outputs),
      );
      await deps.pause('tile-written');
      return await publishTileCog(deps.store, {
        cogPath,
        workDir,
        outputs: input.outputs,
        itemId: input.itemId,
        window: input.window,
        notes: written.notes,
        acquired: async () => written.acquired,
        afterCogUpload: () => deps.pause('tile-upload'),
      });
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  };
}

export interface PublishTileCogInput {
  /** The COG as written, in `workDir` (its thumbnail is written beside it). */
  cogPath: string;
  workDir: string;
  outputs: OutputLocation;
  itemId: string;
  /** The source window the COG covers; without one, the whole COG as one window. */
  window?: TileWindow;
  /** What writing it noted so far; bounding the measured text adds to them. */
  notes: readonly string[];
  /** When its source was acquired, asked once the COG is uploaded. */
  acquired: () => Promise<TileCog['acquired']>;
  /** Runs once the COG (not yet its thumbnail) is uploaded. */
  afterCogUpload?: () => Promise<void>;
}

/**
 * Measures a written COG, bounds the text an upload put in it (band descriptions, units, CRS name),
 * uploads it and its thumbnail under the layout's names, and says what it is. One tile of a job and
 * one derived item are published the same way.
 */
export async function publishTileCog(store: BlobStore, input: PublishTileCogInput): Promise<TileCog> {
  // Hash before describing: reading statistics may leave a .aux.xml beside it, never inside it.
  const { size, checksum } = await hashFile(input.cogPath);
  const measured = await describeCog(input.cogPath);
  const notes = [...input.notes];
  const description = { ...measured, bands: measured.bands.map((band, index) => boundMeasuredBand(band, index, notes)), crs: boundCrs(measured.crs, notes) };
  const boundedNotes = boundNotes(notes);
  const ref = cogBlob(input.outputs, input.itemId);
  const thumbnailRef = thumbnailBlob(input.outputs, input.itemId);
  const pngPath = join(input.workDir, `${input.itemId}.png`);
  const withThumbnail = canRenderThumbnail(description.bands);
  if (withThumbnail) await writeThumbnail(input.cogPath, pngPath, description);
  const [{ url }, thumbnail] = await Promise.all([
    store.uploadFile(ref, input.cogPath, mediaTypes.cog).then(async (uploaded) => {
      await input.afterCogUpload?.();
      return uploaded;
    }),
    withThumbnail ? store.uploadFile(thumbnailRef, pngPath, mediaTypes.png) : undefined,
  ]);
  return {
    itemId: input.itemId,
    window: input.window ?? { index: 0, row: 0, col: 0, x: 0, y: 0, width: description.width, height: description.height },
    blob: { container: ref.container, name: ref.name, url },
    size,
    checksum,
    width: description.width,
    height: description.height,
    geoTransform: description.geoTransform,
    // With an EPSG code the item needs only the code; dropping the PROJJSON keeps every tile's
    // result (which the orchestration history stores twice) a few KB smaller.
    crs: description.crs?.code ? { ...description.crs, projjson: null } : description.crs,
    bands: description.bands,
    geometry: description.geometry,
    bbox: description.bbox,
    nativeBbox: description.nativeBbox,
    acquired: await input.acquired(),
    ...(boundedNotes.length > 0 ? { notes: boundedNotes } : {}),
    ...(thumbnail ? { thumbnail: { ...thumbnailRef, url: thumbnail.url } } : {}),
  };
}
