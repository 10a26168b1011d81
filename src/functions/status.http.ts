/**
 * HTTP: the `statusQueryGetUri` of jobs and batches, in the shape and with the status codes of
 * Durable's instance-status API (`runtimeStatus`, `customStatus`, `output`; 202 with `Location`
 * while running, 200 once ended, 404 unknown), filled from the sanitized views. The richer views
 * stay at `/api/jobs/{id}` and `/api/batches/{id}`.
 */
import { type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { durableHttpStatus, durableStatusOfBatch, durableStatusOfJob, type DurableInstanceStatus } from '../jobs/durable.status.js';
import { orchestratorNames } from '../pipeline/contracts.js';
import { batchNotFound, readBatchView } from './batches.http.js';
import { guarded, statusUrl } from './http.problem.js';
import { jobNotFound, readJobView } from './jobs.http.js';
import { httpRoute } from './http.access.js';

function answer(request: HttpRequest, collection: 'jobs' | 'batches', status: DurableInstanceStatus): HttpResponseInit {
  const code = durableHttpStatus(status.runtimeStatus);
  // As Durable does: while running, Location names this same URL and Retry-After says when to ask again.
  return { status: code, jsonBody: status, ...(code === 202 ? { headers: { Location: statusUrl(request, collection, status.instanceId), 'Retry-After': '2' } } : {}) };
}

export async function getJobStatusHandler(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const id = request.params['id'] ?? '';
  const view = await readJobView(df.getClient(context), id);
  return view ? answer(request, 'jobs', durableStatusOfJob(view, orchestratorNames.ingestRaster)) : jobNotFound(id);
}

export async function getBatchStatusHandler(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const view = await readBatchView(df.getClient(context), request.params['id'] ?? '');
  return view ? answer(request, 'batches', durableStatusOfBatch(view, orchestratorNames.ingestBatch)) : batchNotFound();
}

httpRoute('getJobStatus', { route: 'jobs/{id}/status', methods: ['GET'], extraInputs: [df.input.durableClient()], handler: guarded(getJobStatusHandler) });
httpRoute('getBatchStatus', { route: 'batches/{id}/status', methods: ['GET'], extraInputs: [df.input.durableClient()], handler: guarded(getBatchStatusHandler) });
