/**
 * Calls to the job API from the page. In Azure the page is behind App Service Authentication: the
 * browser signs in with Entra ID and its session cookie goes with every call (same origin), so the
 * page holds no token. On the local host with sign-in on (HOST_SIGN_IN), the user pastes a
 * development token (kept in sessionStorage for this tab only), sent as `Authorization: Bearer`,
 * never in a URL. The local host's default needs nothing.
 *
 * Every answer is parsed with the app's one contract (src/api/contract.ts, shared with the CLI and
 * the OpenAPI description): a body of another shape is an error naming the field, not a page that
 * reads `undefined`.
 */
import type { z } from 'zod';
import {
  batchPageSchema,
  batchViewSchema,
  bulkRetryPageSchema,
  collectionListSchema,
  collectionSchedulesSchema,
  collectionViewSchema,
  quarantineDecisionAnswerSchema,
  jobPageSchema,
  jobViewSchema,
  problemSchema,
  retryAnswerSchema,
  tilePageSchema,
  type BatchPage,
  type BatchView,
  type BulkRetryPage,
  type CollectionList,
  type CollectionView,
  type QuarantineDecisionAnswer,
  type JobPage,
  type JobView,
  type Problem,
  type RetryAnswer,
  type ScheduleView,
  type TileEntry,
  type TilePage,
} from '../src/api/contract.js';

const tokenStorageName = 'raster-ingest.token';

/** The API's base: the dashboard is served at `<api>/dashboard/`, so the API is one folder up. */
export const apiBase = new URL('../', window.location.href);

export function storedToken(): string | null {
  try {
    return window.sessionStorage.getItem(tokenStorageName);
  } catch {
    return null;
  }
}

export function storeToken(token: string | null): void {
  if (token) window.sessionStorage.setItem(tokenStorageName, token);
  else window.sessionStorage.removeItem(tokenStorageName);
  tokenChangeListeners.forEach((listener) => listener());
}

const tokenChangeListeners = new Set<() => void>();
const signInNeededListeners = new Set<(status: number) => void>();

/** The stored token changed. */
export function onTokenChange(listener: () => void): () => void {
  tokenChangeListeners.add(listener);
  return () => tokenChangeListeners.delete(listener);
}

/** The API refused a call: 401 (not signed in, or the token was refused) or 403 (the role falls short). */
export function onSignInNeeded(listener: (status: number) => void): () => void {
  signInNeededListeners.add(listener);
  return () => signInNeededListeners.delete(listener);
}

/** Who is signed in, as far as the page can tell: a pasted token's claims, or Easy Auth's `/.auth/me` in Azure. */
export interface SignInState {
  name: string;
  roles: string[];
  via: 'token' | 'azure';
}

/** The claims of a pasted token, read for display only (the host verifies it). */
export function describeToken(token: string): SignInState | null {
  try {
    const payload = JSON.parse(atob((token.split('.')[1] ?? '').replace(/-/g, '+').replace(/_/g, '/'))) as { name?: unknown; preferred_username?: unknown; roles?: unknown };
    const roles = Array.isArray(payload.roles) ? payload.roles.filter((role): role is string => typeof role === 'string') : [];
    const name = typeof payload.name === 'string' ? payload.name : typeof payload.preferred_username === 'string' ? payload.preferred_username : 'token';
    return { name, roles, via: 'token' };
  } catch {
    return null;
  }
}

/** Easy Auth's session in Azure (`/.auth/me`); null where there is none (the local host answers 404). */
export async function readAzureSignIn(): Promise<SignInState | null> {
  try {
    const response = await fetch(new URL('/.auth/me', window.location.origin), { headers: { Accept: 'application/json' } });
    if (!response.ok) return null;
    const [entry] = (await response.json()) as Array<{ user_id?: string; user_claims?: Array<{ typ: string; val: string }> }>;
    if (!entry) return null;
    const claims = entry.user_claims ?? [];
    return { name: entry.user_id ?? claims.find((claim) => claim.typ === 'name')?.val ?? 'signed in', roles: claims.filter((claim) => claim.typ === 'roles').map((claim) => claim.val), via: 'azure' };
  } catch {
    return null;
  }
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly problem: Problem = {},
  ) {
    super(message);
  }
  get needsSignIn(): boolean {
    return this.status === 401 || this.status === 403;
  }
}

export function authHeaders(): Record<string, string> {
  const token = storedToken();
  return token ? { Authorization: `Bearer ${token}` } : {};
}

