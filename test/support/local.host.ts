/**
 * Runs the built local host (dist/host/main.js) as a child process against given storage, the
 * way a user runs `npm start`, for end-to-end tests through its HTTP API.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';

export const projectRoot = resolve(import.meta.dirname, '..', '..');

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolvePort(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export interface LocalHost {
  baseUrl: string;
  process: ChildProcess;
  /** Everything the host printed so far. */
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export interface LocalHostOptions {
  storageConnectionString: string;
  env?: Record<string, string>;
  port?: number;
  appRoot?: string;
}

export async function startLocalHost(options: LocalHostOptions): Promise<LocalHost> {
  const entry = join(projectRoot, 'dist', 'host', 'main.js');
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run "npm run build" (npm test does it for you)`);
  const port = options.port ?? (await freePort());
  const args = [entry];
  if (options.appRoot) args.push('--app-root', options.appRoot);
  const child = spawn(process.execPath, args, {
    cwd: projectRoot,
    env: { ...process.env, ...options.env, PORT: String(port), AzureWebJobsStorage: options.storageConnectionString },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const baseUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`local host exited with ${child.exitCode}:\n${output}`);
    try {
      await fetch(`${baseUrl}/runtime/webhooks/durabletask/instances?top=1`);
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`local host did not listen on ${baseUrl}:\n${output}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  return {
    baseUrl,
    process: child,
    output: () => output,
    stop: (signal = 'SIGTERM') =>
      new Promise<void>((resolveStop) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolveStop();
        child.once('exit', () => resolveStop());
        child.kill(signal);
      }),
  };
}

/** Polls `GET /api/jobs/{id}` until the job has finished; returns the last view. */
export async function waitForJob<T extends { status: string }>(baseUrl: string, id: string, timeoutMs = 240_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const response = await fetch(`${baseUrl}/api/jobs/${encodeURIComponent(id)}`);
    if (response.ok) {
      const view = (await response.json()) as T;
      if (['Completed', 'Failed', 'Terminated', 'Canceled'].includes(view.status)) return view;
    }
    if (Date.now() > deadline) throw new Error(`job ${id} did not finish within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 500));
  }
}
