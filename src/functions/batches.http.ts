/**
 * HTTP API for batches: submit a prefix or a manifest, inspect one, list them. Thin: parse,
 * delegate to src/jobs, answer. The same untrusted-input rules as jobs: allowed containers and
 * plain paths only (400 naming the field), a missing prefix or manifest is a 404.
 */
import { type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import type { BatchPage, SubmitBatchAnswer } from '../api/contract.js';
import { listBatchesQuerySchema } from '../api/requests.js';
import { batchInstancePrefix, submitBatch } from '../jobs/batch.submit.js';
import { buildBatchView, type BatchView } from '../jobs/batch.view.js';
import { decodeBatchesToken, encodeBatchesToken, InvalidContinuationTokenError } from '../jobs/continuation.token.js';
import { DurableApiError, findInstance, listInstances } from '../jobs/durable.instances.js';
import { orchestratorNames } from '../pipeline/contracts.js';
import { defaultCollectionId, submitBatchSchema } from '../pipeline/options.js';
import { guarded, invalidRequest, problem, readJsonBody, statusUrl } from './http.problem.js';
import { getBlobStore } from './shared.store.js';
import { httpRoute } from './http.access.js';

export async function submitBatchHandler(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const read = await readJsonBody(request);
  if (!read.ok) return read.response;
  const parsed = submitBatchSchema.safeParse(read.body);
  if (!parsed.success) {
    return invalidRequest('Invalid batch request', parsed.error.issues);
  }
  const body = parsed.data;
  const result = await submitBatch(
    { client: df.getClient(context), store: getBlobStore() },
    {
      selection: body.source !== undefined ? { kind: 'prefix', path: body.source } : { kind: 'manifest', path: body.manifest ?? '' },
      collection: body.collection ?? defaultCollectionId,
      options: body.options,
      filters: { ...(body.include ? { include: body.include } : {}), ...(body.since ? { since: body.since } : {}), ...(body.limit ? { limit: body.limit } : {}) },
    },
  );
  switch (result.outcome) {
    case 'invalid':
      return problem(400, 'Invalid batch request', `${result.field}: ${result.problem}`, { fields: [result.field] });
    case 'missing':
      return problem(404, 'Nothing to ingest', `${result.field}: ${result.problem}`, { fields: [result.field] });
    case 'existing': {
      const status = await findInstance(df.getClient(context), result.instanceId);
      const statusQueryGetUri = statusUrl(request, 'batches', result.instanceId);
      return { status: 200, headers: { Location: statusQueryGetUri }, jsonBody: { id: result.instanceId, statusQueryGetUri, existing: true, batch: status ? buildBatchView(status, new Date()) : null } satisfies SubmitBatchAnswer };
    }
    case 'started': {
      const statusQueryGetUri = statusUrl(request, 'batches', result.instanceId);
      context.log(`Started batch ${result.instanceId} (attempt ${result.attempt})`);
      return { status: 202, headers: { Location: statusQueryGetUri }, jsonBody: { id: result.instanceId, statusQueryGetUri, attempt: result.attempt, previousAttempt: result.previousAttempt ?? null } satisfies SubmitBatchAnswer };
    }
  }
}

export async function getBatchHandler(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const view = await readBatchView(df.getClient(context), request.params['id'] ?? '');
  return view ? { status: 200, jsonBody: view } : batchNotFound();
}

/** The batch's view as `GET /api/batches/{id}` answers it, or `undefined` for an unknown id. */
export async function readBatchView(client: df.DurableClient, id: string): Promise<BatchView | undefined> {
  const status = id.startsWith(batchInstancePrefix) && id.length <= 200 ? await findInstance(client, id) : undefined;
  if (!status || status.name !== orchestratorNames.ingestBatch) return undefined;
  return buildBatchView(status, new Date());
}

export function batchNotFound(): HttpResponseInit {
  return problem(404, 'Batch not found', 'No batch has that id');
}

export async function listBatchesHandler(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const parsed = listBatchesQuerySchema.safeParse(Object.fromEntries(request.query.entries()));
  if (!parsed.success) return invalidRequest('Invalid request', parsed.error.issues, 'query');
  // Checked before the task hub sees it (a 400 naming the field, never a 500).
  const continuationToken = parsed.data.continuationToken === undefined ? undefined : decodeBatchesToken(parsed.data.continuationToken);
  // Batches are few beside jobs: the task hub lists them by their id prefix, a page at a time.
  let page: Awaited<ReturnType<typeof listInstances>>;
  try {
    page = await listInstances(df.getClient(context), { instanceIdPrefix: batchInstancePrefix, top: parsed.data.top, ...(continuationToken ? { continuationToken } : {}) });
  } catch (error) {
    // Our wrapping, around a token the task hub cannot read (its own form is opaque to us).
    if (continuationToken && error instanceof DurableApiError && (error.status === 400 || error.status === 500)) throw new InvalidContinuationTokenError('the task hub did not accept it; start again without it');
    throw error;
  }
  const now = new Date();
  return {
    status: 200,
    jsonBody: {
      batches: page.items.filter((status) => status.name === orchestratorNames.ingestBatch).map((status) => buildBatchView(status, now)),
      continuationToken: page.continuationToken ? encodeBatchesToken(page.continuationToken) : null,
    } satisfies BatchPage,
  };
}

httpRoute('submitBatch', { route: 'batches', methods: ['POST'], extraInputs: [df.input.durableClient()], handler: guarded(submitBatchHandler) });
httpRoute('getBatch', { route: 'batches/{id}', methods: ['GET'], extraInputs: [df.input.durableClient()], handler: guarded(getBatchHandler) });
httpRoute('listBatches', { route: 'batches', methods: ['GET'], extraInputs: [df.input.durableClient()], handler: guarded(listBatchesHandler) });