/** Resolves an app-relative href (`/api/cogs/...`) or API path against the page's origin. */
export function apiUrl(path: string): string {
  return path.startsWith('/') ? new URL(path, window.location.origin).href : new URL(path, apiBase).href;
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`)
    .join('; ');
}

async function request<T>(path: string, schema: z.ZodType<T>, init: RequestInit = {}, signal?: AbortSignal): Promise<T> {
  const response = await fetch(apiUrl(path), {
    ...init,
    headers: { Accept: 'application/json', ...authHeaders(), ...(init.headers ?? {}) },
    ...(signal ? { signal } : {}),
  });
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    // Not JSON: for an error the status line says enough; for a success the schema says what is wrong.
  }
  if (!response.ok) {
    const parsed = problemSchema.safeParse(body);
    const problem: Problem = parsed.success ? parsed.data : {};
    const error = new ApiError(response.status, problem.detail ?? problem.title ?? `${response.status} ${response.statusText}`, problem);
    if (error.needsSignIn) signInNeededListeners.forEach((listener) => listener(response.status));
    throw error;
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw new ApiError(response.status, `The API answered a body this page does not understand (${describeIssues(parsed.error)}); is the page of the same version as the app?`);
  return parsed.data;
}

export function listJobs(query: string, signal?: AbortSignal): Promise<JobPage> {
  return request(`jobs?${query}`, jobPageSchema, {}, signal);
}

export function getJob(id: string, signal?: AbortSignal): Promise<JobView> {
  return request(`jobs/${encodeURIComponent(id)}`, jobViewSchema, {}, signal);
}

/** Every tile of a job, following the continuation token page by page. */
export async function getAllTiles(id: string, signal?: AbortSignal): Promise<TileEntry[]> {
  const tiles: TileEntry[] = [];
  let token: string | null = null;
  do {
    const query = new URLSearchParams({ top: '500' });
    if (token) query.set('continuationToken', token);
    const page: TilePage = await request(`jobs/${encodeURIComponent(id)}/tiles?${query}`, tilePageSchema, {}, signal);
    tiles.push(...page.tiles);
    token = page.continuationToken;
  } while (token);
  return tiles;
}

export function retryJob(id: string): Promise<RetryAnswer> {
  return request(`jobs/${encodeURIComponent(id)}/retry`, retryAnswerSchema, { method: 'POST' });
}

/** Approves (publishes) or rejects (deletes) a quarantined job's kept outputs. */
export function decideQuarantine(id: string, decision: 'approve' | 'reject'): Promise<QuarantineDecisionAnswer> {
  return request(`jobs/${encodeURIComponent(id)}/${decision}`, quarantineDecisionAnswerSchema, { method: 'POST' });
}

export function listBatches(query: string, signal?: AbortSignal): Promise<BatchPage> {
  return request(`batches?${query}`, batchPageSchema, {}, signal);
}

export function getBatch(id: string, signal?: AbortSignal): Promise<BatchView> {
  return request(`batches/${encodeURIComponent(id)}`, batchViewSchema, {}, signal);
}

export function listCollections(signal?: AbortSignal): Promise<CollectionList> {
  return request('collections', collectionListSchema, {}, signal);
}

export function getCollection(id: string, signal?: AbortSignal): Promise<CollectionView> {
  return request(`collections/${encodeURIComponent(id)}`, collectionViewSchema, {}, signal);
}

/**
 * What the schedules API says of a collection's schedules (`GET /api/collections/{id}/schedules`):
 * next and last runs, missed windows, what each waits for. `null` while the service has no such
 * route (a 404 or 405 from a service without it): the page then works from the definition alone.
 */
export async function getCollectionSchedules(id: string, signal?: AbortSignal): Promise<ScheduleView[] | null> {
  try {
    return (await request(`collections/${encodeURIComponent(id)}/schedules`, collectionSchedulesSchema, {}, signal)).schedules;
  } catch (caught) {
    if (caught instanceof ApiError && (caught.status === 404 || caught.status === 405)) return null;
    throw caught;
  }
}

/** Creates a definition (`replaces` null) or replaces that version of it; a 400 names the paths at fault in `problem.fields`. */
export function putCollection(id: string, definition: unknown, replaces: number | null): Promise<CollectionView> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json', ...(replaces === null ? {} : { 'If-Match': `"${replaces}"` }) };
  return request(`collections/${encodeURIComponent(id)}`, collectionViewSchema, { method: 'PUT', headers, body: JSON.stringify(definition) });
}

/** Jobs per bulk retry request: the API's bound (src/jobs/retry.advice.ts `maxBulkRetryTop`). */
const bulkRetryPage = 100;

/**
 * The bulk retry API with the batch filter, every page: each failed job of the batch a retry can
 * help is retried as its next attempt; the others come back with the reason. With `dryRun`, says
 * what would be retried and starts nothing.
 */
export async function retryBatchFailures(batchId: string, options: { dryRun?: boolean } = {}): Promise<BulkRetryPage['jobs']> {
  const jobs: BulkRetryPage['jobs'] = [];
  let continuationToken: string | null = null;
  do {
    const body: Record<string, unknown> = { batch: batchId, top: bulkRetryPage, ...(options.dryRun ? { dryRun: true } : {}), ...(continuationToken ? { continuationToken } : {}) };
    const page: BulkRetryPage = await request('jobs/retry', bulkRetryPageSchema, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    jobs.push(...page.jobs);
    continuationToken = page.continuationToken;
  } while (continuationToken);
  return jobs;
}

/** An object URL for an app-relative blob (a thumbnail), fetched with the key; the caller revokes it. */
export async function fetchObjectUrl(href: string, signal?: AbortSignal): Promise<string> {
  const response = await fetch(apiUrl(href), { headers: authHeaders(), ...(signal ? { signal } : {}) });
  if (!response.ok) throw new ApiError(response.status, `${response.status} ${response.statusText}`);
  return URL.createObjectURL(await response.blob());
}
