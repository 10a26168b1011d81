import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { readHistory, startHostProcess, waitForStatus, type HostProcess } from './support/host.process.js';

/**
 * Every DurableClient method of the real `durable-functions` SDK, called by the fixture app's HTTP
 * function through `df.getClient(context)` against the host.
 */
let host: HostProcess;

beforeAll(async () => {
  host = await startHostProcess({ storage: inject('storageConnectionString'), hub: `Client${Date.now() % 1e8}` });
});

afterAll(async () => {
  await host?.stop();
});

async function call<T = unknown>(method: string, ...args: unknown[]): Promise<{ ok: boolean; result: T; error?: string }> {
  const response = await fetch(`${host.url}/api/client/${method}`, { method: 'POST', body: JSON.stringify(args) });
  expect(response.status).toBe(200);
  return (await response.json()) as { ok: boolean; result: T; error?: string };
}

const unique = (prefix: string): string => `${prefix}-${Date.now()}-${Math.random().toString(16).slice(2, 8)}`;

describe('DurableClient through df.getClient', () => {
  it('startNew with an instance id and input, then getStatus with and without history', async () => {
    const instanceId = unique('client-seq');
    const started = await call<string>('startNew', 'sequence', { instanceId, input: 'in' });
    expect(started).toEqual({ ok: true, result: instanceId });
    await waitForStatus(host.url, instanceId);
    const plain = await call<Record<string, unknown>>('getStatus', instanceId);
    expect(plain.result).toMatchObject({ name: 'sequence', instanceId, runtimeStatus: 'Completed', input: 'in', output: ['Hello Tokyo', 'Hello Seattle', 'in'] });
    const withHistory = await call<{ history: Array<Record<string, unknown>> }>('getStatus', instanceId, { showHistory: true, showHistoryOutput: true, showInput: true });
    const types = withHistory.result.history.map((event) => event['EventType']);
    expect(types).toEqual(['ExecutionStarted', 'TaskCompleted', 'TaskCompleted', 'ExecutionCompleted']);
    expect(withHistory.result.history[1]).toMatchObject({ FunctionName: 'hello', Result: 'Hello Tokyo' });
    expect(withHistory.result.history[1]!['ScheduledTime']).toEqual(expect.any(String));
  });

  it('startNew with a version: the orchestration and its versioned sub-orchestration see theirs', async () => {
    const instanceId = unique('client-version');
    await call('startNew', 'versioned', { instanceId, version: '2.0' });
    const status = await waitForStatus(host.url, instanceId);
    expect(status['output']).toEqual({ version: '2.0', child: { version: '3.1', child: null } });
  });

  it('startNew without an instance id generates one', async () => {
    const started = await call<string>('startNew', 'sequence');
    expect(started.ok).toBe(true);
    expect(started.result).toMatch(/^[0-9a-f]{32}$/);
    await waitForStatus(host.url, started.result);
  });

  it('getStatus of an unknown instance throws the SDK 404 error', async () => {
    const status = await call('getStatus', 'no-such-instance');
    expect(status.ok).toBe(false);
    expect(status.error).toContain('404');
  });

  it('getStatusAll and getStatusBy list instances, with filters', async () => {
    const from = new Date(Date.now() - 1000).toISOString();
    const instanceId = unique('client-list');
    await call('startNew', 'sequence', { instanceId });
    await waitForStatus(host.url, instanceId);
    const all = await call<Array<{ instanceId: string }>>('getStatusAll');
    expect(all.result.map((s) => s.instanceId)).toContain(instanceId);
    const completed = await call<Array<{ instanceId: string; runtimeStatus: string }>>('getStatusBy', { createdTimeFrom: from, runtimeStatus: ['Completed'] });
    expect(completed.result.map((s) => s.instanceId)).toContain(instanceId);
    expect(completed.result.every((s) => s.runtimeStatus === 'Completed')).toBe(true);
    const running = await call<Array<{ instanceId: string }>>('getStatusBy', { createdTimeFrom: from, runtimeStatus: ['Running'] });
    expect(running.result.map((s) => s.instanceId)).not.toContain(instanceId);
  });

  it('raiseEvent delivers events; suspend holds them until resume', async () => {
    const instanceId = unique('client-events');
    await call('startNew', 'waitForever', { instanceId });
    await waitForStatus(host.url, instanceId, (s) => s['runtimeStatus'] === 'Running');
    expect((await call('raiseEvent', instanceId, 'go', 1)).ok).toBe(true);
    // A suspend that arrives while the event still waits is applied first: let the first event reach the history.
    await expect.poll(async () => (await readHistory(host.url, instanceId)).some((event) => event['EventType'] === 'EventRaised'), { timeout: 10_000 }).toBe(true);
    expect((await call('suspend', instanceId, 'hold on')).ok).toBe(true);
    await waitForStatus(host.url, instanceId, (s) => s['runtimeStatus'] === 'Suspended');
    expect((await call('raiseEvent', instanceId, 'go', 2)).ok).toBe(true);
    expect((await call<{ runtimeStatus: string }>('getStatus', instanceId)).result.runtimeStatus).toBe('Suspended');
    expect((await call('resume', instanceId, 'go on')).ok).toBe(true);
    const status = await waitForStatus(host.url, instanceId);
    expect(status['output']).toEqual([1, 2]);
    // Held, not lost or early: the history took the second event only after the resume (no sleep needed to see it).
    const order = (await readHistory(host.url, instanceId)).filter((event) => ['EventRaised', 'ExecutionSuspended', 'ExecutionResumed'].includes(String(event['EventType']))).map((event) => (event['EventType'] === 'EventRaised' ? `go ${String(event['Input'])}` : event['EventType']));
    expect(order).toEqual(['go 1', 'ExecutionSuspended', 'ExecutionResumed', 'go 2']);
  });

  it('terminate ends a running instance with the reason as output', async () => {
    const instanceId = unique('client-terminate');
    await call('startNew', 'waitForever', { instanceId });
    await waitForStatus(host.url, instanceId, (s) => s['runtimeStatus'] === 'Running');
    expect((await call('terminate', instanceId, 'no longer needed')).ok).toBe(true);
    const status = await waitForStatus(host.url, instanceId);
    expect(status).toMatchObject({ runtimeStatus: 'Terminated', output: 'no longer needed' });
  });

  it('rewind re-runs only the failed work of a failed instance', async () => {
    await fetch(`${host.url}/api/toggle/broken/true`, { method: 'POST' });
    const instanceId = unique('client-rewind');
    await call('startNew', 'rewindable', { instanceId });
    const failed = await waitForStatus(host.url, instanceId);
    expect(failed['runtimeStatus']).toBe('Failed');
    expect(String(failed['output'])).toContain('breakable is broken');
    await fetch(`${host.url}/api/toggle/broken/false`, { method: 'POST' });
    expect(await call('rewind', instanceId, 'fixed it')).toEqual({ ok: true, result: null });
    const status = await waitForStatus(host.url, instanceId, (s) => s['runtimeStatus'] === 'Completed');
    expect(status['output']).toEqual({ before: 42, fixed: 'fixed:payload' });
    const history = await call<{ history: Array<{ EventType: string; FunctionName?: string }> }>('getStatus', instanceId, { showHistory: true });
    const completed = history.result.history.filter((e) => e.EventType === 'TaskCompleted').map((e) => e.FunctionName);
    expect(completed).toEqual(['recordWork', 'breakable']);
  });

  it('rewind of a parent whose sub-orchestration failed rewinds the child too', async () => {
    await fetch(`${host.url}/api/toggle/broken/true`, { method: 'POST' });
    const instanceId = unique('client-rewind-parent');
    await call('startNew', 'rewindParent', { instanceId });
    expect((await waitForStatus(host.url, instanceId))['runtimeStatus']).toBe('Failed');
    expect((await waitForStatus(host.url, `${instanceId}-child`))['runtimeStatus']).toBe('Failed');
    await fetch(`${host.url}/api/toggle/broken/false`, { method: 'POST' });
    expect(await call('rewind', instanceId, 'fixed')).toEqual({ ok: true, result: null });
    const status = await waitForStatus(host.url, instanceId, (s) => s['runtimeStatus'] === 'Completed');
    expect(status['output']).toEqual({ child: { before: 42, fixed: 'fixed:payload' } });
    expect((await waitForStatus(host.url, `${instanceId}-child`))['runtimeStatus']).toBe('Completed');
  });

  it('purgeInstanceHistory and purgeInstanceHistoryBy delete finished instances', async () => {
    const from = new Date(Date.now() - 1000).toISOString();
    const one = unique('client-purge');
    await call('startNew', 'sequence', { instanceId: one });
    await waitForStatus(host.url, one);
    expect((await call('purgeInstanceHistory', one)).result).toEqual({ instancesDeleted: 1 });
    expect((await call('getStatus', one)).ok).toBe(false);
    const other = unique('client-purge-by');
    await call('startNew', 'waitForever', { instanceId: other });
    await waitForStatus(host.url, other, (s) => s['runtimeStatus'] === 'Running');
    await call('terminate', other, 'to purge');
    await waitForStatus(host.url, other);
    const purged = await call<{ instancesDeleted: number }>('purgeInstanceHistoryBy', { createdTimeFrom: from, runtimeStatus: ['Terminated'] });
    expect(purged.result.instancesDeleted).toBeGreaterThanOrEqual(1);
    expect((await call('getStatus', other)).ok).toBe(false);
  });

  it('createCheckStatusResponse, createHttpManagementPayload and waitForCompletionOrCreateCheckStatusResponse', async () => {
    const instanceId = unique('client-links');
    await call('startNew', 'sequence', { instanceId, input: 'w' });
    const check = await fetch(`${host.url}/api/client/createCheckStatusResponse`, { method: 'POST', body: JSON.stringify([instanceId]) });
    expect(check.status).toBe(202);
    const location = check.headers.get('location')!;
    expect(location.startsWith(`${host.url}/runtime/webhooks/durabletask/instances/${instanceId}`)).toBe(true);
    expect((await fetch(location)).status).toBeLessThan(300);
    const payload = await call<Record<string, string>>('createHttpManagementPayload', instanceId);
    expect(payload.result['id']).toBe(instanceId);
    expect(payload.result['sendEventPostUri']).toContain(`${host.url}/runtime/webhooks/durabletask/instances/${instanceId}/raiseEvent/{eventName}`);
    const waited = await fetch(`${host.url}/api/client/waitForCompletionOrCreateCheckStatusResponse`, {
      method: 'POST',
      body: JSON.stringify([instanceId, { timeoutInMilliseconds: 20_000, retryIntervalInMilliseconds: 200 }]),
    });
    expect(waited.status).toBe(200);
    expect(await waited.json()).toEqual(['Hello Tokyo', 'Hello Seattle', 'w']);
  });

  it('signalEntity and readEntityState, and entities called and signalled from an orchestration', async () => {
    const key = unique('k');
    expect(await call('signalEntity', { name: 'counter', key }, 'add', 3)).toEqual({ ok: true, result: null });
    const readState = async (entityKey: string): Promise<{ entityExists: boolean; entityState?: unknown }> => (await call<{ entityExists: boolean; entityState?: unknown }>('readEntityState', { name: 'counter', key: entityKey })).result;
    await expect.poll(() => readState(key), { timeout: 5000 }).toEqual({ entityExists: true, entityState: 3 });
    expect((await call<{ entityExists: boolean }>('readEntityState', { name: 'counter', key: unique('never') })).result.entityExists).toBe(false);

    const instanceId = unique('client-entity');
    await call('startNew', 'entityFlow', { instanceId, input: key });
    const status = await waitForStatus(host.url, instanceId);
    expect(status['runtimeStatus']).toBe('Completed');
    const output = status['output'] as { value: number; failure: string };
    expect(output.value).toBe(10);
    expect(output.failure).toContain("Operation 'fail' on entity @counter@");

    // An entity signalling another entity.
    const target = unique('t');
    expect((await call('signalEntity', { name: 'counter', key }, 'forward', target)).ok).toBe(true);
    await expect.poll(() => readState(target), { timeout: 5000 }).toEqual({ entityExists: true, entityState: 10 });
    expect((await call('readEntityState', { name: 'counter', key })).result).toEqual({ entityExists: true, entityState: 0 });
  });
});
