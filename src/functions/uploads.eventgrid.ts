/**
 * Upload trigger: an Event Grid `Microsoft.Storage.BlobCreated` event for `uploads/…` starts the
 * same job a submission would, with default options and the same idempotent id: when that job
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
import { isManifestUpload, submitBatch } from '../jobs/batch.submit.js';
import { submitJob } from '../jobs/job.submit.js';
import { defaultCollectionId, ingestOptionsSchema } from '../pipeline/options.js';
import { parseSourcePath } from '../pipeline/source.path.js';
import { getBlobStore, getJobIndex } from './shared.store.js';

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
  if (!path || !path.startsWith(`${containers.uploads}/`)) {
    context.warn(`Upload trigger: ignored an event for ${path ? boundText(path, logTextBound) : 'an unrecognised subject'}; only ${containers.uploads}/ starts jobs`);
    return;
  }
  const settings = readIngestSettings();
  // The same checks as a submission: an upload named to escape its container starts nothing.
  const source = parseSourcePath(path, settings.sourceContainers);
  if (!source.ok) {
    context.warn(`Upload ignored: ${boundText(source.problem, logTextBound)}`);
    return;
  }
  if (isManifestUpload(source.source.name)) {
    // A manifest in uploads/batches/ starts a batch over the sources it lists, once per version.
    const batch = await submitBatch(
      { client: df.getClient(context), store: getBlobStore(), settings },
      { selection: { kind: 'manifest', path }, collection: defaultCollectionId, options: ingestOptionsSchema.parse({}), filters: {}, oncePerVersion: true },
    );
    context.log(`Manifest ${boundText(path, logTextBound)}: batch ${batch.outcome}${'instanceId' in batch ? ` ${batch.instanceId}` : `: ${'problem' in batch ? batch.problem : ''}`}`);
    return;
  }
  const result = await submitJob(
    { client: df.getClient(context), store: getBlobStore(), jobs: getJobIndex(), settings },
    { source: source.source, collection: defaultCollectionId, options: ingestOptionsSchema.parse({}) },
  );
  context.log(`Upload ${boundText(path, logTextBound)}: ${result.outcome}${'instanceId' in result ? ` ${result.instanceId}` : ''}`);
}

app.eventGrid('ingestUpload', {
  extraInputs: [df.input.durableClient()],
  handler: ingestUploadHandler,
});
