/**
 * How the hostile corpus is run: the local hosts it needs (one shared, a few with other settings
 * or under a memory cap), each on its own Azurite; a probe that keeps asking the jobs API while
 * hostile work is in progress and records every answer (or its absence); inotify on the sentinel
 * folder; polling that never waits on a host that stopped answering. Used by
 * test/e2e/hostile.e2e.test.ts and bench/hostile.latency.bench.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAzurite, type RunningAzurite } from '../../host/azurite.js';
import { startLocalHost, type LocalHost } from '../../host/spawn.js';
import { minInspectMemoryMb } from '../../src/config.js';
import type { BlobStore } from '../../src/storage/blob.store.js';
import { AzureBlobStore } from '../../src/storage/azure.blob.store.js';
import type { CanaryServer } from './canary.server.js';
import type { HostRole } from './hostile.cases.js';

/** A local host and its own storage. */
export interface HostUnderTest {
  role: HostRole;
  host: LocalHost;
  azurite: RunningAzurite;
  store: BlobStore;
  scratchDir: string;
  stop(): Promise<void>;
}

/** Writable memory of the hosts that run uploads which once took a host to gigabytes (its heap gets half). */
export const cappedHostMemoryMb = 3072;

/** What each role's host is started with, beyond the settings every host under test shares. */
export function roleSettings(role: HostRole): { env: Record<string, string>; memoryLimitMb?: number; worker?: boolean } {
  switch (role) {
    case 'shared':
    case 'blocking':
      return { env: { INGEST_TILE_SIZE: '512' } };
    case 'memory-capped':
      return { env: {}, memoryLimitMb: cappedHostMemoryMb, worker: false };
    case 'inspect-timeout':
      return { env: { INGEST_INSPECT_TIMEOUT_SECONDS: '1' }, memoryLimitMb: cappedHostMemoryMb, worker: false };
    case 'inspect-memory':
      // Issue 18 asked for 256 MB; the app refuses settings below what Node and GDAL need to start.
      return { env: { INGEST_INSPECT_MEMORY_MB: String(minInspectMemoryMb) }, memoryLimitMb: cappedHostMemoryMb, worker: false };
    case 'globs':
      return { env: {}, memoryLimitMb: cappedHostMemoryMb, worker: false };
  }
}

/**
 * Starts a host for `role` on an Azurite of its own. Every host gets the canary as GDAL's HTTP
 * proxy (so any request GDAL makes is counted; its own storage, reached as `localhost`, is the
 * one exception), an Azure account for /vsiaz/ that leads to the canary, and `extraEnv` (the
 * corpus's PROJ and HOME settings).
 */
export async function startHostUnderTest(role: HostRole, canary: CanaryServer, extraEnv: Record<string, string>, scratchRoot: string): Promise<HostUnderTest> {
  const azuriteDir = mkdtempSync(join(tmpdir(), `hostile-${role}-azurite-`));
  const scratchDir = join(scratchRoot, `scratch-${role}`);
  mkdirSync(scratchDir, { recursive: true });
  const azurite = await startAzurite({ location: azuriteDir });
  const settings = roleSettings(role);
  let host: LocalHost;
  try {
    host = await startLocalHost({
      storageConnectionString: azurite.connectionString.replaceAll('127.0.0.1', 'localhost'),
      env: {
        NO_PROXY: 'localhost',
        INGEST_SOURCE_CONTAINERS: 'uploads,incoming',
        INGEST_SCRATCH_DIR: scratchDir,
        GDAL_HTTP_PROXY: canary.hostPort,
        AZURE_STORAGE_ACCOUNT: 'hostilecanary',
        AZURE_NO_SIGN_REQUEST: 'YES',
        ...extraEnv,
        ...settings.env,
      },
      ...(settings.memoryLimitMb ? { memoryLimitMb: settings.memoryLimitMb } : {}),
      ...(settings.worker === false ? { worker: false } : {}),
    });
  } catch (error) {
    await azurite.stop();
    rmSync(azuriteDir, { recursive: true, force: true });
    throw error;
  }
  return {
    role,
    host,
    azurite,
    store: AzureBlobStore.fromEnvironment({ AzureWebJobsStorage: azurite.connectionString }),
    scratchDir,
    stop: async () => {
      await stopHost(host);
      await azurite.stop();
      rmSync(azuriteDir, { recursive: true, force: true });
    },
  };
}

