/**
 * HTTP API for batches: submit a prefix or a manifest, inspect one, list them. Thin: parse,
 * delegate to src/jobs, answer. The same untrusted-input rules as jobs: allowed containers and
 * plain paths only (400 naming the field), a missing prefix or manifest is a 404.
 */
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { z } from 'zod';
import { batchInstancePrefix, submitBatch } from '../jobs/batch.submit.js';
import { buildBatchView } from '../jobs/batch.view.js';
import { findInstance, listInstances } from '../jobs/durable.instances.js';
import { orchestratorNames } from '../pipeline/contracts.js';
import { defaultCollectionId, submitBatchSchema } from '../pipeline/options.js';
import { appUrl, describeIssues, guarded, problem, readJsonBody } from './http.problem.js';
import { getBlobStore } from './shared.store.js';

export async function submitBatchHandler(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const read = await readJsonBody(request);
  if (!read.ok) return read.response;
  const parsed = submitBatchSchema.safeParse(read.body);
  if (!parsed.success) {
    return problem(400, 'Invalid batch request', describeIssues(parsed.error.issues), { fields: [...new Set(parsed.error.issues.map((issue) => issue.path.join('.') || 'body'))] });
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
      const statusQueryGetUri = appUrl(request, 'batches', result.instanceId);
      return { status: 200, headers: { Location: statusQueryGetUri }, jsonBody: { id: result.instanceId, statusQueryGetUri, existing: true, batch: status ? buildBatchView(status, new Date()) : null } };
    }
    case 'started': {
      const statusQueryGetUri = appUrl(request, 'batches', result.instanceId);
      context.log(`Started batch ${result.instanceId} (attempt ${result.attempt})`);
      return { status: 202, headers: { Location: statusQueryGetUri }, jsonBody: { id: result.instanceId, statusQueryGetUri, attempt: result.attempt, previousAttempt: result.previousAttempt ?? null } };
    }
  }
}

export async function getBatchHandler(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const id = request.params['id'] ?? '';
  const status = id.startsWith(batchInstancePrefix) && id.length <= 200 ? await findInstance(df.getClient(context), id) : undefined;
  if (!status || status.name !== orchestratorNames.ingestBatch) return problem(404, 'Batch not found', 'No batch has that id');
  return { status: 200, jsonBody: buildBatchView(status, new Date()) };
}

const listQuerySchema = z.object({ top: z.coerce.number().int().min(1).max(500).default(50), continuationToken: z.string().max(4096).optional() }).strict();

export async function listBatchesHandler(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const parsed = listQuerySchema.safeParse(Object.fromEntries(request.query.entries()));
  if (!parsed.success) return problem(400, 'Invalid request', describeIssues(parsed.error.issues), { fields: [...new Set(parsed.error.issues.map((issue) => issue.path.join('.')))] });
  // Batches are few beside jobs: the task hub lists them by their id prefix, a page at a time.
  const page = await listInstances(df.getClient(context), {
    instanceIdPrefix: batchInstancePrefix,
    top: parsed.data.top,
    ...(parsed.data.continuationToken ? { continuationToken: Buffer.from(parsed.data.continuationToken, 'base64url').toString('utf8') } : {}),
  });
  const now = new Date();
  return {
    status: 200,
    jsonBody: {
      batches: page.items.filter((status) => status.name === orchestratorNames.ingestBatch).map((status) => buildBatchView(status, now)),
      continuationToken: page.continuationToken ? Buffer.from(page.continuationToken, 'utf8').toString('base64url') : null,
    },
  };
}

app.http('submitBatch', { route: 'batches', methods: ['POST'], authLevel: 'function', extraInputs: [df.input.durableClient()], handler: guarded(submitBatchHandler) });
app.http('getBatch', { route: 'batches/{id}', methods: ['GET'], authLevel: 'function', extraInputs: [df.input.durableClient()], handler: guarded(getBatchHandler) });
app.http('listBatches', { route: 'batches', methods: ['GET'], authLevel: 'function', extraInputs: [df.input.durableClient()], handler: guarded(listBatchesHandler) });
