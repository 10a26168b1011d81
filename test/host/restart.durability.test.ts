import { TableClient } from '@azure/data-tables';
import { BlobServiceClient } from '@azure/storage-blob';
import { afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { EventType, eventKey } from '../../host/engine/history.js';
import { parseLog } from '../../host/engine/history.log.js';
import { encodeKey } from '../../host/storage/task.hub.store.js';
import { json, startHostProcess, startOrchestration, waitForStatus, waitUntil, type HostProcess } from './support/host.process.js';

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
/** The history blob the instance row points at ('' before the row exists). */
async function historyBlobOf(hub: string, instanceId: string): Promise<string> {
  const row = await TableClient.fromConnectionString(storage, `${hub}Instances`, { allowInsecureConnection: true })
    .getEntity<{ HistoryBlob: string }>(encodeKey(instanceId), '')
    .catch(() => undefined);
  return row?.HistoryBlob ?? '';
}

async function storedResults(hub: string, instanceId: string): Promise<Set<number>> {
  const blob = BlobServiceClient.fromConnectionString(storage).getContainerClient(`${hub.toLowerCase()}-history`).getBlobClient(await historyBlobOf(hub, instanceId));
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

/** Turns on, in that host only, the hold of fan-out activities from `holdFrom` on (see the fixture's recordWork). */
async function holdWork(host: HostProcess): Promise<void> {
  const response = await fetch(`${host.url}/api/toggle/holdWork/true`, { method: 'POST' });
  expect(response.status).toBe(200);
}

/**
 * Starts an orchestration on a host that an injected fault kills during an episode commit. The
 * fault may strike before the host has answered the start request (torn-append:1 kills the first
 * episode, which runs as soon as the instance is stored): then the request fails with the
 * connection, and the instance exists all the same, since the crash happened committing it.
 */
async function startOnCrashingHost(host: HostProcess, input: unknown, instanceId: string): Promise<void> {
  await startOrchestration(host.url, 'fanOut', input, instanceId).catch((error: unknown) => {
    // Only the connection may fail (the host died under it); any answer but 202 still fails the test.
    if (!(error instanceof TypeError && error.message === 'fetch failed')) throw error;
  });
  expect(await host.exited).toBe('SIGKILL');
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

    // The host to be killed runs only the first half; the rest is held until it dies, so the kill
    // lands mid-fan-out however loaded the machine is. It comes once results are in the history
    // blob (not merely run), so some stored results are surely there to be kept.
    const holdFrom = count / 2;
    await holdWork(first);
    const instanceId = `${tag}-instance`;
    await startOrchestration(first.url, 'fanOut', { count, tag, delayMs: 25, record: true, holdFrom }, instanceId);
    await waitUntil('a quarter of the results to be stored', async () => (await storedResults(hub, instanceId)).size >= count / 4);
    first.child.kill('SIGKILL');
    await first.exited;
    const stored = await storedResults(hub, instanceId);
    const ranBeforeKill = [...(await executionCounts(tag)).keys()];
    expect(stored.size).toBeGreaterThanOrEqual(count / 4);
    expect(ranBeforeKill.filter((index) => index >= holdFrom)).toEqual([]);

    // The second host resumes it on its own: nothing but its start touches the instance.
    const second = await start(hub);
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
    // As above: the first host cannot finish (indexes from 100 on are held until it dies).
    await holdWork(first);
    await startOrchestration(first.url, 'fanOut', { count: 150, tag, delayMs: 20, record: true, holdFrom: 100 }, instanceId);
    // The instance row points at the rewritten blob (`….r<n>.jsonl`) once a rewrite is done.
    await waitUntil('a rewrite of the history', async () => /\.r\d+\.jsonl$/.test(await historyBlobOf(hub, instanceId)));
    // Counted from the activity's records: the blob itself is replaced by each rewrite.
    await waitUntil('a third of the activities to run', async () => (await executionCounts(tag)).size >= 50);
    first.child.kill('SIGKILL');
    await first.exited;
    // A rewrite needs three appends, the second and third of them results: some are stored.
    const stored = await storedResults(hub, instanceId);
    expect(stored.size).toBeGreaterThan(0);
    expect([...(await executionCounts(tag)).keys()].filter((index) => index >= 100)).toEqual([]);
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
      await startOnCrashingHost(crashing, { count: 200, tag, delayMs: 2, record: true }, instanceId);
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
