/**
 * HTTP API for jobs: submit, inspect one (and its tiles), list (paged, filtered), retry what
 * failed (one job or many). Thin: parse, delegate to src/jobs, answer.
 *
 * Everything in a request is untrusted: the body is size-capped and schema-checked, the source
 * must be in an allowed container with a plain blob path (400 naming the field otherwise), and an
 * unexpected fault answers a 500 whose body names the invocation, never the error itself. Answers
 * link to the app's own `/api/jobs/{id}`, so job submitters never see the Durable extension's
 * system key (the management webhook stays for administrators).
 */
import { type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import type { JobPage, RetryAnswer, SubmitAnswer } from '../api/contract.js';
import { bulkRetryRequestSchema, jobFilterSchema, retryRequestSchema } from '../api/requests.js';
import { readIngestSettings } from '../config.js';
import { boundText, logTextBound } from '../pipeline/bounded.text.js';
import { findInstance, type InstanceStatus } from '../jobs/durable.instances.js';
import { jobInstancePrefix } from '../jobs/job.id.js';
import { finalStatuses, type JobQuery } from '../jobs/job.index.js';
import { describeRefusal, retryJob, retryJobs, type RetryDependencies } from '../jobs/job.retry.js';
import { submitJob } from '../jobs/job.submit.js';
import { findSupersession } from '../jobs/job.supersession.js';
import { buildJobView, buildJobViewFromIndex, parseSince, withQuarantineDecision, withSupersession, type JobView, type PartialOutput } from '../jobs/job.view.js';
import { readQuarantineDecision } from '../jobs/quarantine.decision.js';
import { ledgerJobOf, readRegisteredItems, readTileLedgerPage, type LedgerJob } from '../jobs/tile.ledger.js';
import { orchestratorNames, type JobFailure } from '../pipeline/contracts.js';
import { defaultCollectionId, submitJobSchema } from '../pipeline/options.js';
import { parseSourcePath } from '../pipeline/source.path.js';
import { resolveJobDefinition } from '../collections/collection.routing.js';
import { describeIssues, guarded, invalidRequest, issueFields, jobStatusUrl, problem, readJsonBody } from './http.problem.js';
import { getBlobStore, getCollectionStore, getJobIndex, getRetiredOutputs } from './shared.store.js';
import { httpRoute } from './http.access.js';

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
    const fields = [...new Set([...(sourceProblem ? ['source'] : []), ...issueFields(issues)])];
    const detail = [sourceProblem, issues.length ? describeIssues(issues) : undefined].filter(Boolean).join('; ');
    return problem(400, 'Invalid job request', detail, { fields });
  }
  if (parsed.data.dryRun) {
    return { status: 200, jsonBody: { dryRun: true, source: `${source.source.container}/${source.source.name}`, collection: parsed.data.collection ?? defaultCollectionId, options: parsed.data.options } };
  }

  // The collection's definition, read once: its default options under the request's own, its version and gates into the job.
  const collection = parsed.data.collection ?? defaultCollectionId;
  const rawOptions: unknown = typeof read.body === 'object' && read.body !== null && 'options' in read.body ? read.body.options : undefined;
  const resolved = resolveJobDefinition(await getCollectionStore().read(collection), typeof rawOptions === 'object' && rawOptions !== null ? (rawOptions as Record<string, unknown>) : undefined);
  if (!resolved.ok) return problem(400, 'Invalid job request', `the collection's default options with this request's: ${resolved.problem}`, { fields: ['options'] });
  const client = df.getClient(context);
  const result = await submitJob(
    { client, store: getBlobStore(), jobs: getJobIndex(), settings },
    { source: source.source, collection, options: resolved.job.options, force: parsed.data.force, ...(resolved.job.definition ? { definition: resolved.job.definition } : {}) },
  );
  if (result.outcome === 'source-missing') return problem(404, 'Source not found', result.message, { fields: ['source'] });
  const statusQueryGetUri = jobStatusUrl(request, result.instanceId);
  if (result.outcome === 'existing') {
    const status = await findInstance(client, result.instanceId);
    return {
      status: 200,
      headers: { Location: statusQueryGetUri },
      jsonBody: { id: result.instanceId, statusQueryGetUri, existing: true, job: status ? buildJobView(status) : null } satisfies SubmitAnswer,
    };
  }
  context.log(`Started job ${result.instanceId} (attempt ${result.attempt}) for ${boundText(`${source.source.container}/${source.source.name}`, logTextBound)}`);
  return {
    status: 202,
    headers: { Location: statusQueryGetUri, 'Retry-After': '2' },
    jsonBody: { id: result.instanceId, statusQueryGetUri, attempt: result.attempt, previousAttempt: result.previousAttempt ?? null } satisfies SubmitAnswer,
  };
}

export async function getJobHandler(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const id = request.params['id'] ?? '';
  const view = await readJobView(df.getClient(context), id);
  return view ? { status: 200, jsonBody: view } : jobNotFound(id);
}

