// The real batch, job and tile orchestrators (compiled by `npm run build`), with activities that
// do no raster or storage work: what a batch costs the orchestration layer itself.
import * as df from 'durable-functions';
import { ingestBatchOrchestrator } from '../../../dist/src/orchestrations/batch.orchestrator.js';
import { ingestRasterOrchestrator } from '../../../dist/src/orchestrations/ingest.orchestrator.js';
import { ingestTileOrchestrator } from '../../../dist/src/orchestrations/tile.orchestrator.js';
import { activities, orchestratorNames } from '../../../dist/src/pipeline/contracts.js';

df.app.orchestration(orchestratorNames.ingestBatch, ingestBatchOrchestrator);
df.app.orchestration(orchestratorNames.ingestRaster, ingestRasterOrchestrator);
df.app.orchestration(orchestratorNames.ingestTile, ingestTileOrchestrator);

const ok = (value) => ({ ok: true, value });
const register = (contract, handler) => df.app.activity(contract.name, { handler: async (input) => ok(await handler(input)) });

const source = (i) => ({ container: 'uploads', name: `noop/s-${i}.tif`, etag: `"0x${i.toString(16)}"`, size: 1, lastModified: '2026-01-01T00:00:00.000Z' });

register(activities.listBatchSources, ({ filters, cursor, pageSize, taken }) => {
  const offset = cursor ? Number(cursor) : 0;
  const end = Math.min(offset + pageSize, filters.limit ?? 0);
  const sources = [];
  for (let i = offset; i < end; i++) sources.push(source(i));
  return { sources, missing: [], cursor: end < (filters.limit ?? 0) ? String(end) : null, taken };
});
register(activities.prepareBatchJobs, ({ batchId, chunk, sources, collection, options, tileSize, worker }) =>
  sources.map((s, index) => ({
    kind: 'run',
    source: `${s.container}/${s.name}`,
    instanceId: `ingest-${batchId.replace(/^batch-/, 'b')}-${chunk}-${index}`,
    input: {
      source: s,
      collection,
      options,
      tileSize,
      outputs: { collection, sourceKey: `s-${chunk}-${index}`, version: 'v0' },
      attempt: 1,
      index: { key: `k-${chunk}-${index}`, createdTime: '2026-01-01T00:00:00.000Z' },
      worker,
      deferFinalize: true,
      batchId,
    },
  })),
);
register(activities.validateRaster, () => ({
  driver: 'GTiff',
  width: 256,
  height: 256,
  bands: [{ gdalDataType: 'Byte', nodata: null, colorInterpretation: 'Gray', hasColorTable: false, description: '', unit: null }],
  crs: { code: 'EPSG:4326', wkt2: 'GEOGCRS[...]', projjson: null },
  geoTransform: [0, 0.001, 0, 0, 0, -0.001],
}));
register(activities.createTileCog, ({ itemId, window }) => ({ itemId, window, blob: { container: 'cogs', name: `${itemId}.tif`, url: `http://cogs/${itemId}.tif` }, size: 1, checksum: '1220', bbox: [0, 0, 1, 1], bands: [], geometry: {} }));
register(activities.registerTileItem, ({ tile }) => ({ itemId: tile.itemId, itemUrl: `http://stac/${tile.itemId}.json`, cogUrl: tile.blob.url, cogBytes: 1, bbox: [0, 0, 1, 1] }));
register(activities.recordJob, () => undefined);
register(activities.dispatchTile, () => undefined);
register(activities.finalizeCollection, ({ collection, publications }) => ({
  collectionId: collection,
  collectionUrl: 'c',
  catalogUrl: 'k',
  itemCount: publications.length,
  replacedItems: 0,
  superseded: false,
  sources: publications.map((publication) => ({ sourceKey: publication.outputs.sourceKey, outcome: 'published', replacedItems: 0 })),
}));
register(activities.buildCollectionMosaic, ({ collection }) => ({ collection, mosaics: [], skipped: [] }));
register(activities.requestCollectionMosaic, () => ({ instanceId: 'none' }));
register(activities.createAndRegisterTile, ({ itemId }) => ({ itemId, itemUrl: `http://stac/${itemId}.json`, cogUrl: `http://cogs/${itemId}.tif`, cogBytes: 1, bbox: [0, 0, 1, 1] }));
