/**
 * A small client for a STAC API with the Transaction extension (items) and its collection
 * counterpart, as stac-fastapi and Microsoft Planetary Computer Pro implement them:
 *
 * - `POST /collections`, `PUT|GET|DELETE /collections/{id}`
 * - `POST /collections/{id}/items`, `PUT|GET|DELETE /collections/{id}/items/{itemId}`
 *
 * Status codes it relies on (stac-api-extensions/transaction): POST answers 201 (or 202 when
 * queued) and 409 when the id exists; PUT answers 200/204 (202 queued) and 404 when it does not;
 * GET may carry an ETag, and a PUT whose If-Match no longer matches answers 412; DELETE answers
 * 200/204 (202 queued) and may answer 404 when nothing was there.
 *
 * HTTP through @azure/core-rest-pipeline: its default retry policy (exponential back-off with
 * jitter for 408/5xx and dropped connections, and the server's Retry-After on 429/503) is the only
 * retry layer for a STAC request. The activities that publish do not retry on top of it: a server
 * still busy or unreachable after these attempts is a `STAC_API_UNAVAILABLE` failure of the tile
 * or the job (failure.classify.ts), which an operator retries once the API answers. Nothing here
 * knows about Azure Functions or Azure identity (a bearer token comes from an injected provider,
 * see stac.api.token.ts).
 */
import {
  createDefaultHttpClient,
  createEmptyPipeline,
  createHttpHeaders,
  createPipelineRequest,
  defaultRetryPolicy,
  type HttpClient,
  type HttpMethods,
  type Pipeline,
  type PipelinePolicy,
  type PipelineResponse,
} from '@azure/core-rest-pipeline';

/** Anything with an `id` can be sent; the STAC builders' items and collections qualify. */
export interface StacDocument {
  id: string;
}

/** Returns the bearer token to send, or `undefined` to send none. Called before every request. */
export type BearerTokenProvider = () => Promise<string | undefined>;

export interface StacApiClientOptions {
  /** The API's landing page, e.g. `https://<catalog>.geocatalog.spatio.azure.com/stac` or `http://localhost:8080`. */
  baseUrl: string;
  getToken?: BearerTokenProvider;
  /** Added to every request URL, e.g. `{ 'api-version': '2025-04-30-preview' }` for Planetary Computer Pro. */
  query?: Readonly<Record<string, string>>;
  /** Attempts per request when the server is busy or unreachable (408, 5xx but 501/505, 429/503 with Retry-After, network errors). Default 5. */
  maxAttempts?: number;
  /** Back-off base: the n-th retry waits about `initialDelayMs * 2^n`, half of it jitter. Default 1 s. */
  initialDelayMs?: number;
  /** Largest back-off delay the client chooses itself. Default 30 s. */
  maxDelayMs?: number;
  /** Longest Retry-After the client will honour; a server asking for more is reported as an error instead. Default 120 s. */
  maxRetryAfterMs?: number;
  /** Rounds of read → replace when the document keeps changing under us (409/412/404 races). Default 5. */
  maxConflictRounds?: number;
  /** Per-attempt timeout. Default 30 s. */
  requestTimeoutMs?: number;
  /** The transport; tests may pass their own. Default: Node's HTTP client (core-rest-pipeline's). */
  httpClient?: HttpClient;
}

/** What a successful create/replace did. `accepted` means the server queued it (202) and applies it later. */
export interface TransactionResult {
  outcome: 'created' | 'replaced' | 'accepted';
  status: number;
  /** The resource's URL on the API. */
  url: string;
  etag?: string;
}

export interface FetchedDocument<T> {
  document: T;
  etag?: string;
}

/** A response the client will not retry: a 4xx (other than the conflicts it resolves itself) or an unexpected status. */
export class StacApiError extends Error {
  override readonly name = 'StacApiError';

  constructor(
    readonly method: string,
    readonly url: string,
    readonly status: number,
    readonly serverMessage: string,
    detail?: string,
  ) {
    super(`STAC API ${method} ${url} answered ${status}${serverMessage ? `: ${serverMessage}` : ''}${detail ? ` (${detail})` : ''}`);
  }
}

