/**
 * A fake transport for the job API client in unit tests: answers requests from a list of
 * handlers and records every request it saw. Job and batch views come from the server's own
 * `buildJobView` and `buildBatchView`, so they have the shape the service sends.
 */
import { buildBatchView } from '../../src/jobs/batch.view.js';
import { buildJobView } from '../../src/jobs/job.view.js';
import type { BatchProgress } from '../../src/pipeline/contracts.js';
import { PassThrough } from 'node:stream';
import type { UploadRequest } from '../../cli/cli.context.js';
import { runCli } from '../../cli/cli.program.js';
import type { BatchView, JobView, TileEntry } from '../../cli/jobs.api.js';

export interface RecordedRequest {
  method: string;
  url: URL;
  headers: Headers;
  body: unknown;
}

export type FakeHandler = (request: RecordedRequest) => Response | undefined;

export function json(status: number, body: unknown, contentType = 'application/json'): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': contentType } });
}

export function problem(status: number, title: string, detail: string, fields?: string[]): Response {
  return json(status, { title, status, detail, ...(fields ? { fields } : {}) }, 'application/problem+json');
}

export function fakeJobApi(handlers: FakeHandler[]): { fetch: typeof fetch; requests: RecordedRequest[] } {
  const requests: RecordedRequest[] = [];
  const fakeFetch: typeof fetch = async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const text = typeof init?.body === 'string' ? init.body : undefined;
    const request: RecordedRequest = { method: init?.method ?? 'GET', url, headers: new Headers(init?.headers), body: text === undefined ? undefined : JSON.parse(text) };
    requests.push(request);
    for (const handler of handlers) {
      const response = handler(request);
      if (response) return response;
    }
    return problem(404, 'Not found', `no fake route for ${request.method} ${url.pathname}`);
  };
  return { fetch: fakeFetch, requests };
}

export function route(method: string, pathname: string, answer: (request: RecordedRequest) => Response): FakeHandler {
  return (request) => (request.method === method && request.url.pathname === pathname ? answer(request) : undefined);
}

/** The service's answer to a submission with `"dryRun": true`, the check the CLI makes before it uploads. */
export const dryRunAccepted: FakeHandler = (request) => {
  if (request.method !== 'POST' || request.url.pathname !== '/api/jobs') return undefined;
  const body = request.body as { source?: string; dryRun?: boolean } | undefined;
  return body?.dryRun ? json(200, { dryRun: true, source: body.source }) : undefined;
};

/** A job view as the service builds it, from an orchestration status. */
export function sampleJob(id: string, runtimeStatus: string, progress: { done: number; failed: number; total: number; stage?: string }): JobView {
  const failed = runtimeStatus === 'Failed';
  return buildJobView({
    instanceId: id,
    name: 'ingestRaster',
    runtimeStatus,
    createdTime: '2026-11-30T08:00:00Z',
    lastUpdatedTime: '2026-11-30T08:01:00Z',
    input: { source: { container: 'incoming', name: 'scene.tif', etag: 'e', size: 10 }, collection: 'demo', options: {}, tileSize: 512 },
    output: null,
    customStatus: {
      source: 'incoming/scene.tif',
      collection: 'demo',
      stage: progress.stage ?? (failed ? 'failed' : runtimeStatus === 'Completed' ? 'completed' : 'creating-cogs'),
      route: 'functions',
      routeReason: 'the raster is below the worker threshold',
      layout: 'fan-out',
      tilesDone: progress.done,
      tilesFailed: progress.failed,
      tilesTotal: progress.total,
      itemsRegistered: progress.done,
      errors: failed ? [{ code: 'STORAGE_REFUSED', message: 'the COG blob is leased by another writer', itemId: 'scene-r0-c1' }] : [],
      errorCount: failed ? 1 : 0,
      attempt: 1,
    },
  });
}

