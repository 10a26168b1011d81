/**
 * The demo: starts the local host (embedded Azurite), uploads sample rasters (or the user's
 * own), submits one job per raster through the HTTP API, shows live progress, then mirrors the
 * produced COGs and STAC catalog into a local folder and says how to look at them.
 */
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { Command } from 'commander';
import { watchJobs } from '../cli/job.progress.js';
import type { JobView } from '../cli/jobs.api.js';
import { JobsClient } from '../cli/jobs.client.js';
import { projectRoot, startLocalHost } from '../host/spawn.js';
import { containers } from '../src/config.js';
import { AzureBlobStore } from '../src/storage/azure.blob.store.js';
import type { BlobStore } from '../src/storage/blob.store.js';
import { developmentConnectionString } from '../src/storage/connection.js';
import { writeSampleDem, writeSampleImage, type SampleRaster } from './sample.rasters.js';


/**
 * Demo inputs go to their own container and are submitted over HTTP with demo options; a blob in
 * `uploads/` would also start a job of its own through the upload trigger.
 */
const demoContainer = 'incoming';

interface DemoOptions {
  port: string;
  output: string;
  tileSize: string;
  collection: string;
}

/** Copies the job's COGs and the collection's STAC documents into `outputDir`, keeping blob paths. */
async function mirrorOutputs(store: BlobStore, views: JobView[], outputDir: string): Promise<void> {
  for (const container of [containers.cogs, containers.stac]) {
    const prefixes = container === containers.stac ? [''] : views.map((view) => `${view.collection}/`);
    for (const prefix of new Set(prefixes)) {
      for (const name of await store.list(container, prefix)) {
        const target = join(outputDir, container, name);
        mkdirSync(dirname(target), { recursive: true });
        const bytes = await store.readBytes({ container, name });
        if (bytes) writeFileSync(target, bytes);
      }
    }
  }
}

function formatBytes(bytes: number): string {
  return bytes > 1 << 20 ? `${(bytes / (1 << 20)).toFixed(1)} MiB` : `${(bytes / 1024).toFixed(1)} KiB`;
}

