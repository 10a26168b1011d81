/**
 * The deletion path on real GDAL and Azurite (issue 24): sources published through the real
 * activities (static catalog and a loopback STAC API), one of them deleted and removed with the
 * removal's activities, in the order the `removeSource` orchestration runs them. Everything of it
 * goes (items in both catalogs, COGs, thumbnails, VRT, source catalog, record, shard link, its part
 * of the extent) and the incremental mosaic, told the source changed, is pixel for pixel a full
 * rebuild without it. Forged deletes of a live source (the hostile corpus) remove nothing; a job
 * still running when its source is deleted publishes nothing; deleting and uploading again
 * ingests again; a removed source's job view says "source removed".
 */
import { join } from 'node:path';
import type { DurableClient } from 'durable-functions';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createActivityDependencies, type ActivityDependencies } from '../../src/activities/activity.dependencies.js';
import { createFinalizeCollection } from '../../src/activities/collection.finalize.js';
import { createBuildCollectionMosaic } from '../../src/activities/collection.mosaic.js';
import { createFindRunningJobs, createFindSourceOutputs, createRemoveSourceOutputs } from '../../src/activities/source.removal.js';
import { jobIndexKey } from '../../src/jobs/job.index.js';
import { createCreateTileCog } from '../../src/activities/tile.cog.create.js';
import { createRegisterTileItem } from '../../src/activities/tile.item.register.js';
import { createValidateRaster } from '../../src/activities/validate.raster.js';
import { containers } from '../../src/config.js';
import { findSupersession } from '../../src/jobs/job.supersession.js';
import { parseBlobDeletedEvent, removalInstanceId } from '../../src/jobs/source.removal.js';
import type { IngestInput, SourceBlob, SourcePublication, SourceRemovalInput } from '../../src/pipeline/contracts.js';
import { FailureError } from '../../src/pipeline/failure.js';
import { deriveItemId } from '../../src/pipeline/ids.js';
import { ingestOptionsSchema } from '../../src/pipeline/options.js';
import { cellPixels } from '../../src/raster/mosaic.cells.js';
import { planTiles } from '../../src/raster/tile.plan.js';
import { collectionBlob, itemBlob, shardCatalogBlob, shardOf, sourceCatalogBlob, sourceRecordBlob, versionFolder } from '../../src/stac/catalog.layout.js';
import { collectionItemCount } from '../../src/stac/collection.build.js';
import { StacApiClient } from '../../src/stac/stac.api.client.js';
import { collectionShardsProperty, type StacCatalog, type StacCollection } from '../../src/stac/stac.types.js';
import { createFixtureDir, writeRgbUint8, type FixtureDir } from '../support/fixtures.js';
import { hostileDeletions } from '../support/hostile.deletions.js';
import { startLoopbackStacApi, type LoopbackStacApi } from '../support/stac.api.server.js';
import { createActivityHarness, expectSamePixels, mirrorMosaic, type ActivityHarness } from './activity.harness.js';

let harness: ActivityHarness;
let fixtures: FixtureDir;
let api: LoopbackStacApi;
let deps: ActivityDependencies;

beforeAll(async () => {
  harness = createActivityHarness();
  fixtures = createFixtureDir('source-removal-');
  api = await startLoopbackStacApi();
  deps = { ...createActivityDependencies({ store: harness.store, jobs: harness.deps.jobs, retired: harness.deps.retired, settings: harness.deps.settings, stacApi: new StacApiClient({ baseUrl: api.url, initialDelayMs: 1 }) }), sources: harness.deps.sources };
});
afterAll(async () => {
  deps.inspector.close();
  harness.close();
  fixtures.remove();
  await api.close();
});

const datetime = '2026-12-06T10:00:00.000Z';
const options = ingestOptionsSchema.parse({ blockSize: 128 });
const tileSize = 128;

/** A 10 m UTM source in the mosaic cell `cell` (cells of 2048 px), each alone in its cell. */
function sourceAt(cell: number, name: string, size = 200): string {
  return writeRgbUint8(fixtures.path, size, size, name, { originX: 500000 + cell * cellPixels * 10 });
}

/** validate → tiles → items, as a job's branches do; the publication its finalize would get. */
async function makeTiles(source: SourceBlob, collection: string): Promise<SourcePublication> {
  const info = await createValidateRaster(deps)({ source });
  const { outputs, order } = harness.job(source, collection, { options, tileSize });
  const items = await Promise.all(
    planTiles(info.width, info.height, tileSize).map(async (window) => {
      const tile = await createCreateTileCog(deps)({ source, outputs, itemId: deriveItemId(outputs.sourceKey, window), window, options });
      return createRegisterTileItem(deps)({ outputs, source, tile, datetime, order });
    }),
  );
  return { outputs, source, items, order, options, jobId: `ingest-${outputs.version}` };
}

