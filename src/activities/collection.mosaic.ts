/**
 * Activity: the collection mosaic (issue 11's cross-stage fan-in). From every tile COG the
 * collection publishes it builds
 * - a GDAL VRT mosaic per group of sources that can share a grid (same CRS, same band types),
 *   next to the tiles in `cogs/<collection>/`, with relative tile paths (no signed URL is ever
 *   stored), the largest group registered as the collection's `mosaic` asset and the others as
 *   `mosaic_<group>`;
 * - a low-resolution overview COG (long side ≤ 2048 px) of the groups sharing the largest group's
 *   band types, warped to EPSG:4326, as the collection's `overview` asset.
 * It reads what the collection publishes through the catalog's own bookkeeping (collection →
 * shards → source records) and one tile COG header per source (in place, signed and read-only);
 * the overview reads the tiles through GDAL's warper, which uses their overviews when they have
 * them. Rebuilt whole each time it runs: after a standalone job and at the end of a batch.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import gdal from 'gdal-async';
import pLimit from 'p-limit';
import type { BuildCollectionMosaicInput, CollectionMosaicOutput } from '../pipeline/contracts.js';
import { buildCollectionMosaicVrt, groupMosaicSources, lonLatOverviewGrid, lonLatSourceWrap, overviewSize, type CollectionMosaicGroup, type CollectionMosaicSource } from '../raster/mosaic.collection.js';
import { readCrs, readMosaicBands } from '../raster/raster.inspect.js';
import type { BlobStore } from '../storage/blob.store.js';
import { containers } from '../config.js';
import { cogBlob, collectionBlob, collectionMosaicBlob, collectionMosaicPrefix, collectionOverviewBlob, shardCatalogBlob, sourceMosaicAssetKey, sourceRecordBlob } from '../stac/catalog.layout.js';
import type { SourceRecord } from '../stac/source.record.js';
import { collectionShardsProperty, mediaTypes, shardSourcesProperty, type StacAsset, type StacCatalog, type StacCollection } from '../stac/stac.types.js';
import type { ActivityDependencies } from './activity.dependencies.js';
import { updateJsonBlob } from './json.blob.update.js';

export type BuildCollectionMosaic = (input: BuildCollectionMosaicInput) => Promise<CollectionMosaicOutput>;

/** The overview's long side, in pixels. */
export const overviewMaxSide = 2048;
const readConcurrency = 16;
const maxListedSkipped = 20;
/** Collection asset keys this activity owns (and replaces whole on every run). */
const overviewAssetKey = 'overview';
const extraMosaicPrefix = `${sourceMosaicAssetKey}_`;

function mapBounded<T, R>(values: readonly T[], limit: number, map: (value: T) => Promise<R>): Promise<R[]> {
  const bounded = pLimit(limit);
  return Promise.all(values.map((value) => bounded(() => map(value))));
}

/** What the collection publishes, as of when it was read: its shard summaries, compared again before the assets are registered. */
function publishedState(collection: StacCollection | undefined): string {
  return JSON.stringify(collection?.[collectionShardsProperty] ?? {});
}

/** Every source record the collection publishes, found through its shards (no listing of the container). */
async function readPublishedRecords(store: BlobStore, collection: string): Promise<{ records: SourceRecord[]; state: string }> {
  const stored = await store.readJson<StacCollection>(collectionBlob(collection));
  if (!stored) return { records: [], state: publishedState(undefined) };
  const shards = Object.keys(stored.value[collectionShardsProperty] ?? {});
  const shardCatalogs = await mapBounded(shards, readConcurrency, (shard) => store.readJson<StacCatalog>(shardCatalogBlob(collection, shard)));
  const sourceKeys = shardCatalogs.flatMap((catalog) => Object.keys(catalog?.value[shardSourcesProperty] ?? {})).sort();
  const records = await mapBounded(sourceKeys, readConcurrency, async (sourceKey) => (await store.readJson<SourceRecord>(sourceRecordBlob(collection, sourceKey)))?.value);
  return { records: records.flatMap((record) => (record && record.items.length > 0 ? [record] : [])), state: publishedState(stored.value) };
}

type Measured = { source: CollectionMosaicSource } | { skipped: string };

/**
 * A source as the mosaic needs it, from one of its tiles' headers: all tiles of a source share
 * its CRS, bands and pixel size, and each tile's window places it on the source's grid.
 */