async function main(): Promise<void> {
  const program = new Command()
    .name('demo')
    .description('Ingest sample rasters (or your own) through the local host and show the COGs and STAC catalog it produces.')
    .argument('[rasters...]', 'your own raster files to ingest instead of the generated samples')
    .option('--port <port>', 'port for the local host', process.env['PORT'] ?? '7071')
    .option('--output <dir>', 'where to copy the produced COGs and STAC catalog', 'demo-output')
    .option('--tile-size <pixels>', 'tile edge in pixels (small, to show fan-out)', '2048')
    .option('--collection <id>', 'STAC collection to ingest into', 'demo')
    .parse();
  const options = program.opts<DemoOptions>();
  const outputDir = resolve(options.output);

  const workDir = join(projectRoot, '.data', 'demo-inputs');
  mkdirSync(workDir, { recursive: true });
  let rasters: SampleRaster[];
  if (program.args.length > 0) {
    rasters = program.args.map((path) => ({ path: resolve(path), description: `your raster ${basename(path)}` }));
    for (const raster of rasters) statSync(raster.path); // fail early, with the path, if a file is missing
  } else {
    console.log('Generating sample rasters with GDAL…');
    rasters = [await writeSampleImage(join(workDir, 'sample-rgb.tif')), await writeSampleDem(join(workDir, 'sample-dem.tif'))];
  }

  console.log(`Starting the local host on port ${options.port} (embedded Azurite, data in .azurite/)…`);
  // The demo uploads to `incoming/` (not `uploads/`, whose trigger would start a second job), so it allows that container.
  const host = await startLocalHost({ port: Number(options.port), env: { INGEST_SOURCE_CONTAINERS: `uploads,${demoContainer}` } });
  const baseUrl = host.baseUrl;
  const hostLog = join(projectRoot, '.data', 'demo-host.log');
  mkdirSync(dirname(hostLog), { recursive: true });
  const stopHost = async (): Promise<void> => {
    writeFileSync(hostLog, host.output());
    await host.stop();
  };
  process.on('SIGINT', () => {
    void stopHost().finally(() => process.exit(130));
  });

  try {
    const store = AzureBlobStore.fromEnvironment({ AzureWebJobsStorage: developmentConnectionString() });
    const client = new JobsClient({ baseUrl });
    const jobs: Array<{ id: string; label: string }> = [];
    for (const raster of rasters) {
      const name = `demo/${basename(raster.path)}`;
      await store.uploadFile({ container: demoContainer, name }, raster.path, 'image/tiff');
      const { id } = await client.submit({ source: `${demoContainer}/${name}`, collection: options.collection, options: { tileSize: Number(options.tileSize) } });
      console.log(`Submitted ${raster.description} as job ${id}`);
      jobs.push({ id, label: basename(raster.path) });
    }

    console.log(`Watch them in the dashboard: ${client.dashboardUrl()}`);
    const views = await watchJobs(client, jobs);
    rmSync(outputDir, { recursive: true, force: true });
    await mirrorOutputs(store, views.filter((view) => view.status === 'Completed'), outputDir);

    console.log('');
    for (const view of views) {
      if (view.status !== 'Completed' || !view.output) {
        console.log(`✗ ${view.source}: ${view.status} — ${view.errors.map((failure) => `${failure.code}: ${failure.message}`).join('; ')}`);
        continue;
      }
      const output = view.output;
      console.log(`✓ ${view.source}: ${output.tiles.length} COG tiles, ${formatBytes(output.bytesIn)} in → ${formatBytes(output.bytesOut)} out`);
      for (const tile of output.tiles) console.log(`    ${tile.itemId.padEnd(28)} ${formatBytes(tile.cogBytes).padStart(10)}  ${tile.cogUrl}`);
    }
    // Each finalize reports the collection as it then stood; the largest count is the latest.
    const collection = views
      .map((view) => (view.output && 'collection' in view.output ? view.output.collection : undefined))
      .filter((c): c is NonNullable<typeof c> => c !== undefined)
      .sort((a, b) => b.itemCount - a.itemCount)[0];
    if (collection) {
      console.log(`\nSTAC catalog: ${collection.catalogUrl}`);
      console.log(`STAC collection "${collection.collectionId}": ${collection.collectionUrl} (${collection.itemCount} items)`);
    }
    // A source of several tiles shows its VRT mosaic; a source of one tile has none (its COG is the whole source).
    const shown = views.find((view) => (view.output?.tiles.length ?? 0) > 1)?.output ?? views.find((view) => view.output)?.output;
    const firstTile = shown?.tiles[0];
    if (shown && firstTile) {
      const localCog = join(outputDir, containers.cogs, decodeURIComponent(new URL(firstTile.cogUrl).pathname.split(`/${containers.cogs}/`)[1]!));
      // Output names: <collection>/<source key>/<version>/<item id>.tif, and the VRT is <source key>.vrt beside it.
      const mosaic = shown.tiles.length > 1 ? join(dirname(localCog), `${basename(dirname(dirname(localCog)))}.vrt`) : localCog;
      console.log(`\nCopies of the COGs, thumbnails, VRT mosaics and the STAC catalog are in ${outputDir}/. Look at them with:`);
      console.log(`  gdalinfo ${localCog}`);
      console.log(`  /usr/bin/python3 -m osgeo_utils.samples.validate_cloud_optimized_geotiff ${localCog}`);
      console.log(`  gdalinfo ${mosaic}      # all tiles of one source as one dataset`);
      console.log(`  cat ${join(outputDir, containers.stac, 'catalog.json')}`);
      console.log(`  QGIS: Layer › Add Layer › Add Raster Layer… on ${mosaic}`);
    }
    console.log(`\nThe host stops with the demo; \`npm start\` serves these jobs again (same .azurite/ data) in the dashboard, ${client.dashboardUrl()}`);
    console.log(`(the host log is in ${hostLog})`);
    if (views.some((view) => view.status !== 'Completed')) process.exitCode = 1;
  } finally {
    await stopHost();
  }
}

main().catch((error: unknown) => {
  console.error(`demo failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
