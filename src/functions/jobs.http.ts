/**
 * HTTP API for jobs: submit, inspect one, list recent. Thin: parse, delegate to src/jobs, answer.
 */
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { z } from 'zod';
import { buildJobView } from '../jobs/job.view.js';
import { jobInstancePrefix } from '../jobs/job.id.js';
import { isInstanceNotFound, submitJob } from '../jobs/job.submit.js';
import { orchestratorNames } from '../pipeline/contracts.js';
import { defaultCollectionId, submitJobSchema } from '../pipeline/options.js';
import { parseBlobPath } from '../storage/blob.store.js';
import { getBlobStore } from './shared.store.js';

function problem(status: number, title: string, detail: string, extra: Record<string, unknown> = {}): HttpResponseInit {
  return { status, jsonBody: { title, detail, ...extra }, headers: { 'Content-Type': 'application/problem+json' } };
}

/** "options.tileSize: Too small: expected number to be >=256" — names the field at fault. */
function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.length ? issue.path.join('.') : 'body'}: ${issue.message}`).join('; ');
}

export async function submitJobHandler(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  let body: unknown;
  try {
    body = await request.json();
  } catch {
    return problem(400, 'Invalid JSON', 'The request body must be a JSON object like {"source": "uploads/scene.tif"}');
  }
  const parsed = submitJobSchema.safeParse(body);
  if (!parsed.success) {
    const fields = parsed.error.issues.map((issue) => issue.path.join('.') || 'body');
    return problem(400, 'Invalid job request', describeIssues(parsed.error), { fields });
  }
  const client = df.getClient(context);
  const result = await submitJob(client, getBlobStore(), {
    source: parseBlobPath(parsed.data.source),
    collection: parsed.data.collection ?? defaultCollectionId,
    options: parsed.data.options,
  });
  if (result.outcome === 'source-missing') return problem(404, 'Source not found', result.message, { fields: ['source'] });
  if (result.outcome === 'existing') {
    const status = await client.getStatus(result.instanceId);
    const management = client.createHttpManagementPayload(result.instanceId);
    return {
      status: 200,
      headers: { Location: management.statusQueryGetUri },
      jsonBody: { ...management, existing: true, job: buildJobView(status) },
    };
  }
  context.log(`Started job ${result.instanceId} for ${parsed.data.source}`);
  return client.createCheckStatusResponse(request, result.instanceId);
}

export async function getJobHandler(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const id = request.params['id'] ?? '';
  const client = df.getClient(context);
  let status: df.DurableOrchestrationStatus;
  try {
    status = await client.getStatus(id);
  } catch (error) {
    // Only an unknown id is a 404; a storage or host failure stays a 500 with its own message.
    if (isInstanceNotFound(error)) return problem(404, 'Job not found', `No job has id "${id}"`);
    throw error;
  }
  if (status.name !== orchestratorNames.ingestRaster) return problem(404, 'Job not found', `"${id}" is not an ingestion job`);
  return { status: 200, jsonBody: buildJobView(status) };
}

export async function listJobsHandler(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const top = Math.min(Math.max(Number(request.query.get('top') ?? 50) || 50, 1), 500);
  const client = df.getClient(context);
  const statuses = await client.getStatusAll();
  const jobs = statuses
    .filter((status) => status.name === orchestratorNames.ingestRaster && status.instanceId.startsWith(jobInstancePrefix))
    .sort((a, b) => new Date(b.createdTime).getTime() - new Date(a.createdTime).getTime())
    .slice(0, top)
    .map((status) => buildJobView(status));
  return { status: 200, jsonBody: { jobs } };
}

app.http('submitJob', {
  route: 'jobs',
  methods: ['POST'],
  authLevel: 'function',
  extraInputs: [df.input.durableClient()],
  handler: submitJobHandler,
});

app.http('getJob', {
  route: 'jobs/{id}',
  methods: ['GET'],
  authLevel: 'function',
  extraInputs: [df.input.durableClient()],
  handler: getJobHandler,
});

app.http('listJobs', {
  route: 'jobs',
  methods: ['GET'],
  authLevel: 'function',
  extraInputs: [df.input.durableClient()],
  handler: listJobsHandler,
});
