import * as df from 'durable-functions';
import { ingestBatchOrchestrator } from '../orchestrations/batch.orchestrator.js';
import { ingestRasterOrchestrator } from '../orchestrations/ingest.orchestrator.js';
import { collectionMosaicOrchestrator } from '../orchestrations/mosaic.orchestrator.js';
import { workerDispatchPermitsEntity } from '../orchestrations/dispatch.permits.entity.js';
import { collectionMosaicRequestsEntity } from '../orchestrations/mosaic.requests.entity.js';
import { resolveQuarantineOrchestrator } from '../orchestrations/quarantine.orchestrator.js';
import { removeSourceOrchestrator } from '../orchestrations/source.removal.orchestrator.js';
import { ingestTileOrchestrator } from '../orchestrations/tile.orchestrator.js';
import { entityNames, orchestratorNames } from '../pipeline/contracts.js';

df.app.orchestration(orchestratorNames.ingestRaster, ingestRasterOrchestrator);
df.app.orchestration(orchestratorNames.ingestTile, ingestTileOrchestrator);
df.app.orchestration(orchestratorNames.ingestBatch, ingestBatchOrchestrator);
df.app.orchestration(orchestratorNames.collectionMosaic, collectionMosaicOrchestrator);
df.app.orchestration(orchestratorNames.resolveQuarantine, resolveQuarantineOrchestrator);
df.app.orchestration(orchestratorNames.removeSource, removeSourceOrchestrator);
df.app.entity(entityNames.collectionMosaicRequests, collectionMosaicRequestsEntity);
df.app.entity(entityNames.workerDispatchPermits, workerDispatchPermitsEntity);
