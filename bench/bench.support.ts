/**
 * What the benchmarks share: statistics of rounds, the machine's load, peak memory and scratch
 * size of child processes, and where the pipeline's time went (from the host's and the worker's
 * log lines). Benchmarks only; nothing here is imported by the app.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

export const run = promisify(execFile);

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

export function mib(bytes: number): string {
  return `${(bytes / (1 << 20)).toFixed(0)} MiB`;
}

/** "median (min–max)" of a series of times in ms. */
export function spreadOfTimes(values: number[]): string {
  return `${seconds(median(values))} (${(Math.min(...values) / 1000).toFixed(1)}–${(Math.max(...values) / 1000).toFixed(1)})`;
}

/** "median (min–max)" of short times, in ms. */
export function spreadOfMs(values: number[]): string {
  return `${median(values).toFixed(0)} ms (${Math.min(...values).toFixed(0)}–${Math.max(...values).toFixed(0)})`;
}

/** "median (min–max)" of ratios. */
export function spreadOfRatios(values: number[]): string {
  return `${median(values).toFixed(2)} (${Math.min(...values).toFixed(2)}–${Math.max(...values).toFixed(2)})`;
}

/** The 1, 5 and 15 minute load averages, for the record: figures are only worth what the machine's state was. */
export function loadLine(): string {
  return `load average ${loadavg().map((value) => value.toFixed(2)).join(', ')}`;
}

function cpuTimes(): { busy: number; total: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0); // idle + iowait
  return { busy: total - idle, total };
}

/** Share of all cores busy over `ms` (from /proc/stat): the load average still remembers our own last round, this does not. */
export async function busyShare(ms = 2000): Promise<number> {
  const before = cpuTimes();
  await new Promise((resolveWait) => setTimeout(resolveWait, ms));
  const after = cpuTimes();
  return (after.busy - before.busy) / Math.max(1, after.total - before.total);
}

/**
 * Waits until the machine is idle (under `threshold` of the cores busy over 2 s: another heavy
 * process would charge the sides unevenly), up to `maxWaitMs`; returns what it saw last.
 */
export async function waitForIdle(threshold = 0.15, maxWaitMs = 300_000): Promise<string> {
  const deadline = Date.now() + maxWaitMs;
  let busy = await busyShare();
  while (busy > threshold && Date.now() < deadline) busy = await busyShare();
  return `${(busy * 100).toFixed(0)}% busy before, ${loadLine()}${busy > threshold ? ' — NOT IDLE' : ''}`;
}

/** Peak resident memory (VmHWM) of a live process, in bytes; undefined when it is gone or off Linux. */
export function peakMemoryOf(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Clock ticks per second of /proc's CPU times (USER_HZ: 100 on Linux builds we run on). */
const ticksPerSecond = 100;

/** The fields of /proc/<pid>/stat after the command name (which may hold spaces): [0] is the state. */
function statFields(pid: number | 'self'): string[] | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** CPU seconds (user + system, all threads) a live process has used so far; `undefined` once it is gone. */
export function cpuSecondsOf(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  const fields = statFields(pid);
  return fields ? (Number(fields[11]) + Number(fields[12])) / ticksPerSecond : undefined;
}

/** CPU seconds used by this process's children that have exited (a finished `gdal_translate`). */
export function exitedChildrenCpuSeconds(): number {
  const fields = statFields('self')!;
  return (Number(fields[13]) + Number(fields[14])) / ticksPerSecond;
}

/** The container worker's process id, from the host's "Container worker started (pid N)" line. */
export function workerPidFrom(hostOutput: string): number | undefined {
  const matches = [...hostOutput.matchAll(/Container worker started \(pid (\d+)\)/g)];
  const last = matches.at(-1);
  return last ? Number(last[1]) : undefined;
}

/** Bytes of the files under `directory` (0 when it does not exist); files may vanish while it walks. */
export function folderBytes(directory: string): number {
  let total = 0;
  let names: string[];
  try {
    names = readdirSync(directory);
  } catch {
    return 0;
  }
  for (const name of names) {
    const path = join(directory, name);
    try {
      const info = statSync(path);
      total += info.isDirectory() ? folderBytes(path) : info.size;
    } catch {
      // deleted meanwhile
    }
  }
  return total;
}

/** Samples a folder's size every `intervalMs` until stopped; returns the peak seen. */
export function watchFolderPeak(directory: string, intervalMs = 250): { stop(): number } {
  let peak = 0;
  const timer = setInterval(() => (peak = Math.max(peak, folderBytes(directory))), intervalMs);
  return {
    stop: () => {
      clearInterval(timer);
      return Math.max(peak, folderBytes(directory));
    },
  };
}

interface Totals {
  count: number;
  totalMs: number;
  maxMs: number;
}

function addTo(totals: Map<string, Totals>, name: string, ms: number): void {
  const entry = totals.get(name) ?? { count: 0, totalMs: 0, maxMs: 0 };
  totals.set(name, { count: entry.count + 1, totalMs: entry.totalMs + ms, maxMs: Math.max(entry.maxMs, ms) });
}

/**
 * Where the pipeline's time went: the host's one line per invocation (`Executed 'Functions.x'
 * (… Duration=Nms)`) summed by function, and the worker's per-tile lines (`… completed: … [N s]`).
 * Activities overlap, so totals can exceed the wall time.
 */
export function summarizeTime(outputs: string[]): string[] {
  const totals = new Map<string, Totals>();
  for (const output of outputs) {
    for (const match of output.matchAll(/Executed 'Functions\.(\w+)' \([^)]*Duration=(\d+)ms\)/g)) addTo(totals, match[1]!, Number(match[2]));
    for (const match of output.matchAll(/\[worker\] .* completed: .* \[([\d.]+) s\]/g)) addTo(totals, 'worker tile', Number(match[1]) * 1000);
  }
  return [...totals.entries()]
    .sort((a, b) => b[1].totalMs - a[1].totalMs)
    .map(([name, t]) => `    ${name.padEnd(22)} ${String(t.count).padStart(5)} calls ${seconds(t.totalMs).padStart(9)} total ${seconds(t.maxMs).padStart(8)} longest`);
}

/** `--env KEY=VALUE` pairs as an environment (the value may itself hold `=`). */
export function parseEnvPairs(pairs: readonly string[]): Record<string, string> {
  return Object.fromEntries(pairs.map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]));
}

/** Runs a bench's `main` when its file is the program (tests import the benches' helpers), exiting 1 if it fails. */
export function runIfMain(moduleUrl: string, main: () => Promise<void>): void {
  if (moduleUrl !== `file://${process.argv[1]}`) return;
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
