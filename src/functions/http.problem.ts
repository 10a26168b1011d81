/**
 * What the app's HTTP functions share: problem+json answers, a size-capped JSON body, links on the
 * caller's own origin, and a guard that answers an unexpected fault without any of its text.
 */
import type { HttpHandler, HttpRequest, HttpResponseInit } from '@azure/functions';
import type { z } from 'zod';
import { InvalidContinuationTokenError } from '../jobs/continuation.token.js';
import { boundText } from '../pipeline/bounded.text.js';

/** Far above any honest job request (a few hundred bytes). */
const maxBodyBytes = 64 * 1024;

export function problem(status: number, title: string, detail: string, extra: Record<string, unknown> = {}): HttpResponseInit {
  return { status, jsonBody: { title, status, detail, ...extra }, headers: { 'Content-Type': 'application/problem+json' } };
}

/** "options.tileSize: Too small: expected number to be >=256" — names the field at fault. */
export function describeIssues(issues: readonly z.core.$ZodIssue[], where: 'body' | 'query' = 'body'): string {
  return issues
    .map((issue) => {
      const at = issue.path.length ? issue.path.join('.') : where;
      // zod quotes every unknown key whole; the caller chose them, so they are bounded here.
      if (issue.code === 'unrecognized_keys') return `${at}: unknown ${issue.keys.length === 1 ? 'field' : 'fields'} ${unknownKeys(issue.keys).map((key) => JSON.stringify(key)).join(', ')}`;
      return `${at}: ${issue.message}`;
    })
    .join('; ');
}

const maxUnknownKeysNamed = 10;

function unknownKeys(keys: readonly string[]): string[] {
  const named = keys.slice(0, maxUnknownKeysNamed).map((key) => boundText(key, 64));
  return keys.length > maxUnknownKeysNamed ? [...named, `(${keys.length - maxUnknownKeysNamed} more)`] : named;
}

/**
 * The fields a request got wrong, for a 400's `fields`: each issue's path, and for keys the
 * schema does not know, the keys themselves (an issue at the root would name nothing).
 */
export function issueFields(issues: readonly z.core.$ZodIssue[], where: 'body' | 'query' = 'body'): string[] {
  const fields = issues.flatMap((issue) => {
    const path = issue.path.join('.');
    if (issue.code === 'unrecognized_keys') return unknownKeys(issue.keys).map((key) => (path ? `${path}.${key}` : key));
    return [path || where];
  });
  return [...new Set(fields)];
}

/** A 400 for a request its schema refused: what is wrong with each field, and the fields. */
export function invalidRequest(title: string, issues: readonly z.core.$ZodIssue[], where: 'body' | 'query' = 'body'): HttpResponseInit {
  return problem(400, title, describeIssues(issues, where), { fields: issueFields(issues, where) });
}

/** A URL of the app's own API (`/api/<collection>/<id>`), on the origin the caller used. */
export function appUrl(request: HttpRequest, collection: 'jobs' | 'batches', id: string): string {
  return new URL(`/api/${collection}/${encodeURIComponent(id)}`, request.url).href;
}

/**
 * The `statusQueryGetUri` of a job or batch: Durable's instance-status shape at the app's own URL
 * (`/api/<collection>/<id>/status`, `src/functions/status.http.ts`); the richer view stays at `/api/<collection>/<id>`.
 */
export function statusUrl(request: HttpRequest, collection: 'jobs' | 'batches', id: string): string {
  return `${appUrl(request, collection, id)}/status`;
}

export function jobStatusUrl(request: HttpRequest, id: string): string {
  return statusUrl(request, 'jobs', id);
}

/**
 * Runs a handler; an unexpected fault is logged in full and answered without any of its text. A
 * continuation token refused where it is decoded (`InvalidContinuationTokenError`) is a 400.
 */
export function guarded(handler: HttpHandler): HttpHandler {
  return async (request, context) => {
    try {
      return await handler(request, context);
    } catch (error) {
      // A list token this API did not give: the caller's fault, found where the token is read.
      if (error instanceof InvalidContinuationTokenError) return problem(400, 'Invalid request', error.message, { fields: ['continuationToken'] });
      context.error(`${request.method} ${new URL(request.url).pathname} failed`, error);
      return problem(500, 'Internal error', `The request could not be completed; the service logs have the details (invocation ${context.invocationId}).`);
    }
  };
}

/** The JSON body; with `optional`, an empty body is `undefined` rather than a 400. */
export async function readJsonBody(request: HttpRequest, options: { optional?: boolean } = {}): Promise<{ ok: true; body: unknown } | { ok: false; response: HttpResponseInit }> {
  const declared = Number(request.headers.get('content-length') ?? '0');
  if (declared > maxBodyBytes) return { ok: false, response: problem(413, 'Request too large', `The body may be at most ${maxBodyBytes} bytes`) };
  const text = await request.text();
  if (Buffer.byteLength(text) > maxBodyBytes) return { ok: false, response: problem(413, 'Request too large', `The body may be at most ${maxBodyBytes} bytes`) };
  if (options.optional && text.trim() === '') return { ok: true, body: undefined };
  try {
    return { ok: true, body: JSON.parse(text) };
  } catch {
    return { ok: false, response: problem(400, 'Invalid JSON', 'The request body must be a JSON object like {"source": "uploads/scene.tif"}', { fields: ['body'] }) };
  }
}

