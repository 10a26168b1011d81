/**
 * Runs validation's inspection of untrusted uploads in child processes, off the app's event loop.
 *
 * An upload can make GDAL or PROJ block (a CRS naming a FIFO, a slow device) or balloon (a block
 * declaring gigabytes). On the main thread that freezes every HTTP answer of the instance; on a
 * libuv thread a blocked native `open` cannot be stopped, and four such uploads would hold all
 * four threads. A child process can be killed: each inspection gets `timeoutSeconds`, and each
 * child an address-space limit (`ulimit -v`), so the upload, not the instance, pays. Hitting
 * either is a permanent `INPUT_LIMIT` failure.
 *
 * Children are kept (starting Node and GDAL costs about 0.2 s), one inspection at a time each, up
 * to `processes` at once; a killed or crashed child is replaced on the next request. The
 * children's environment holds none of the app's secrets: they get a path, never a credential.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RasterInfo } from '../pipeline/contracts.js';
import { FailureError, type Failure } from '../pipeline/failure.js';
import { pinnedHdf5Environment, pinnedProjEnvironment } from '../raster/gdal.setup.js';
import type { InspectionAnswer, InspectionRequest } from './inspection.protocol.js';

export interface InspectorLimits {
  timeoutSeconds: number;
  memoryMb: number;
  /** Inspections at once (one child each). */
  processes: number;
}

/** Environment variables a child may inherit: what Node, GDAL and the OS need, no credential. */
const inheritedVariables = /^(?:PATH|HOME|TMPDIR|TEMP|TMP|LANG|LC_[A-Z]+|TZ|GDAL_[A-Z0-9_]+|CPL_[A-Z0-9_]+|GTIFF_[A-Z0-9_]+|VSI_[A-Z0-9_]+|SSL_CERT_FILE|SSL_CERT_DIR|CURL_CA_BUNDLE)$/;
/** GDAL settings that could make a child reach the network or read credentials. */
const withheldVariables = new Set(['GDAL_HTTP_PROXY', 'GDAL_HTTP_USERPWD', 'GDAL_HTTP_HEADERS', 'GDAL_HTTP_HEADER_FILE', 'GDAL_HTTP_AUTH', 'GDAL_HTTP_BEARER']);

export function inspectorEnvironment(parent: NodeJS.ProcessEnv): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(parent)) if (value !== undefined && inheritedVariables.test(key) && !withheldVariables.has(key)) env[key] = value;
  return {
    ...env,
    ...pinnedProjEnvironment(),
    // Set before libhdf5 starts in the child: no filter plugin, no external-link or VDS search path.
    ...pinnedHdf5Environment(),
    // A small block cache: inspection reads headers and a few blocks.
    GDAL_CACHEMAX: '64',
    // glibc reserves 64 MiB of address space per malloc arena and thread; two arenas keep the limit for real allocations.
    MALLOC_ARENA_MAX: '2',
  };
}

/** The compiled child script: next to this module, or under dist/ when this module runs from source (tests). */
export function childScriptPath(): string {
  const here = fileURLToPath(import.meta.url);
  const sibling = join(dirname(here), 'inspector.child.js');
  if (existsSync(sibling)) return sibling;
  let root = dirname(here);
  while (!existsSync(join(root, 'package.json')) && dirname(root) !== root) root = dirname(root);
  const compiled = join(root, 'dist', 'src', 'inspection', 'inspector.child.js');
  if (!existsSync(compiled)) throw new Error(`The inspector child script is missing (${compiled}): build the project first (npm run build)`);
  return compiled;
}

interface Child {
  process: ChildProcess;
  ready: Promise<void>;
}

/** An idle child (and its channel) does not keep the app's process alive; one inspecting does. */
function holdOpen(child: ChildProcess, hold: boolean): void {
  const channel = child.channel as { ref?: () => void; unref?: () => void } | undefined;
  if (hold) {
    child.ref();
    channel?.ref?.();
  } else {
    child.unref();
    channel?.unref?.();
  }
}

function limitFailure(message: string): FailureError {
  return new FailureError({ code: 'INPUT_LIMIT', message } satisfies Failure);
}

export class SourceInspector {
  private readonly idle: Child[] = [];
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  private nextId = 1;
  private closed = false;

