/**
 * Named points in the tile work where a test can stop a process, to SIGKILL it at exactly that
 * moment (the crash tests) or to hold it there while it checks what others see (the ledger
 * tests). Off unless `INGEST_TEST_PAUSE_DIR` names a folder (`testPauseDir` in config.ts); then,
 * at a point whose hold file `<dir>/<point>.hold` exists, the process writes
 * `<dir>/<point>.<pid>.<n>.reached` and waits until the hold file is removed. Never set in Azure.
 */
import { access, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

/**
 * - `source-copy`: the source is downloaded to a partial file, not yet renamed to its copy's name;
 * - `tile-written`: the tile's COG is written on local disk, nothing of it is uploaded;
 * - `tile-upload`: the COG is in storage, the tile's result (and perhaps its thumbnail) is not.
 */
export const pausePointNames = ['source-copy', 'tile-written', 'tile-upload'] as const;
export type PausePointName = (typeof pausePointNames)[number];

/** Resolves at once, or, when a test holds `name`, once it lets go. */
export type PausePoint = (name: PausePointName) => Promise<void>;

export const noPause: PausePoint = () => Promise.resolve();

/** How often a held process looks whether the hold file is gone. */
const holdPollMs = 25;

export function holdFile(dir: string, name: PausePointName): string {
  return join(dir, `${name}.hold`);
}

/** The file a process writes when it stops at `name`: `<point>.<pid>.<n>.reached`. */
export function parseReachedFile(file: string): { name: string; pid: number } | undefined {
  const match = /^([a-z-]+)\.(\d+)\.\d+\.reached$/.exec(file);
  return match ? { name: match[1]!, pid: Number(match[2]) } : undefined;
}

export function createFilePausePoint(dir: string): PausePoint {
  let reached = 0;
  const exists = (path: string): Promise<boolean> => access(path).then(
    () => true,
    () => false,
  );
  return async (name) => {
    const hold = holdFile(dir, name);
    if (!(await exists(hold))) return;
    await writeFile(join(dir, `${name}.${process.pid}.${++reached}.reached`), '');
    while (await exists(hold)) await delay(holdPollMs);
  };
}
