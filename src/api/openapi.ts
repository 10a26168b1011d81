/**
 * The HTTP API's OpenAPI 3.1 description, generated from the contract's schemas (answers,
 * `src/api/contract.ts`) and the schemas the handlers parse requests with (`src/api/requests.ts`):
 * what it says is what the app sends and reads. Served at `GET /api/openapi.json`
 * (`src/functions/openapi.http.ts`); `test/unit/openapi.routes.test.ts` holds it to the routes the
 * app registers. Pure.
 */
import { OpenAPIRegistry, OpenApiGeneratorV31, type ResponseConfig, type RouteConfig } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import * as contract from './contract.js';
import { bulkRetryRequestSchema, collectionParamsSchema, collectionPutHeadersSchema, collectionQuerySchema, idParamsSchema, jobFilterSchema, listBatchesQuerySchema, retryRequestSchema, submitBatchSchema, submitJobSchema, tilesQuerySchema } from './requests.js';
import { routeAccess, type HttpFunctionName } from './access.js';

/** The app's route prefix (host.json `extensions.http.routePrefix`). */
export const apiPrefix = '/api';

const json = (schema: z.ZodType, description: string): ResponseConfig => ({ description, content: { 'application/json': { schema } } });

/** Every error is `application/problem+json`; an unexpected fault (500) names only the invocation. */
function problems(described: Record<number, string>): Record<number, ResponseConfig> {
  const answers: Record<number, ResponseConfig> = {};
  for (const [status, description] of Object.entries({ ...described, 500: 'An unexpected fault; the body names the invocation, never the error' })) {
    answers[Number(status)] = { description, content: { 'application/problem+json': { schema: contract.problemSchema } } };
  }
  return answers;
}

const runningHeaders = z.object({
  Location: z.string().describe('This same status URL'),
  'Retry-After': z.string().describe('Seconds before asking again'),
});