async function publish(localPath: string, collection: string, blobName?: string): Promise<SourcePublication> {
  const publication = await makeTiles(await harness.upload(localPath, blobName), collection);
  await createFinalizeCollection(deps)({ collection, publications: [publication], datetime });
  return publication;
}

/** What the removal orchestration does, through its activities (the orchestration adds only the order and the mosaic request). */
async function runRemoval(input: SourceRemovalInput): Promise<{ outcome: string; collections: Array<{ collection: string; unpublished: boolean; items: number; blobs: number }> }> {
  const found = await createFindSourceOutputs(deps)(input);
  if (found.outcome === 'source-present') return { outcome: 'source-present', collections: [] };
  const collections = [];
  for (const outputs of found.collections) collections.push(await createRemoveSourceOutputs(deps)({ source: input.source, outputs, removal: { instanceId: removalInstanceId(input), eventTime: input.deletion.eventTime } }));
  return { outcome: collections.length === 0 ? 'not-ingested' : 'removed', collections };
}

function deletionOf(source: Pick<SourceBlob, 'container' | 'name'>, sequencer = '0000000000000000000000000000d31e'): SourceRemovalInput {
  return { source: { container: source.container, name: source.name }, deletion: { eventId: `event-${sequencer}`, eventTime: datetime, sequencer } };
}

/** Every blob of the source's outputs in the collection: record, source catalog, items, version folders. */
async function outputsOf(publication: SourcePublication, collection: string): Promise<string[]> {
  const { sourceKey } = publication.outputs;
  const stac = await harness.store.list(containers.stac, `${collection}/`);
  const cogs = await harness.store.list(containers.cogs, `${collection}/${sourceKey}/`);
  return [...stac.filter((name) => name.includes(sourceKey) && !name.startsWith(`${collection}/removed/`)), ...cogs];
}