/** SIGTERM, then SIGKILL after `graceMs`: a host whose event loop is held (a blocking upload before its fix) never runs its SIGTERM handler. */
export async function stopHost(host: LocalHost, graceMs = 15_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([host.stop('SIGTERM'), new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)))]);
  clearTimeout(timer);
  if (host.process.exitCode === null && host.process.signalCode === null) await host.stop('SIGKILL');
}

export interface HttpAnswer {
  /** 0: no answer within the time allowed (or the connection failed). */
  status: number;
  text: string;
  json: unknown;
  contentType: string;
  location: string | null;
  error?: string;
}

/** One request with a time limit: a host that stopped answering yields status 0, never a hung test. */
export async function request(url: string, init: RequestInit = {}, timeoutMs = 20_000): Promise<HttpAnswer> {
  try {
    const response = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
    const text = await response.text();
    let json: unknown = undefined;
    try {
      json = JSON.parse(text);
    } catch {
      // not JSON: the caller checks
    }
    return { status: response.status, text, json, contentType: response.headers.get('content-type') ?? '', location: response.headers.get('location') };
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    return { status: 0, text: '', json: undefined, contentType: '', location: null, error: `${(error as Error).message}${cause ? ` (${cause.code ?? cause.message})` : ''}` };
  }
}

/**
 * A connection the host closed while it sat idle in the client's pool (the host's keep-alive is
 * 5 s; a client busy decoding COGs for longer finds it closed only when it reuses it) fails at
 * once, not after a wait: such a failure is asked again once, on a new connection.
 */
function isStaleConnection(answer: HttpAnswer): boolean {
  return answer.status === 0 && !/timeout|aborted/i.test(answer.error ?? '') && /fetch failed|other side closed|ECONNRESET|socket/i.test(answer.error ?? '');
}

export const finishedStatuses = new Set(['Completed', 'Failed', 'Terminated', 'Canceled']);

