import type { Context, Hono } from 'hono';
import { BadRequestError, ConflictError, type InstanceOperations } from '../engine/instance.operations.js';
import { EventType, eventTypeNames, type HistoryEvent } from '../engine/history.js';
import { terminalStatuses, type InstanceRecord, type RuntimeStatus } from '../storage/task.hub.store.js';
import { managementPayload, rpcPath, webhookPath, type HostEndpoints } from './client.binding.js';

const runtimeStatuses: ReadonlySet<string> = new Set(['Pending', 'Running', 'Completed', 'ContinuedAsNew', 'Failed', 'Canceled', 'Terminated', 'Suspended']);

function parseJson(text: string | undefined): unknown {
  if (text === undefined || text === null) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function isoSeconds(date: Date | undefined): string | undefined {
  return date ? date.toISOString().replace(/\.\d{3}Z$/, 'Z') : undefined;
}

function truthy(value: string | undefined, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  return value.toLowerCase() === 'true';
}

/** History in the documented shape of `showHistory=true`: scheduling events folded into results. */
export function documentedHistory(events: HistoryEvent[], showOutput: boolean): Array<Record<string, unknown>> {
  const scheduled = new Map<number, HistoryEvent>();
  const result: Array<Record<string, unknown>> = [];
  for (const event of events) {
    const base = { EventType: eventTypeNames[event.EventType] ?? String(event.EventType), Timestamp: event.Timestamp };
    switch (event.EventType) {
      case EventType.ExecutionStarted:
        result.push({ ...base, FunctionName: event.Name, Correlation: null });
        break;
      case EventType.TaskScheduled:
      case EventType.SubOrchestrationInstanceCreated:
        scheduled.set(event.EventId, event);
        break;
      case EventType.TaskCompleted:
      case EventType.SubOrchestrationInstanceCompleted: {
        const origin = scheduled.get(event.TaskScheduledId ?? -1);
        result.push({
          ...base,
          FunctionName: origin?.Name,
          ...(event.EventType === EventType.SubOrchestrationInstanceCompleted ? { InstanceId: origin?.InstanceId } : {}),
          ScheduledTime: origin?.Timestamp,
          ...(showOutput ? { Result: parseJson(event.Result) } : {}),
        });
        break;
      }
      case EventType.TaskFailed:
      case EventType.SubOrchestrationInstanceFailed: {
        const origin = scheduled.get(event.TaskScheduledId ?? -1);
        result.push({ ...base, FunctionName: origin?.Name, ScheduledTime: origin?.Timestamp, Reason: event.Reason, Details: event.Details });
        break;
      }
      case EventType.TimerFired:
        result.push({ ...base, FireAt: event.FireAt, TimerId: event.TimerId });
        break;
      case EventType.EventRaised:
        result.push({ ...base, Name: event.Name, ...(showOutput ? { Input: parseJson(event.Input) } : {}) });
        break;
      case EventType.ContinueAsNew:
        result.push({ ...base, ...(showOutput ? { Input: parseJson(event.Input) } : {}) });
        break;
      case EventType.ExecutionTerminated:
        result.push({ ...base, Reason: parseJson(event.Input) });
        break;
      case EventType.ExecutionSuspended:
      case EventType.ExecutionResumed:
        result.push({ ...base, Reason: event.Reason });
        break;
      case EventType.ExecutionCompleted:
        result.push({ ...base, OrchestrationStatus: event.OrchestrationStatus, ...(showOutput ? { Result: parseJson(event.Result) } : {}) });
        break;
      default:
        break;
    }
  }
  return result;
}

function statusJson(record: InstanceRecord, payloads: { input: string | undefined; output: string | undefined; customStatus: string | undefined }, showInput: boolean): Record<string, unknown> {
  return {
    name: record.name,
    instanceId: record.instanceId,
    runtimeStatus: record.runtimeStatus,
    input: showInput ? parseJson(payloads.input) : null,
    customStatus: parseJson(payloads.customStatus),
    output: parseJson(payloads.output),
    createdTime: isoSeconds(record.createdTime),
    lastUpdatedTime: isoSeconds(record.lastUpdatedTime),
  };
}

function parseDate(name: string, value: string | undefined): Date | undefined {
  if (!value) return undefined;
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new BadRequestError(`${name} must be an ISO 8601 date-time, got '${value}'`);
  return date;
}

function parseStatuses(value: string | undefined): RuntimeStatus[] | undefined {
  if (!value) return undefined;
  const statuses = value.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = statuses.filter((s) => !runtimeStatuses.has(s));
  if (unknown.length) throw new BadRequestError(`Unknown runtimeStatus ${unknown.join(', ')}; use ${[...runtimeStatuses].join(', ')}`);
  return statuses as RuntimeStatus[];
}

async function readBody(c: Context): Promise<string | undefined> {
  const text = await c.req.text();
  if (!text.trim()) return undefined;
  try {
    JSON.parse(text);
  } catch {
    throw new BadRequestError('The request body must be JSON (the value to pass to the orchestration).');
  }
  return text;
}

function wrap(handler: (c: Context) => Promise<Response>): (c: Context) => Promise<Response> {
  return async (c) => {
    try {
      return await handler(c);
    } catch (error) {
      if (error instanceof BadRequestError) return c.json({ error: error.message }, 400);
      if (error instanceof ConflictError) return c.json({ error: error.message }, 409);
      return c.json({ error: (error as Error).message }, 500);
    }
  };
}

/**
 * The Durable Functions HTTP management API, on the public webhook path and on the RPC path the
 * SDK's DurableClient calls (`rpcBaseUrl`), with the status codes Azure documents.
 */
export function registerManagementApi(app: Hono, instances: InstanceOperations, endpoints: () => HostEndpoints): void {
  for (const base of [webhookPath, rpcPath]) {
    const isPublic = base === webhookPath;

    const startHandler = wrap(async (c) => {
      const name = c.req.param('name')!;
      const instanceId = c.req.param('instanceId');
      const input = await readBody(c);
      const id = await instances.startNew(name, { instanceId, input, version: c.req.query('version') });
      const payload = managementPayload(endpoints(), id);
      const timeoutSeconds = c.req.query('timeout');
      if (timeoutSeconds !== undefined) {
        const deadline = Date.now() + Number(timeoutSeconds) * 1000;
        const interval = Math.max(100, Number(c.req.query('pollingInterval') ?? 1) * 1000);
        for (;;) {
          const found = await instances.getRecord(id);
          if (found && terminalStatuses.has(found.record.runtimeStatus)) {
            if (found.record.runtimeStatus === 'Completed') return c.json(parseJson(found.output), 200);
            return c.json(statusJson(found.record, found, true), found.record.runtimeStatus === 'Failed' ? 500 : 200);
          }
          if (Date.now() + interval > deadline) break;
          await new Promise((resolve) => setTimeout(resolve, interval));
        }
      }
      return c.json(payload, 202, { Location: payload['statusQueryGetUri']!, 'Retry-After': '10' });
    });
    app.post(`${base}/orchestrators/:name/:instanceId?`, startHandler);

    const getHandler = wrap(async (c) => {
      const instanceId = c.req.param('instanceId');
      if (!instanceId) return listHandler(c);
      const found = await instances.getRecord(instanceId);
      if (!found) return c.json({ error: `No instance with ID '${instanceId}' found.` }, 404);
      const body = statusJson(found.record, found, truthy(c.req.query('showInput'), true));
      if (truthy(c.req.query('showHistory'), false)) {
        const events = documentedHistory((await instances.getHistory(instanceId)) ?? [], truthy(c.req.query('showHistoryOutput'), false));
        body['historyEvents'] = events;
        // The JS SDK's DurableOrchestrationStatus reads `history`.
        body['history'] = events;
      }
      const status = found.record.runtimeStatus;
      if (status === 'Failed' || status === 'Terminated' || status === 'Canceled') return c.json(body, 400);
      if (status === 'Completed') return c.json(body, 200);
      const location = managementPayload(endpoints(), instanceId)['statusQueryGetUri']!;
      return c.json(body, 202, { Location: location, 'Retry-After': '10' });
    });

    const listHandler = wrap(async (c) => {
      const top = c.req.query('top');
      const page = await instances.listInstances({
        createdTimeFrom: parseDate('createdTimeFrom', c.req.query('createdTimeFrom')),
        createdTimeTo: parseDate('createdTimeTo', c.req.query('createdTimeTo')),
        runtimeStatus: parseStatuses(c.req.query('runtimeStatus')),
        instanceIdPrefix: c.req.query('instanceIdPrefix'),
        top: top ? Number(top) : undefined,
        continuationToken: c.req.header('x-ms-continuation-token') || undefined,
      });
      const showInput = truthy(c.req.query('showInput'), false);
      const items = page.items.map(({ record, payloads }) => statusJson(record, payloads, showInput));
      return c.json(items, 200, page.continuationToken ? { 'x-ms-continuation-token': page.continuationToken } : {});
    });
    app.get(`${base}/instances/:instanceId`, getHandler);
    app.get(`${base}/instances`, listHandler);
    app.get(`${base}/instances/`, listHandler);

    const operation = (op: 'terminate' | 'suspend' | 'resume') =>
      wrap(async (c) => {
        const instanceId = c.req.param('instanceId')!;
        const reason = c.req.query('reason') ?? '';
        const result = await instances[op](instanceId, reason);
        if (result === 'notFound') return c.json({ error: `No instance with ID '${instanceId}' found.` }, 404);
        if (result === 'gone') return c.json({ error: `Instance '${instanceId}' has already finished.` }, 410);
        return c.body(null, 202);
      });
    app.post(`${base}/instances/:instanceId/terminate`, operation('terminate'));
    app.post(`${base}/instances/:instanceId/suspend`, operation('suspend'));
    app.post(`${base}/instances/:instanceId/resume`, operation('resume'));

    app.post(
      `${base}/instances/:instanceId/raiseEvent/:eventName`,
      wrap(async (c) => {
        const instanceId = c.req.param('instanceId')!;
        const text = await c.req.text();
        let data: string | undefined;
        if (text.trim()) {
          try {
            data = JSON.stringify(JSON.parse(text));
          } catch {
            return c.json({ error: 'The event data must be JSON.' }, 400);
          }
        }
        const result = await instances.raiseEvent(instanceId, c.req.param('eventName')!, data);
        if (result === 'notFound') return c.json({ error: `No instance with ID '${instanceId}' found.` }, 404);
        if (result === 'gone') return c.json({ error: `Instance '${instanceId}' has already finished and can no longer receive events.` }, 410);
        return c.body(null, 202);
      }),
    );

    app.post(
      `${base}/instances/:instanceId/rewind`,
      wrap(async (c) => {
        const instanceId = c.req.param('instanceId')!;
        const result = await instances.rewind(instanceId, c.req.query('reason') ?? '');
        if (result === 'notFound') return c.json({ error: `No instance with ID '${instanceId}' found.` }, 404);
        if (result === 'notFailed') return c.json({ error: `Instance '${instanceId}' is not in the Failed state; only failed instances can be rewound.` }, 412);
        return c.body(null, 202);
      }),
    );

    app.post(
      `${base}/instances/:instanceId/restart`,
      wrap(async (c) => {
        const instanceId = c.req.param('instanceId')!;
        const newId = await instances.restart(instanceId, truthy(c.req.query('restartWithNewInstanceId'), true));
        if (!newId) return c.json({ error: `No instance with ID '${instanceId}' found.` }, 404);
        const payload = managementPayload(endpoints(), newId);
        return c.json(payload, 202, { Location: payload['statusQueryGetUri']! });
      }),
    );

    app.delete(
      `${base}/instances/:instanceId`,
      wrap(async (c) => {
        const instanceId = c.req.param('instanceId')!;
        const deleted = await instances.purge(instanceId);
        if (!deleted) return c.json({ error: `No instance with ID '${instanceId}' found.` }, 404);
        return c.json({ instancesDeleted: deleted }, 200);
      }),
    );
    const purgeBy = wrap(async (c) => {
      const createdTimeFrom = parseDate('createdTimeFrom', c.req.query('createdTimeFrom'));
      if (isPublic && !createdTimeFrom) return c.json({ error: 'createdTimeFrom is required to purge instances by filter.' }, 400);
      const deleted = await instances.purgeBy({
        createdTimeFrom,
        createdTimeTo: parseDate('createdTimeTo', c.req.query('createdTimeTo')),
        runtimeStatus: parseStatuses(c.req.query('runtimeStatus')),
      });
      if (!deleted) return c.json({ error: 'No instances matched the filter.' }, 404);
      return c.json({ instancesDeleted: deleted }, 200);
    });
    app.delete(`${base}/instances`, purgeBy);
    app.delete(`${base}/instances/`, purgeBy);

    app.post(
      `${base}/entities/:name/:key`,
      wrap(async (c) => {
        const name = c.req.param('name')!;
        const operation = c.req.query('op') ?? '';
        const text = await c.req.text();
        let input: string | undefined;
        if (text.trim()) {
          try {
            input = JSON.stringify(JSON.parse(text));
          } catch {
            return c.json({ error: 'The operation input must be JSON.' }, 400);
          }
        }
        const accepted = await instances.signalEntity(name, c.req.param('key')!, operation, input);
        if (!accepted) return c.json({ error: `No entity function named '${name}' in this app.` }, 404);
        return c.body(null, 202);
      }),
    );
    app.get(
      `${base}/entities/:name/:key`,
      wrap(async (c) => {
        const state = await instances.readEntityState(c.req.param('name')!, c.req.param('key')!);
        if (state === undefined) return c.json({ error: `Entity @${c.req.param('name')}@${c.req.param('key')} does not exist.` }, 404);
        return c.body(state, 200, { 'content-type': 'application/json' });
      }),
    );
  }
}