describe('removing a deleted source (real GDAL, real Azurite, a loopback STAC API)', () => {
  it('removes everything of the deleted source from the catalogs, storage and the mosaic, which equals a rebuild without it; forged deletes of a live source remove nothing', async () => {
    const collection = `removal-${harness.runId}`;
    const build = createBuildCollectionMosaic(deps);
    const kept = await publish(sourceAt(0, 'kept-west.tif'), collection);
    const keptMiddle = await publish(sourceAt(2, 'kept-middle.tif'), collection);
    // The easternmost: its removal shrinks the collection's extent.
    const doomed = await publish(sourceAt(4, 'doomed.tif'), collection, 'live.tif');
    expect(doomed.items.length).toBe(4);
    expect((await build({ collection })).mosaics).toMatchObject([{ sources: 3, tiles: 12 }]);
    const before = (await harness.store.readJson<StacCollection>(collectionBlob(collection)))!.value;
    expect(collectionItemCount(before)).toBe(12);
    const doomedOutputs = await outputsOf(doomed, collection);
    expect(doomedOutputs.length).toBeGreaterThan(2 * doomed.items.length);

    // Forged deletes while the blob exists: parsed (they are well formed), and nothing is removed.
    const accountUrl = harness.store.url({ container: 'x', name: 'y' }).replace(/\/x\/y$/, '');
    for (const forged of hostileDeletions.filter((entry) => entry.category === 'forged delete')) {
      const parsed = parseBlobDeletedEvent(forged.event(doomed.source.name, accountUrl), [containers.uploads]);
      if (!parsed.ok) throw new Error(`${forged.name}: ${parsed.problem}`);
      expect(await runRemoval(parsed.input), forged.name).toEqual({ outcome: 'source-present', collections: [] });
    }
    expect(await outputsOf(doomed, collection)).toEqual(doomedOutputs);
    expect(api.item(collection, doomed.items[0]!.itemId)).toBeDefined();

    // The blob is deleted: every output goes, in both catalogs.
    await harness.store.delete(doomed.source);
    const removed = await runRemoval(deletionOf(doomed.source));
    expect(removed).toMatchObject({ outcome: 'removed', collections: [{ collection, unpublished: true, items: 4 }] });
    expect(await outputsOf(doomed, collection)).toEqual([]);
    expect(await harness.store.readJson(sourceRecordBlob(collection, doomed.outputs.sourceKey))).toBeUndefined();
    expect(await harness.store.readJson(sourceCatalogBlob(collection, doomed.outputs.sourceKey))).toBeUndefined();
    expect(await harness.store.list(containers.cogs, versionFolder(doomed.outputs).name)).toEqual([]);
    for (const item of doomed.items) {
      expect(await harness.store.readJson(itemBlob(collection, item.itemId))).toBeUndefined();
      expect(api.item(collection, item.itemId), item.itemId).toBeUndefined();
    }
    // The others stay, linked; the collection's count and extent no longer hold the removed source.
    for (const other of [kept, keptMiddle]) {
      expect((await harness.store.readJson(sourceRecordBlob(collection, other.outputs.sourceKey)))?.value).toMatchObject({ version: other.outputs.version });
      for (const item of other.items) expect(api.item(collection, item.itemId)).toBeDefined();
    }
    const after = (await harness.store.readJson<StacCollection>(collectionBlob(collection)))!.value;
    expect(collectionItemCount(after)).toBe(8);
    const shard = await harness.store.readJson<StacCatalog>(shardCatalogBlob(collection, shardOf(doomed.outputs.sourceKey)));
    const linksRemoved = (document: { links: Array<{ href: string }> } | undefined) => document?.links.some((link) => link.href === harness.store.url(sourceCatalogBlob(collection, doomed.outputs.sourceKey))) ?? false;
    expect(linksRemoved(shard?.value)).toBe(false);
    if (!shard) expect(Object.keys(after[collectionShardsProperty] ?? {})).not.toContain(shardOf(doomed.outputs.sourceKey));
    const [west, , east] = after.extent.spatial.bbox[0]!;
    const [beforeWest, , beforeEast] = before.extent.spatial.bbox[0]!;
    expect(west).toBe(beforeWest);
    expect(east).toBeLessThan(beforeEast);
    expect(api.collection(collection)).toMatchObject({ id: collection });

    // A retried removal (or a redelivered event's) changes nothing more.
    expect(await runRemoval(deletionOf(doomed.source))).toMatchObject({ outcome: 'not-ingested', collections: [] });

    // The incremental mosaic drops it: no cell names it, and its pixels are those of a full rebuild.
    expect((await build({ collection })).mosaics).toMatchObject([{ sources: 2, tiles: 8 }]);
    const group = 'epsg-32633-3xbyte';
    const incremental = await mirrorMosaic(harness.store, collection, group, join(fixtures.path, `${collection}-incremental`));
    expect(incremental.xml).not.toContain(doomed.outputs.sourceKey);
    for (const name of await harness.store.list(containers.cogs, `${collection}/${collection}.mosaic-state/`)) await harness.store.delete({ container: containers.cogs, name });
    expect((await build({ collection })).mosaics).toMatchObject([{ sources: 2, tiles: 8 }]);
    const rebuilt = await mirrorMosaic(harness.store, collection, group, join(fixtures.path, `${collection}-rebuilt`));
    expectSamePixels(incremental.path, rebuilt.path);

    // The removed source's job says so, and names the removal; the others' jobs are not touched.
    const jobOf = (publication: SourcePublication) =>
      ({ id: publication.jobId!, progress: undefined, input: { source: publication.source, collection, outputs: publication.outputs, options, tileSize } as unknown as IngestInput });
    const status = { runtimeStatus: 'Completed', createdTime: datetime };
    const view = await findSupersession({ client: {} as DurableClient, store: harness.store }, status, jobOf(doomed));
    expect(view).toMatchObject({ by: null, removed: { removal: removalInstanceId(deletionOf(doomed.source)), deletedAt: datetime } });
    expect(view?.message).toMatch(/^source removed: uploads\/.*live\.tif was deleted/);
    expect(await findSupersession({ client: {} as DurableClient, store: harness.store }, status, jobOf(kept))).toBeNull();

    // Uploaded again: ingested again, and the stale deletion (redelivered late) removes nothing.
    const again = await publish(sourceAt(4, 'doomed.tif'), collection, 'live.tif');
    expect(again.outputs.sourceKey).toBe(doomed.outputs.sourceKey);
    expect(again.outputs.version).not.toBe(doomed.outputs.version);
    expect(await runRemoval(deletionOf(doomed.source))).toEqual({ outcome: 'source-present', collections: [] });
    expect((await harness.store.readJson(sourceRecordBlob(collection, again.outputs.sourceKey)))?.value).toMatchObject({ version: again.outputs.version });
    expect(collectionItemCount((await harness.store.readJson<StacCollection>(collectionBlob(collection)))!.value)).toBe(12);
    expect((await build({ collection })).mosaics).toMatchObject([{ sources: 3, tiles: 12 }]);
  }, 300_000);

  it('a deletion of a blob never ingested (or of a name at Azure\'s limit) is a no-op', async () => {
    const never = await harness.upload(sourceAt(6, 'never.tif', 64), 'never.tif');
    await harness.store.delete(never);
    expect(await runRemoval(deletionOf(never))).toEqual({ outcome: 'not-ingested', collections: [] });
    const longest = hostileDeletions.find((entry) => entry.name === 'name-1024')!;
    const parsed = parseBlobDeletedEvent(longest.event('', 'http://127.0.0.1:10000/devstoreaccount1'), [containers.uploads]);
    if (!parsed.ok) throw new Error(parsed.problem);
    expect(await runRemoval(parsed.input)).toEqual({ outcome: 'not-ingested', collections: [] });
  }, 120_000);

  it('a job still running when its source is deleted publishes nothing: its finalize refuses, before or after writing the record, and deletes its outputs', async () => {
    const collection = `removal-running-${harness.runId}`;
    const other = await publish(sourceAt(0, 'other.tif', 64), collection);

    // Deleted before the job publishes: refused up front.
    const early = await makeTiles(await harness.upload(sourceAt(2, 'early.tif', 64), 'early.tif'), collection);
    await harness.store.delete(early.source);
    const refused = await createFinalizeCollection(deps)({ collection, publications: [early], datetime }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(FailureError);
    expect((refused as FailureError).failure).toMatchObject({ code: 'SOURCE_MISSING', message: expect.stringMatching(/^source removed: .*early\.tif was deleted before this job published it/) });
    expect(await harness.store.readJson(sourceRecordBlob(collection, early.outputs.sourceKey))).toBeUndefined();
    expect(await outputsOf(early, collection)).toEqual([]);

    // Deleted between the job's check and its write (the removal saw no record): withdrawn after the write.
    const late = await makeTiles(await harness.upload(sourceAt(4, 'late.tif', 64), 'late.tif'), collection);
    const present = await harness.store.stat(late.source);
    await harness.store.delete(late.source);
    const stat = vi.spyOn(harness.store, 'stat').mockResolvedValueOnce(present);
    try {
      const withdrawn = await createFinalizeCollection(deps)({ collection, publications: [late], datetime }).catch((error: unknown) => error);
      expect((withdrawn as FailureError).failure?.code).toBe('SOURCE_MISSING');
    } finally {
      stat.mockRestore();
    }
    expect(await harness.store.readJson(sourceRecordBlob(collection, late.outputs.sourceKey))).toBeUndefined();
    expect(await outputsOf(late, collection)).toEqual([]);
    // In a batch chunk the refusal is that source's alone.
    const chunkSource = await makeTiles(await harness.upload(sourceAt(6, 'chunk.tif', 64), 'chunk.tif'), collection);
    const chunkGone = await makeTiles(await harness.upload(sourceAt(8, 'chunk-gone.tif', 64), 'chunk-gone.tif'), collection);
    await harness.store.delete(chunkGone.source);
    const chunk = await createFinalizeCollection(deps)({ collection, publications: [chunkSource, chunkGone], datetime });
    expect(chunk.sources.map((source) => [source.sourceKey, source.outcome, source.failure?.code])).toEqual([
      [chunkSource.outputs.sourceKey, 'published', undefined],
      [chunkGone.outputs.sourceKey, 'conflict', 'SOURCE_MISSING'],
    ]);
    expect(collectionItemCount((await harness.store.readJson<StacCollection>(collectionBlob(collection)))!.value)).toBe(other.items.length + chunkSource.items.length);

    // The removal waits for the jobs of exactly this source that have not ended (by the jobs index).
    const findRunning = createFindRunningJobs(deps);
    const row = (id: string, name: string, status: 'Pending' | 'Failed') => ({
      key: jobIndexKey(new Date(datetime), id),
      id,
      source: `${containers.uploads}/${name}`,
      collection,
      status,
      createdTime: datetime,
      lastUpdatedTime: datetime,
      attempt: 1,
      previousAttempt: null,
      tilesDone: 0,
      tilesFailed: 0,
      tilesTotal: 1,
      errors: [],
      errorCodes: [],
    });
    const running = `ingest-running-${harness.runId}`;
    await deps.jobs.record(row(running, late.source.name, 'Pending'));
    // A source whose path starts with this one's is another source.
    await deps.jobs.record(row(`ingest-other-${harness.runId}`, `${late.source.name}.aux`, 'Pending'));
    expect(await findRunning({ source: late.source })).toEqual([running]);
    await deps.jobs.record(row(running, late.source.name, 'Failed'));
    expect(await findRunning({ source: late.source })).toEqual([]);
  }, 180_000);
});
