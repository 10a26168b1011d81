/**
 * Activity: the collection mosaic (issue 11's cross-stage fan-in), kept up to date incrementally
 * (issue 22): a run works on the sources whose publication changed since the last run, so its
 * cost follows those sources, not the size of the collection.
 * - Finalize marks the sources it publishes (`markMosaicChanges`, one blob per job or batch chunk); a run takes the marks, reads each
 *   marked source's record and one tile COG header, and moves the source in the cells of its group
 *   (`src/raster/mosaic.cells.ts`): out of the cells its previous version touched, into the cells
 *   the new one touches. A replaced source therefore drops out; a source published again
 *   unchanged costs nothing.
 * - Each touched cell gets its index, its VRT (relative tile paths, no signed URL is ever stored)
 *   and its small overview written again; each touched group its VRT of cells, which is the
 *   collection's `mosaic` asset (the largest group) or `mosaic_<group>` (the others).
 * - The collection's `overview` asset, a COG in EPSG:4326 with its long side ≤ 2048 px, is warped
 *   from the cells' overviews (long side ≤ 256 px: 1/8 of a full cell), never from the tiles.
 * The mosaic's own bookkeeping lives under `cogs/<collection>/<collection>.mosaic-state/`. A
 * collection without it (never built, or built by the full rebuilds before) is built once from
 * every source it publishes, found through the catalog (collection → shards → source records).
 * Runs of one collection never overlap (the `collectionMosaic` orchestration's critical section).
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import gdal from 'gdal-async';
import pLimit from 'p-limit';
import type { BuildCollectionMosaicInput, CollectionMosaicOutput } from '../pipeline/contracts.js';
import { groupMosaicSources, lonLatSourceWrap, overviewSize, type CollectionMosaicSource, type CollectionMosaicTile } from '../raster/mosaic.collection.js';
import { buildCellVrt, buildGroupVrt, cellOverviewSize, cellSummary, contains, intersects, isLonLatGrid, lonLatOfBounds, newGroupManifest, paddedOverviewExtent, pixelWindow, placeSource, unionOf, updateCell, wrappedOverviewExtent, type CellEntry, type CellSummary, type Extent, type MosaicCell, type MosaicGroupManifest, type SourcePlacement } from '../raster/mosaic.cells.js';
import { readCrs, readMosaicBands } from '../raster/raster.inspect.js';
import type { BlobStore } from '../storage/blob.store.js';
import { containers } from '../config.js';
import { cogBlob, collectionBlob, collectionMosaicBlob, collectionOverviewBlob, shardCatalogBlob, sourceMosaicAssetKey, sourceRecordBlob } from '../stac/catalog.layout.js';
import type { BlobRef } from '../storage/blob.store.js';
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

/** Every source the collection publishes, found through its shards (no listing of the container): for the first build. */
async function readPublishedSourceKeys(store: BlobStore, collection: string): Promise<string[]> {
  const stored = await store.readJson<StacCollection>(collectionBlob(collection));
  if (!stored) return [];
  const shards = Object.keys(stored.value[collectionShardsProperty] ?? {});
  const shardCatalogs = await mapBounded(shards, readConcurrency, (shard) => store.readJson<StacCatalog>(shardCatalogBlob(collection, shard)));
  return shardCatalogs.flatMap((catalog) => Object.keys(catalog?.value[shardSourcesProperty] ?? {})).sort();
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

/** The mosaic's own bookkeeping (never linked from STAC): under the collection's folder in `cogs`. */
/** Where in `cogs` a collection's mosaic keeps its bookkeeping (cell indexes, VRTs, overviews, marks). */
export function mosaicStatePrefix(collection: string): string {
  return `${collection}/${collection}.mosaic-state/`;
}

function stateBlob(collection: string, path: string): BlobRef {
  return { container: containers.cogs, name: `${mosaicStatePrefix(collection)}${path}` };
}

const indexBlob = (collection: string): BlobRef => stateBlob(collection, 'index.json');
const manifestBlob = (collection: string, group: string): BlobRef => stateBlob(collection, `groups/${group}.json`);
const cellBlob = (collection: string, group: string, cell: string): BlobRef => stateBlob(collection, `groups/${group}/${cell}.json`);
const cellOverviewBlob = (collection: string, group: string, cell: string): BlobRef => stateBlob(collection, `groups/${group}/${cell}.overview.tif`);
const placementBlob = (collection: string, sourceKey: string): BlobRef => stateBlob(collection, `sources/${sourceKey}.json`);
const changesPrefix = (collection: string): BlobRef => stateBlob(collection, 'changes/');

/** A cell's VRT sits next to the group's, at the top of the collection's folder, so tile paths stay relative and point down. */
function cellVrtBlob(collection: string, group: string, cell: string): BlobRef {
  const groupVrt = collectionMosaicBlob(collection, group);
  return { container: groupVrt.container, name: `${groupVrt.name.slice(0, -'.vrt'.length)}.cell.${cell}.vrt` };
}

/** What the mosaic knows of the collection as a whole: its groups, by size. */
export interface MosaicIndex {
  groups: Record<string, { bandSignature: string; sources: number; tiles: number }>;
  /**
   * The overview COG's grid in EPSG:4326, kept while the collection stays inside it (then only the
   * changed part is painted again); `lonWrap` when it was read with longitudes wrapped (0–360° grids).
   */
  overview?: { extent: Extent; width: number; height: number; groups: string[]; lonWrap?: true };
}

/**
 * Finalize marks the sources it published (a job's one, a batch chunk's all) in one blob, so the
 * next mosaic run moves them. Its name is a hash of what it lists: a retried finalize writes the
 * same mark, and a later publication writes another, which a run that started before it leaves
 * for the next run (a run deletes only the marks it read).
 */
export async function markMosaicChanges(store: BlobStore, collection: string, changes: ReadonlyArray<{ sourceKey: string; version: string }>): Promise<void> {
  if (changes.length === 0) return;
  const listed = changes.map(({ sourceKey, version }) => `${sourceKey}.${version}`).sort();
  const prefix = changesPrefix(collection);
  const name = `${prefix.name}${createHash('sha256').update(listed.join('\n')).digest('hex').slice(0, 32)}.json`;
  await store.uploadBytes({ container: prefix.container, name }, Buffer.from(JSON.stringify(changes)), mediaTypes.json);
}

/** Marks (a job's, or a batch chunk's) taken by one run at most: a burst beyond it is left for the next run (requested by its jobs). */
const maxMarksPerRun = 500;

export function createBuildCollectionMosaic(deps: Pick<ActivityDependencies, 'store' | 'scratchDir'>): BuildCollectionMosaic {
  return async ({ collection }) => {
    const scratch = join(deps.scratchDir, `mosaic-${randomUUID()}`);
    await mkdir(scratch, { recursive: true });
    try {
      return await update(deps.store, collection, scratch);
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  };
}

/** A change of one source: out of the cells of `previous`, into those of `next`. */
export interface SourceMove {
  sourceKey: string;
  previous?: SourcePlacement;
  next?: { source: CollectionMosaicSource; version: string; group: string };
}

async function update(store: BlobStore, collection: string, scratch: string): Promise<CollectionMosaicOutput> {
  const prefix = changesPrefix(collection);
  const stored = await store.readJson<MosaicIndex>(indexBlob(collection));
  const marks = (await store.list(prefix.container, prefix.name)).slice(0, maxMarksPerRun);
  const marked = await mapBounded(marks, readConcurrency, async (name) => (await store.readJson<Array<{ sourceKey: string }>>({ container: prefix.container, name }))?.value ?? []);
  // No bookkeeping yet: every source the collection publishes is a change (once).
  const sourceKeys = stored ? [...new Set(marked.flat().map((change) => change.sourceKey))].sort() : await readPublishedSourceKeys(store, collection);

  const skipped: CollectionMosaicOutput['skipped'] = [];
  const moves = (
    await mapBounded(sourceKeys, readConcurrency, async (sourceKey): Promise<SourceMove | undefined> => {
      const [record, placement] = await Promise.all([
        store.readJson<SourceRecord>(sourceRecordBlob(collection, sourceKey)),
        stored ? store.readJson<SourcePlacement>(placementBlob(collection, sourceKey)) : undefined,
      ]);
      const previous = placement?.value;
      const current = record?.value && record.value.items.length > 0 ? record.value : undefined;
      if (current && previous?.version === current.version) return undefined;
      if (!current) return previous ? { sourceKey, previous } : undefined;
      const measured = await measureSource(store, collection, current);
      if (!('source' in measured)) {
        if (skipped.length < maxListedSkipped) skipped.push({ sourceKey, reason: measured.skipped });
        return previous ? { sourceKey, previous } : undefined;
      }
      return { sourceKey, ...(previous ? { previous } : {}), next: { source: measured.source, version: current.version, group: groupMosaicSources([measured.source])[0]!.key } };
    })
  ).flatMap((move) => (move ? [move] : []));
  const output = await applyMoves(store, collection, stored?.value, moves, scratch);
  // The marks this run took; a newer publication's mark has another name and stays for the next run.
  await mapBounded(marks, readConcurrency, (name) => store.delete({ container: prefix.container, name }));
  return { ...output, skipped };
}

/**
 * Moves sources between the cells of their groups and brings the group VRTs, the overview and the
 * collection's assets up to date. `stored`: the mosaic's index as read (undefined: nothing built
 * yet). Exported for the benchmark, which seeds large collections through it.
 */
export async function applyMoves(store: BlobStore, collection: string, stored: MosaicIndex | undefined, moves: readonly SourceMove[], scratch: string): Promise<Omit<CollectionMosaicOutput, 'skipped'>> {
  const index: MosaicIndex = structuredClone(stored ?? { groups: {} });
  // The groups the moves touch, and per group the cells with the edits to make in each.
  const manifests = new Map<string, MosaicGroupManifest | undefined>();
  const groupOf = async (key: string): Promise<MosaicGroupManifest | undefined> => {
    if (!manifests.has(key)) manifests.set(key, stored ? (await store.readJson<MosaicGroupManifest>(manifestBlob(collection, key)))?.value : undefined);
    return manifests.get(key);
  };
  const edits = new Map<string, Map<string, Array<{ sourceKey: string; entry: CellEntry | undefined }>>>();
  const edit = (group: string, cell: string, sourceKey: string, entry: CellEntry | undefined): void => {
    const cells = edits.get(group) ?? new Map<string, Array<{ sourceKey: string; entry: CellEntry | undefined }>>();
    cells.set(cell, [...(cells.get(cell) ?? []), { sourceKey, entry }]);
    edits.set(group, cells);
  };
  const placements: Array<{ sourceKey: string; placement?: SourcePlacement }> = [];
  for (const move of moves) {
    if (move.previous) {
      const manifest = await groupOf(move.previous.group);
      if (manifest) {
        for (const cell of move.previous.cells) edit(manifest.key, cell, move.sourceKey, undefined);
        manifest.sources -= 1;
        manifest.tiles -= move.previous.tiles;
      }
    }
    if (move.next) {
      const manifest = (await groupOf(move.next.group)) ?? newGroupManifest(move.next.group, move.next.source);
      manifests.set(manifest.key, manifest);
      const cells = placeSource(manifest.grid, move.next.source);
      for (const [cell, entry] of cells) edit(manifest.key, cell, move.sourceKey, entry);
      manifest.sources += 1;
      manifest.tiles += move.next.source.tiles.length;
      placements.push({ sourceKey: move.sourceKey, placement: { sourceKey: move.sourceKey, version: move.next.version, group: manifest.key, cells: [...cells.keys()], tiles: move.next.source.tiles.length } });
    } else {
      placements.push({ sourceKey: move.sourceKey });
    }
  }

  // Each touched cell once: its index, VRT and overview, or nothing when its last source left.
  const repainted: Array<{ group: string; lonLat: Extent }> = [];
  for (const [groupKey, cells] of edits) {
    const manifest = manifests.get(groupKey)!;
    await mapBounded([...cells], cellConcurrency, async ([cellKey, cellEdits]) => {
      const previous = manifest.cells[cellKey];
      if (previous?.lonLat) repainted.push({ group: groupKey, lonLat: previous.lonLat });
      const existing = stored ? (await store.readJson<MosaicCell>(cellBlob(collection, groupKey, cellKey)))?.value : undefined;
      const cell = cellEdits.reduce((current, { sourceKey, entry }) => updateCell(current, sourceKey, entry), existing ?? { key: cellKey, entries: [] });
      const summary = cellSummary(manifest.grid, cell);
      // Where the cell's pixels changed: the moved sources' tiles, before and after.
      const moved = new Set(cellEdits.map((change) => change.sourceKey));
      const changed = unionOf([...(existing?.entries ?? []), ...cell.entries].filter((entry) => moved.has(entry.sourceKey)).flatMap((entry) => entry.tiles.map((tile) => tile.bounds)));
      if (!summary) {
        delete manifest.cells[cellKey];
        await Promise.all([store.delete(cellBlob(collection, groupKey, cellKey)), store.delete(cellVrtBlob(collection, groupKey, cellKey)), store.delete(cellOverviewBlob(collection, groupKey, cellKey))]);
        return;
      }
      const [, , painted] = await Promise.all([
        store.uploadBytes(cellBlob(collection, groupKey, cellKey), Buffer.from(JSON.stringify(cell)), mediaTypes.json),
        store.uploadBytes(cellVrtBlob(collection, groupKey, cellKey), Buffer.from(buildCellVrt(manifest, cell, summary)), mediaTypes.vrt),
        // Painted again where it changed, when its grid stays; whole when the cell's extent moved.
        previous?.lonLat && changed && sameExtent(previous.bounds, summary.bounds)
          ? repaintCellOverview(store, collection, manifest, cell, summary, changed, scratch).then((etag) => ({ lonLat: isLonLatGrid(manifest) ? lonLatOfBounds(summary.bounds) : previous.lonLat!, etag: etag ?? previous.overviewEtag }))
          : writeCellOverview(store, collection, manifest, cell, summary, scratch),
      ]);
      const { lonLat } = painted;
      manifest.cells[cellKey] = { ...summary, lonLat, ...(painted.etag ? { overviewEtag: painted.etag } : {}) };
      repainted.push({ group: groupKey, lonLat });
    });
    if (Object.keys(manifest.cells).length === 0) {
      delete index.groups[groupKey];
      await Promise.all([store.delete(manifestBlob(collection, groupKey)), store.delete(collectionMosaicBlob(collection, groupKey))]);
      continue;
    }
    index.groups[groupKey] = { bandSignature: manifest.bandSignature, sources: manifest.sources, tiles: manifest.tiles };
    const vrt = buildGroupVrt(manifest, (cell) => ({ path: cellVrtBlob(collection, groupKey, cell).name.slice(collection.length + 1), relative: true }));
    await Promise.all([store.uploadBytes(collectionMosaicBlob(collection, groupKey), Buffer.from(vrt), mediaTypes.vrt), store.uploadBytes(manifestBlob(collection, groupKey), Buffer.from(JSON.stringify(manifest)), mediaTypes.json)]);
  }
  await mapBounded(placements, readConcurrency, async ({ sourceKey, placement }) => {
    if (placement) await store.uploadBytes(placementBlob(collection, sourceKey), Buffer.from(JSON.stringify(placement)), mediaTypes.json);
    else await store.delete(placementBlob(collection, sourceKey));
  });

  // The collection's assets, from the index: one mosaic per group, largest first, and the overview.
  const groups = Object.entries(index.groups)
    .map(([key, group]) => ({ key, ...group }))
    .sort((a, b) => b.tiles - a.tiles || a.key.localeCompare(b.key));
  const mosaics: CollectionMosaicOutput['mosaics'] = [];
  const assets: Record<string, StacAsset> = {};
  for (const [position, group] of groups.entries()) {
    const url = store.url(collectionMosaicBlob(collection, group.key));
    mosaics.push({ group: group.key, url, sources: group.sources, tiles: group.tiles });
    assets[position === 0 ? sourceMosaicAssetKey : `${extraMosaicPrefix}${group.key}`] = {
      href: url,
      type: mediaTypes.vrt,
      title: `GDAL VRT mosaic of the collection's ${group.key} tiles (${group.sources} sources, ${group.tiles} tiles)`,
      roles: ['data', 'mosaic'],
    };
  }
  let overview: CollectionMosaicOutput['overview'];
  const overviewGroups = groups.filter((group) => group.bandSignature === groups[0]?.bandSignature).map((group) => group.key);
  const overviewManifests = await Promise.all(overviewGroups.map(async (key) => (await groupOf(key))!));
  const data = unionOf(overviewManifests.flatMap((manifest) => Object.values(manifest.cells).flatMap((cell) => (cell.lonLat ? [cell.lonLat] : []))));
  const previous = index.overview;
  const wrapped = wrappedOverviewExtent(overviewManifests);
  const region = unionOf(repainted.filter((cell) => overviewGroups.includes(cell.group)).map((cell) => cell.lonLat));
  // A new grid: the collection grew out of the overview's extent, its groups changed, or it started or stopped being wrapped.
  const regrid = !previous || previous.groups.join() !== overviewGroups.join() || (wrapped ? !previous.lonWrap || !sameExtent(previous.extent, wrapped) : previous.lonWrap || !contains(previous.extent, data ?? previous.extent));
  if (!data) {
    delete index.overview;
    await store.delete(collectionOverviewBlob(collection));
  } else if (regrid || (wrapped && region)) {
    // Painted whole from every cell's overview. A longitude/latitude collection on 0–360° is placed at −180…180, where maps
    // draw it, and painted whole whenever a cell changed: its cells' extents stay on 0–360, so no window of the −180…180
    // image maps to one region of them, and `repaintOverview` (which reads cells without the wrap) never touches it.
    const extent: Extent = wrapped ?? paddedOverviewExtent(data);
    const built = await paintOverview(store, collection, overviewManifests, extent, scratch, wrapped ? lonLatSourceWrap : undefined);
    const { url } = await store.uploadFile(collectionOverviewBlob(collection), built.path, mediaTypes.cog);
    index.overview = { extent: built.extent, width: built.width, height: built.height, groups: overviewGroups, ...(wrapped ? { lonWrap: true as const } : {}) };
    overview = { url, width: built.width, height: built.height, groups: overviewGroups };
  } else if (region && previous) {
    const path = await repaintOverview(store, collection, overviewManifests, previous, region, scratch);
    const { url } = await store.uploadFile(collectionOverviewBlob(collection), path, mediaTypes.cog);
    overview = { url, width: previous.width, height: previous.height, groups: overviewGroups };
  }
  if (edits.size > 0 || !stored) await store.uploadBytes(indexBlob(collection), Buffer.from(JSON.stringify(index)), mediaTypes.json);
  if (overview) {
    assets[overviewAssetKey] = { href: overview.url, type: mediaTypes.cog, title: `Overview of the collection (${overview.width}×${overview.height}, EPSG:4326)`, roles: ['overview', 'visual'] };
  }

  // The collection's assets: this activity's keys replaced (the overview kept when it did not change), everything else kept.
  await updateJsonBlob<StacCollection>(store, collectionBlob(collection), (existing) => {
    if (!existing) return undefined;
    const kept = Object.entries(existing.assets ?? {}).filter(([key]) => key !== sourceMosaicAssetKey && !(key === overviewAssetKey && (overview || overviewGroups.length === 0)) && !key.startsWith(extraMosaicPrefix));
    const merged = { ...Object.fromEntries(kept), ...assets };
    const updated: StacCollection = { ...existing, assets: merged };
    if (Object.keys(merged).length === 0) delete updated.assets;
    return JSON.stringify(updated.assets ?? {}) === JSON.stringify(existing.assets ?? {}) ? undefined : updated;
  }, { compact: true });

  return { collection, mosaics, ...(overview ? { overview } : {}) };
}

/** Cells written at once in one run. */
const cellConcurrency = 4;

function sameExtent(a: readonly number[], b: readonly number[]): boolean {
  return a.every((value, index) => Math.abs(value - b[index]!) < 1e-9 * Math.max(1, Math.abs(value)));
}

/** A local VRT of `cell` (only the tiles `keep` keeps) with signed tile URLs, for GDAL to read. */
async function signedCellVrt(store: BlobStore, collection: string, manifest: MosaicGroupManifest, cell: MosaicCell, summary: CellSummary, path: string, keep: (tile: CollectionMosaicTile) => boolean = () => true): Promise<boolean> {
  const entries = cell.entries.map((entry) => ({ ...entry, tiles: entry.tiles.filter(keep) })).filter((entry) => entry.tiles.length > 0);
  if (entries.length === 0) return false;
  const paths = new Map<CollectionMosaicTile, { path: string; relative: boolean }>();
  for (const tile of entries.flatMap((entry) => entry.tiles)) paths.set(tile, { path: `/vsicurl/${await store.readUrl({ container: containers.cogs, name: `${collection}/${tile.path}` }, { minutes: 60 })}`, relative: false });
  await writeFile(path, buildCellVrt(manifest, { key: cell.key, entries }, summary, (tile) => paths.get(tile)!));
  return true;
}

/**
 * The part of a cell's overview over `region` (native CRS) painted again from the tiles that reach
 * into it, on the stored overview (same grid: the cell's extent did not change).
 */
async function repaintCellOverview(store: BlobStore, collection: string, manifest: MosaicGroupManifest, cell: MosaicCell, summary: CellSummary, region: Extent, scratch: string): Promise<string | undefined> {
  const ref = cellOverviewBlob(collection, manifest.key, cell.key);
  const base = join(scratch, `${manifest.key}.${cell.key}.${randomUUID()}`);
  const size = cellOverviewSize(manifest, summary);
  const window = pixelWindow(summary.bounds, size, region);
  if (!window) return undefined;
  const pixelWidth = (summary.bounds[2] - summary.bounds[0]) / size.width;
  const pixelHeight = (summary.bounds[3] - summary.bounds[1]) / size.height;
  const west = summary.bounds[0] + window.x * pixelWidth;
  const north = summary.bounds[3] - window.y * pixelHeight;
  const windowExtent: Extent = [west, north - window.height * pixelHeight, west + window.width * pixelWidth, north];
  await store.downloadToFile(ref, `${base}.tif`);
  const target = await gdal.openAsync(`${base}.tif`, 'r+');
  try {
    const hasTiles = await signedCellVrt(store, collection, manifest, cell, summary, `${base}.vrt`, (tile) => intersects(tile.bounds, windowExtent));
    const paletted = manifest.bands.some((band) => (band.colorTable?.length ?? 0) > 0);
    const patch = hasTiles ? await gdal.openAsync(`${base}.vrt`) : undefined;
    const painted = patch
      ? await gdal.translateAsync(`${base}.patch.tif`, patch, ['-of', 'GTiff', '-projwin', ...[windowExtent[0], windowExtent[3], windowExtent[2], windowExtent[1]].map(String), '-outsize', String(window.width), String(window.height), '-r', paletted ? 'near' : 'average'])
      : undefined;
    patch?.close();
    try {
      for (let band = 1; band <= target.bands.count(); band++) {
        const out = target.bands.get(band);
        let pixels: gdal.TypedArray;
        if (painted) {
          pixels = await painted.bands.get(band).pixels.readAsync(0, 0, window.width, window.height);
        } else {
          pixels = await out.pixels.readAsync(window.x, window.y, window.width, window.height);
          pixels.fill(out.noDataValue ?? 0);
        }
        await out.pixels.writeAsync(window.x, window.y, window.width, window.height, pixels);
      }
      target.flush();
    } finally {
      painted?.close();
    }
  } finally {
    target.close();
  }
  return (await store.uploadFile(ref, `${base}.tif`, 'image/tiff; application=geotiff')).etag;
}

/** A cell's overview: its VRT read with the long side at most `cellOverviewMaxSide` (GDAL takes the tiles' own overviews where they have them), through signed URLs in scratch. */
async function writeCellOverview(store: BlobStore, collection: string, manifest: MosaicGroupManifest, cell: MosaicCell, summary: CellSummary, scratch: string): Promise<{ lonLat: Extent; etag: string }> {
  const base = join(scratch, `${manifest.key}.${cell.key}.${randomUUID()}`);
  await signedCellVrt(store, collection, manifest, cell, summary, `${base}.vrt`);
  const size = cellOverviewSize(manifest, summary);
  const paletted = manifest.bands.some((band) => (band.colorTable?.length ?? 0) > 0);
  const dataset = await gdal.openAsync(`${base}.vrt`);
  try {
    const written = await gdal.translateAsync(`${base}.tif`, dataset, ['-of', 'GTiff', '-outsize', String(size.width), String(size.height), '-r', paletted ? 'near' : 'average', '-co', 'COMPRESS=DEFLATE', '-co', 'TILED=YES']);
    written.close();
  } finally {
    dataset.close();
  }
  const { etag } = await store.uploadFile(cellOverviewBlob(collection, manifest.key, cell.key), `${base}.tif`, 'image/tiff; application=geotiff');
  if (isLonLatGrid(manifest)) return { lonLat: lonLatOfBounds(summary.bounds), etag };
  // Where it lands in EPSG:4326: the warper's own grid for it (a VRT, no pixel is read).
  const written = await gdal.openAsync(`${base}.tif`);
  try {
    const probe = await gdal.warpAsync(`${base}.probe.vrt`, null, [written], ['-of', 'VRT', '-t_srs', 'EPSG:4326']);
    const gt = probe.geoTransform!;
    const lonLat: Extent = [gt[0], gt[3] + probe.rasterSize.y * gt[5], gt[0] + probe.rasterSize.x * gt[1], gt[3]];
    probe.close();
    return { lonLat, etag };
  } finally {
    written.close();
  }
}

/** The groups' cells (all, or those `where` keeps) as local VRTs over their overviews, signed, opened for the warper. */
async function openCellOverviews(store: BlobStore, collection: string, manifests: readonly MosaicGroupManifest[], scratch: string, where: (lonLat: Extent | undefined) => boolean = () => true): Promise<gdal.Dataset[]> {
  const datasets: gdal.Dataset[] = [];
  for (const manifest of manifests) {
    const cells = Object.fromEntries(Object.entries(manifest.cells).filter(([, cell]) => where(cell.lonLat)));
    if (Object.keys(cells).length === 0) continue;
    const signed = new Map<string, string>();
    for (const [key, cell] of Object.entries(cells)) signed.set(key, `/vsicurl/${await store.readUrl(cellOverviewBlob(collection, manifest.key, key), { minutes: 60, ...(cell.overviewEtag ? { version: cell.overviewEtag } : {}) })}`);
    const vrtPath = join(scratch, `${manifest.key}.overview.${randomUUID()}.vrt`);
    await writeFile(vrtPath, buildGroupVrt({ ...manifest, cells }, (cell) => ({ path: signed.get(cell)!, relative: false }), (summary) => cellOverviewSize(manifest, summary)));
    datasets.push(await gdal.openAsync(vrtPath));
  }
  return datasets;
}

function isPaletted(manifests: readonly MosaicGroupManifest[]): boolean {
  return manifests.some((manifest) => manifest.bands.some((band) => (band.colorTable?.length ?? 0) > 0));
}

async function toCog(scratch: string, dataset: gdal.Dataset, paletted: boolean): Promise<string> {
  const cogPath = join(scratch, `overview.${randomUUID()}.tif`);
  const cog = await gdal.translateAsync(cogPath, dataset, ['-of', 'COG', '-co', 'COMPRESS=DEFLATE', '-co', `RESAMPLING=${paletted ? 'NEAREST' : 'AVERAGE'}`]);
  cog.close();
  return cogPath;
}

/**
 * The whole overview COG of `manifests` (same band types) over `extent` in EPSG:4326, warped from
 * every cell's overview; its size is the finest pixel of the mosaic's, scaled to ≤ 2048 px.
 */
// Both warps transform every pixel exactly (`-et 0`): the warper's default approximation depends on
// the window it warps, and a part painted again must equal the same part painted whole.
async function paintOverview(store: BlobStore, collection: string, manifests: readonly MosaicGroupManifest[], extent: Extent, scratch: string, sourceSrs?: string): Promise<{ path: string; width: number; height: number; extent: Extent }> {
  const readAs = sourceSrs ? ['-s_srs', sourceSrs] : [];
  const datasets = await openCellOverviews(store, collection, manifests, scratch);
  try {
    const paletted = isPaletted(manifests);
    // The warper's own grid at full resolution (a VRT: no pixel is read), then the extent at that pixel size, scaled down.
    const probe = await gdal.warpAsync(join(scratch, `probe.${randomUUID()}.vrt`), null, datasets, ['-of', 'VRT', ...readAs, '-t_srs', 'EPSG:4326']);
    const gt = probe.geoTransform!;
    probe.close();
    const size = overviewSize(Math.ceil((extent[2] - extent[0]) / gt[1]), Math.ceil((extent[3] - extent[1]) / -gt[5]), overviewMaxSide);
    const warped = await gdal.warpAsync(join(scratch, `overview.warped.${randomUUID()}.tif`), null, datasets, [
      '-of', 'GTiff', ...readAs, '-t_srs', 'EPSG:4326', '-et', '0', '-te', ...extent.map(String), '-ts', String(size.width), String(size.height),
      '-r', paletted ? 'near' : 'average', '-co', 'TILED=YES',
    ]);
    try {
      return { path: await toCog(scratch, warped, paletted), ...size, extent };
    } finally {
      warped.close();
    }
  } finally {
    for (const dataset of datasets) dataset.close();
  }
}

/**
 * The overview COG with only `region` painted again, from the cells that reach into it (the
 * changed cells and their neighbours): the rest of the image is the stored one's. Never for an
 * overview read with a longitude wrap (`lonWrap`): that one is painted whole each run.
 */
async function repaintOverview(store: BlobStore, collection: string, manifests: readonly MosaicGroupManifest[], grid: NonNullable<MosaicIndex['overview']>, region: Extent, scratch: string): Promise<string> {
  const window = pixelWindow(grid.extent, grid, region);
  const localCog = join(scratch, `overview.stored.${randomUUID()}.tif`);
  await store.downloadToFile(collectionOverviewBlob(collection), localCog);
  // Edited in place (its COG layout is lost, and made again below).
  const editable = await gdal.openAsync(localCog, 'r+');
  const paletted = isPaletted(manifests);
  try {
    if (window) {
      const pixelWidth = (grid.extent[2] - grid.extent[0]) / grid.width;
      const pixelHeight = (grid.extent[3] - grid.extent[1]) / grid.height;
      const west = grid.extent[0] + window.x * pixelWidth;
      const north = grid.extent[3] - window.y * pixelHeight;
      const windowExtent: Extent = [west, north - window.height * pixelHeight, west + window.width * pixelWidth, north];
      const datasets = await openCellOverviews(store, collection, manifests, scratch, (lonLat) => lonLat !== undefined && intersects(lonLat, windowExtent));
      if (datasets.length === 0) {
        // The region's last cell is gone: nothing paints it any more.
        for (let band = 1; band <= editable.bands.count(); band++) {
          const target = editable.bands.get(band);
          const pixels = await target.pixels.readAsync(window.x, window.y, window.width, window.height);
          pixels.fill(target.noDataValue ?? 0);
          await target.pixels.writeAsync(window.x, window.y, window.width, window.height, pixels);
        }
      }
      try {
        const patch = datasets.length === 0 ? undefined : await gdal.warpAsync(join(scratch, `overview.patch.${randomUUID()}.tif`), null, datasets, [
          '-of', 'GTiff', '-t_srs', 'EPSG:4326', '-et', '0', '-te', ...windowExtent.map(String), '-ts', String(window.width), String(window.height),
          '-r', paletted ? 'near' : 'average',
        ]);
        try {
          for (let band = 1; patch && band <= editable.bands.count(); band++) {
            const pixels = await patch.bands.get(band).pixels.readAsync(0, 0, window.width, window.height);
            await editable.bands.get(band).pixels.writeAsync(window.x, window.y, window.width, window.height, pixels);
          }
          editable.flush();
        } finally {
          patch?.close();
        }
      } finally {
        for (const dataset of datasets) dataset.close();
      }
    }
    return await toCog(scratch, editable, paletted);
  } finally {
    editable.close();
  }
}
