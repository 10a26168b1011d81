/**
 * A typed client of the job API (issue 10): submit, read, list, tiles, retry, bulk retry, and
 * waiting for a job to end; batches (issue 11): submit, read, list, and waiting for one to end. The one place that polls a job: the CLI, the demo, the benchmarks
 * and the end-to-end tests all use it.
 *
 * fetch-based, no dependency beyond zod. In Azure the function key goes in `x-functions-key`
 * (a header, so it never lands in a URL, a log line or an error message).
 */
import type { z } from 'zod';
import {
  batchPageSchema,
  batchViewSchema,
  collectionListSchema,
  collectionSchedulesSchema,
  collectionViewSchema,
  quarantineDecisionAnswerSchema,
  bulkRetryPageSchema,
  dryRunAnswerSchema,
  finishedStatuses,
  jobPageSchema,
  jobViewSchema,
  problemSchema,
  retryAnswerSchema,
  submitAnswerSchema,
  submitBatchAnswerSchema,
  tilePageSchema,
  type BatchPage,
  type BatchView,
  type BulkRetryPage,
  type CollectionDefinition,
  type CollectionList,
  type CollectionSchedules,
  type CollectionView,
  type QuarantineDecisionAnswer,
  type DryRunAnswer,
  type DryRunRequest,
  type JobFilter,
  type JobPage,
  type JobView,
  type PageRequest,
  type Problem,
  type RetryAnswer,
  type SubmitAnswer,
  type SubmitBatchAnswer,
  type SubmitBatchRequest,
  type SubmitRequest,
  type TileEntry,
  type TilePage,
} from './jobs.api.js';

export interface JobsClientOptions {
  /** The app's origin, e.g. `http://localhost:7071` or `https://<app>.azurewebsites.net`. */
  baseUrl: string;
  /** A function key, sent as `x-functions-key` (automation against an app that takes keys; with sign-in on, as in Azure, keys open no route). */
  key?: string;
  /** Gives the bearer token of a signed-in caller (cli/sign.in.ts); none: no Authorization header. */
  token?: () => Promise<string>;
  /** Injected in tests; the global fetch otherwise. */
  fetch?: typeof fetch;
}

/** The service answered with an error status; `problem` holds its problem+json body when it sent one. */
export class JobApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem,
    readonly request: string,
  ) {
    super(`${request} answered ${status}${problem.title ? ` ${problem.title}` : ''}${problem.detail ? `: ${problem.detail}` : ''}`);
    this.name = 'JobApiError';
  }
}

/** The service answered 2xx with a body that is not the contract's shape (another version, or not this app). */
export class JobApiShapeError extends Error {
  constructor(
    readonly request: string,
    readonly issues: string,
  ) {
    super(`${request} answered a body this client does not understand (${issues}); is the URL the raster-ingest app, of the same version?`);
    this.name = 'JobApiShapeError';
  }
}

/** The service could not be reached at all. */
export class JobApiUnreachableError extends Error {
  constructor(
    readonly baseUrl: string,
    readonly reason: string,
  ) {
    super(`cannot reach ${baseUrl}: ${reason}`);
    this.name = 'JobApiUnreachableError';
  }
}

/** No token could be had (not signed in to the Azure CLI, device code refused): the request was not sent. */
export class JobApiSignInError extends JobApiUnreachableError {
  constructor(baseUrl: string, reason: string) {
    super(baseUrl, `sign-in failed: ${reason}`);
    this.message = `cannot sign in to ${baseUrl}: ${reason}`;
    this.name = 'JobApiSignInError';
  }
}

export class JobWaitTimeoutError extends Error {
  constructor(
    readonly id: string,
    readonly timeoutMs: number,
    readonly lastView: { status: string; stage: string } | undefined,
    readonly kind: 'job' | 'batch' = 'job',
  ) {
    super(`${kind} ${id} did not finish within ${Math.round(timeoutMs / 1000)} s${lastView ? ` (last seen ${lastView.status}, ${lastView.stage})` : ''}`);
    this.name = 'JobWaitTimeoutError';
  }
}

export interface WaitOptions<View = JobView> {
  /** Between two reads of the job (default 1000 ms). */
  intervalMs?: number;
  /** Give up after this long (default: never). */
  timeoutMs?: number;
  /** Called with every view read, the last (finished) one included. */
  onProgress?: (view: View) => void;
  signal?: AbortSignal;
}

