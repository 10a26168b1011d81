import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { vi } from 'vitest';

export const projectRoot = resolve(import.meta.dirname, '../../..');
export const fixtureApp = join(projectRoot, 'test/host/fixtures/app');
const buildRoot = join(projectRoot, 'test-results');

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * Compiles host/ (and the few src/ modules it imports) to JavaScript once per source change, so
 * tests can run the host as a child process and kill it. Shared by test files through a lock.
 */
export async function buildHost(): Promise<string> {
  const out = join(buildRoot, 'host-build');
  const stampPath = join(out, 'stamp');
  const stamp = String(newestSource(join(projectRoot, 'host')));
  const main = join(out, 'host/main.js');
  const lock = join(buildRoot, 'host-build.lock');
  mkdirSync(buildRoot, { recursive: true });
  for (;;) {
    if (existsSync(stampPath) && readFileSync(stampPath, 'utf8') === stamp && existsSync(main)) return main;
    try {
      mkdirSync(lock);
    } catch {
      if (Date.now() - statSync(lock).mtimeMs > 120_000) rmSync(lock, { recursive: true, force: true });
      await sleep(250);
      continue;
    }
    try {
      if (existsSync(stampPath) && readFileSync(stampPath, 'utf8') === stamp && existsSync(main)) return main;
      const temporary = `${out}.${process.pid}`;
      rmSync(temporary, { recursive: true, force: true });
      const result = spawnSync(
        process.execPath,
        [
          join(projectRoot, 'node_modules/typescript/bin/tsc'),
          '--outDir', temporary, '--rootDir', projectRoot, '--module', 'NodeNext', '--moduleResolution', 'NodeNext',
          '--target', 'ES2022', '--lib', 'ES2023', '--types', 'node', '--skipLibCheck', '--esModuleInterop',
          '--resolveJsonModule', '--strict', join(projectRoot, 'host/main.ts'),
        ],
        { encoding: 'utf8' },
      );
      if (!existsSync(join(temporary, 'host/main.js'))) throw new Error(`Compiling the host failed:\n${result.stdout}\n${result.stderr}`);
      writeFileSync(join(temporary, 'stamp'), stamp);
      rmSync(out, { recursive: true, force: true });
      renameSync(temporary, out);
      return main;
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
  }
}

export interface HostProcess {
  url: string;
  child: ChildProcess;
  output(): string;
  /** Resolves with the exit code (or signal) once the process is gone and its output fully read. */
  exited: Promise<number | string>;
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

export interface HostProcessOptions {
  storage: string;
  hub: string;
  appRoot?: string;
  maxConcurrentActivities?: number;
  blobPollMs?: number;
  quiet?: boolean;
  env?: Record<string, string>;
  /** More command-line flags for the host. */
  args?: string[];
}

/** Starts the compiled host as a child process on a free port and waits until it listens. */
export async function startHostProcess(options: HostProcessOptions): Promise<HostProcess> {
  const main = await buildHost();
  const args = [main, '--app-root', options.appRoot ?? fixtureApp, '--port', '0', '--hub', options.hub, '--blob-poll-ms', String(options.blobPollMs ?? 0)];
  if (options.maxConcurrentActivities) args.push('--max-concurrent-activities', String(options.maxConcurrentActivities));
  if (options.quiet) args.push('--quiet-activities');
  if (options.args) args.push(...options.args);
  const env: NodeJS.ProcessEnv = { ...process.env, AzureWebJobsStorage: options.storage, ...options.env };
  delete env['WEBSITE_HOSTNAME'];
  delete env['PORT'];
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  // 'close' rather than 'exit': it comes after the pipes are drained, so output() then holds
  // everything the host wrote (its last words on a refused start, 'SIGTERM received', ...).
  const exited = new Promise<number | string>((resolveExit) => child.once('close', (code, signal) => resolveExit(code ?? signal ?? -1)));
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setInterval(() => {
      const match = /listening on (http:\/\/localhost:\d+)/.exec(output);
      // The startup block ends with the container worker's line; the lines between come in
      // separate writes, so a test reading output() at once could see only the first of them.
      if (match && /Container worker[: ]/.test(output.slice(match.index))) {
        clearInterval(timer);
        resolveUrl(match[1]!);
      }
    }, 50);
    void exited.then((code) => {
      clearInterval(timer);
      reject(new Error(`Host exited (${code}) before listening:\n${output}`));
    });
  });
  return {
    url,
    child,
    output: () => output,
    exited,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Waits until the instance reaches a terminal state (or the predicate holds) and returns its status. */
export async function waitForStatus(
  url: string,
  instanceId: string,
  until: (status: Record<string, unknown>) => boolean = (s) => ['Completed', 'Failed', 'Terminated', 'Canceled'].includes(String(s['runtimeStatus'])),
  timeoutMs = 60_000,
): Promise<Record<string, unknown>> {
  return vi.waitFor(
    async () => {
      const response = await fetch(`${url}/runtime/webhooks/durabletask/instances/${encodeURIComponent(instanceId)}`);
      if (response.status === 404) throw new Error(`Instance ${instanceId} not found`);
      const status = (await response.json()) as Record<string, unknown>;
      if (!until(status)) throw new Error(`Instance ${instanceId} did not reach the expected state: ${JSON.stringify(status)}`);
      return status;
    },
    { timeout: timeoutMs, interval: 100 },
  );
}

/** Polls `predicate` (through vi.waitFor) until it holds; the error names `what`. */
export async function waitUntil(what: string, predicate: () => Promise<boolean>, timeoutMs = 60_000, intervalMs = 100): Promise<void> {
  await vi.waitFor(
    async () => {
      if (!(await predicate())) throw new Error(`Timed out waiting for ${what}`);
    },
    { timeout: timeoutMs, interval: intervalMs },
  );
}

/** The instance's history in the documented `showHistory=true` shape (with inputs and results). */
export async function readHistory(url: string, instanceId: string): Promise<Array<Record<string, unknown>>> {
  const response = await fetch(`${url}/runtime/webhooks/durabletask/instances/${encodeURIComponent(instanceId)}?showHistory=true&showHistoryOutput=true`);
  return ((await response.json()) as { historyEvents?: Array<Record<string, unknown>> }).historyEvents ?? [];
}

/** Polls an entity's state (through the management API) until `until` holds, and returns it. */
export async function waitForEntityState(url: string, name: string, key: string, until: (state: unknown) => boolean, timeoutMs = 10_000): Promise<unknown> {
  return vi.waitFor(
    async () => {
      const response = await fetch(`${url}/runtime/webhooks/durabletask/entities/${name}/${encodeURIComponent(key)}`);
      const state: unknown = response.ok ? await response.json() : undefined;
      if (!until(state)) throw new Error(`Entity @${name}@${key} did not reach the expected state: ${JSON.stringify(state)}`);
      return state;
    },
    { timeout: timeoutMs, interval: 50 },
  );
}

/** Starts an orchestration of the fixture app through its HTTP starter; returns the instance id. */
export async function startOrchestration(url: string, name: string, input?: unknown, instanceId?: string): Promise<string> {
  const response = await fetch(`${url}/api/start/${name}${instanceId ? `/${encodeURIComponent(instanceId)}` : ''}`, {
    method: 'POST',
    body: input === undefined ? '' : JSON.stringify(input),
  });
  if (response.status !== 202) throw new Error(`Starting ${name} answered ${response.status}: ${await response.text()}`);
  return ((await response.json()) as { id: string }).id;
}

/**
 * A response body as JSON. Typed loosely on purpose: the assertions are what check its shape.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function json(response: Response | Promise<Response>): Promise<any> {
  return (await response).json();
}