/** The job's view as `GET /api/jobs/{id}` answers it, or `undefined` for an unknown id. */
export async function readJobView(client: df.DurableClient, id: string): Promise<JobView | undefined> {
  const status = await findJob(client, id);
  if (!status) return undefined;
  const view = buildJobView(status);
  // A failed job still shows what it made: its registered tiles, and every failed tile with its code.
  const job = ledgerJobOf(status);
  if (job && (status.runtimeStatus === 'Failed' || status.runtimeStatus === 'Terminated')) view.output = await readPartialOutput(client, job, status.runtimeStatus);
  // A newer version of its source may have replaced its output (or its upload): the view says by which job.
  const superseded = job ? await findSupersession({ client, store: getBlobStore(), retired: getRetiredOutputs() }, status, job) : null;
  // A quarantined job shows the operator's decision (approve, reject) once made, and how it ended.
  const decided = view.quarantine ? withQuarantineDecision(view, await readQuarantineDecision(client, id)) : view;
  return withSupersession(decided, superseded);
}

/** The job, or `undefined` when the id names no ingestion job. */
export async function findJob(client: df.DurableClient, id: string): Promise<InstanceStatus | undefined> {
  if (!id.startsWith(jobInstancePrefix) || id.length > 200) return undefined;
  const status = await findInstance(client, id);
  return status && status.name === orchestratorNames.ingestRaster ? status : undefined;
}

export function jobNotFound(id: string): HttpResponseInit {
  return problem(404, 'Job not found', id.startsWith(jobInstancePrefix) && id.length <= 200 ? `No job has id "${id}"` : 'No job has that id');
}

async function readPartialOutput(client: df.DurableClient, job: LedgerJob, runtimeStatus: string): Promise<PartialOutput> {
  const items = await readRegisteredItems(client, job);
  const failedTiles: JobFailure[] = [];
  for (let page = 0, more = true; more; page++) {
    const ledger = await readTileLedgerPage(client, job, runtimeStatus, page, (ref) => getBlobStore().url(ref));
    for (const tile of ledger.tiles) if (tile.state === 'failed' && tile.error) failedTiles.push({ ...tile.error, itemId: tile.itemId });
    more = ledger.continuationToken !== null;
  }
  return {
    partial: true,
    tiles: items.map(({ itemId, cogUrl, itemUrl, cogBytes }) => ({ itemId, cogUrl, itemUrl, cogBytes })),
    failedTiles,
    bytesIn: job.input.source.size,
    bytesOut: items.reduce((sum, item) => sum + item.cogBytes, 0),
  };
}

export async function getJobTilesHandler(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const id = request.params['id'] ?? '';
  const client = df.getClient(context);
  const status = await findJob(client, id);
  const job = status ? ledgerJobOf(status) : undefined;
  if (!status || !job) return jobNotFound(id);
  const token = request.query.get('continuationToken');
  const page = token === null ? 0 : Number(token);
  if (!Number.isInteger(page) || page < 0) return problem(400, 'Invalid request', 'continuationToken: not a token this API gave', { fields: ['continuationToken'] });
  return { status: 200, jsonBody: await readTileLedgerPage(client, job, status.runtimeStatus, page, (ref) => getBlobStore().url(ref)) };
}

const knownStatuses = new Set(['Pending', 'Running', 'Completed', 'Failed', 'Terminated', 'Quarantined', 'Rejected']);

function toJobQuery(raw: unknown): { ok: true; query: JobQuery } | { ok: false; response: HttpResponseInit } {
  const parsed = jobFilterSchema.safeParse(raw);
  if (!parsed.success) {
    return { ok: false, response: invalidRequest('Invalid filter', parsed.error.issues, 'query') };
  }
  const { status, collection, since, errorCode, batch, source, top, continuationToken } = parsed.data;
  const statuses = (Array.isArray(status) ? status : (status ?? '').split(',')).map((s) => s.trim()).filter((s) => s !== '');
  const unknown = statuses.filter((s) => !knownStatuses.has(s));
  if (unknown.length > 0) return { ok: false, response: problem(400, 'Invalid filter', `status: use ${[...knownStatuses].join(', ')}`, { fields: ['status'] }) };
  const sinceTime = since ? parseSince(since, new Date()) : undefined;
  if (since && !sinceTime) return { ok: false, response: problem(400, 'Invalid filter', 'since: an ISO 8601 time or an age such as 30m, 12h, 1d, 2w', { fields: ['since'] }) };
  return {
    ok: true,
    query: { top, ...(statuses.length ? { statuses } : {}), ...(collection ? { collection } : {}), ...(sinceTime ? { since: sinceTime } : {}), ...(errorCode ? { errorCode } : {}), ...(batch ? { batch } : {}), ...(source ? { sourcePrefixes: sourcePrefixes(source) } : {}), ...(continuationToken ? { continuationToken } : {}) },
  };
}

/** `source=`: a prefix of `<container>/<blob path>`; without a container, of the blob path in any container jobs read. */
function sourcePrefixes(source: string): string[] {
  const containers = readIngestSettings().sourceContainers;
  const [container] = source.split('/', 1);
  return source.includes('/') && containers.includes(container!) ? [source] : containers.map((name) => `${name}/${source}`);
}