/** Busy or unreachable server after every allowed attempt, or one that asked us to wait longer than allowed. */
export class StacApiUnavailableError extends Error {
  override readonly name = 'StacApiUnavailableError';

  constructor(
    readonly method: string,
    readonly url: string,
    readonly attempts: number,
    readonly lastProblem: string,
  ) {
    super(`STAC API ${method} ${url} did not succeed after ${attempts} attempt(s); last problem: ${lastProblem}`);
  }
}

/** The document kept changing between our read and our write for every allowed round. */
export class StacApiConflictError extends Error {
  override readonly name = 'StacApiConflictError';

  constructor(
    readonly url: string,
    readonly rounds: number,
  ) {
    super(`STAC API ${url} kept changing while we tried to write it (${rounds} read/replace rounds, each lost to another writer: 409/412/404)`);
  }
}

/**
 * Link relations a STAC API derives itself from where a document lives; stac-fastapi drops them
 * on write and generates its own on read. The static catalog's blob URLs would be wrong there.
 */
export const inferredLinkRels: ReadonlySet<string> = new Set(['self', 'root', 'parent', 'collection', 'item', 'items']);

/** The document without the links a STAC API infers (see `inferredLinkRels`); other links (license, derived_from, ...) stay. */
export function withoutInferredLinks<T extends { links?: ReadonlyArray<{ rel: string }> }>(document: T): T {
  if (!document.links) return document;
  return { ...document, links: document.links.filter((link) => !inferredLinkRels.has(link.rel)) };
}

const jsonType = 'application/json';

const defaults = {
  maxAttempts: 5,
  initialDelayMs: 1000,
  maxDelayMs: 30_000,
  maxRetryAfterMs: 120_000,
  maxConflictRounds: 5,
  requestTimeoutMs: 30_000,
} as const;

/** Retry-After as milliseconds: delta-seconds or an HTTP-date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * The human part of an error body, whichever convention the server follows: stac-fastapi
 * (`{code, description}`), FastAPI (`{detail}`), RFC 9457 problem details (`{title, detail}`),
 * Azure (`{error: {code, message}}`), or plain text.
 */
export function extractServerMessage(body: string): string {
  const text = body.trim();
  if (!text) return '';
  try {
    const parsed = JSON.parse(text) as Record<string, unknown>;
    const azure = parsed['error'];
    const candidates = [
      parsed['description'],
      parsed['detail'],
      parsed['message'],
      azure && typeof azure === 'object' ? (azure as Record<string, unknown>)['message'] : azure,
      parsed['title'],
    ];
    const found = candidates.find((c) => c !== undefined && c !== null && c !== '');
    if (found !== undefined) {
      const code = typeof parsed['code'] === 'string' ? `${parsed['code']}: ` : '';
      return `${code}${typeof found === 'string' ? found : JSON.stringify(found)}`.slice(0, 1000);
    }
  } catch {
    // not JSON: fall through to the text itself
  }
  return text.slice(0, 1000);
}

function describeNetworkError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as Error & { code?: unknown }).code;
  if (error.name === 'AbortError' || code === 'ETIMEDOUT') return `no answer within the request timeout (${error.message})`;
  return typeof code === 'string' && !error.message.includes(code) ? `${error.message} (${code})` : error.message;
}

/** Statuses the retry policy retries (core-rest-pipeline's: throttling with Retry-After, 408, 5xx but 501 and 505). */
function isRetriedStatus(response: PipelineResponse): boolean {
  const { status } = response;
  const throttled = (status === 429 || status === 503) && (response.headers.has('retry-after') || response.headers.has('retry-after-ms') || response.headers.has('x-ms-retry-after-ms'));
  return throttled || status === 408 || (status >= 500 && status !== 501 && status !== 505);
}

/**
 * Inside the retry policy, per attempt: a server asking to wait longer than `maxRetryAfterMs` is
 * reported at once (an activity must not sleep for an hour), and each attempt's problem is noted
 * so the final error can name the last one.
 */
