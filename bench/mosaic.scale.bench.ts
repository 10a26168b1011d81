/**
 * One upload into collections of 100, 1,000 and 10,000 sources: the collection mosaic's run for
 * it, timed, with its CPU (this process, GDAL's threads included, and Azurite's) and its storage
 * requests (Node's diagnostics channels and GDAL's /vsicurl log, as `phase.profile.ts` counts them).
 *
 * Each collection is seeded synthetically, here only: N sources of 128×128 px laid side by side on
 * the grid of a real Landsat scene (L7_ETMs.tif), 256 to a mosaic cell, all naming one real tile
 * COG, moved into the mosaic through the activity's own `applyMoves` (cells, their VRTs and
 * overviews, the group VRT, the overview COG). The scene's own area is left free. Each round then
 * publishes one real window of the scene into every collection through the real activities
 * (validate, tile, item, finalize) and times the mosaic run that follows, the sizes in turn.
 *
 *   npm run bench:mosaic -- [--sizes 100,1000,10000] [--rounds 3]
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import gdal from 'gdal-async';
import { startAzurite } from '../host/azurite.js';
import { fetchDebianRasters } from '../scripts/debian.rasters.js';
import { createActivityDependencies } from '../src/activities/activity.dependencies.js';
import { applyMoves, createBuildCollectionMosaic, type SourceMove } from '../src/activities/collection.mosaic.js';
import { createFinalizeCollection } from '../src/activities/collection.finalize.js';
import { createCreateTileCog } from '../src/activities/tile.cog.create.js';
import { createRegisterTileItem } from '../src/activities/tile.item.register.js';
import { createValidateRaster } from '../src/activities/validate.raster.js';
import { readIngestSettings } from '../src/config.js';
import { deriveOutputLocation } from '../src/jobs/job.id.js';
import { JobIndex } from '../src/jobs/job.index.js';
import { RetiredOutputs } from '../src/jobs/retired.outputs.js';
import type { RegisteredItem } from '../src/pipeline/contracts.js';
import { deriveItemId } from '../src/pipeline/ids.js';
import { ingestOptionsSchema } from '../src/pipeline/options.js';
import { groupMosaicSources, type CollectionMosaicSource } from '../src/raster/mosaic.collection.js';
import { readCrs, readMosaicBands } from '../src/raster/raster.inspect.js';
import { planTiles } from '../src/raster/tile.plan.js';
import { cogBlob } from '../src/stac/catalog.layout.js';
import { AzureBlobStore } from '../src/storage/azure.blob.store.js';
import { cpuSecondsOf, loadLine, median, runIfMain, spreadOfMs } from './bench.support.js';
import { watchGdalRequests, watchRequests } from './phase.profile.js';

const sourcePixels = 128;

async function main(): Promise<void> {
  const options = new Command()
    .option('--sizes <list>', 'collection sizes (sources)', '100,1000,10000')
    .option('--rounds <n>', 'uploads into each collection, the sizes in turn (median reported)', '3')
    .parse()
    .opts<{ sizes: string; rounds: string }>();
  const sizes = options.sizes.split(',').map(Number);
  const rounds = Number(options.rounds);

  const fetched = await fetchDebianRasters();
  if ('unavailable' in fetched) throw new Error(fetched.unavailable);
  const work = mkdtempSync(join(tmpdir(), 'mosaic-scale-'));
  mkdirSync(join(work, 'sources'));
  const scene = gdal.open(fetched.paths.landsat);
  const sceneGt = scene.geoTransform!;
  const azurite = await startAzurite({ location: join(work, 'azurite') });
  const requests = watchRequests({ [azurite.ports.blob]: 'blob', [azurite.ports.table]: 'table', [azurite.ports.queue]: 'queue' });
  const env = { AzureWebJobsStorage: azurite.connectionString };
  const store = AzureBlobStore.fromEnvironment(env);
  const settings = { ...readIngestSettings({}), scratchDir: join(work, 'scratch') };
  const deps = createActivityDependencies({ store, jobs: JobIndex.fromEnvironment(env), retired: RetiredOutputs.fromEnvironment(env), settings });
  const takeGdalRequests = watchGdalRequests(join(work, 'gdal.log'));
  const ingestOptions = ingestOptionsSchema.parse({});

  /** A window of the scene as a source file, published into `collection` through the real activities (not timed). */
  let uploads = 0;
  async function publish(collection: string, x: number, y: number): Promise<{ sourceKey: string; itemPath: string }> {
    const name = `window-${uploads++}.tif`;
    const path = join(work, 'sources', name);
    (await gdal.translateAsync(path, scene, ['-srcwin', String(x), String(y), String(sourcePixels), String(sourcePixels)])).close();
    const blob = { container: 'incoming', name: `${collection}/${name}` };
    await store.uploadFile(blob, path, 'image/tiff');
    const stat = (await store.stat(blob))!;
    const source = { ...blob, etag: stat.etag, size: stat.size, lastModified: (stat.lastModified ?? new Date(0)).toISOString() };
    const outputs = deriveOutputLocation({ ...blob, etag: stat.etag, collection, options: ingestOptions, tileSize: settings.tileSize });
    const info = await createValidateRaster(deps)({ source, options: ingestOptions, tileSize: settings.tileSize });
    const datetime = new Date().toISOString();
    const order = { sourceModified: source.lastModified, jobStarted: datetime };
    const items: RegisteredItem[] = [];
    for (const window of planTiles(info.width, info.height, settings.tileSize)) {
      const tile = await createCreateTileCog(deps)({ source, outputs, itemId: deriveItemId(outputs.sourceKey, window), window, options: ingestOptions });
      items.push(await createRegisterTileItem(deps)({ outputs, source, tile, datetime, order }));
    }
    await createFinalizeCollection(deps)({ collection, publications: [{ outputs, source, items, order, options: ingestOptions }], datetime });
    return { sourceKey: outputs.sourceKey, itemPath: cogBlob(outputs, items[0]!.itemId).name.slice(collection.length + 1) };
  }

  /** N synthetic sources around the scene (its own 4×4 slots left free), each naming `tilePath`, moved into the mosaic at once. */
  async function seed(collection: string, count: number, template: Omit<CollectionMosaicSource, 'sourceKey' | 'tiles'>, tilePath: string): Promise<void> {
    const side = Math.ceil(Math.sqrt(count + 16));
    const offset = Math.floor(side / 2);
    const slotWidth = sourcePixels * template.pixelWidth;
    const slotHeight = sourcePixels * template.pixelHeight;
    const moves: SourceMove[] = [];
    for (let row = 0; row < side && moves.length < count; row++) {
      for (let column = 0; column < side && moves.length < count; column++) {
        const sx = column - offset;
        const sy = row - offset;
        if (sx >= 0 && sx < 4 && sy >= 0 && sy < 4) continue;
        const west = sceneGt[0] + sx * slotWidth;
        const north = sceneGt[3] - sy * slotHeight;
        const source: CollectionMosaicSource = { ...template, sourceKey: `seed-${moves.length}`, tiles: [{ path: tilePath, bounds: [west, north - slotHeight, west + slotWidth, north], width: sourcePixels, height: sourcePixels }] };
        moves.push({ sourceKey: source.sourceKey, next: { source, version: 'seed', group: groupMosaicSources([source])[0]!.key } });
      }
    }
    const scratch = join(work, 'scratch', `seed-${collection}`);
    mkdirSync(scratch, { recursive: true });
    await applyMoves(store, collection, undefined, moves, scratch);
  }

  const build = createBuildCollectionMosaic(deps);
  try {
    // The template: one real tile's CRS, bands and pixel size.
    const seedCollections = new Map<number, string>();
    for (const size of sizes) {
      const collection = `scale-${size}`;
      const started = performance.now();
      const first = await publish(collection, 0, 0);
      const tile = gdal.open(join(work, 'sources', `window-${uploads - 1}.tif`));
      const crs = (await readCrs(tile))!;
      const gt = tile.geoTransform!;
      const template = { crsCode: crs.code, srsWkt: crs.wkt2, bands: readMosaicBands(tile), pixelWidth: gt[1], pixelHeight: -gt[5] };
      tile.close();
      await seed(collection, size - 1, template, first.itemPath);
      await build({ collection });
      seedCollections.set(size, collection);
      console.log(`${collection}: seeded ${size} sources in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    }

    const results = new Map<number, Array<{ ms: number; cpuMs: number; azuriteCpuMs: number; requests: number; gdalRequests: number }>>(sizes.map((size) => [size, []]));
    for (let round = 1; round <= rounds; round++) {
      // One window per round, the same in every collection: inside the scene's free slots.
      const x = (round * 61) % (scene.rasterSize.x - sourcePixels);
      const y = (round * 47) % (scene.rasterSize.y - sourcePixels);
      for (const size of sizes) {
        const collection = seedCollections.get(size)!;
        await publish(collection, x, y);
        requests.take();
        takeGdalRequests();
        const azuriteBefore = cpuSecondsOf(azurite.process.pid) ?? 0;
        const cpuBefore = process.cpuUsage();
        const started = performance.now();
        await build({ collection });
        const ms = performance.now() - started;
        const cpu = process.cpuUsage(cpuBefore);
        results.get(size)!.push({
          ms,
          cpuMs: (cpu.user + cpu.system) / 1000,
          azuriteCpuMs: ((cpuSecondsOf(azurite.process.pid) ?? 0) - azuriteBefore) * 1000,
          requests: requests.take().length,
          gdalRequests: takeGdalRequests().length,
        });
      }
      console.log(`round ${round}: ${sizes.map((size) => `${size}: ${results.get(size)!.at(-1)!.ms.toFixed(0)} ms`).join(', ')}; ${loadLine()}`);
    }

    console.log(`\none upload into a collection of N sources, the mosaic run that follows (${rounds} rounds, ${cpus().length} cores, ${loadLine()}):\n`);
    console.log('| sources | time, median (min–max) | app CPU | Azurite CPU | storage requests (SDK + GDAL) |');
    console.log('|---|---|---|---|---|');
    for (const size of sizes) {
      const of = results.get(size)!;
      console.log(
        `| ${size.toLocaleString('en-US')} | ${spreadOfMs(of.map((r) => r.ms))} | ${median(of.map((r) => r.cpuMs)).toFixed(0)} ms | ${median(of.map((r) => r.azuriteCpuMs)).toFixed(0)} ms | ${median(of.map((r) => r.requests))} + ${median(of.map((r) => r.gdalRequests))} |`,
      );
    }
    const smallest = median(results.get(sizes[0]!)!.map((r) => r.ms));
    const largest = median(results.get(sizes.at(-1)!)!.map((r) => r.ms));
    console.log(`\nratio of medians, ${sizes.at(-1)} to ${sizes[0]} sources: ${(largest / smallest).toFixed(2)} (target ≤ 1.5)`);
  } finally {
    deps.inspector.close();
    await azurite.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

runIfMain(import.meta.url, main);
