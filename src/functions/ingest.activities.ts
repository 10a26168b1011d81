/**
 * Registers the ingestion activities. Their dependencies (storage, settings, the shared source
 * cache) are built on first use, so settings are read when the worker runs, not at import.
 */
import * as df from 'durable-functions';
import { readIngestSettings, readStacApiSettings } from '../config.js';
import { createActivityDependencies, createIngestActivities } from '../activities/index.js';
import { activityNames } from '../pipeline/contracts.js';
import { createAzureStacApiClient } from '../stac/stac.api.token.js';
import { getBlobStore } from './shared.store.js';

type IngestActivities = ReturnType<typeof createIngestActivities>;
let activities: IngestActivities | undefined;

function getActivities(): IngestActivities {
  if (!activities) {
    const stacApi = readStacApiSettings();
    activities = createIngestActivities(
      createActivityDependencies({
        store: getBlobStore(),
        settings: readIngestSettings(),
        // The static catalog is always written; a STAC API receives the same items as well.
        ...(stacApi ? { stacApi: createAzureStacApiClient(stacApi) } : {}),
      }),
    );
  }
  return activities;
}

for (const name of Object.values(activityNames)) {
  df.app.activity(name, {
    // The input was produced by the orchestrator against the contract types of this activity.
    handler: (input: unknown) => (getActivities()[name] as (payload: unknown) => Promise<unknown>)(input),
  });
}