function attemptWatchPolicy(maxRetryAfterMs: number, onProblem: (request: { url: string; requestId: string }, problem: string) => void): PipelinePolicy {
  return {
    name: 'stacApiAttemptWatch',
    async sendRequest(request, next) {
      let response: PipelineResponse;
      try {
        response = await next(request);
      } catch (error) {
        onProblem(request, describeNetworkError(error));
        throw error;
      }
      if (isRetriedStatus(response)) {
        const body = response.bodyAsText ?? '';
        const problem = `${response.status}${body ? `: ${extractServerMessage(body)}` : ''}`;
        onProblem(request, problem);
        const retryAfterMs = response.headers.get('retry-after-ms') ?? response.headers.get('x-ms-retry-after-ms');
        const waitMs = retryAfterMs !== undefined && /^\d+$/.test(retryAfterMs) ? Number(retryAfterMs) : parseRetryAfter(response.headers.get('retry-after') ?? null);
        if (waitMs !== undefined && waitMs > maxRetryAfterMs) {
          throw new StacApiUnavailableError(request.method, request.url, 1, `${problem}; the server asked to wait ${Math.round(waitMs / 1000)} s, more than the ${Math.round(maxRetryAfterMs / 1000)} s allowed`);
        }
      }
      return response;
    },
  };
}

interface RawResponse {
  status: number;
  headers: { get(name: string): string | undefined };
  body: string;
}

export class StacApiClient {
  private readonly baseUrl: string;
  private readonly options: Required<Omit<StacApiClientOptions, 'getToken' | 'query' | 'baseUrl' | 'httpClient' | 'initialDelayMs' | 'maxDelayMs' | 'maxRetryAfterMs'>> & Pick<StacApiClientOptions, 'getToken' | 'query'>;
  private readonly pipeline: Pipeline;
  private readonly httpClient: HttpClient;
  /** The last problem seen per request (by its id), for the error when every attempt failed. */
  private readonly problems = new Map<string, string>();

  constructor(options: StacApiClientOptions) {
    if (!URL.canParse(options.baseUrl)) throw new Error(`STAC API base URL is not a URL: "${options.baseUrl}"`);
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.options = {
      maxAttempts: options.maxAttempts ?? defaults.maxAttempts,
      maxConflictRounds: options.maxConflictRounds ?? defaults.maxConflictRounds,
      requestTimeoutMs: options.requestTimeoutMs ?? defaults.requestTimeoutMs,
      getToken: options.getToken,
      query: options.query,
    };
    this.httpClient = options.httpClient ?? createDefaultHttpClient();
    this.pipeline = createEmptyPipeline();
    this.pipeline.addPolicy(
      defaultRetryPolicy({
        maxRetries: this.options.maxAttempts - 1,
        retryDelayInMs: options.initialDelayMs ?? defaults.initialDelayMs,
        maxRetryDelayInMs: options.maxDelayMs ?? defaults.maxDelayMs,
      }),
      { phase: 'Retry' },
    );
    this.pipeline.addPolicy(
      attemptWatchPolicy(options.maxRetryAfterMs ?? defaults.maxRetryAfterMs, (request, problem) => this.problems.set(requestKey(request), problem)),
      { afterPhase: 'Retry' },
    );
  }

  /** `<base>/collections/{id}`, or `<base>/collections` without an id. */
  collectionUrl(collectionId?: string): string {
    return this.url(collectionId === undefined ? ['collections'] : ['collections', collectionId]);
  }

  /** `<base>/collections/{id}/items/{itemId}`, or `<base>/collections/{id}/items` without an item id. */
  itemUrl(collectionId: string, itemId?: string): string {
    return this.url(itemId === undefined ? ['collections', collectionId, 'items'] : ['collections', collectionId, 'items', itemId]);
  }

  async getCollection<T = unknown>(collectionId: string): Promise<FetchedDocument<T> | undefined> {
    return this.fetchDocument<T>(this.collectionUrl(collectionId));
  }

  async getItem<T = unknown>(collectionId: string, itemId: string): Promise<FetchedDocument<T> | undefined> {
    return this.fetchDocument<T>(this.itemUrl(collectionId, itemId));
  }

