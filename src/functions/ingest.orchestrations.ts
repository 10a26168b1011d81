import * as df from 'durable-functions';
import { ingestBatchOrchestrator } from '../orchestrations/batch.orchestrator.js';
import { ingestRasterOrchestrator } from '../orchestrations/ingest.orchestrator.js';
import { ingestTileOrchestrator } from '../orchestrations/tile.orchestrator.js';
import { orchestratorNames } from '../pipeline/contracts.js';

df.app.orchestration(orchestratorNames.ingestRaster, ingestRasterOrchestrator);
df.app.orchestration(orchestratorNames.ingestTile, ingestTileOrchestrator);
df.app.orchestration(orchestratorNames.ingestBatch, ingestBatchOrchestrator);