export function sampleTile(index: number, state: TileEntry['state'], error?: TileEntry['error']): TileEntry {
  return {
    index,
    itemId: `scene-r0-c${index}`,
    row: 0,
    col: index,
    window: { x: index * 512, y: 0, width: 512, height: 512 },
    bbox: state === 'done' ? [10, 50, 11, 51] : null,
    state,
    route: 'functions',
    attempts: state === 'pending' ? 0 : 1,
    error: error ?? null,
    queuedAt: state === 'pending' ? null : '2026-11-30T08:00:04Z',
    startedAt: state === 'pending' ? null : '2026-11-30T08:00:10Z',
    endedAt: state === 'done' || state === 'failed' ? '2026-11-30T08:00:12.500Z' : null,
    waitMs: state === 'pending' ? null : 6000,
    workMs: state === 'done' || state === 'failed' ? 2500 : null,
    reused: false,
    cogUrl: null,
    itemUrl: null,
    thumbnailUrl: null,
    cogHref: null,
    thumbnailHref: null,
  };
}

/** A batch view as the service builds it, from an orchestration status (running, or ended as `runtimeStatus`). */
export function sampleBatch(
  id: string,
  runtimeStatus: string,
  counts: { total: number; done: number; failed?: number; skipped?: number; missing?: number; running?: number },
  extra: Partial<Pick<BatchProgress, 'failures' | 'missing' | 'reason' | 'stage'>> = {},
): BatchView {
  const full = { failed: 0, skipped: 0, missing: 0, ...counts };
  const ended = runtimeStatus === 'Completed';
  const progress: BatchProgress = {
    stage: extra.stage ?? (ended ? 'completed' : runtimeStatus === 'Failed' ? 'failed' : 'ingesting'),
    collection: 'demo',
    selection: 'incoming/scenes/',
    chunk: 0,
    counts: { total: full.total, done: full.done, failed: full.failed, skipped: full.skipped, missing: full.missing },
    running: counts.running ?? 0,
    failures: extra.failures ?? [],
    missing: extra.missing ?? [],
    startedAt: '2026-11-30T08:00:00Z',
    attempt: 1,
    ...(extra.reason ? { reason: extra.reason } : {}),
  };
  return buildBatchView(
    {
      instanceId: id,
      name: 'ingestBatch',
      runtimeStatus,
      createdTime: '2026-11-30T08:00:00Z',
      lastUpdatedTime: '2026-11-30T08:02:00Z',
      input: null,
      output: ended ? { collection: 'demo', counts: progress.counts, chunks: 1 } : null,
      customStatus: progress,
    },
    new Date('2026-11-30T08:02:00Z'),
  );
}

/** What one in-process run of the CLI printed, uploaded and asked. */
export interface CliOutcome {
  exitCode: number;
  out: string;
  err: string;
  progress: string;
  uploads: UploadRequest[];
  requests: RecordedRequest[];
}

/** Runs the CLI in process against `handlers`; `files` are the paths that exist locally. */
export async function runFakeCli(argv: string[], handlers: FakeHandler[] = [], options: { env?: NodeJS.ProcessEnv; files?: string[]; onUpload?: () => void; version?: string } = {}): Promise<CliOutcome> {
  const api = fakeJobApi(handlers);
  const out: string[] = [];
  const err: string[] = [];
  const uploads: UploadRequest[] = [];
  const progressStream = new PassThrough();
  let progress = '';
  progressStream.on('data', (chunk: Buffer) => (progress += chunk.toString()));
  const files = new Set(options.files ?? []);
  const exitCode = await runCli(argv, {
    env: options.env ?? {},
    out: (text) => out.push(text),
    err: (text) => err.push(text),
    progressStream,
    fetch: api.fetch,
    isLocalFile: (path) => files.has(path),
    upload: async (request) => {
      uploads.push(request);
      options.onUpload?.();
    },
    pollIntervalMs: 1,
    ...(options.version ? { version: options.version } : {}),
  });
  return { exitCode, out: out.join('\n'), err: err.join('\n'), progress, uploads, requests: api.requests };
}