/** Polls `GET <path>` until its `status` is a finished one or `timeoutMs` passes; returns the last view (or undefined if none came). */
export async function waitUntilFinished(baseUrl: string, path: string, timeoutMs: number, intervalMs = 500): Promise<{ view: Record<string, unknown> | undefined; finished: boolean }> {
  const deadline = Date.now() + timeoutMs;
  let view: Record<string, unknown> | undefined;
  for (;;) {
    const answer = await request(`${baseUrl}${path}`, {}, Math.max(1000, Math.min(20_000, deadline - Date.now())));
    if (answer.status === 200 && typeof answer.json === 'object' && answer.json !== null) {
      view = answer.json as Record<string, unknown>;
      if (finishedStatuses.has(String(view['status']))) return { view, finished: true };
    }
    if (Date.now() > deadline) return { view, finished: false };
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** One answer the probe got (or did not get). */
export interface ProbeAnswer {
  path: string;
  status: number;
  ms: number;
  error?: string;
}

export interface ResponsivenessProbe {
  /** Job ids whose `GET /api/jobs/{id}` the probe asks for, besides `GET /api/jobs`. */
  track(id: string): void;
  answers(): readonly ProbeAnswer[];
  /** Stops asking; resolves once the requests in flight have answered or timed out. */
  stop(): Promise<readonly ProbeAnswer[]>;
}

/**
 * Asks the host `GET /api/jobs?top=5` and `GET /api/jobs/{id}` for each tracked job, one round
 * every `intervalMs`, each request allowed `timeoutMs`; keeps every answer. Tests assert on the
 * answers (all 200, at least one), never on their times; the bench reads the times.
 */
export function probeResponsiveness(baseUrl: string, options: { intervalMs?: number; timeoutMs?: number } = {}): ResponsivenessProbe {
  const intervalMs = options.intervalMs ?? 1000;
  const timeoutMs = options.timeoutMs ?? 20_000;
  const tracked: string[] = [];
  const seen: ProbeAnswer[] = [];
  const inFlight = new Set<Promise<void>>();
  let stopped = false;
  const ask = (path: string): Promise<void> => {
    const started = performance.now();
    const asking = request(`${baseUrl}${path}`, {}, timeoutMs)
      .then((answer) => (isStaleConnection(answer) ? request(`${baseUrl}${path}`, {}, timeoutMs) : answer))
      .then((answer) => {
      seen.push({ path, status: answer.status, ms: performance.now() - started, ...(answer.error ? { error: answer.error } : {}) });
    });
    inFlight.add(asking);
    void asking.finally(() => inFlight.delete(asking));
    return asking;
  };
  const loop = (async () => {
    while (!stopped) {
      const round = [ask('/api/jobs?top=5'), ...tracked.slice(-3).map((id) => ask(`/api/jobs/${encodeURIComponent(id)}`))];
      await Promise.all([...round, new Promise((resolve) => setTimeout(resolve, intervalMs))]);
    }
  })();
  return {
    // A job is asked for at once: one that ends before the next round still gets its answer.
    track: (id) => {
      tracked.push(id);
      if (!stopped) void ask(`/api/jobs/${encodeURIComponent(id)}`);
    },
    answers: () => [...seen],
    stop: async () => {
      stopped = true;
      await loop;
      await Promise.all([...inFlight]);
      return [...seen];
    },
  };
}

/** Answers that were not 200 (or never came), as lines a failure message can show. */
export function unansweredOf(answers: readonly ProbeAnswer[]): string[] {
  return answers.filter((answer) => answer.status !== 200).map((answer) => `${answer.path}: ${answer.status === 0 ? `no answer (${answer.error})` : answer.status}`);
}

/** `inotifywait` on a folder: any open or read of a file (or listing of a folder) in it, by any process, is recorded. */
export interface AccessWatcher {
  events(): string[];
  stop(): Promise<void>;
}

export async function watchAccess(folder: string): Promise<AccessWatcher | undefined> {
  const child: ChildProcess = spawn('inotifywait', ['-m', '-r', '-e', 'open', '-e', 'access', '--format', '%w%f %e', folder], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const started = await new Promise<boolean>((resolve) => {
    child.once('error', () => resolve(false)); // not installed
    child.once('exit', () => resolve(false));
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (stderr.includes('Watches established')) resolve(true);
    });
  });
  if (!started) return undefined;
  return {
    events: () => stdout.split('\n').filter((line) => line.trim() !== ''),
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** Every string inside a JSON value, with the key it sits under. */
export function stringsWithKeys(value: unknown, key = ''): Array<{ key: string; value: string }> {
  if (typeof value === 'string') return [{ key, value }];
  if (Array.isArray(value)) return value.flatMap((item) => stringsWithKeys(item, key));
  if (typeof value === 'object' && value !== null) return Object.entries(value).flatMap(([name, item]) => stringsWithKeys(item, name));
  return [];
}

/**
 * Strings from uploads in a job or batch view longer than `max` (links the app builds itself, under
 * keys ending in Url/Uri, are not counted: they are as long as the app's own names make them).
 */
export function overlongStrings(view: unknown, max = 500): string[] {
  return stringsWithKeys(view)
    .filter(({ key, value }) => value.length > max && !/(?:url|uri|href)$/i.test(key))
    .map(({ key, value }) => `${key}: ${value.length} characters (${value.slice(0, 80)}…)`);
}
