import { BlobServiceClient } from '@azure/storage-blob';
import { TableClient } from '@azure/data-tables';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { json, readHistory, startHostProcess, startOrchestration, waitForEntityState, waitForStatus, type HostProcess } from './support/host.process.js';

/** Orchestration features through the host's HTTP API, with the fixture app and real Azurite. */
let host: HostProcess;
const hub = `Features${Date.now() % 1e8}`;

beforeAll(async () => {
  host = await startHostProcess({ storage: inject('storageConnectionString'), hub, maxConcurrentActivities: 4 });
});

afterAll(async () => {
  await host?.stop();
});

async function run(name: string, input?: unknown): Promise<Record<string, unknown>> {
  const id = await startOrchestration(host.url, name, input);
  return waitForStatus(host.url, id);
}

async function documentedHistoryOf(instanceId: string): Promise<Array<Record<string, unknown>>> {
  const body = await json(fetch(`${host.url}/runtime/webhooks/durabletask/instances/${instanceId}?showHistory=true`));
  return body.historyEvents as Array<Record<string, unknown>>;
}

describe('orchestration features', () => {
  it('fans out and in over activities', async () => {
    const status = await run('fanOut', { count: 50, tag: 'features' });
    expect(status['runtimeStatus']).toBe('Completed');
    expect(status['output']).toEqual({ count: 50, sum: 2 * ((49 * 50) / 2), first: [0, 2, 4] });
    expect(status['customStatus']).toEqual({ stage: 'done', count: 50 });
  });

  it('retries a failing activity with back-off until it succeeds', async () => {
    const status = await run('retryFlow', { key: `ok-${Date.now()}`, failTimes: 2, maxAttempts: 4 });
    expect(status['output']).toEqual({ attempt: 3, after: 'Hello after-retry' });
  });

  it('surfaces the failure once the retry attempts are used up, and the orchestrator can catch it', async () => {
    const status = await run('retryFlow', { key: `ko-${Date.now()}`, failTimes: 5, maxAttempts: 3 });
    expect(status['runtimeStatus']).toBe('Completed');
    expect(String((status['output'] as { failed: string }).failed)).toContain('flaky failure 3 of 5');
  });

  it('makes no further attempt once retryTimeoutInMilliseconds has passed since the first, and surfaces the last failure', async () => {
    const [intervalMs, timeoutMs, maxAttempts] = [250, 2000, 50];
    const id = await startOrchestration(host.url, 'retryTimeoutFlow', { key: `timeout-${Date.now()}`, intervalMs, timeoutMs, maxAttempts });
    const status = await waitForStatus(host.url, id);
    const events = await documentedHistoryOf(id);
    const failures = events.filter((e) => e['EventType'] === 'TaskFailed');
    const timers = events.filter((e) => e['EventType'] === 'TimerFired');
    expect(failures.length).toBeGreaterThanOrEqual(2);
    expect(failures.length).toBeLessThan(maxAttempts);
    expect(status['output']).toEqual({ failed: `flaky failure ${failures.length} of 1000` });
    // Decided on orchestration time, as Azure does: each failure handled before the timeout got a
    // retry timer of the full interval; the one handled after it got an immediate timer and no attempt.
    const firstAttemptAt = Date.parse(String(events.find((e) => e['EventType'] === 'ExecutionStarted')!['Timestamp']));
    expect(timers).toHaveLength(failures.length);
    const handledAt = timers.map((timer, index) => Date.parse(String(timer['FireAt'])) - (index < timers.length - 1 ? intervalMs : 0));
    for (const time of handledAt.slice(0, -1)) expect(time).toBeLessThan(firstAttemptAt + timeoutMs);
    expect(handledAt.at(-1)!).toBeGreaterThanOrEqual(firstAttemptAt + timeoutMs);
  });

  it('enforces retryTimeoutInMilliseconds for sub-orchestrations too (a timeout shorter than one attempt: one attempt)', async () => {
    const status = await run('retryTimeoutFlow', { key: `timeout-sub-${Date.now()}`, intervalMs: 100, timeoutMs: 1, maxAttempts: 5, child: true });
    expect(status['runtimeStatus']).toBe('Completed');
    expect(String((status['output'] as { failed: string }).failed)).toContain('flaky failure 1 of 1000');
    const events = await documentedHistoryOf(String(status['instanceId']));
    expect(events.filter((e) => e['EventType'] === 'SubOrchestrationInstanceFailed')).toHaveLength(1);
  });

  it('runs sub-orchestrations, with retry and an explicit child id, and propagates a child failure', async () => {
    const id = await startOrchestration(host.url, 'parentFlow', {});
    const status = await waitForStatus(host.url, id);
    const output = status['output'] as { first: { greeting: string; parent: string }; second: { greeting: string }; failure: string };
    expect(output.first).toEqual({ greeting: 'Hello child-1', parent: id });
    expect(output.second.greeting).toBe('Hello child-2');
    expect(output.failure).toContain('child asked to fail: on purpose');
    const child = await waitForStatus(host.url, `${id}-explicit-child`);
    expect(child['runtimeStatus']).toBe('Completed');
  });

  it('fans out over sub-orchestrations with explicit ids', async () => {
    const status = await run('manyChildren', 40);
    expect(status).toMatchObject({ runtimeStatus: 'Completed', output: 40 });
  });

  it('retries a failing sub-orchestration (generated and explicit child ids)', async () => {
    const status = await run('subRetry', { key: `sub-${Date.now()}` });
    expect(status['runtimeStatus']).toBe('Completed');
    expect(status['output']).toEqual({ generated: 2, explicit: 3 });
  });

  it('fails an activity that runs longer than host.json functionTimeout', async () => {
    const status = await run('tooSlow');
    expect(String(status['output']).trim()).toBe("Timeout value of 4 s (host.json functionTimeout) was exceeded by function 'recordWork'.");
  });

  it('waits for a durable timer', async () => {
    const status = await run('timerFlow', { ms: 1500 });
    expect((status['output'] as { waitedMs: number }).waitedMs).toBeGreaterThanOrEqual(1500);
  });

  it('races an external event against a timer with Task.any: the event wins', async () => {
    const id = await startOrchestration(host.url, 'eventRace', { timeoutMs: 60_000 });
    await waitForStatus(host.url, id, (s) => s['customStatus'] === 'waiting for approval');
    const raised = await fetch(`${host.url}/runtime/webhooks/durabletask/instances/${id}/raiseEvent/approve`, { method: 'POST', body: JSON.stringify({ by: 'ada' }) });
    expect(raised.status).toBe(202);
    const status = await waitForStatus(host.url, id);
    expect(status['output']).toEqual({ outcome: 'approved', by: { by: 'ada' } });
  });

  it('races an external event against a timer with Task.any: the timer wins', async () => {
    const status = await run('eventRace', { timeoutMs: 500 });
    expect(status['output']).toEqual({ outcome: 'timed out' });
  });

  it('continues as new with fresh history until done', async () => {
    const id = await startOrchestration(host.url, 'counterLoop', { n: 0, limit: 3 });
    const status = await waitForStatus(host.url, id);
    expect(status['runtimeStatus']).toBe('Completed');
    expect(status['output']).toEqual({ n: 3, last: 4 });
    const history = await json(fetch(`${host.url}/runtime/webhooks/durabletask/instances/${id}?showHistory=true`));
    // Only the last execution's history remains.
    expect(history.historyEvents.filter((e: { EventType: string }) => e.EventType === 'TaskCompleted')).toHaveLength(1);
  });

  it('moves payloads over 45 KB through the large-message container, invisibly to the app', async () => {
    const id = await startOrchestration(host.url, 'bigPayloads', { size: 200_000, padding: 'p'.repeat(100_000) });
    const status = await waitForStatus(host.url, id);
    expect(status['output']).toEqual({ length: 200_000, input: 100_000 });
    const container = BlobServiceClient.fromConnectionString(inject('storageConnectionString')).getContainerClient(`${hub.toLowerCase()}-largemessages`);
    const stored: string[] = [];
    for await (const blob of container.listBlobsFlat({ prefix: `${id}/` })) stored.push(blob.name);
    // The input, the activity's result and the output.
    expect(stored.length).toBeGreaterThanOrEqual(3);
  });

  it('fails an orchestration whose custom status exceeds 16 KB with a clear reason', async () => {
    const status = await run('hugeStatus');
    expect(status['runtimeStatus']).toBe('Failed');
    expect(String(status['output'])).toMatch(/custom status is \d+ bytes.*16 KB/);
  });

  it('holds entities in a critical section (context.df.lock): operations of others wait until the owner releases them', async () => {
    const key = `lock-${Date.now()}`;
    const entities = `${host.url}/runtime/webhooks/durabletask/entities`;
    const id = await startOrchestration(host.url, 'lockHold', key);
    await waitForStatus(host.url, id, (s) => s['customStatus'] === 'locked');
    // Sent while the owner holds the journal: stored now, run only after the release.
    expect((await fetch(`${entities}/journal/${key}?op=append`, { method: 'POST', body: '"outsider"' })).status).toBe(202);
    expect((await fetch(`${host.url}/runtime/webhooks/durabletask/instances/${id}/raiseEvent/go`, { method: 'POST', body: 'true' })).status).toBe(202);
    const status = await waitForStatus(host.url, id);
    expect(status['output']).toEqual({ held: 2, value: 0, lockedAfter: false });
    expect(await waitForEntityState(host.url, 'journal', key, (entries) => Array.isArray(entries) && entries.length === 3)).toEqual(['owner', 'outsider', 'owner again']);
  });

  it('a terminated orchestration still waiting for its lock takes no entity once its request arrives', async () => {
    const key = `lock-terminate-${Date.now()}`;
    const api = `${host.url}/runtime/webhooks/durabletask`;
    const holder = await startOrchestration(host.url, 'lockHold', key);
    await waitForStatus(host.url, holder, (s) => s['customStatus'] === 'locked');
    // The waiter's request queues at the counter (first in sorted order); terminating it sends
    // releases that reach the journal before its request, forwarded once the holder lets go, does.
    const waiter = await startOrchestration(host.url, 'lockHold', key);
    // Running once its first episode (which stores the lock request) is committed.
    await waitForStatus(host.url, waiter, (s) => s['runtimeStatus'] === 'Running');
    expect((await fetch(`${api}/instances/${waiter}/terminate?reason=give-up`, { method: 'POST' })).status).toBe(202);
    await waitForStatus(host.url, waiter);
    expect((await fetch(`${api}/instances/${holder}/raiseEvent/go`, { method: 'POST', body: 'true' })).status).toBe(202);
    await waitForStatus(host.url, holder);
    expect((await fetch(`${api}/entities/journal/${key}?op=append`, { method: 'POST', body: '"free"' })).status).toBe(202);
    expect(await waitForEntityState(host.url, 'journal', key, (entries) => Array.isArray(entries) && entries.length === 3)).toEqual(['owner', 'owner again', 'free']);
  });

  it('releases the entities of an orchestration that fails inside a critical section', async () => {
    const key = `lock-fail-${Date.now()}`;
    const entities = `${host.url}/runtime/webhooks/durabletask/entities`;
    const status = await run('lockThenFail', key);
    expect(status['runtimeStatus']).toBe('Failed');
    expect((await fetch(`${entities}/journal/${key}?op=append`, { method: 'POST', body: '"after"' })).status).toBe(202);
    expect(await waitForEntityState(host.url, 'journal', key, (entries) => Array.isArray(entries) && entries.length === 2)).toEqual(['inside', 'after']);
  });

  it('calls HTTP endpoints, polling 202 + Location responses', async () => {
    const status = await run('httpCaller', { base: host.url });
    expect(status['output']).toEqual({
      direct: { status: 200, body: { pong: true, n: '7', q: 'z' } },
      polled: { status: 200, body: { done: true, polls: 3 } },
    });
  });

  it('fails an instance whose replay schedules something else than its history recorded, naming both', async () => {
    await fetch(`${host.url}/api/toggle/nondeterministic/false`, { method: 'POST' });
    const id = await startOrchestration(host.url, 'nondeterministic');
    // Once stepA's result is in the history, change the code path and wake the instance up.
    await expect.poll(async () => (await readHistory(host.url, id)).some((event) => event['EventType'] === 'TaskCompleted' && event['FunctionName'] === 'stepA'), { timeout: 30_000 }).toBe(true);
    await fetch(`${host.url}/api/toggle/nondeterministic/true`, { method: 'POST' });
    await fetch(`${host.url}/runtime/webhooks/durabletask/instances/${id}/raiseEvent/continue`, { method: 'POST', body: '1' });
    const status = await waitForStatus(host.url, id);
    await fetch(`${host.url}/api/toggle/nondeterministic/false`, { method: 'POST' });
    expect(status['runtimeStatus']).toBe('Failed');
    expect(String(status['output'])).toContain("TaskScheduled 'stepA'");
    expect(String(status['output'])).toContain("activity 'stepB'");
    expect(String(status['output'])).toContain('Non-deterministic');
  });

  it('runs each task once when already-scheduled tasks are yielded again in a Task.any loop, and warns that Azure would not', async () => {
    const tag = `any-loop-${Date.now()}`;
    const id = await startOrchestration(host.url, 'anyLoop', { tag, count: 6 });
    const status = await waitForStatus(host.url, id);
    expect(status['output']).toEqual([200, 202, 204, 206, 208, 210]);
    const warnings = host.output().split('\n').filter((line) => line.includes(`WARNING: orchestrator 'anyLoop' (instance ${id}) yielded its already scheduled task #`));
    // One warning per re-yielded task (all but the first to finish are yielded again), not one per episode.
    expect(warnings.length).toBeGreaterThan(0);
    expect(new Set(warnings.map((line) => /task #(\d+)/.exec(line)![1])).size).toBe(warnings.length);
    expect(warnings[0]).toContain("('recordWork') again inside a new Task.any/Task.all");
    expect(warnings[0]).toContain('Azure schedules it again (azure-functions-durable-js#574)');
    const executions = TableClient.fromConnectionString(inject('storageConnectionString'), 'fixtureExecutions', { allowInsecureConnection: true });
    const runs: number[] = [];
    for await (const entity of executions.listEntities<{ index: number }>({ queryOptions: { filter: `PartitionKey eq '${tag}'` } })) runs.push(entity.index);
    expect(runs.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 100, 101, 102, 103, 104, 105]);
  });

  it('routes HTTP functions with optional and constrained route parameters', async () => {
    expect(await json(fetch(`${host.url}/api/ping`))).toEqual({ pong: true, n: null, q: null });
    expect(await json(fetch(`${host.url}/api/ping/12?q=a`))).toEqual({ pong: true, n: '12', q: 'a' });
    expect((await fetch(`${host.url}/api/ping/abc`)).status).toBe(404);
  });

  it('logs one line per invocation with function, instance id, duration and outcome', () => {
    expect(host.output()).toMatch(/Executed 'Functions\.hello' \(Succeeded, InstanceId=\S+, TaskId=\d+, Duration=\d+ms\)/);
    expect(host.output()).toMatch(/Executed 'Functions\.fanOut' \(Succeeded, InstanceId=\S+, Duration=\d+ms\)/);
  });
});
