/**
 * Upload trigger: an Event Grid `Microsoft.Storage.BlobCreated` event for a blob in a source
 * container (`INGEST_SOURCE_CONTAINERS`) starts the same job a submission would, in the collection
 * whose sources match the blob (the longest matching prefix of any collection's definition,
 * src/collections/collection.routing.ts; none: the default collection `rasters`), with that
 * collection's default options and the same idempotent id: when that job
 * exists (a submission got there first, or the event is delivered again), running, completed or
 * failed, it is the answer, and nothing starts; a trigger never starts a new attempt of a failed
 * job. A manifest dropped in `uploads/batches/` starts a batch instead. The event carries only metadata: the blob's bytes are never loaded
 * here, whatever its size. In Azure an Event Grid subscription on the storage account delivers
 * the events; the local host raises the same events for new blobs in `uploads`.
 */
import { app, type EventGridEvent, type InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { containers, readIngestSettings } from '../config.js';
import { boundText, logTextBound } from '../pipeline/bounded.text.js';
import { routeUpload, resolveJobDefinition } from '../collections/collection.routing.js';
import { isManifestUpload, submitBatch } from '../jobs/batch.submit.js';
import { submitJob } from '../jobs/job.submit.js';
import { defaultCollectionId, ingestOptionsSchema } from '../pipeline/options.js';
import { parseSourcePath } from '../pipeline/source.path.js';
import { getBlobStore, getCollectionStore, getJobIndex } from './shared.store.js';

export const blobCreatedEventType = 'Microsoft.Storage.BlobCreated';

/** `/blobServices/default/containers/<container>/blobs/<name>` → `<container>/<name>`, or `undefined`. */
export function blobPathOfSubject(subject: string): string | undefined {
  const match = /^\/blobServices\/default\/containers\/([^/]+)\/blobs\/(.+)$/.exec(subject);
  return match ? `${match[1]}/${match[2]}` : undefined;
}

export async function ingestUploadHandler(event: EventGridEvent, context: InvocationContext): Promise<void> {
  if (event.eventType !== blobCreatedEventType) {
    context.log(`Upload trigger: ignored a ${event.eventType} event`);
    return;
  }
  const path = blobPathOfSubject(event.subject);
  const settings = readIngestSettings();
  if (!path || !settings.sourceContainers.some((container) => path.startsWith(`${container}/`))) {
    context.warn(`Upload trigger: ignored an event for ${path ? boundText(path, logTextBound) : 'an unrecognised subject'}; only source containers start jobs`);
    return;
  }
  // The same checks as a submission: an upload named to escape its container starts nothing.
  const source = parseSourcePath(path, settings.sourceContainers);
  if (!source.ok) {
    context.warn(`Upload ignored: ${boundText(source.problem, logTextBound)}`);
    return;
  }
  if (source.source.container === containers.uploads && isManifestUpload(source.source.name)) {
    // A manifest in uploads/batches/ starts a batch over the sources it lists, once per version.
    const batch = await submitBatch(
      { client: df.getClient(context), store: getBlobStore(), settings },
      { selection: { kind: 'manifest', path }, collection: defaultCollectionId, options: ingestOptionsSchema.parse({}), filters: {}, oncePerVersion: true },
    );
    context.log(`Manifest ${boundText(path, logTextBound)}: batch ${batch.outcome}${'instanceId' in batch ? ` ${batch.instanceId}` : `: ${'problem' in batch ? batch.problem : ''}`}`);
    return;
  }
  // The definitions are read once per upload: the job carries the version it runs.
  const collections = await getCollectionStore().list();
  const routed = routeUpload(collections, source.source);
  const resolved = resolveJobDefinition(collections.find((collection) => collection.id === routed.collection), undefined);
  if (!resolved.ok) {
    context.warn(`Upload ${boundText(path, logTextBound)}: collection ${routed.collection}'s default options are refused: ${boundText(resolved.problem, logTextBound)}`);
    return;
  }
  const { job } = resolved;
  const result = await submitJob(
    { client: df.getClient(context), store: getBlobStore(), jobs: getJobIndex(), settings },
    {
      source: source.source,
      collection: routed.collection,
      options: job.options,
      ...(job.definition ? { definition: job.definition } : {}),
    },
  );
  context.log(`Upload ${boundText(path, logTextBound)} → collection ${routed.collection}${routed.matched ? '' : ' (no source rule matched: the default)'}: ${result.outcome}${'instanceId' in result ? ` ${result.instanceId}` : ''}`);
}

app.eventGrid('ingestUpload', {
  extraInputs: [df.input.durableClient()],
  handler: ingestUploadHandler,
});