/** Lower-level description of the reason a fetch rejected, without a stack. */
function describeFetchFailure(error: unknown): string {
  if (error instanceof Error) {
    const cause: unknown = error.cause;
    if (cause instanceof Error && 'code' in cause && typeof cause.code === 'string') return cause.code;
    if (cause instanceof Error) return cause.message;
    return error.message;
  }
  return String(error);
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`)
    .join('; ');
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function filterParams(filter: JobFilter, page: PageRequest): URLSearchParams {
  const params = new URLSearchParams();
  if (page.top !== undefined) params.set('top', String(page.top));
  if (page.continuationToken) params.set('continuationToken', page.continuationToken);
  if (filter.status?.length) params.set('status', filter.status.join(','));
  if (filter.collection) params.set('collection', filter.collection);
  if (filter.since) params.set('since', filter.since);
  if (filter.errorCode) params.set('errorCode', filter.errorCode);
  if (filter.batch) params.set('batch', filter.batch);
  if (filter.source) params.set('source', filter.source);
  return params;
}

export class JobsClient {
  readonly baseUrl: string;
  private readonly key: string | undefined;
  private readonly token: (() => Promise<string>) | undefined;
  private readonly fetchImpl: typeof fetch;

  constructor(options: JobsClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.key = options.key || undefined;
    this.token = options.token;
    this.fetchImpl = options.fetch ?? fetch;
  }

  /** The dashboard served by the app itself. */
  dashboardUrl(): string {
    return `${this.baseUrl}/api/dashboard/`;
  }

  submit(request: SubmitRequest): Promise<SubmitAnswer> {
    return this.call('POST', '/api/jobs', submitAnswerSchema, request);
  }

  /** Asks whether the service would accept this submission (fields, container, path), starting nothing: checked before an upload. */
  checkSubmit(request: SubmitRequest): Promise<DryRunAnswer> {
    const body: DryRunRequest = { ...request, dryRun: true };
    return this.call('POST', '/api/jobs', dryRunAnswerSchema, body);
  }

  getJob(id: string): Promise<JobView> {
    return this.call('GET', `/api/jobs/${encodeURIComponent(id)}`, jobViewSchema);
  }

  /** One page of jobs, newest first. */
  listJobs(filter: JobFilter = {}, page: PageRequest = {}): Promise<JobPage> {
    return this.call('GET', `/api/jobs?${filterParams(filter, page)}`, jobPageSchema);
  }

  /** Every job the filter matches, page by page; stops when the caller stops iterating. */
  async *allJobs(filter: JobFilter = {}, pageSize?: number): AsyncGenerator<JobView> {
    let continuationToken: string | undefined;
    do {
      const page = await this.listJobs(filter, { top: pageSize, continuationToken });
      yield* page.jobs;
      continuationToken = page.continuationToken ?? undefined;
    } while (continuationToken);
  }

  /** One page of a job's tile ledger, by tile index. */
  listTiles(id: string, page: PageRequest = {}): Promise<TilePage> {
    const params = filterParams({}, page);
    return this.call('GET', `/api/jobs/${encodeURIComponent(id)}/tiles?${params}`, tilePageSchema);
  }

  /** Every tile of a job, all pages. */
  async allTiles(id: string, pageSize?: number): Promise<TileEntry[]> {
    const tiles: TileEntry[] = [];
    let continuationToken: string | undefined;
    do {
      const page = await this.listTiles(id, { top: pageSize, continuationToken });
      tiles.push(...page.tiles);
      continuationToken = page.continuationToken ?? undefined;
    } while (continuationToken);
    return tiles;
  }

  /**
   * Re-runs what failed of a failed job as a new attempt; 409 when a retry cannot help (a permanent
   * failure, a replaced source; `force` retries a permanent failure anyway), while it runs, when it
   * completed, or when it was retried already.
   */
  retry(id: string, options: { force?: boolean } = {}): Promise<RetryAnswer> {
    return this.call('POST', `/api/jobs/${encodeURIComponent(id)}/retry`, retryAnswerSchema, options.force ? { force: true } : undefined);
  }

  /** One page of the bulk retry: the server retries (or, with `dryRun`, lists) the jobs the filter matches. */
  bulkRetry(filter: JobFilter & { dryRun?: boolean }, page: PageRequest = {}): Promise<BulkRetryPage> {
    const body = { ...filter, ...page };
    return this.call('POST', '/api/jobs/retry', bulkRetryPageSchema, body);
  }

  /** Every page of a bulk retry, in order, until the continuation token runs out. */
  async *bulkRetryAll(filter: JobFilter & { dryRun?: boolean }, pageSize?: number): AsyncGenerator<BulkRetryPage> {
    let continuationToken: string | undefined;
    do {
      const page = await this.bulkRetry(filter, { top: pageSize, continuationToken });
      yield page;
      continuationToken = page.continuationToken ?? undefined;
    } while (continuationToken);
  }

  /** Starts a batch over a prefix or a manifest (202), or finds the same batch still running (200). */
  submitBatch(request: SubmitBatchRequest): Promise<SubmitBatchAnswer> {
    return this.call('POST', '/api/batches', submitBatchAnswerSchema, request);
  }

  getBatch(id: string): Promise<BatchView> {
    return this.call('GET', `/api/batches/${encodeURIComponent(id)}`, batchViewSchema);
  }

  /** One page of batches, in the task hub's (id) order. */
  listBatches(page: PageRequest = {}): Promise<BatchPage> {
    return this.call('GET', `/api/batches?${filterParams({}, page)}`, batchPageSchema);
  }

  /** Decides a quarantined job: `approve` publishes its kept outputs, `reject` deletes them (409 when it is not quarantined or was decided). */
  decideQuarantine(id: string, decision: 'approve' | 'reject'): Promise<QuarantineDecisionAnswer> {
    return this.call('POST', `/api/jobs/${encodeURIComponent(id)}/${decision}`, quarantineDecisionAnswerSchema);
  }

  /** Every collection with a workflow definition, and where uploads no source rule matches go. */
  listCollections(): Promise<CollectionList> {
    return this.call('GET', '/api/collections', collectionListSchema);
  }

  /** A collection's definition (its `version` is what `putCollection` replaces), or an earlier version of it. */
  getCollection(id: string, version?: number): Promise<CollectionView> {
    return this.call('GET', `/api/collections/${encodeURIComponent(id)}${version === undefined ? '' : `?version=${version}`}`, collectionViewSchema);
  }

  /** A collection's schedules as they stand: next run, last run, missed windows, what each waits for. */
  getCollectionSchedules(id: string): Promise<CollectionSchedules> {
    return this.call('GET', `/api/collections/${encodeURIComponent(id)}/schedules`, collectionSchedulesSchema);
  }

  /**
   * Creates a collection's definition (`replaces` omitted) or replaces version `replaces` of it
   * (`If-Match`); a 412 says someone else changed it since, a 428 that it exists.
   */
  putCollection(id: string, definition: CollectionDefinition | Record<string, unknown>, replaces?: number): Promise<CollectionView> {
    return this.call('PUT', `/api/collections/${encodeURIComponent(id)}`, collectionViewSchema, definition, replaces === undefined ? {} : { 'If-Match': `"${replaces}"` });
  }

  /**
   * Reads the job until it has finished (Completed, Failed, Terminated) and returns its last
   * view. A 404 is read as "not visible yet" (a job just submitted) and a 5xx as a passing fault:
   * both are read again until the timeout; other errors end the wait.
   */
  waitForJob(id: string, options: WaitOptions = {}): Promise<JobView> {
    return this.waitUntilFinished('job', id, () => this.getJob(id), options);
  }

  /** Reads the batch until it has finished, like `waitForJob`. */
  waitForBatch(id: string, options: WaitOptions<BatchView> = {}): Promise<BatchView> {
    return this.waitUntilFinished('batch', id, () => this.getBatch(id), options);
  }

  private async waitUntilFinished<View extends { status: string; stage: string }>(kind: 'job' | 'batch', id: string, read: () => Promise<View>, options: WaitOptions<View>): Promise<View> {
    const intervalMs = options.intervalMs ?? 1000;
    const deadline = options.timeoutMs === undefined ? Infinity : performance.now() + options.timeoutMs;
    let lastView: View | undefined;
    for (;;) {
      try {
        lastView = await read();
        options.onProgress?.(lastView);
        if (finishedStatuses.has(lastView.status)) return lastView;
      } catch (error) {
        const passing = error instanceof JobApiError && (error.status === 404 || error.status >= 500);
        if (!passing) throw error;
      }
      if (performance.now() + intervalMs > deadline) throw new JobWaitTimeoutError(id, options.timeoutMs ?? 0, lastView, kind);
      await sleep(intervalMs, options.signal);
    }
  }

  private async call<T>(method: 'GET' | 'POST' | 'PUT', path: string, schema: z.ZodType<T>, body?: unknown, extraHeaders: Record<string, string> = {}): Promise<T> {
    const request = `${method} ${path.split('?')[0]}`;
    const headers: Record<string, string> = { Accept: 'application/json', ...extraHeaders };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (this.key) headers['x-functions-key'] = this.key;
    if (this.token) {
      try {
        headers['Authorization'] = `Bearer ${await this.token()}`;
      } catch (error) {
        throw new JobApiSignInError(this.baseUrl, error instanceof Error ? error.message : String(error));
      }
    }
    let response: Response;
    try {
      response = await this.fetchImpl(`${this.baseUrl}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (error) {
      throw new JobApiUnreachableError(this.baseUrl, describeFetchFailure(error));
    }
    const text = await response.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (!response.ok) {
      const problem = problemSchema.safeParse(json);
      throw new JobApiError(response.status, problem.success ? problem.data : { title: response.statusText }, request);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) throw new JobApiShapeError(request, describeIssues(parsed.error));
    return parsed.data;
  }
}
