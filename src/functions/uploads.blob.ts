/**
 * Upload trigger: a new or changed blob in `uploads` starts the same job a submission would,
 * with default options and the same idempotent id. Polling locally; Event Grid in Azure
 * (BLOB_TRIGGER_SOURCE=EventGrid), which Azure recommends for latency and scale.
 */
import { app, type InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { containers, readBlobTriggerSource, settingNames } from '../config.js';
import { submitJob } from '../jobs/job.submit.js';
import { defaultCollectionId, ingestOptionsSchema } from '../pipeline/options.js';
import { getBlobStore } from './shared.store.js';

export async function ingestUploadHandler(_blob: unknown, context: InvocationContext): Promise<void> {
  const name = String(context.triggerMetadata?.['name'] ?? '');
  const result = await submitJob(df.getClient(context), getBlobStore(), {
    source: { container: containers.uploads, name },
    collection: defaultCollectionId,
    options: ingestOptionsSchema.parse({}),
  });
  context.log(`Upload ${containers.uploads}/${name}: ${result.outcome}${'instanceId' in result ? ` ${result.instanceId}` : ''}`);
}

app.storageBlob('ingestUpload', {
  path: `${containers.uploads}/{name}`,
  connection: settingNames.storage,
  source: readBlobTriggerSource(),
  extraInputs: [df.input.durableClient()],
  handler: ingestUploadHandler,
});