async function measureSource(store: BlobStore, collection: string, record: SourceRecord): Promise<Measured> {
  const outputs = { collection, sourceKey: record.sourceKey, version: record.version };
  if (record.items.some((item) => !item.window)) return { skipped: 'its items carry no tile windows (published before windows were recorded)' };
  const first = record.items[0]!;
  let dataset: gdal.Dataset | undefined;
  try {
    dataset = await gdal.openAsync(`/vsicurl/${await store.readUrl(cogBlob(outputs, first.itemId), { minutes: 15 })}`);
  } catch {
    // GDAL's message would name the signed URL: say what happened without it.
    return { skipped: 'its first tile COG could not be read' };
  }
  try {
    const gt = dataset.geoTransform;
    const crs = await readCrs(dataset);
    if (!gt || !crs) return { skipped: 'its tiles lost their georeferencing' };
    if (gt[2] !== 0 || gt[4] !== 0 || gt[5] >= 0) return { skipped: 'its grid is not north-up' };
    const window = first.window!;
    const originX = gt[0] - window.x * gt[1];
    const originY = gt[3] - window.y * gt[5];
    // A source of variables or time steps: its first variable's first step stands for it (the others lie on the same ground).
    const sameSlice = (item: (typeof record.items)[number]): boolean =>
      item.window?.slice?.variableKey === window.slice?.variableKey && item.window?.slice?.band === window.slice?.band;
    const tiles = record.items.filter(sameSlice).map((item) => {
      const tileWindow = item.window!;
      const west = originX + tileWindow.x * gt[1];
      const north = originY + tileWindow.y * gt[5];
      return {
        // Relative to the collection's folder, where the VRT lives.
        path: cogBlob(outputs, item.itemId).name.slice(collection.length + 1),
        bounds: [west, north + tileWindow.height * gt[5], west + tileWindow.width * gt[1], north] as [number, number, number, number],
        width: tileWindow.width,
        height: tileWindow.height,
      };
    });
    return { source: { sourceKey: record.sourceKey, crsCode: crs.code, srsWkt: crs.wkt2, bands: readMosaicBands(dataset), pixelWidth: gt[1], pixelHeight: -gt[5], tiles } };
  } finally {
    dataset.close();
  }
}

/**
 * The overview COG of `groups` (same band types), warped to EPSG:4326. Local VRTs with signed tile
 * URLs feed the warper; they stay in scratch and are deleted, never uploaded.
 */
async function buildOverview(store: BlobStore, collection: string, groups: readonly CollectionMosaicGroup[], scratch: string): Promise<{ path: string; width: number; height: number }> {
  const datasets: gdal.Dataset[] = [];
  try {
    for (const group of groups) {
      const signed: CollectionMosaicGroup = {
        ...group,
        sources: await Promise.all(
          group.sources.map(async (source) => ({
            ...source,
            tiles: await Promise.all(source.tiles.map(async (tile) => ({ ...tile, path: `/vsicurl/${await store.readUrl({ container: containers.cogs, name: `${collection}/${tile.path}` }, { minutes: 60 })}` }))),
          })),
        ),
      };
      const vrtPath = join(scratch, `${group.key}.vrt`);
      await writeFile(vrtPath, buildCollectionMosaicVrt(signed, false));
      datasets.push(await gdal.openAsync(vrtPath));
    }
    const paletted = groups.some((group) => group.bands.some((band) => (band.colorTable?.length ?? 0) > 0));
    // First the warper's own choice of grid (a VRT: no pixel is read), then that grid scaled down;
    // a longitude/latitude mosaic past 180° E (a 0–360° grid) is placed at −180…180 by its own bounds.
    let full: { width: number; height: number; extent: number[] };
    const lonLat = lonLatOverviewGrid(groups);
    if (lonLat) {
      full = lonLat;
    } else {
      const probe = await gdal.warpAsync(join(scratch, 'probe.vrt'), null, datasets, ['-of', 'VRT', '-t_srs', 'EPSG:4326']);
      const gt = probe.geoTransform!;
      full = { width: probe.rasterSize.x, height: probe.rasterSize.y, extent: [gt[0], gt[3] + probe.rasterSize.y * gt[5], gt[0] + probe.rasterSize.x * gt[1], gt[3]] };
      probe.close();
    }
    const size = overviewSize(full.width, full.height, overviewMaxSide);
    const extent = full.extent.map(String);
    const warpedPath = join(scratch, 'overview.warped.tif');
    const warped = await gdal.warpAsync(warpedPath, null, datasets, [
      '-of', 'GTiff', ...(lonLat ? ['-s_srs', lonLatSourceWrap] : []), '-t_srs', 'EPSG:4326', '-te', ...extent, '-ts', String(size.width), String(size.height),
      '-r', paletted ? 'near' : 'average', '-co', 'TILED=YES',
    ]);
    const cogPath = join(scratch, 'overview.tif');
    const cog = await gdal.translateAsync(cogPath, warped, ['-of', 'COG', '-co', 'COMPRESS=DEFLATE', '-co', `RESAMPLING=${paletted ? 'NEAREST' : 'AVERAGE'}`]);
    cog.close();
    warped.close();
    return { path: cogPath, ...size };
  } finally {
    for (const dataset of datasets) dataset.close();
  }
}

