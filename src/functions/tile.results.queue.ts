/**
 * The container worker's results: each message on the `tile-results` Storage queue is raised as
 * an external event on the orchestration waiting for that tile. A result for a tile that no
 * longer waits (a duplicate delivery, a job that ended) is dropped with a log line; a message
 * that is not ours is dropped too, never retried into the poison queue.
 */
import { app, type InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { settingNames, storageQueues } from '../config.js';
import { findInstance } from '../jobs/durable.instances.js';
import { finalStatuses } from '../jobs/job.index.js';
import { tileResultMessageSchema, tileStartedMessageSchema } from '../queue/tile.messages.js';

export async function tileResultHandler(message: unknown, context: InvocationContext): Promise<void> {
  const parsed = typeof message === 'string' ? safeJson(message) : message;
  const result = tileResultMessageSchema.safeParse(parsed);
  const started = tileStartedMessageSchema.safeParse(parsed);
  const envelope = result.success ? result.data : started.success ? started.data : undefined;
  if (!envelope) {
    context.warn('Tile results: dropped a message that is not a tile result');
    return;
  }
  const client = df.getClient(context);
  const status = await findInstance(client, envelope.instanceId);
  if (!status || finalStatuses.has(status.runtimeStatus)) {
    context.log(`Tile results: ${envelope.kind} for ${envelope.instanceId} (dispatch ${envelope.dispatchId}) dropped: ${status ? `the orchestration is ${status.runtimeStatus}` : 'no such orchestration'}`);
    return;
  }
  await client.raiseEvent(envelope.instanceId, envelope.eventName, parsed);
  context.log(`Tile results: ${envelope.kind} raised on ${envelope.instanceId} (dispatch ${envelope.dispatchId})`);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

app.storageQueue('tileResults', {
  queueName: storageQueues.tileResults,
  connection: settingNames.storage,
  extraInputs: [df.input.durableClient()],
  handler: tileResultHandler,
});
