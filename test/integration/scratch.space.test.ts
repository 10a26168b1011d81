/**
 * Scratch shared by several processes (issue 19, item 5): each process works in a folder of its
 * own, evicts only there, and removes the folders of processes that are gone. Two caches in two
 * scratch spaces on one root stand for the host and a container worker; the source is on the
 * run's Azurite.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { stat } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processesFolder, ScratchSpace } from '../../src/activities/scratch.space.js';
import { SourceCache } from '../../src/activities/source.cache.js';
import { createFixtureDir, writeRgbUint8, type FixtureDir } from '../support/fixtures.js';
import { createActivityHarness, type ActivityHarness } from './activity.harness.js';

let harness: ActivityHarness;
let fixtures: FixtureDir;
let root: string;
const spaces: ScratchSpace[] = [];

beforeAll(() => {
  harness = createActivityHarness();
  fixtures = createFixtureDir();
  root = mkdtempSync(join(tmpdir(), 'scratch-space-'));
});
afterAll(async () => {
  for (const space of spaces) await space.close();
  harness.close();
  fixtures.remove();
  rmSync(root, { recursive: true, force: true });
});

function open(options: ConstructorParameters<typeof ScratchSpace>[1] = {}): ScratchSpace {
  const space = new ScratchSpace(root, options);
  spaces.push(space);
  return space;
}

/** A process id that has just ended on this machine. */
function endedPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

/** A folder as a process would have left it: its owner file, touched `ageMs` ago. */
function leaveFolder(name: string, owner: { host: string; pid: number }, ageMs: number): string {
  const folder = join(processesFolder(root), name);
  mkdirSync(join(folder, 'sources'), { recursive: true });
  writeFileSync(join(folder, 'sources', 'abc.source.1234.part'), 'half a download');
  writeFileSync(join(folder, 'owner.json'), JSON.stringify({ ...owner, startedAt: new Date().toISOString() }));
  const touched = new Date(Date.now() - ageMs);
  utimesSync(join(folder, 'owner.json'), touched, touched);
  return folder;
}

describe('the scratch space of several processes', () => {
  it("gives each process its own folder: one process's eviction never deletes the copy another reads", async () => {
    const source = await harness.upload(writeRgbUint8(fixtures.path, 100, 80, 'shared.tif'));
    const host = open();
    const worker = open();
    expect(host.folder).not.toBe(worker.folder);
    const hostCache = new SourceCache(harness.store, join(host.folder, 'sources'));
    const workerCache = new SourceCache(harness.store, join(worker.folder, 'sources'));
    const workerCopy = await workerCache.withLocalCopy(source, async (path) => path, 'b/src/v2');
    // The host's job ends and evicts its copy of the same source (what failed with ENOENT before).
    await hostCache.withLocalCopy(source, async () => undefined, 'a/src/v1');
    await hostCache.evict(source, 'a/src/v1');
    expect(existsSync(workerCopy)).toBe(true);
    expect(await workerCache.withLocalCopy(source, async (path) => path, 'b/src/v2')).toBe(workerCopy);
  });

  it('removes the folders of processes that are gone, and only those', async () => {
    const dead = leaveFolder('dead', { host: hostname(), pid: endedPid() }, 0);
    const alive = leaveFolder('alive', { host: hostname(), pid: process.pid }, 0);
    // On another machine sharing the volume: its pid means nothing here, its heartbeat does.
    const silent = leaveFolder('silent', { host: 'another-machine', pid: process.pid }, 11 * 60_000);
    const recent = leaveFolder('recent', { host: 'another-machine', pid: process.pid }, 60_000);
    // Made a moment ago, its owner file not written yet.
    const starting = join(processesFolder(root), 'starting');
    mkdirSync(starting, { recursive: true });

    const space = open();
    await space.whenSwept();
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(silent)).toBe(false);
    expect([alive, recent, starting, space.folder].map(existsSync)).toEqual([true, true, true, true]);
  });

  it('keeps its own folder alive with a heartbeat, and removes it on close', async () => {
    const space = open({ heartbeatMs: 20 });
    const owner = join(space.folder, 'owner.json');
    const touched = new Date(Date.now() - 60 * 60_000);
    utimesSync(owner, touched, touched);
    // An hour without a heartbeat would make the folder abandoned; the heartbeat touches it again.
    await waitUntil(async () => Date.now() - (await stat(owner)).mtimeMs < 60_000);
    const other = open({ staleAfterMs: 30 * 60_000 });
    await other.sweep();
    expect(existsSync(space.folder)).toBe(true);
    await space.close();
    expect(readdirSync(processesFolder(root))).not.toContain(space.folder.split('/').pop());
  });
});

async function waitUntil(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
