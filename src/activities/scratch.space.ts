/**
 * The scratch folder, split so that no process deletes what another one uses. Several processes
 * may share one scratch root: locally the host and its container workers (INGEST_SCRATCH_DIR, or
 * the OS temp folder), in Azure the worker processes of one Functions instance (its local temp
 * folder). Each works in a folder of its own, `<root>/processes/<owner>/` (source copies, tiles
 * being written, inspection scratch), and deletes only there: one process's eviction can never
 * take a copy another is reading.
 *
 * A process that dies (SIGKILL, out of memory) leaves its folder behind. Every process sweeps the
 * root when it starts and once a minute: a folder is removed when its owner ran on this machine
 * and its process id is gone, or when its owner has not touched its heartbeat for
 * `staleAfterMs` (an owner on another machine or container sharing the volume).
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';

/** What a process folder says about its owner (`owner.json`; its modification time is the heartbeat). */
export interface ScratchOwner {
  host: string;
  pid: number;
  startedAt: string;
}

export interface ScratchSpaceOptions {
  /** How often the owner file is touched and the root swept. Default 60 s. */
  heartbeatMs?: number;
  /** A folder whose heartbeat is older than this is an abandoned one. Default 10 minutes. */
  staleAfterMs?: number;
  /** Told about folders removed and sweeps that failed (never fatal). */
  log?: (line: string) => void;
}

const ownerFile = 'owner.json';

/** The folder under the root that holds one folder per process. */
export function processesFolder(root: string): string {
  return join(root, 'processes');
}

export class ScratchSpace {
  /** This process's folder: everything it writes to scratch goes under it. */
  readonly folder: string;
  private readonly owner: ScratchOwner;
  private readonly heartbeat: NodeJS.Timeout;
  private readonly staleAfterMs: number;
  private sweeping: Promise<void> = Promise.resolve();

  constructor(
    readonly root: string,
    private readonly options: ScratchSpaceOptions = {},
  ) {
    this.owner = { host: hostname(), pid: process.pid, startedAt: new Date().toISOString() };
    // The pid tells a dead local owner at once; the random part keeps a reused pid's folder apart.
    this.folder = join(processesFolder(root), `${process.pid}-${randomUUID().slice(0, 8)}`);
    this.staleAfterMs = options.staleAfterMs ?? 10 * 60_000;
    mkdirSync(this.folder, { recursive: true });
    writeFileSync(join(this.folder, ownerFile), JSON.stringify(this.owner));
    this.sweeping = this.sweep();
    this.heartbeat = setInterval(() => {
      const now = new Date();
      // Touched, or written again should someone have removed it (then the sweeps leave the folder be again).
      void utimes(join(this.folder, ownerFile), now, now).catch(() => this.writeOwner().catch(() => undefined));
      this.sweeping = this.sweeping.then(() => this.sweep());
    }, options.heartbeatMs ?? 60_000);
    this.heartbeat.unref();
  }

  private async writeOwner(): Promise<void> {
    await mkdir(this.folder, { recursive: true });
    await writeFile(join(this.folder, ownerFile), JSON.stringify(this.owner));
  }

  /** The sweep under way (tests wait for it). */
  whenSwept(): Promise<void> {
    return this.sweeping;
  }

  /** Stops the heartbeat and removes this process's folder (at a clean shutdown). */
  async close(): Promise<void> {
    clearInterval(this.heartbeat);
    await this.sweeping;
    await rm(this.folder, { recursive: true, force: true });
  }

  /** Removes the folders of owners that are gone. Never throws. */
  async sweep(): Promise<void> {
    const parent = processesFolder(this.root);
    const names = await readdir(parent).catch(() => [] as string[]);
    for (const name of names) {
      const folder = join(parent, name);
      if (folder === this.folder) continue;
      try {
        const why = await this.abandonedBecause(folder);
        if (!why) continue;
        await rm(folder, { recursive: true, force: true });
        this.options.log?.(`Scratch: removed ${name}, left by a process that is gone (${why})`);
      } catch (error) {
        this.options.log?.(`Scratch: could not sweep ${name}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }

  private async abandonedBecause(folder: string): Promise<string | undefined> {
    const now = Date.now();
    const owner = await readOwner(join(folder, ownerFile));
    if (!owner) {
      // Being created (the owner file comes right after the folder), or left half made.
      const made = await stat(folder).catch(() => undefined);
      return made && now - made.mtimeMs > this.staleAfterMs ? 'no owner file' : undefined;
    }
    if (owner.value.host === this.owner.host && !isProcessAlive(owner.value.pid)) return `process ${owner.value.pid} on this machine has ended`;
    if (now - owner.touchedMs > this.staleAfterMs) return `no heartbeat for ${Math.round((now - owner.touchedMs) / 1000)} s`;
    return undefined;
  }
}

async function readOwner(path: string): Promise<{ value: ScratchOwner; touchedMs: number } | undefined> {
  try {
    const [text, info] = await Promise.all([readFile(path, 'utf8'), stat(path)]);
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null || !('host' in value) || !('pid' in value) || typeof value.host !== 'string' || typeof value.pid !== 'number') return undefined;
    return { value: { host: value.host, pid: value.pid, startedAt: 'startedAt' in value && typeof value.startedAt === 'string' ? value.startedAt : '' }, touchedMs: info.mtimeMs };
  } catch {
    return undefined;
  }
}

/** Whether a process of this id runs on this machine (one of another user counts: it exists). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