  /** Creates the collection, or replaces it when it exists (POST, then on 409 GET + PUT with If-Match). */
  async upsertCollection<T extends StacDocument>(collection: T): Promise<TransactionResult> {
    return this.upsert(this.collectionUrl(), this.collectionUrl(collection.id), collection);
  }

  /**
   * Read-modify-write of a collection under optimistic locking: `update` receives the current
   * collection (or `undefined`) and returns the new one; when another writer got in between
   * (409 on create, 412 or 404 on replace) it is called again with the fresh document.
   */
  async updateCollection<T extends StacDocument>(collectionId: string, update: (existing: T | undefined) => T): Promise<TransactionResult> {
    const url = this.collectionUrl(collectionId);
    for (let round = 1; round <= this.options.maxConflictRounds; round++) {
      const current = await this.fetchDocument<T>(url);
      const next = update(current?.document);
      if (next.id !== collectionId) throw new Error(`updateCollection(${collectionId}): the update returned a collection with id "${next.id}"`);
      const result = current ? await this.replace(url, next, current.etag) : await this.create(this.collectionUrl(), url, next);
      if (typeof result === 'object') return result; // otherwise another writer got in between: read again
    }
    throw new StacApiConflictError(url, this.options.maxConflictRounds);
  }

  /**
   * Creates the item in `collectionId`, or replaces it when it exists. The item's `collection`
   * field, when set, must name the same collection (the extension answers 400 otherwise).
   */
  async upsertItem<T extends StacDocument & { collection?: string }>(collectionId: string, item: T): Promise<TransactionResult> {
    if (item.collection !== undefined && item.collection !== collectionId) {
      throw new Error(`Item "${item.id}" belongs to collection "${item.collection}", not "${collectionId}": refusing to send it to ${this.itemUrl(collectionId)}`);
    }
    return this.upsert(this.itemUrl(collectionId), this.itemUrl(collectionId, item.id), item);
  }

  /** Deletes the item; `false` when there was none (404). */
  async deleteItem(collectionId: string, itemId: string): Promise<boolean> {
    return this.delete(this.itemUrl(collectionId, itemId));
  }

  /** Deletes the collection (servers delete its items with it); `false` when there was none (404). */
  async deleteCollection(collectionId: string): Promise<boolean> {
    return this.delete(this.collectionUrl(collectionId));
  }

  private url(segments: string[]): string {
    const url = new URL(`${this.baseUrl}/${segments.map(encodeURIComponent).join('/')}`);
    for (const [name, value] of Object.entries(this.options.query ?? {})) url.searchParams.set(name, value);
    return url.toString();
  }

  /** POST first (the common case on a first ingest); on 409 fall back to read + replace, in bounded rounds. */
  private async upsert(createUrl: string, resourceUrl: string, document: StacDocument): Promise<TransactionResult> {
    let mode: 'create' | 'replace' = 'create';
    for (let round = 1; round <= this.options.maxConflictRounds; round++) {
      if (mode === 'create') {
        const created = await this.create(createUrl, resourceUrl, document);
        if (created !== 'exists') return created;
      }
      const current = await this.fetchDocument(resourceUrl);
      if (!current) {
        mode = 'create'; // deleted since our POST: create it again
        continue;
      }
      const replaced = await this.replace(resourceUrl, document, current.etag);
      if (typeof replaced === 'object') return replaced;
      // changed since our GET: read it again; gone since: create it again.
      mode = replaced === 'gone' ? 'create' : 'replace';
    }
    throw new StacApiConflictError(resourceUrl, this.options.maxConflictRounds);
  }

  /** POST; `'exists'` on 409. */
  private async create(createUrl: string, resourceUrl: string, document: StacDocument): Promise<TransactionResult | 'exists'> {
    const response = await this.send('POST', createUrl, document);
    if (response.status === 409) return 'exists';
    if (response.status === 201 || response.status === 200 || response.status === 202) {
      return {
        outcome: response.status === 202 ? 'accepted' : 'created',
        status: response.status,
        url: resourceUrl,
        ...this.etagOf(response),
      };
    }
    throw this.errorFor('POST', createUrl, response);
  }

