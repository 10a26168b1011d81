/**
 * Upload trigger: a new or changed blob in `uploads` starts the same job a submission would,
 * with default options and the same idempotent id. Polling locally; Event Grid in Azure
 * (BLOB_TRIGGER_SOURCE=EventGrid), which Azure recommends for latency and scale.
 */
import { app, type InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { containers, readBlobTriggerSource, readIngestSettings, settingNames } from '../config.js';
import { submitJob } from '../jobs/job.submit.js';
import { defaultCollectionId, ingestOptionsSchema } from '../pipeline/options.js';
import { parseSourcePath } from '../pipeline/source.path.js';
import { getBlobStore, getJobIndex } from './shared.store.js';

export async function ingestUploadHandler(_blob: unknown, context: InvocationContext): Promise<void> {
  const name = String(context.triggerMetadata?.['name'] ?? '');
  const settings = readIngestSettings();
  // The same checks as a submission: an upload named to escape its container starts nothing.
  const source = parseSourcePath(`${containers.uploads}/${name}`, settings.sourceContainers);
  if (!source.ok) {
    context.warn(`Upload ignored: ${source.problem}`);
    return;
  }
  const result = await submitJob(
    { client: df.getClient(context), store: getBlobStore(), jobs: getJobIndex(), settings },
    { source: source.source, collection: defaultCollectionId, options: ingestOptionsSchema.parse({}) },
  );
  context.log(`Upload ${containers.uploads}/${name}: ${result.outcome}${'instanceId' in result ? ` ${result.instanceId}` : ''}`);
}

app.storageBlob('ingestUpload', {
  path: `${containers.uploads}/{name}`,
  connection: settingNames.storage,
  source: readBlobTriggerSource(),
  extraInputs: [df.input.durableClient()],
  handler: ingestUploadHandler,
});
