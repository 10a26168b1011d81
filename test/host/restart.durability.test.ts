import { TableClient } from '@azure/data-tables';
import { BlobServiceClient } from '@azure/storage-blob';
import { afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { EventType, eventKey } from '../../host/engine/history.js';
import { parseLog } from '../../host/engine/history.log.js';
import { encodeKey } from '../../host/storage/task.hub.store.js';
import { json, startHostProcess, startOrchestration, waitForStatus, type HostProcess } from './support/host.process.js';

/**
 * Crash safety: the host is a child process killed with SIGKILL (from outside, or by itself at an
 * injected point of an episode commit); a new host on the same storage must finish the work
 * without losing events, applying any twice, or re-running activities whose results were stored.
 */
const storage = inject('storageConnectionString');
const hosts: HostProcess[] = [];

afterEach(async () => {
  for (const host of hosts.splice(0)) await host.stop('SIGKILL');
});

async function start(hub: string, env: Record<string, string> = {}): Promise<HostProcess> {
  const host = await startHostProcess({ storage, hub, maxConcurrentActivities: 4, quiet: true, env });
  hosts.push(host);
  return host;
}

const executions = TableClient.fromConnectionString(storage, 'fixtureExecutions', { allowInsecureConnection: true });
beforeAll(async () => {
  await executions.createTable().catch(() => undefined);
});

/** How many times each fan-out index ran, from the fixture activity's own records. */
async function executionCounts(tag: string): Promise<Map<number, number>> {
  const counts = new Map<number, number>();
  for await (const entity of executions.listEntities<{ index: number }>({ queryOptions: { filter: `PartitionKey eq '${tag}'` } })) {
    counts.set(entity.index, (counts.get(entity.index) ?? 0) + 1);
  }
  return counts;
}

/** Fan-out indexes whose results were durably stored (committed history or persisted incoming lines). */
async function storedResults(hub: string, instanceId: string): Promise<Set<number>> {
  const row = await TableClient.fromConnectionString(storage, `${hub}Instances`, { allowInsecureConnection: true }).getEntity<{ HistoryBlob: string }>(encodeKey(instanceId), '');
  const blob = BlobServiceClient.fromConnectionString(storage).getContainerClient(`${hub.toLowerCase()}-history`).getBlobClient(row.HistoryBlob);
  const parsed = parseLog((await blob.downloadToBuffer()).toString('utf8'));
  const indexByTask = new Map<number, number>();
  for (const event of parsed.committed) {
    if (event.EventType === EventType.TaskScheduled) indexByTask.set(event.EventId, (JSON.parse(event.Input!) as { i: number }).i);
  }
  const stored = new Set<number>();
  for (const event of [...parsed.committed, ...parsed.pending]) {
    if (event.EventType === EventType.TaskCompleted && eventKey(event)) stored.add(indexByTask.get(event.TaskScheduledId!)!);
  }
  return stored;
}

async function waitUntil(what: string, predicate: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const count = 240;
const expectedOutput = { count, sum: count * (count - 1), first: [0, 2, 4] };

describe('restart durability', () => {
  it(`SIGKILL during a fan-out of ${count} activities: a restarted host completes it without re-running stored activities`, async () => {
    const hub = `Kill${Date.now() % 1e8}`;
    const tag = `kill-${Date.now()}`;
    const first = await start(hub);
    const reference = await waitForStatus(first.url, await startOrchestration(first.url, 'fanOut', { count, tag: `${tag}-ref` }));
    expect(reference['output']).toEqual(expectedOutput);

    const instanceId = `${tag}-instance`;
    await startOrchestration(first.url, 'fanOut', { count, tag, delayMs: 25, record: true }, instanceId);
    await waitUntil('a quarter of the activities to run', async () => [...(await executionCounts(tag)).values()].length >= count / 4);
    first.child.kill('SIGKILL');
    await first.exited;
    const stored = await storedResults(hub, instanceId);
    const ranBeforeKill = (await executionCounts(tag)).size;
    expect(stored.size).toBeGreaterThan(0);
    expect(ranBeforeKill).toBeLessThan(count);

    const second = await start(hub);
    expect(second.output()).toContain('Resumed 1 unfinished orchestration');
    const status = await waitForStatus(second.url, instanceId);
    expect(status['runtimeStatus']).toBe('Completed');
    expect(status['output']).toEqual(reference['output']);
    const counts = await executionCounts(tag);
    expect(counts.size).toBe(count);
    const reRunStored = [...stored].filter((index) => counts.get(index) !== 1);
    expect(reRunStored).toEqual([]);
  });

  it('a second host on the same task hub refuses to start while the first runs', async () => {
    const hub = `Lease${Date.now() % 1e8}`;
    await start(hub);
    await expect(startHostProcess({ storage, hub, env: { DURABLE_HUB_LEASE_WAIT_MS: '1500' } })).rejects.toThrow(/in use by another host/);
  });

  it('rewrites a history blob before the append-block limit and resumes from the rewritten blob after SIGKILL', async () => {
    const hub = `Compact${Date.now() % 1e8}`;
    const tag = `compact-${Date.now()}`;
    const instanceId = `${tag}-instance`;
    // A tiny block budget stands in for Azure's 50,000 appends per blob.
    const first = await start(hub, { DURABLE_HISTORY_MAX_BLOCKS: '3' });
    await startOrchestration(first.url, 'fanOut', { count: 150, tag, delayMs: 20, record: true }, instanceId);
    await waitUntil('a rewrite of the history', async () => first.output().includes('history rewritten into'));
    await waitUntil('a third of the activities to run', async () => (await executionCounts(tag)).size >= 50);
    first.child.kill('SIGKILL');
    await first.exited;
    const stored = await storedResults(hub, instanceId);
    expect(stored.size).toBeGreaterThan(0);
    const second = await start(hub);
    const status = await waitForStatus(second.url, instanceId);
    expect(status['output']).toEqual({ count: 150, sum: 150 * 149, first: [0, 2, 4] });
    const counts = await executionCounts(tag);
    expect(counts.size).toBe(150);
    expect([...stored].filter((index) => counts.get(index) !== 1)).toEqual([]);
  });

  for (const fault of ['after-append:2', 'torn-append:2', 'torn-append:1']) {
    it(`a crash injected at ${fault} (during an episode commit) loses no event and applies none twice`, async () => {
      const hub = `Fault${Date.now() % 1e8}`;
      const tag = `fault-${fault.replace(':', '-')}-${Date.now()}`;
      const instanceId = `${tag}-instance`;
      const crashing = await start(hub, { DURABLE_HOST_FAULT: fault });
      await startOrchestration(crashing.url, 'fanOut', { count: 200, tag, delayMs: 2, record: true }, instanceId);
      expect(await crashing.exited).toBe('SIGKILL');
      const stored = fault === 'torn-append:1' ? new Set<number>() : await storedResults(hub, instanceId);

      const second = await start(hub);
      const status = await waitForStatus(second.url, instanceId);
      expect(status['runtimeStatus']).toBe('Completed');
      expect(status['output']).toEqual({ count: 200, sum: 200 * 199, first: [0, 2, 4] });
      const counts = await executionCounts(tag);
      expect(counts.size).toBe(200);
      expect([...stored].filter((index) => counts.get(index) !== 1)).toEqual([]);
      const history = await json(fetch(`${second.url}/runtime/webhooks/durabletask/instances/${instanceId}?showHistory=true`));
      const completions = history.historyEvents.filter((e: { EventType: string }) => e.EventType === 'TaskCompleted');
      expect(completions).toHaveLength(200);
      expect(history.historyEvents.filter((e: { EventType: string }) => e.EventType === 'ExecutionStarted')).toHaveLength(1);
    });
  }
});
