/**
 * Registers `publishEvents` (issue 24, step 5): its dependencies — the definitions store, the
 * webhook policy, the Event Grid topic with the app's managed identity — are built on first use,
 * so settings are read when the worker runs, not at import.
 */
import type { InvocationContext } from '@azure/functions';
import { DefaultAzureCredential } from '@azure/identity';
import * as df from 'durable-functions';
import { createPublishEvents } from '../activities/events.publish.js';
import { runToOutcome } from '../activities/index.js';
import { readWebhookPolicy, settingNames } from '../config.js';
import { activities, type PublishEventsInput } from '../pipeline/contracts.js';
import { getCollectionStore } from './shared.store.js';

let publish: ReturnType<typeof createPublishEvents> | undefined;

function getPublisher(context: InvocationContext): ReturnType<typeof createPublishEvents> {
  if (!publish) {
    const endpoint = process.env[settingNames.eventTopicEndpoint]?.trim();
    const clientId = process.env[`${settingNames.storage}__clientId`]?.trim();
    publish = createPublishEvents({
      collections: getCollectionStore(),
      webhooks: readWebhookPolicy(),
      // The app's user-assigned identity (the one AzureWebJobsStorage uses), which DefaultAzureCredential cannot pick alone.
      ...(endpoint ? { topic: { endpoint, credential: new DefaultAzureCredential(clientId ? { managedIdentityClientId: clientId } : {}) } } : {}),
      log: (message) => context.warn(message),
    });
  }
  return publish;
}

df.app.activity(activities.publishEvents.name, {
  handler: (input: PublishEventsInput, context: InvocationContext) =>
    runToOutcome(
      () => getPublisher(context)(input),
      (failure, error) => context.warn(`${activities.publishEvents.name} failed (${failure.code}): ${failure.message}`, error),
    ),
});
