import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { json, startHostProcess, startOrchestration, waitForStatus, type HostProcess } from './support/host.process.js';

/** The Durable management HTTP API's routes and status codes, as Azure documents them. */
let host: HostProcess;
let api: string;

beforeAll(async () => {
  host = await startHostProcess({ storage: inject('storageConnectionString'), hub: `Mgmt${Date.now() % 1e8}` });
  api = `${host.url}/runtime/webhooks/durabletask`;
});

afterAll(async () => {
  await host?.stop();
});

const unique = (prefix: string): string => `${prefix}-${Date.now()}-${Math.random().toString(16).slice(2, 8)}`;
const post = (url: string, body?: unknown): Promise<Response> => fetch(url, { method: 'POST', body: body === undefined ? '' : JSON.stringify(body) });

describe('management API', () => {
  it('starts instances (202 + Location), rejects unknown orchestrators (400) and running duplicates (409)', async () => {
    const id = unique('mgmt-start');
    const started = await post(`${api}/orchestrators/waitForever/${id}`);
    expect(started.status).toBe(202);
    expect(started.headers.get('location')).toMatch(new RegExp(`^${host.url}/runtime/webhooks/durabletask/instances/${id}\\?taskHub=Mgmt\\d+&connection=Storage$`));
    expect((await json(started)).id).toBe(id);
    expect((await post(`${api}/orchestrators/noSuchOrchestrator`)).status).toBe(400);
    expect((await post(`${api}/orchestrators/waitForever/${id}`)).status).toBe(409);
    const malformed = await fetch(`${api}/orchestrators/sequence`, { method: 'POST', body: '{not json' });
    expect(malformed.status).toBe(400);
    await post(`${api}/instances/${id}/terminate?reason=cleanup`);
  });

  it('waits for completion when asked to (timeout query) and answers 200 with the output', async () => {
    const response = await post(`${api}/orchestrators/sequence?timeout=20&pollingInterval=1`, 'x');
    expect(response.status).toBe(200);
    expect(await json(response)).toEqual(['Hello Tokyo', 'Hello Seattle', 'x']);
  });

  it('answers status with 404 unknown, 202 running, 200 completed, 400 failed or terminated', async () => {
    expect((await fetch(`${api}/instances/${unique('nobody')}`)).status).toBe(404);
    const running = await startOrchestration(host.url, 'waitForever');
    await waitForStatus(host.url, running, (s) => s['runtimeStatus'] === 'Running');
    const runningResponse = await fetch(`${api}/instances/${running}`);
    expect(runningResponse.status).toBe(202);
    expect(runningResponse.headers.get('location')).toContain(`/instances/${running}`);
    expect(runningResponse.headers.get('retry-after')).toBe('10');
    expect((await post(`${api}/instances/${running}/terminate?reason=stop`)).status).toBe(202);
    await waitForStatus(host.url, running);
    expect((await fetch(`${api}/instances/${running}`)).status).toBe(400);

    const completed = await startOrchestration(host.url, 'sequence');
    await waitForStatus(host.url, completed);
    expect((await fetch(`${api}/instances/${completed}`)).status).toBe(200);

    const failed = await startOrchestration(host.url, 'hugeStatus');
    await waitForStatus(host.url, failed);
    const failedResponse = await fetch(`${api}/instances/${failed}`);
    expect(failedResponse.status).toBe(400);
    expect((await json(failedResponse)).runtimeStatus).toBe('Failed');
  });

  it('answers 404 for operations on unknown instances and 410 for finished ones', async () => {
    const nobody = unique('nobody');
    expect((await post(`${api}/instances/${nobody}/raiseEvent/go`, 1)).status).toBe(404);
    expect((await post(`${api}/instances/${nobody}/terminate?reason=x`)).status).toBe(404);
    expect((await post(`${api}/instances/${nobody}/suspend?reason=x`)).status).toBe(404);
    expect((await post(`${api}/instances/${nobody}/resume?reason=x`)).status).toBe(404);
    expect((await post(`${api}/instances/${nobody}/rewind?reason=x`)).status).toBe(404);
    expect((await post(`${api}/instances/${nobody}/restart`)).status).toBe(404);
    const done = await startOrchestration(host.url, 'sequence');
    await waitForStatus(host.url, done);
    expect((await post(`${api}/instances/${done}/raiseEvent/go`, 1)).status).toBe(410);
    expect((await post(`${api}/instances/${done}/terminate?reason=x`)).status).toBe(410);
    expect((await post(`${api}/instances/${done}/suspend?reason=x`)).status).toBe(410);
    expect((await post(`${api}/instances/${done}/rewind?reason=x`)).status).toBe(412);
  });

  it('returns history in the documented shape with showHistory / showHistoryOutput / showInput', async () => {
    const id = await startOrchestration(host.url, 'sequence', { city: 'Oslo' });
    await waitForStatus(host.url, id);
    const withOutput = await json(fetch(`${api}/instances/${id}?showHistory=true&showHistoryOutput=true`));
    expect(withOutput.input).toEqual({ city: 'Oslo' });
    expect(withOutput.historyEvents.map((e: { EventType: string }) => e.EventType)).toEqual(['ExecutionStarted', 'TaskCompleted', 'TaskCompleted', 'ExecutionCompleted']);
    expect(withOutput.historyEvents[0]).toMatchObject({ EventType: 'ExecutionStarted', FunctionName: 'sequence', Timestamp: expect.any(String) });
    expect(withOutput.historyEvents[1]).toMatchObject({ FunctionName: 'hello', Result: 'Hello Tokyo', ScheduledTime: expect.any(String), Timestamp: expect.any(String) });
    expect(withOutput.historyEvents[3]).toMatchObject({ OrchestrationStatus: 'Completed', Result: ['Hello Tokyo', 'Hello Seattle', { city: 'Oslo' }] });
    const withoutOutput = await json(fetch(`${api}/instances/${id}?showHistory=true&showInput=false`));
    expect(withoutOutput.input).toBeNull();
    expect(withoutOutput.historyEvents[1].Result).toBeUndefined();
    const noHistory = await json(fetch(`${api}/instances/${id}`));
    expect(noHistory.historyEvents).toBeUndefined();
    expect(Object.keys(noHistory).sort()).toEqual(['createdTime', 'customStatus', 'input', 'instanceId', 'lastUpdatedTime', 'name', 'output', 'runtimeStatus']);
  });

  it('lists with filters and pages with top and x-ms-continuation-token', async () => {
    const prefix = unique('page');
    const ids = [`${prefix}-a`, `${prefix}-b`, `${prefix}-c`];
    for (const id of ids) await startOrchestration(host.url, 'sequence', undefined, id);
    for (const id of ids) await waitForStatus(host.url, id);
    const first = await fetch(`${api}/instances?instanceIdPrefix=${prefix}&top=2`);
    expect(first.status).toBe(200);
    const token = first.headers.get('x-ms-continuation-token');
    expect(token).toBeTruthy();
    const firstPage = (await json(first)) as Array<{ instanceId: string }>;
    expect(firstPage).toHaveLength(2);
    const second = await fetch(`${api}/instances?instanceIdPrefix=${prefix}&top=2`, { headers: { 'x-ms-continuation-token': token! } });
    const secondPage = (await json(second)) as Array<{ instanceId: string }>;
    expect([...firstPage, ...secondPage].map((s) => s.instanceId).sort()).toEqual(ids);
    expect(second.headers.get('x-ms-continuation-token')).toBeNull();

    const future = new Date(Date.now() + 3_600_000).toISOString();
    expect(await json(fetch(`${api}/instances?instanceIdPrefix=${prefix}&createdTimeFrom=${future}`))).toEqual([]);
    expect(await json(fetch(`${api}/instances?instanceIdPrefix=${prefix}&runtimeStatus=Running,Pending`))).toEqual([]);
    const completed = (await json(fetch(`${api}/instances?instanceIdPrefix=${prefix}&runtimeStatus=Completed`))) as unknown[];
    expect(completed).toHaveLength(3);
    expect((await fetch(`${api}/instances?runtimeStatus=Sleeping`)).status).toBe(400);
  });

  it('restarts an instance with a new id or the same id', async () => {
    const id = await startOrchestration(host.url, 'sequence', 'again');
    await waitForStatus(host.url, id);
    const restarted = await post(`${api}/instances/${id}/restart`);
    expect(restarted.status).toBe(202);
    const newId = (await json(restarted)).id as string;
    expect(newId).not.toBe(id);
    expect((await waitForStatus(host.url, newId))['output']).toEqual(['Hello Tokyo', 'Hello Seattle', 'again']);
    const same = await post(`${api}/instances/${id}/restart?restartWithNewInstanceId=false`);
    expect(same.status).toBe(202);
    expect((await json(same)).id).toBe(id);
    expect((await waitForStatus(host.url, id, (s) => s['runtimeStatus'] === 'Completed'))['output']).toEqual(['Hello Tokyo', 'Hello Seattle', 'again']);
  });

  it('purges one instance (200, then 404) and by filter (400 without createdTimeFrom)', async () => {
    const id = await startOrchestration(host.url, 'sequence');
    await waitForStatus(host.url, id);
    const purged = await fetch(`${api}/instances/${id}`, { method: 'DELETE' });
    expect(purged.status).toBe(200);
    expect(await json(purged)).toEqual({ instancesDeleted: 1 });
    expect((await fetch(`${api}/instances/${id}`, { method: 'DELETE' })).status).toBe(404);
    expect((await fetch(`${api}/instances/${id}`)).status).toBe(404);
    expect((await fetch(`${api}/instances/`, { method: 'DELETE' })).status).toBe(400);
    const from = new Date(Date.now() - 500).toISOString();
    const another = await startOrchestration(host.url, 'sequence');
    await waitForStatus(host.url, another);
    const byFilter = await fetch(`${api}/instances/?createdTimeFrom=${from}&runtimeStatus=Completed`, { method: 'DELETE' });
    expect(byFilter.status).toBe(200);
    expect((await json(byFilter)).instancesDeleted).toBeGreaterThanOrEqual(1);
  });

  it('signals entities (202), reads their state (200) and answers 404 for unknown entities', async () => {
    const key = unique('m');
    expect((await post(`${api}/entities/counter/${key}?op=add`, 4)).status).toBe(202);
    expect((await post(`${api}/entities/noSuchEntity/${key}?op=add`, 4)).status).toBe(404);
    await expect.poll(async () => (await fetch(`${api}/entities/counter/${key}`)).status, { timeout: 5000, interval: 50 }).toBe(200);
    expect(await json(fetch(`${api}/entities/counter/${key}`))).toBe(4);
    expect((await fetch(`${api}/entities/counter/${unique('none')}`)).status).toBe(404);
  });
});
