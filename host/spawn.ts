/**
 * Runs the built local host (dist/host/main.js) as a child process, the way a user runs
 * `npm start`: for the demo, the benchmarks and end-to-end tests. Not part of the host itself.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve, sep } from 'node:path';

/** The project root, from host/ in the sources or dist/host in the build. */
export const projectRoot = resolve(import.meta.dirname, import.meta.dirname.endsWith(`${sep}dist${sep}host`) ? '../..' : '..');

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
  /** Peak resident memory of the host process so far (VmHWM), in bytes; undefined off Linux. */
  peakMemoryBytes(): number | undefined;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export interface LocalHostOptions {
  /** Storage to use; omitted = the host starts its embedded Azurite. */
  storageConnectionString?: string;
  env?: Record<string, string>;
  port?: number;
  appRoot?: string;
  /** false: the host starts no container worker process (`--no-worker`). Default: it starts one. */
  worker?: boolean;
  /**
   * Caps the host's writable memory (`ulimit -d`, inherited by its worker and inspection
   * processes) and its JavaScript heap at about half of it: for tests of uploads that once took a
   * host to gigabytes, so that a regression fails the test instead of the machine. The data limit
   * leaves address-space reservations alone (WebAssembly reserves gigabytes it never touches, so
   * `ulimit -v` would stop Node itself).
   */
  memoryLimitMb?: number;
}

function readPeakMemory(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

function hostEnvironment(options: LocalHostOptions, port: number): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...options.env, PORT: String(port) };
  if (options.storageConnectionString) env['AzureWebJobsStorage'] = options.storageConnectionString;
  else delete env['AzureWebJobsStorage'];
  return env;
}

export async function startLocalHost(options: LocalHostOptions): Promise<LocalHost> {
  const entry = join(projectRoot, 'dist', 'host', 'main.js');
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run "npm run build" (npm test does it for you)`);
  const port = options.port ?? (await freePort());
  const args = [entry];
  if (options.appRoot) args.push('--app-root', options.appRoot);
  if (options.worker === false) args.push('--no-worker');
  const env = hostEnvironment(options, port);
  // Through sh so the limit is set before Node starts; `exec` keeps the host's process id.
  const [command, commandArgs] =
    options.memoryLimitMb === undefined
      ? [process.execPath, args]
      : ['/bin/sh', ['-c', 'ulimit -d "$HOST_MEMORY_LIMIT_KB" && exec "$0" "$@"', process.execPath, `--max-old-space-size=${Math.floor(options.memoryLimitMb / 2)}`, ...args]];
  if (options.memoryLimitMb !== undefined) env['HOST_MEMORY_LIMIT_KB'] = String(options.memoryLimitMb * 1024);
  const child = spawn(command, commandArgs, {
    cwd: projectRoot,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const baseUrl = `http://127.0.0.1:${port}`;
  // The first start may also start Azurite and load GDAL.
  const deadline = Date.now() + 120_000;
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
    peakMemoryBytes: () => readPeakMemory(child.pid),
    stop: (signal = 'SIGTERM') =>
      new Promise<void>((resolveStop) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolveStop();
        child.once('exit', () => resolveStop());
        child.kill(signal);
      }),
  };
}

