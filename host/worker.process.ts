import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';

/** Where the container worker's build lives, relative to the app root (`node dist/worker/main.js`). */
export const workerEntry = 'dist/worker/main.js';

/** Waits before restarting a worker that died: doubling from 1 s to 30 s, back to 1 s after it ran a minute. */
export const defaultRestartDelaysMs = { initial: 1000, max: 30_000, healthyAfter: 60_000 };

export interface WorkerSupervisorOptions {
  /** Absolute path of the worker's entry script. */
  entry: string;
  cwd: string;
  /** The worker's whole environment (the host's settings and storage). */
  env: NodeJS.ProcessEnv;
  log: (line: string) => void;
  restartDelaysMs?: { initial: number; max: number; healthyAfter: number };
  /** How long a SIGTERM'd worker may take to finish before it is killed. */
  stopGraceMs?: number;
}

/**
 * Keeps one container-worker process running beside the host, as the Container Apps Job does in
 * Azure: starts it, prefixes its output with `[worker]`, restarts it with back-off when it dies,
 * and on stop sends SIGTERM (SIGKILL after a grace period).
 */
export class WorkerSupervisor {
  private child: ChildProcess | undefined;
  private exited: Promise<void> | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private nextDelayMs: number;
  private stopping = false;
  private starts = 0;

  constructor(private readonly options: WorkerSupervisorOptions) {
    this.nextDelayMs = this.delays.initial;
  }

  private get delays(): { initial: number; max: number; healthyAfter: number } {
    return this.options.restartDelaysMs ?? defaultRestartDelaysMs;
  }

  /** Process id of the running worker, if one runs. */
  get pid(): number | undefined {
    return this.child?.exitCode === null && this.child.signalCode === null ? this.child.pid : undefined;
  }

  /** How many times a worker process was started. */
  get startCount(): number {
    return this.starts;
  }

  /** Starts the worker; false (with a log line) when its entry script does not exist. */
  start(): boolean {
    if (!existsSync(this.options.entry)) {
      this.options.log(`Container worker: ${workerEntry} not found (the worker is not built yet); running without a worker (work queued for it waits until one runs).`);
      return false;
    }
    this.launch();
    return true;
  }

  private launch(): void {
    if (this.stopping) return;
    const startedAt = Date.now();
    this.starts++;
    // stdin is a pipe the host never writes to: it closes when the host dies, even by SIGKILL, so the worker can notice.
    const child = spawn(process.execPath, [this.options.entry], { cwd: this.options.cwd, env: this.options.env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    for (const stream of [child.stdout, child.stderr]) {
      if (stream) createInterface({ input: stream }).on('line', (line) => this.options.log(`[worker] ${line}`));
    }
    this.options.log(`Container worker started (pid ${child.pid ?? '?'}): node ${workerEntry}`);
    this.exited = new Promise<void>((resolveExit) => {
      child.once('error', (error) => {
        this.options.log(`Container worker could not run: ${error.message}`);
      });
      child.once('close', (code, signal) => {
        resolveExit();
        if (this.stopping) return;
        if (Date.now() - startedAt >= this.delays.healthyAfter) this.nextDelayMs = this.delays.initial;
        const delay = this.nextDelayMs;
        this.nextDelayMs = Math.min(this.delays.max, this.nextDelayMs * 2);
        this.options.log(`Container worker exited (${signal ?? `code ${code}`}); restarting in ${delay} ms`);
        this.restartTimer = setTimeout(() => this.launch(), delay);
      });
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const grace = setTimeout(() => child.kill('SIGKILL'), this.options.stopGraceMs ?? 10_000);
    await this.exited;
    clearTimeout(grace);
  }
}
