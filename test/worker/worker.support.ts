/**
 * Shared by the queue and worker tests: a private Azurite per test file (the `tile-results`
 * queue is app-wide, and a local host started by another suite on the shared Azurite would
 * consume it), and a reader that takes only a test's own results from that queue.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { QueueClient } from '@azure/storage-queue';
import { afterAll, beforeAll } from 'vitest';
import { startAzurite, type RunningAzurite } from '../../host/azurite.js';
import { projectRoot } from '../../host/spawn.js';
import { decodeMessageText } from '../../src/queue/storage.queue.js';

export interface PrivateAzurite {
  readonly connectionString: string;
}

/** Starts an Azurite for this file before its tests and stops it after them. */
export function usePrivateAzurite(): PrivateAzurite {
  let azurite: RunningAzurite | undefined;
  let location: string | undefined;
  beforeAll(async () => {
    location = mkdtempSync(join(tmpdir(), 'worker-azurite-'));
    azurite = await startAzurite({ location });
  });
  afterAll(async () => {
    await azurite?.stop();
    if (location) rmSync(location, { recursive: true, force: true });
  });
  return {
    get connectionString() {
      if (!azurite) throw new Error('usePrivateAzurite: used before beforeAll ran');
      return azurite.connectionString;
    },
  };
}

/**
 * Takes (receives and deletes) every message of `queue` whose decoded body `belongs`; others are
 * left for their owners, visible again a second later.
 */
export async function takeMessages(queue: QueueClient, belongs: (body: unknown) => boolean): Promise<unknown[]> {
  const taken: unknown[] = [];
  for (;;) {
    const { receivedMessageItems } = await queue.receiveMessages({ numberOfMessages: 32, visibilityTimeout: 1 });
    if (receivedMessageItems.length === 0) return taken;
    for (const item of receivedMessageItems) {
      const body = decodeMessageText(item.messageText, 'base64-json');
      if (!belongs(body)) continue;
      taken.push(body);
      await queue.deleteMessage(item.messageId, item.popReceipt);
    }
    if (receivedMessageItems.length < 32) return taken;
  }
}

/** Polls until `check` returns a value (not undefined), or fails after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 60_000, intervalMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** A container-worker process (`dist/worker/main.js`) started by a test. */
export interface WorkerProcess {
  readonly pid: number;
  readonly lines: string[];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts the built worker with exactly `env` added to this process's (no Service Bus: the Storage stand-in). */
export function spawnWorker(env: Record<string, string>, args: string[] = []): WorkerProcess {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  delete childEnv['ServiceBusConnection'];
  delete childEnv['ServiceBusConnection__fullyQualifiedNamespace'];
  const child: ChildProcess = spawn(process.execPath, [join(projectRoot, 'dist', 'worker', 'main.js'), ...args], { cwd: projectRoot, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  for (const stream of [child.stdout, child.stderr]) if (stream) createInterface({ input: stream }).on('line', (line) => lines.push(line));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return {
    pid: child.pid ?? -1,
    lines,
    exited,
    kill(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