  /** PUT with If-Match when we have an ETag; `'changed'` on 412, `'gone'` on 404. */
  private async replace(url: string, document: StacDocument, etag: string | undefined): Promise<TransactionResult | 'changed' | 'gone'> {
    const response = await this.send('PUT', url, document, etag ? { 'If-Match': etag } : {});
    if (response.status === 412) return 'changed';
    if (response.status === 404) return 'gone';
    if (response.status === 200 || response.status === 204 || response.status === 202) {
      return { outcome: response.status === 202 ? 'accepted' : 'replaced', status: response.status, url, ...this.etagOf(response) };
    }
    throw this.errorFor('PUT', url, response);
  }

  private async delete(url: string): Promise<boolean> {
    const response = await this.send('DELETE', url);
    if (response.status === 404) return false;
    if (response.status === 200 || response.status === 202 || response.status === 204) return true;
    throw this.errorFor('DELETE', url, response);
  }

  private async fetchDocument<T>(url: string): Promise<FetchedDocument<T> | undefined> {
    const response = await this.send('GET', url);
    if (response.status === 404) return undefined;
    if (response.status !== 200) throw this.errorFor('GET', url, response);
    let document: T;
    try {
      document = JSON.parse(response.body) as T;
    } catch (error) {
      throw new StacApiError('GET', url, response.status, '', `the body is not JSON: ${(error as Error).message}`);
    }
    return { document, ...this.etagOf(response) };
  }

  private etagOf(response: RawResponse): { etag?: string } {
    const etag = response.headers.get('etag');
    return etag ? { etag } : {};
  }

  private errorFor(method: string, url: string, response: RawResponse): StacApiError {
    const hint = response.status === 401 || response.status === 403 ? 'check the identity and its role on the STAC API, and the token scope' : undefined;
    return new StacApiError(method, url, response.status, extractServerMessage(response.body), hint);
  }

  /** One request through the pipeline (its retries included); any status it does not retry is returned to the caller. */
  private async send(method: HttpMethods, url: string, body?: unknown, extraHeaders: Record<string, string> = {}): Promise<RawResponse> {
    const headers = createHttpHeaders({ Accept: `${jsonType}, application/geo+json`, ...extraHeaders });
    if (body !== undefined) headers.set('Content-Type', jsonType);
    // Asked once per request, before its attempts: tokens last far longer than the retries.
    const token = await this.bearerToken(method, url);
    if (token) headers.set('Authorization', `Bearer ${token}`);
    // Plain http stays allowed, as before: a local stac-fastapi has no TLS (the base URL is the operator's setting, never an upload's).
    const request = createPipelineRequest({ url, method, headers, timeout: this.options.requestTimeoutMs, allowInsecureConnection: true, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    const key = requestKey(request);
    try {
      const response = await this.pipeline.sendRequest(this.httpClient, request);
      if (isRetriedStatus(response)) throw new StacApiUnavailableError(method, url, this.options.maxAttempts, this.problems.get(key) ?? String(response.status));
      return { status: response.status, headers: response.headers, body: response.bodyAsText ?? '' };
    } catch (error) {
      if (error instanceof StacApiUnavailableError) throw error;
      // No HTTP answer arrived on the last attempt (refused, reset, DNS, timeout).
      throw new StacApiUnavailableError(method, url, this.options.maxAttempts, this.problems.get(key) ?? describeNetworkError(error));
    } finally {
      this.problems.delete(key);
    }
  }

  /** A token failure is a configuration problem, not a busy server: report it at once, naming the request. */
  private async bearerToken(method: string, url: string): Promise<string | undefined> {
    if (!this.options.getToken) return undefined;
    try {
      return await this.options.getToken();
    } catch (error) {
      throw new Error(`Could not get a token for STAC API ${method} ${url}: ${(error as Error).message}`, { cause: error });
    }
  }

}

function requestKey(request: { url: string; requestId?: string }): string {
  return request.requestId ?? request.url;
}
