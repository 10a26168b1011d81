/**
 * HTTP API for jobs: submit, inspect one, list recent. Thin: parse, delegate to src/jobs, answer.
 *
 * Everything in a request is untrusted: the body is size-capped and schema-checked, the source
 * must be in an allowed container with a plain blob path (400 naming the field otherwise), and an
 * unexpected fault answers a 500 whose body names the invocation, never the error itself. Answers
 * link to the app's own `/api/jobs/{id}`, so job submitters never see the Durable extension's
 * system key (the management webhook stays for administrators).
 */
import { app, type HttpHandler, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { z } from 'zod';
import { readIngestSettings } from '../config.js';
import { findInstance } from '../jobs/durable.instances.js';
import { jobInstancePrefix } from '../jobs/job.id.js';
import { submitJob } from '../jobs/job.submit.js';
import { buildJobView } from '../jobs/job.view.js';
import { orchestratorNames } from '../pipeline/contracts.js';
import { defaultCollectionId, submitJobSchema } from '../pipeline/options.js';
import { parseSourcePath } from '../pipeline/source.path.js';
import { getBlobStore } from './shared.store.js';

/** Far above any honest job request (a few hundred bytes). */
const maxBodyBytes = 64 * 1024;

function problem(status: number, title: string, detail: string, extra: Record<string, unknown> = {}): HttpResponseInit {
  return { status, jsonBody: { title, status, detail, ...extra }, headers: { 'Content-Type': 'application/problem+json' } };
}

/** "options.tileSize: Too small: expected number to be >=256" — names the field at fault. */
function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues.map((issue) => `${issue.path.length ? issue.path.join('.') : 'body'}: ${issue.message}`).join('; ');
}

/** The app's own status URL of a job, on the origin the caller used. */
function jobUrl(request: HttpRequest, id: string): string {
  return new URL(`/api/jobs/${encodeURIComponent(id)}`, request.url).href;
}

/** Runs a handler; an unexpected fault is logged in full and answered without any of its text. */
function guarded(handler: HttpHandler): HttpHandler {
  return async (request, context) => {
    try {
      return await handler(request, context);
    } catch (error) {
      context.error(`${request.method} ${new URL(request.url).pathname} failed`, error);
      return problem(500, 'Internal error', `The request could not be completed; the service logs have the details (invocation ${context.invocationId}).`);
    }
  };
}

async function readJsonBody(request: HttpRequest): Promise<{ ok: true; body: unknown } | { ok: false; response: HttpResponseInit }> {
  const declared = Number(request.headers.get('content-length') ?? '0');
  if (declared > maxBodyBytes) return { ok: false, response: problem(413, 'Request too large', `The body may be at most ${maxBodyBytes} bytes`) };
  const text = await request.text();
  if (Buffer.byteLength(text) > maxBodyBytes) return { ok: false, response: problem(413, 'Request too large', `The body may be at most ${maxBodyBytes} bytes`) };
  try {
    return { ok: true, body: JSON.parse(text) };
  } catch {
    return { ok: false, response: problem(400, 'Invalid JSON', 'The request body must be a JSON object like {"source": "uploads/scene.tif"}', { fields: ['body'] }) };
  }
}

export async function submitJobHandler(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const read = await readJsonBody(request);
  if (!read.ok) return read.response;
  const parsed = submitJobSchema.safeParse(read.body);
  const settings = readIngestSettings();
  // Every fault at once: the schema's and the source path's.
  const rawSource: unknown = typeof read.body === 'object' && read.body !== null && 'source' in read.body ? read.body.source : undefined;
  const source = typeof rawSource === 'string' && rawSource !== '' ? parseSourcePath(rawSource, settings.sourceContainers) : undefined;
  const sourceProblem = source && !source.ok ? `source: ${source.problem}` : undefined;
  if (!parsed.success || sourceProblem || !source?.ok) {
    const issues = parsed.success ? [] : parsed.error.issues.filter((issue) => !(sourceProblem && issue.path.join('.') === 'source'));
    const fields = [...new Set([...(sourceProblem ? ['source'] : []), ...issues.map((issue) => issue.path.join('.') || 'body')])];
    const detail = [sourceProblem, issues.length ? describeIssues(issues) : undefined].filter(Boolean).join('; ');
    return problem(400, 'Invalid job request', detail, { fields });
  }

  const client = df.getClient(context);
  const result = await submitJob(
    client,
    getBlobStore(),
    { source: source.source, collection: parsed.data.collection ?? defaultCollectionId, options: parsed.data.options, force: parsed.data.force },
    settings,
  );
  if (result.outcome === 'source-missing') return problem(404, 'Source not found', result.message, { fields: ['source'] });
  const statusQueryGetUri = jobUrl(request, result.instanceId);
  if (result.outcome === 'existing') {
    const status = await findInstance(client, result.instanceId);
    return {
      status: 200,
      headers: { Location: statusQueryGetUri },
      jsonBody: { id: result.instanceId, statusQueryGetUri, existing: true, job: status ? buildJobView(status) : null },
    };
  }
  context.log(`Started job ${result.instanceId} (attempt ${result.attempt}) for ${source.source.container}/${source.source.name}`);
  return {
    status: 202,
    headers: { Location: statusQueryGetUri, 'Retry-After': '2' },
    jsonBody: { id: result.instanceId, statusQueryGetUri, attempt: result.attempt, previousAttempt: result.previousAttempt ?? null },
  };
}

export async function getJobHandler(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const id = request.params['id'] ?? '';
  if (!id.startsWith(jobInstancePrefix) || id.length > 200) return problem(404, 'Job not found', 'No job has that id');
  const status = await findInstance(df.getClient(context), id);
  if (!status || status.name !== orchestratorNames.ingestRaster) return problem(404, 'Job not found', `No job has id "${id}"`);
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
  handler: guarded(submitJobHandler),
});

app.http('getJob', {
  route: 'jobs/{id}',
  methods: ['GET'],
  authLevel: 'function',
  extraInputs: [df.input.durableClient()],
  handler: guarded(getJobHandler),
});

app.http('listJobs', {
  route: 'jobs',
  methods: ['GET'],
  authLevel: 'function',
  extraInputs: [df.input.durableClient()],
  handler: guarded(listJobsHandler),
});
