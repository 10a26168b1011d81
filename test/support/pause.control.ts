/**
 * The test side of the pause points (src/activities/pause.points.ts): hold a named point, wait
 * until a process stops there (its pid is in the file it writes), let go. Every wait is on files
 * the processes write, never a fixed sleep.
 */
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { holdFile, parseReachedFile, type PausePointName } from '../../src/activities/pause.points.js';
import { waitFor } from '../worker/worker.support.js';

export class PauseControl {
  constructor(readonly dir: string) {}

  /** From now on, a process with this folder stops at `name` until `release`. */
  hold(name: PausePointName): void {
    writeFileSync(holdFile(this.dir, name), '');
  }

  /** Lets every process held at `name` go on, and later ones pass. */
  release(name: PausePointName): void {
    rmSync(holdFile(this.dir, name), { force: true });
  }

  /** The processes that have stopped at `name` so far (pids, with repeats). */
  reachedBy(name: PausePointName): number[] {
    return readdirSync(this.dir)
      .map(parseReachedFile)
      .filter((reached) => reached?.name === name)
      .map((reached) => reached!.pid);
  }

  /** Waits until a process has stopped at `name`, and gives its pid. */
  waitUntilReached(name: PausePointName, timeoutMs = 120_000): Promise<number> {
    return waitFor(`a process stopped at ${name}`, async () => this.reachedBy(name)[0], timeoutMs, 50);
  }

  /** Forgets who stopped where (between scenarios). */
  clear(): void {
    for (const file of readdirSync(this.dir)) rmSync(`${this.dir}/${file}`, { force: true });
  }
}