/** Every route the app answers under `/api` (but the dashboard's files and the `cogs` blob proxy), with its requests and answers. */
export function registerRoutes(registry: OpenAPIRegistry): RouteConfig[] {
  // Named components (`.meta({ id })` in the contract), referenced wherever they appear.
  const { jobViewSchema: jobView, batchViewSchema: batchView, durableStatusSchema: durableStatus, jobPageSchema: jobPage, tilePageSchema: tilePage, batchPageSchema: batchPage } = contract;
  const { submitAnswerSchema: submitAnswer, submitBatchAnswerSchema: submitBatchAnswer, retryAnswerSchema: retryAnswer, bulkRetryPageSchema: bulkRetryPage } = contract;

  const body = (schema: z.ZodType, required = true) => ({ required, content: { 'application/json': { schema } } });
  const routes: RouteConfig[] = [
    {
      method: 'post',
      path: `${apiPrefix}/jobs`,
      operationId: 'submitJob',
      summary: 'Start a job for one upload, or find the job it already has',
      request: { body: body(submitJobSchema) },
      responses: {
        200: json(submitAnswer, 'The same upload (blob ETag), collection and options already has a job: `existing` and its view'),
        202: json(submitAnswer, 'A new job (or, with `force`, a new attempt) started; `Location` is its status URL'),
        ...problems({ 400: 'A field at fault (`fields` names each)', 404: 'The source blob does not exist', 413: 'The body is too large' }),
      },
    },
    {
      method: 'get',
      path: `${apiPrefix}/jobs`,
      operationId: 'listJobs',
      summary: 'Jobs, newest first, filtered and paged',
      request: { query: jobFilterSchema },
      responses: { 200: json(jobPage, 'One page of jobs'), ...problems({ 400: 'A filter or continuation token at fault' }) },
    },
    {
      method: 'get',
      path: `${apiPrefix}/jobs/{id}`,
      operationId: 'getJob',
      summary: 'One job',
      request: { params: idParamsSchema },
      responses: { 200: json(jobView, 'The job'), ...problems({ 404: 'No job has that id' }) },
    },
    {
      method: 'get',
      path: `${apiPrefix}/jobs/{id}/tiles`,
      operationId: 'getJobTiles',
      summary: "A job's tile ledger, by tile index, paged",
      request: { params: idParamsSchema, query: tilesQuerySchema },
      responses: { 200: json(tilePage, 'One page of tiles'), ...problems({ 400: 'A continuation token this API did not give', 404: 'No job has that id' }) },
    },
    {
      method: 'get',
      path: `${apiPrefix}/jobs/{id}/status`,
      operationId: 'getJobStatus',
      summary: "The job in Durable's instance-status shape (every submission's `statusQueryGetUri`)",
      request: { params: idParamsSchema },
      responses: {
        200: json(durableStatus, 'The job has ended'),
        202: { ...json(durableStatus, 'The job is still running'), headers: runningHeaders },
        ...problems({ 404: 'No job has that id' }),
      },
    },
    {
      method: 'post',
      path: `${apiPrefix}/jobs/{id}/retry`,
      operationId: 'retryJob',
      summary: 'Re-run what failed of a failed job as its next attempt',
      request: { params: idParamsSchema, body: body(retryRequestSchema, false) },
      responses: {
        202: json(retryAnswer, 'The next attempt started'),
        ...problems({
          400: 'The body at fault',
          404: 'No job has that id',
          409: 'A retry cannot help (`outcome`: `permanent` with `codes`, `superseded` with `supersededBy`), the job is `running` or `completed`, or it was `already-retried` (`latest`)',
          413: 'The body is too large',
        }),
      },
    },
    {
      method: 'post',
      path: `${apiPrefix}/jobs/retry`,
      operationId: 'retryJobs',
      summary: 'Bulk retry: one page of the failed jobs a filter matches',
      request: { body: body(bulkRetryRequestSchema) },
      responses: { 200: json(bulkRetryPage, 'Each job of the page with what its retry did (or, with `dryRun`, would do)'), ...problems({ 400: 'A field at fault', 413: 'The body is too large' }) },
    },
    {
      method: 'post',
      path: `${apiPrefix}/batches`,
      operationId: 'submitBatch',
      summary: 'Start a batch over a prefix or a manifest',
      request: { body: body(submitBatchSchema) },
      responses: {
        200: json(submitBatchAnswer, 'The same batch is still running: `existing` and its view'),
        202: json(submitBatchAnswer, 'A new batch (or attempt) started'),
        ...problems({ 400: 'A field at fault (`fields` names it)', 404: 'An empty prefix or a missing manifest', 413: 'The body is too large' }),
      },
    },
    {
      method: 'get',
      path: `${apiPrefix}/batches`,
      operationId: 'listBatches',
      summary: 'Batches, paged',
      request: { query: listBatchesQuerySchema },
      responses: { 200: json(batchPage, 'One page of batches'), ...problems({ 400: 'A continuation token this API did not give' }) },
    },
    {
      method: 'get',
      path: `${apiPrefix}/batches/{id}`,
      operationId: 'getBatch',
      summary: 'One batch',
      request: { params: idParamsSchema },
      responses: { 200: json(batchView, 'The batch'), ...problems({ 404: 'No batch has that id' }) },
    },
    {
      method: 'get',
      path: `${apiPrefix}/batches/{id}/status`,
      operationId: 'getBatchStatus',
      summary: "The batch in Durable's instance-status shape (its `statusQueryGetUri`)",
      request: { params: idParamsSchema },
      responses: {
        200: json(durableStatus, 'The batch has ended'),
        202: { ...json(durableStatus, 'The batch is still running'), headers: runningHeaders },
        ...problems({ 404: 'No batch has that id' }),
      },
    },
    ...(['approve', 'reject'] as const).map(
      (decision): RouteConfig => ({
        method: 'post',
        path: `${apiPrefix}/jobs/{id}/${decision}`,
        operationId: `${decision}Job`,
        summary: decision === 'approve' ? 'Publish the outputs a quality gate kept unpublished (role: admin)' : 'Delete the outputs a quality gate kept unpublished (role: admin)',
        request: { params: idParamsSchema },
        responses: {
          202: json(contract.quarantineDecisionAnswerSchema, "The decision's run started; the job view's `quarantine.decision` follows it"),
          ...problems({ 404: 'No job has that id', 409: 'The job is not quarantined (`outcome: not-quarantined`), or was decided already (`outcome: decided`, `decision`)' }),
        },
      }),
    ),
    {
      method: 'get',
      path: `${apiPrefix}/collections`,
      operationId: 'listCollections',
      summary: "Every collection's workflow definition (role: reader)",
      responses: { 200: json(contract.collectionListSchema, 'The collections with a definition, by id, and the default collection') },
    },
    {
      method: 'get',
      path: `${apiPrefix}/collections/{id}`,
      operationId: 'getCollection',
      summary: "A collection's workflow definition, or an earlier version of it (role: reader)",
      request: { params: collectionParamsSchema, query: collectionQuerySchema },
      responses: {
        200: { ...json(contract.collectionViewSchema, 'The definition; `ETag` is its version'), headers: z.object({ ETag: z.string().describe('The version, quoted: send it in If-Match to replace it') }) },
        ...problems({ 400: 'The id or version at fault', 404: 'No collection has that id (or that version)' }),
      },
    },
    {
      method: 'get',
      path: `${apiPrefix}/collections/{id}/schedules`,
      operationId: 'getCollectionSchedules',
      summary: "A collection's schedules: next run, last run, missed windows, what each waits for (role: reader)",
      description:
        'Each schedule of the current definition, as its instance `schedule:<collection>:<name>` holds it. A window whose "after" dependencies are not met by the time the next window opens is listed in `missed` with the dependencies; so is a window that passed while nothing ran (the host was down). The default collection also shows the schedule from the settings (`settingsSchedule`).',
      request: { params: collectionParamsSchema },
      responses: {
        200: json(contract.collectionSchedulesSchema, 'The schedules'),
        ...problems({ 400: 'The id at fault', 404: 'No collection has that id' }),
      },
    },
    {
      method: 'put',
      path: `${apiPrefix}/collections/{id}`,
      operationId: 'putCollection',
      summary: "Create or replace a collection's workflow definition (role: admin)",
      request: { params: collectionParamsSchema, headers: collectionPutHeadersSchema, body: body(contract.collectionDefinitionSchema) },
      responses: {
        200: json(contract.collectionViewSchema, 'Replaced: the next version'),
        201: json(contract.collectionViewSchema, 'Created: version 1'),
        ...problems({
          400: 'The definition at fault: `fields` names each path in it (`derivedFrom.collection`, `schedules.0.cron`)',
          412: 'If-Match names a version that is not the current one (`currentVersion`)',
          413: 'The body is too large',
          428: 'The collection has a definition: replacing it needs If-Match',
        }),
      },
    },
    {
      method: 'get',
      path: `${apiPrefix}/openapi.json`,
      operationId: 'getOpenApi',
      summary: 'This description',
      responses: { 200: json(z.looseObject({ openapi: z.string(), paths: z.record(z.string(), z.unknown()) }), 'The OpenAPI 3.1 document') },
    },
  ];
  for (const route of routes) {
    // Each route's app role, from the one role table (src/api/access.ts).
    const role = routeAccess[route.operationId as HttpFunctionName];
    const access = `Requires the \`${role}\` app role (or a higher one) when sign-in is on (always in Azure).`;
    registry.registerPath({ ...route, description: route.description ? `${route.description}\n\n${access}` : access });
  }
  return routes;
}

export type OpenApiDocument = ReturnType<OpenApiGeneratorV31['generateDocument']>;

/** The whole document; `version` is the app's (package.json). */
export function buildOpenApiDocument(options: { version: string }): OpenApiDocument {
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', 'entraId', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: "An Entra ID access token for the API's app registration, carrying app roles (reader, operator, admin), validated by App Service Authentication. The local host needs none unless its sign-in is on (then a development token, docs/security.md).",
  });
  registerRoutes(registry);
  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'raster-ingest',
      version: options.version,
      description: 'Turns uploaded rasters into Cloud Optimized GeoTIFFs registered in STAC. Errors are `application/problem+json` (RFC 9457).',
    },
    servers: [{ url: '/' }],
    security: [{ entraId: [] }],
  });
}