  constructor(
    private readonly limits: InspectorLimits,
    private readonly script: string = childScriptPath(),
  ) {}

  /** Inspects one upload in a child; a refusal is a `FailureError`, as in-process validation threw. */
  async inspect(request: InspectionRequest): Promise<RasterInfo> {
    if (this.closed) throw new Error('the source inspector is closed');
    await this.slot();
    let child: Child | undefined;
    try {
      child = this.idle.pop() ?? this.start();
      holdOpen(child.process, true);
      await child.ready;
      const answer = await this.ask(child, request);
      if (answer.ok) return answer.info;
      throw new FailureError(answer.failure);
    } finally {
      if (child) holdOpen(child.process, false);
      if (child && child.process.exitCode === null && child.process.signalCode === null && !this.closed) this.idle.push(child);
      this.running--;
      this.waiting.shift()?.();
    }
  }

  /** Stops every idle child (one in use is stopped when its inspection ends). */
  close(): void {
    this.closed = true;
    for (const child of this.idle.splice(0)) child.process.kill('SIGKILL');
  }

  private async slot(): Promise<void> {
    if (this.running >= this.limits.processes) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.running++;
  }

  private start(): Child {
    const memoryKb = this.limits.memoryMb * 1024;
    // `ulimit -v` caps the address space of everything the child maps, GDAL's buffers included.
    // The JavaScript heap gets a quarter of it: inspection holds little in JavaScript.
    const heapMb = Math.max(64, Math.floor(this.limits.memoryMb / 4));
    const child = spawn('/bin/sh', ['-c', 'ulimit -v "$INSPECTOR_MEMORY_KB" || exit 97; exec "$0" "$@"', process.execPath, `--max-old-space-size=${heapMb}`, this.script], {
      env: { ...inspectorEnvironment(process.env), INSPECTOR_MEMORY_KB: String(memoryKb) },
      // stderr is the app's: the child logs its own defects there (bounded, paths hidden).
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      cwd: resolve(dirname(this.script)),
    });
    holdOpen(child, false);
    const ready = new Promise<void>((resolve, reject) => {
      const onMessage = (message: unknown): void => {
        if ((message as { ready?: boolean })?.ready) {
          child.off('message', onMessage);
          child.off('exit', onExit);
          resolve();
        }
      };
      const onExit = (code: number | null, signal: string | null): void => reject(new Error(`the inspector process did not start (exit ${code ?? signal})`));
      child.on('message', onMessage);
      child.once('exit', onExit);
      child.once('error', reject);
    });
    return { process: child, ready };
  }

  private ask(child: Child, request: InspectionRequest): Promise<InspectionAnswer> {
    const id = this.nextId++;
    return new Promise<InspectionAnswer>((resolve, reject) => {
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        child.process.kill('SIGKILL');
      }, this.limits.timeoutSeconds * 1000);
      const cleanup = (): void => {
        clearTimeout(timer);
        child.process.off('message', onMessage);
        child.process.off('exit', onExit);
      };
      const onMessage = (message: unknown): void => {
        if ((message as { id?: number })?.id !== id) return;
        cleanup();
        resolve(message as InspectionAnswer);
      };
      const onExit = (code: number | null, signal: string | null): void => {
        cleanup();
        if (timedOut) {
          reject(limitFailure(`validating it took longer than ${this.limits.timeoutSeconds} s (setting INGEST_INSPECT_TIMEOUT_SECONDS), so it was stopped; it cannot be ingested as it is`));
        } else if (this.closed) {
          reject(new Error('the source inspector was closed'));
        } else {
          // The child died on this upload: V8 or GDAL ran out of its address space, or a decoder crashed.
          reject(limitFailure(`validating it stopped the inspecting process (${signal ?? `exit code ${code}`}), most often because reading it needs more memory than validation may use (setting INGEST_INSPECT_MEMORY_MB); it cannot be ingested as it is`));
        }
      };
      child.process.on('message', onMessage);
      child.process.once('exit', onExit);
      child.process.send({ id, request }, (error) => {
        if (error) {
          cleanup();
          child.process.kill('SIGKILL');
          reject(error);
        }
      });
    });
  }
}
