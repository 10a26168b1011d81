/**
 * Deletion trigger: an Event Grid `Microsoft.Storage.BlobDeleted` event for a blob in a source
 * container (`INGEST_SOURCE_CONTAINERS`) starts one `removeSource` orchestration per deletion
 * (src/jobs/source.removal.ts), which takes the source's outputs out of every collection that
 * published it once it has checked the blob is really gone. Events for other containers, or that
 * do not name one plain blob consistently, start nothing. In Azure a second Event Grid
 * subscription on the storage account's system topic delivers them (infra/modules/event-grid.bicep);
 * the local host raises the same events for blobs deleted from its watched containers.
 */
import { app, type EventGridEvent, type InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { readIngestSettings } from '../config.js';
import { boundText, logTextBound } from '../pipeline/bounded.text.js';
import { parseBlobDeletedEvent, startSourceRemoval } from '../jobs/source.removal.js';

export async function removeDeletedSourceHandler(event: EventGridEvent, context: InvocationContext): Promise<void> {
  const parsed = parseBlobDeletedEvent(event, readIngestSettings().sourceContainers);
  if (!parsed.ok) {
    context.warn(`Deletion trigger: ignored an event (${boundText(parsed.problem, logTextBound)}); only deletions of blobs in source containers remove outputs`);
    return;
  }
  const { source } = parsed.input;
  const result = await startSourceRemoval(df.getClient(context), parsed.input);
  context.log(`Deleted ${boundText(`${source.container}/${source.name}`, logTextBound)}: removal ${result.outcome} ${result.instanceId}`);
}

app.eventGrid('removeDeletedSource', {
  extraInputs: [df.input.durableClient()],
  handler: removeDeletedSourceHandler,
});