/**
 * How many times the mosaic is built when jobs keep publishing meanwhile. A build whose collection
 * changed before its assets were registered is built again; the last one registers regardless
 * (the next job's rebuild catches up).
 */
const maxRounds = 3;

export function createBuildCollectionMosaic(deps: Pick<ActivityDependencies, 'store' | 'scratchDir'>): BuildCollectionMosaic {
  return async ({ collection }) => {
    for (let round = 1; ; round++) {
      const built = await buildOnce(deps, collection, round >= maxRounds);
      if (built) return built;
    }
  };
}

/** One build; `undefined` when the collection changed while it ran (and `force` is off). */
async function buildOnce(deps: Pick<ActivityDependencies, 'store' | 'scratchDir'>, collection: string, force: boolean): Promise<CollectionMosaicOutput | undefined> {
  const { store } = deps;
  const { records, state } = await readPublishedRecords(store, collection);
  const measured = await mapBounded(records, readConcurrency, (record) => measureSource(store, collection, record));
  const skipped: CollectionMosaicOutput['skipped'] = [];
  const sources: CollectionMosaicSource[] = [];
  measured.forEach((result, index) => {
    if ('source' in result) sources.push(result.source);
    else if (skipped.length < maxListedSkipped) skipped.push({ sourceKey: records[index]!.sourceKey, reason: result.skipped });
  });
  const groups = groupMosaicSources(sources);

  const mosaics: CollectionMosaicOutput['mosaics'] = [];
  const assets: Record<string, StacAsset> = {};
  for (const [index, group] of groups.entries()) {
    const { url } = await store.uploadBytes(collectionMosaicBlob(collection, group.key), Buffer.from(buildCollectionMosaicVrt(group)), mediaTypes.vrt);
    mosaics.push({ group: group.key, url, sources: group.sources.length, tiles: group.tileCount });
    assets[index === 0 ? sourceMosaicAssetKey : `${extraMosaicPrefix}${group.key}`] = {
      href: url,
      type: mediaTypes.vrt,
      title: `GDAL VRT mosaic of the collection's ${group.key} tiles (${group.sources.length} sources, ${group.tileCount} tiles)`,
      roles: ['data', 'mosaic'],
    };
  }

  let overview: CollectionMosaicOutput['overview'];
  const overviewGroups = groups.filter((group) => group.bandSignature === groups[0]?.bandSignature);
  if (overviewGroups.length > 0) {
    const scratch = join(deps.scratchDir, `mosaic-${randomUUID()}`);
    await mkdir(scratch, { recursive: true });
    try {
      const built = await buildOverview(store, collection, overviewGroups, scratch);
      const { url } = await store.uploadFile(collectionOverviewBlob(collection), built.path, mediaTypes.cog);
      overview = { url, width: built.width, height: built.height, groups: overviewGroups.map((group) => group.key) };
      assets[overviewAssetKey] = {
        href: url,
        type: mediaTypes.cog,
        title: `Overview of the collection (${built.width}×${built.height}, EPSG:4326)`,
        roles: ['overview', 'visual'],
      };
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  } else {
    await store.delete(collectionOverviewBlob(collection));
  }

  // The collection's assets: this activity's keys replaced whole, everything else kept.
  let changed = false;
  await updateJsonBlob<StacCollection>(store, collectionBlob(collection), (existing) => {
    if (!existing) return undefined;
    changed = !force && publishedState(existing) !== state;
    if (changed) return undefined;
    const kept = Object.entries(existing.assets ?? {}).filter(([key]) => key !== sourceMosaicAssetKey && key !== overviewAssetKey && !key.startsWith(extraMosaicPrefix));
    const merged = { ...Object.fromEntries(kept), ...assets };
    const updated: StacCollection = { ...existing, assets: merged };
    if (Object.keys(merged).length === 0) delete updated.assets;
    return updated;
  }, { compact: true });
  if (changed) return undefined;

  // Mosaics of groups that are gone (their last source replaced or moved to another CRS).
  const current = new Set(groups.map((group) => collectionMosaicBlob(collection, group.key).name));
  const prefix = collectionMosaicPrefix(collection);
  for (const name of await store.list(prefix.container, prefix.name)) {
    if (!current.has(name) && name.endsWith('.vrt')) await store.delete({ container: prefix.container, name });
  }
  return { collection, mosaics, ...(overview ? { overview } : {}), skipped };
}
