/**
 * The COG work alone, without storage or orchestration (issue 9): each bench shape's tiles written
 * two at a time in this process — straight from the source (`gdal_translate -srcwin … -of COG`,
 * the path for tiles over the in-memory limit) and through memory (`writeTileCog`, the path every
 * bench tile takes) — against `gdal_translate -of COG` of the whole file, in alternating rounds.
 * Then the storage alone: the source downloaded from Azurite to a local file (as the source cache
 * does) and the tiles' COGs uploaded (as the tile activities do), with no GDAL.
 * Prints medians with min–max of wall time and CPU seconds (this process's for the tiles, the
 * exited child's for `gdal_translate`, this process's and Azurite's for the storage), and the
 * floor they put under the pipeline on this machine's cores.
 *
 *   npm run build && node dist/bench/tile.paths.bench.js [--rounds 3] [--shapes square,etopo5x3,landsat8bit] [--data <dir>]
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import gdal from 'gdal-async';
import pLimit from 'p-limit';
import { startAzurite } from '../host/azurite.js';
import { ingestOptionsSchema } from '../src/pipeline/options.js';
import { buildCogTranslateArgs, tileFitsInMemory } from '../src/raster/cog.command.js';
import { writeTileCog } from '../src/raster/cog.create.js';
import { configureGdal } from '../src/raster/gdal.setup.js';
import { readBandInfo } from '../src/raster/raster.inspect.js';
import { planTiles } from '../src/raster/tile.plan.js';
import { shapeNames, writeShape, type ShapeName } from './bench.rasters.js';
import type { BlobStore } from '../src/storage/blob.store.js';
import { AzureBlobStore } from '../src/storage/azure.blob.store.js';
import { mediaTypes } from '../src/stac/stac.types.js';
import { cpuSecondsOf, median, runIfMain, seconds, spreadOfTimes, waitForIdle } from './bench.support.js';
import { timeBaseline } from './ingest.bench.js';

/** Tiles at once, as host.json's two activities make them. */
const tilesAtOnce = 2;
const tileSize = 4096;

type TilePath = 'direct' | 'in-memory';

interface Timed {
  ms: number;
  cpuSeconds: number;
}

/** `cpuSeconds` counts this process and Azurite; `azuriteCpuSeconds` is Azurite's part. */
type StorageTimed = Timed & { azuriteCpuSeconds: number };

