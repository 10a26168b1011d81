/**
 * HTTP: the API's OpenAPI 3.1 description (`src/api/openapi.ts`), generated from the same zod
 * schemas the handlers, the CLI and the dashboard use. Built once per process.
 */
import { type HttpResponseInit } from '@azure/functions';
import { buildOpenApiDocument, type OpenApiDocument } from '../api/openapi.js';
import { appName, softwareVersions } from '../stac/software.js';
import { guarded } from './http.problem.js';
import { httpRoute } from './http.access.js';

let document: OpenApiDocument | undefined;

export async function getOpenApiHandler(): Promise<HttpResponseInit> {
  document ??= buildOpenApiDocument({ version: softwareVersions()[appName] ?? 'unknown' });
  return { status: 200, jsonBody: document, headers: { 'Cache-Control': 'no-cache' } };
}

httpRoute('getOpenApi', { route: 'openapi.json', methods: ['GET'], handler: guarded(getOpenApiHandler) });