export async function listJobsHandler(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const filter = toJobQuery(Object.fromEntries(request.query.entries()));
  if (!filter.ok) return filter.response;
  const jobs = getJobIndex();
  const client = df.getClient(context);
  const page = await jobs.page(filter.query);
  const views = await Promise.all(
    page.entries.map(async (entry) => {
      if (finalStatuses.has(entry.status)) return buildJobViewFromIndex(entry);
      // Still running as far as the index knows: show it live, and repair the row if it ended without saying so.
      const status = await findInstance(client, entry.id);
      if (!status) return buildJobViewFromIndex(entry);
      const view = buildJobView(status);
      if (finalStatuses.has(status.runtimeStatus) && entry.status !== status.runtimeStatus) {
        await jobs.record({ key: entry.key, status: status.runtimeStatus === 'Completed' ? 'Completed' : status.runtimeStatus === 'Terminated' ? 'Terminated' : 'Failed', lastUpdatedTime: view.lastUpdatedTime });
      }
      return view;
    }),
  );
  return { status: 200, jsonBody: { jobs: views, continuationToken: page.continuationToken } satisfies JobPage };
}

export async function retryJobHandler(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const id = request.params['id'] ?? '';
  const read = await readJsonBody(request, { optional: true });
  if (!read.ok) return read.response;
  const parsed = retryRequestSchema.safeParse(read.body ?? {});
  if (!parsed.success) return invalidRequest('Invalid retry request', parsed.error.issues);
  const result = await retryJob(retryDependencies(context), id, { force: parsed.data.force });
  switch (result.outcome) {
    case 'not-found':
      return jobNotFound(id);
    case 'running':
      return problem(409, 'Job still running', describeRefusal(id, result), { outcome: result.outcome });
    case 'completed':
      return problem(409, 'Nothing to retry', describeRefusal(id, result), { outcome: result.outcome });
    case 'already-retried':
      return problem(409, 'Already retried', describeRefusal(id, result), { outcome: result.outcome, latest: result.latest });
    case 'permanent':
      // What to do: a new upload, or `force` (here or on submission) to run the same input again.
      return problem(409, 'A retry cannot help', describeRefusal(id, result), { outcome: result.outcome, codes: result.codes, retryable: false });
    case 'superseded':
      return problem(409, 'Superseded', describeRefusal(id, result), { outcome: result.outcome, supersededBy: result.by, retryable: false });
    case 'started': {
      const statusQueryGetUri = jobStatusUrl(request, result.instanceId);
      context.log(`Retrying job ${id} as ${result.instanceId} (${result.reruns}): ${result.retriedTiles} tile(s) to make, ${result.reusedTiles} reused`);
      return {
        status: 202,
        headers: { Location: statusQueryGetUri },
        jsonBody: { id: result.instanceId, previousAttempt: result.previousAttempt, statusQueryGetUri, retriedTiles: result.retriedTiles, reusedTiles: result.reusedTiles, reruns: result.reruns } satisfies RetryAnswer,
      };
    }
  }
}

function retryDependencies(context: InvocationContext): RetryDependencies {
  return { client: df.getClient(context), jobs: getJobIndex(), store: getBlobStore(), retired: getRetiredOutputs() };
}

export async function retryJobsHandler(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const read = await readJsonBody(request);
  if (!read.ok) return read.response;
  const parsed = bulkRetryRequestSchema.safeParse(read.body ?? {});
  if (!parsed.success) {
    return invalidRequest('Invalid bulk retry request', parsed.error.issues);
  }
  const { dryRun, ...filter } = parsed.data;
  const query = toJobQuery(filter);
  if (!query.ok) return query.response;
  const result = await retryJobs(retryDependencies(context), query.query, dryRun);
  if (!dryRun) context.log(`Bulk retry: ${result.jobs.filter((job) => job.outcome === 'started').length} job(s) retried in this page, ${result.jobs.filter((job) => job.outcome !== 'started').length} not`);
  return { status: 200, jsonBody: result };
}

httpRoute('submitJob', {
  route: 'jobs',
  methods: ['POST'],
  extraInputs: [df.input.durableClient()],
  handler: guarded(submitJobHandler),
});

httpRoute('getJob', {
  route: 'jobs/{id}',
  methods: ['GET'],
  extraInputs: [df.input.durableClient()],
  handler: guarded(getJobHandler),
});

httpRoute('listJobs', {
  route: 'jobs',
  methods: ['GET'],
  extraInputs: [df.input.durableClient()],
  handler: guarded(listJobsHandler),
});

httpRoute('getJobTiles', {
  route: 'jobs/{id}/tiles',
  methods: ['GET'],
  extraInputs: [df.input.durableClient()],
  handler: guarded(getJobTilesHandler),
});

httpRoute('retryJob', {
  route: 'jobs/{id}/retry',
  methods: ['POST'],
  extraInputs: [df.input.durableClient()],
  handler: guarded(retryJobHandler),
});

// Registered before `jobs/{id}` routes would matter: a literal segment, POST only.
httpRoute('retryJobs', {
  route: 'jobs/retry',
  methods: ['POST'],
  extraInputs: [df.input.durableClient()],
  handler: guarded(retryJobsHandler),
});