/** Writes every tile of the source by `path`; the in-memory tiles stay in `outputDir` for the storage step. */
async function timeTiles(sourcePath: string, outputDir: string, path: TilePath): Promise<Timed> {
  const options = ingestOptionsSchema.parse({});
  const probe = gdal.open(sourcePath);
  const bands = probe.bands.map((band) => readBandInfo(band));
  const windows = planTiles(probe.rasterSize.x, probe.rasterSize.y, tileSize);
  probe.close();
  if (path === 'in-memory' && !windows.every((window) => tileFitsInMemory(window, { bands }))) throw new Error('a tile of this shape is over the in-memory limit');
  const limit = pLimit(tilesAtOnce);
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  await Promise.all(
    windows.map((window) =>
      limit(async () => {
        const destination = join(outputDir, `${path}-${window.index}.tif`);
        if (path === 'in-memory') {
          await writeTileCog(sourcePath, 'bench', destination, window, options);
        } else {
          // Each tile opens the source itself, as each activity does.
          const source = await gdal.openAsync(sourcePath);
          try {
            (await gdal.translateAsync(destination, source, buildCogTranslateArgs(window, options, { bands }))).close();
          } finally {
            source.close();
          }
        }
        if (path === 'direct') rmSync(destination);
      }),
    ),
  );
  const ms = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  return { ms, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

/**
 * The source downloaded to a local file and the tile COGs in `tilesDir` uploaded, through Azurite,
 * as the copy route moves them (downloads and uploads of one job do not overlap each other much:
 * the tiles wait for the copy). CPU: this process and Azurite's.
 */
async function timeStorage(store: BlobStore, azuritePid: number | undefined, sourceName: string, tilesDir: string, downloadPath: string): Promise<StorageTimed> {
  const cpuBefore = process.cpuUsage();
  const azuriteBefore = cpuSecondsOf(azuritePid) ?? 0;
  const started = performance.now();
  await store.downloadToFile({ container: 'incoming', name: sourceName }, downloadPath);
  const limit = pLimit(tilesAtOnce);
  const tiles = readdirSync(tilesDir).filter((name) => name.startsWith('in-memory-'));
  await Promise.all(tiles.map((name) => limit(() => store.uploadFile({ container: 'cogs', name: `bench/${name}` }, join(tilesDir, name), mediaTypes.cog))));
  const ms = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  const azuriteCpuSeconds = (cpuSecondsOf(azuritePid) ?? azuriteBefore) - azuriteBefore;
  for (const name of tiles) rmSync(join(tilesDir, name));
  rmSync(downloadPath);
  return { ms, cpuSeconds: (cpu.user + cpu.system) / 1e6 + azuriteCpuSeconds, azuriteCpuSeconds };
}

async function main(): Promise<void> {
  const options = new Command()
    .option('--rounds <n>', 'alternating rounds (medians and min–max are reported)', '3')
    .option('--shapes <list>', `comma list of ${shapeNames.join(', ')}`, shapeNames.join(','))
    .option('--data <dir>', 'folder for the generated sources (kept between runs when given)')
    .parse()
    .opts<{ rounds: string; shapes: string; data?: string }>();
  // As the pipeline with its default copy route (tiles read local files).
  configureGdal(process.env, { tilesReadLocalCopies: true });
  const rounds = Math.max(1, Number(options.rounds));
  const shapes = options.shapes.split(',').filter((name): name is ShapeName => (shapeNames as readonly string[]).includes(name));
  const work = mkdtempSync(join(tmpdir(), 'tile-paths-bench-'));
  const dataDir = options.data ?? join(work, 'data');
  const outputDir = join(work, 'out');
  mkdirSync(outputDir, { recursive: true });
  const azurite = await startAzurite({ location: join(work, 'azurite') });
  try {
    const store = AzureBlobStore.fromEnvironment({ AzureWebJobsStorage: azurite.connectionString });
    const results = new Map<string, Record<'gdal_translate' | TilePath, Timed[]> & { storage: StorageTimed[] }>();
    const sources = [];
    for (const name of shapes) {
      const source = await writeShape(name, dataDir);
      sources.push(source);
      await store.uploadFile({ container: 'incoming', name: `bench/${source.name}.tif` }, source.path, 'image/tiff');
    }
    for (let round = 1; round <= rounds; round++) {
      for (const source of sources) {
        const entry = results.get(source.name) ?? { gdal_translate: [], direct: [], 'in-memory': [], storage: [] };
        results.set(source.name, entry);
        const line = [`round ${round} ${source.name} (${await waitForIdle()}):`];
        const baseline = await timeBaseline(source.path, join(outputDir, 'baseline.tif'));
        entry.gdal_translate.push({ ms: baseline.ms, cpuSeconds: baseline.cpuSeconds });
        line.push(`gdal_translate ${seconds(baseline.ms)}`);
        for (const path of ['direct', 'in-memory'] as const) {
          const timed = await timeTiles(source.path, outputDir, path);
          entry[path].push(timed);
          line.push(`${path} ${seconds(timed.ms)} (${(timed.ms / baseline.ms).toFixed(2)}×)`);
        }
        const storage = await timeStorage(store, azurite.process.pid, `bench/${source.name}.tif`, outputDir, join(outputDir, 'download.tif'));
        entry.storage.push(storage);
        line.push(`storage ${seconds(storage.ms)}, CPU ${storage.cpuSeconds.toFixed(1)} s`);
        console.log(line.join(', '));
      }
    }
    console.log(`\nmedians (min–max) of ${rounds} alternating rounds; tiles of ${tileSize}, ${tilesAtOnce} at once, the pipeline's COG options; storage = download the source from Azurite, upload the in-memory tiles' COGs:`);
    for (const source of sources) {
      const entry = results.get(source.name)!;
      console.log(`\n${source.name}: ${source.description}`);
      for (const [label, runs] of Object.entries(entry)) {
        const ratios = runs.map((run, index) => run.ms / entry.gdal_translate[index]!.ms);
        console.log(
          `  ${label.padEnd(15)} ${spreadOfTimes(runs.map((run) => run.ms))}; CPU ${median(runs.map((run) => run.cpuSeconds)).toFixed(1)} s` +
            (label === 'storage' ? ` (Azurite ${median(entry.storage.map((run) => run.azuriteCpuSeconds)).toFixed(1)} s)` : '') +
            (label === 'gdal_translate' ? '' : `; ratio ${median(ratios).toFixed(2)} (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})`),
        );
      }
      // Per round: the CPU of the in-memory tiles and the storage spread over every core, against
      // gdal_translate's wall time. Orchestration, measuring and registration come on top.
      const floors = entry['in-memory'].map((tiles, index) => ((tiles.cpuSeconds + entry.storage[index]!.cpuSeconds) / cpus().length) * 1000 / entry.gdal_translate[index]!.ms);
      console.log(`  floor: tiles + storage CPU over ${cpus().length} cores, against gdal_translate's time: ratio ≥ ${median(floors).toFixed(2)} (${Math.min(...floors).toFixed(2)}–${Math.max(...floors).toFixed(2)})`);
    }
  } finally {
    await azurite.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

runIfMain(import.meta.url, main);
