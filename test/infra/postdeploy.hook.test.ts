/**
 * The azd postdeploy hook (infra/hooks/postdeploy.mjs) against a fake Azure Resource Manager and a
 * fake Function App on loopback, and a recorded azd: it checks its prerequisites first, waits while
 * the upload function is not indexed yet or ARM is briefly unavailable, fails at once with ARM's
 * own error when access is denied or the app does not exist, never reads a key, and provisions
 * again only once the function exists.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HookError, readHookSettings, runPostdeploy, uploadFunctionName } from '../../infra/hooks/postdeploy.mjs';

type Reply = { status: number; body: unknown };

interface FakeAzure {
  baseUrl: string;
  siteReply: Reply;
  /** Replies to successive function lookups; the last one repeats. */
  functionReplies: Reply[];
  functionCalls: { url: string; method: string; authorization: string | undefined }[];
  /** Every ARM request, to prove that no key is ever listed. */
  armCalls: { url: string; method: string }[];
  syncReply: Reply;
  syncCalls: { url: string; authorization: string | undefined }[];
  wakeCalls: number;
}

let server: Server;
let fake: FakeAzure;

const sitePath = '/subscriptions/00000000-0000-0000-0000-00000000000a/resourceGroups/rg-raster/providers/Microsoft.Web/sites/func-abc';

beforeEach(async () => {
  fake = { baseUrl: '', siteReply: { status: 200, body: { name: 'func-abc' } }, functionReplies: [], functionCalls: [], armCalls: [], wakeCalls: 0, syncReply: { status: 204, body: null }, syncCalls: [] };
  server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const url = request.url ?? '';
    const method = request.method ?? 'GET';
    if (url.startsWith('/api/jobs')) {
      fake.wakeCalls++;
      response.writeHead(401).end();
      return;
    }
    fake.armCalls.push({ url, method });
    const reply = (chosen: Reply): void => {
      response.writeHead(chosen.status, { 'content-type': 'application/json' }).end(JSON.stringify(chosen.body));
    };
    if (method === 'GET' && url.startsWith(`${sitePath}/functions/`)) {
      fake.functionCalls.push({ url, method, authorization: request.headers.authorization });
      reply(fake.functionReplies[Math.min(fake.functionCalls.length - 1, fake.functionReplies.length - 1)] ?? { status: 500, body: {} });
      return;
    }
    if (method === 'POST' && url.startsWith(`${sitePath}/host/default/sync?`)) {
      fake.syncCalls.push({ url, authorization: request.headers.authorization });
      reply(fake.syncReply);
      return;
    }
    if (method === 'GET' && url.startsWith(`${sitePath}?`)) {
      reply(fake.siteReply);
      return;
    }
    response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function azdEnvironment(overrides: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    AZURE_SUBSCRIPTION_ID: '00000000-0000-0000-0000-00000000000a',
    AZURE_RESOURCE_GROUP: 'rg-raster',
    AZURE_FUNCTION_APP_NAME: 'func-abc',
    FUNCTION_BASE_URL: fake.baseUrl,
    ...overrides,
  };
}

async function runHook(env: Record<string, string | undefined>, getToken: () => Promise<string> = async () => 'arm-token') {
  const lines: string[] = [];
  const azdCalls: string[][] = [];
  const outcome = await runPostdeploy({
    env,
    log: (line) => lines.push(line),
    getToken,
    azd: (args) => {
      azdCalls.push(args);
    },
    baseUrl: fake.baseUrl,
    attempts: 4,
    intervalMs: 0,
    sleep: async () => undefined,
  }).then(
    () => undefined,
    (error: unknown) => error,
  );
  return { outcome, lines, azdCalls };
}

const notFound: Reply = { status: 404, body: { error: { code: 'NotFound', message: 'Function not found' } } };
const found: Reply = { status: 200, body: { name: `func-abc/${uploadFunctionName}`, properties: { config: { bindings: [{ type: 'eventGridTrigger' }] } } } };

describe('postdeploy hook', () => {
  it('names every missing azd variable instead of running half-configured', () => {
    expect(() => readHookSettings({ AZURE_RESOURCE_GROUP: 'rg' })).toThrow(HookError);
    expect(() => readHookSettings({ AZURE_RESOURCE_GROUP: 'rg' })).toThrow(/AZURE_SUBSCRIPTION_ID, AZURE_FUNCTION_APP_NAME, FUNCTION_BASE_URL/);
  });

  it('only syncs the triggers once the subscription is part of the deployment (every later deploy)', async () => {
    const { outcome, azdCalls, lines } = await runHook(azdEnvironment({ SUBSCRIBE_BLOB_EVENTS: 'True' }));
    expect(outcome).toBeUndefined();
    expect(azdCalls).toEqual([['version']]);
    expect(fake.syncCalls).toEqual([{ url: `${sitePath}/host/default/sync?api-version=2024-04-01`, authorization: 'Bearer arm-token' }]);
    expect(fake.functionCalls).toHaveLength(0);
    expect(lines.join('\n')).toContain('triggers of func-abc synced');
  });

  it('syncs the triggers (azure-functions-host#10169) before it waits for the function, and waits regardless when the sync is refused', async () => {
    fake.syncReply = { status: 409, body: { error: { code: 'Conflict', message: 'host not started' } } };
    fake.functionReplies = [notFound, found];
    const { outcome, lines } = await runHook(azdEnvironment());
    expect(outcome).toBeUndefined();
    expect(fake.syncCalls).toHaveLength(1);
    const order = fake.armCalls.map((call) => call.method + ' ' + call.url.split('?')[0]);
    expect(order.indexOf(`POST ${sitePath}/host/default/sync`)).toBeLessThan(order.indexOf(`GET ${sitePath}/functions/${uploadFunctionName}`));
    expect(lines.join('\n')).toContain('409 Conflict: host not started');
  });

  it('checks azd and its sign-in before touching Azure, and reports azd\'s own error', async () => {
    const { outcome, azdCalls } = await runHook(azdEnvironment(), async () => {
      throw new HookError('postdeploy: azd gave no Azure Resource Manager token: not logged in. Sign in with: azd auth login');
    });
    expect(outcome).toBeInstanceOf(HookError);
    expect((outcome as Error).message).toContain('azd auth login');
    expect(azdCalls).toEqual([['version']]);
    expect(fake.armCalls).toHaveLength(0);
  });

  it('waits while the function is not indexed yet or ARM is briefly unavailable, then provisions with the subscription', async () => {
    fake.functionReplies = [notFound, { status: 503, body: { error: { code: 'ServiceUnavailable', message: 'host starting' } } }, found];
    const { outcome, lines, azdCalls } = await runHook(azdEnvironment());
    expect(outcome).toBeUndefined();
    expect(fake.functionCalls).toHaveLength(3);
    expect(fake.functionCalls[0]?.authorization).toBe('Bearer arm-token');
    expect(fake.functionCalls[0]?.url).toBe(`${sitePath}/functions/ingestUpload?api-version=2024-04-01`);
    expect(fake.wakeCalls).toBe(3);
    expect(lines.join('\n')).toContain('503 ServiceUnavailable');
    expect(azdCalls).toEqual([['version'], ['env', 'set', 'SUBSCRIBE_BLOB_EVENTS', 'true'], ['provision', '--no-prompt']]);
  });

  it('reads no key of the app: only GETs of the site and of the function, and the trigger sync', async () => {
    fake.functionReplies = [notFound, found];
    const { outcome } = await runHook(azdEnvironment());
    expect(outcome).toBeUndefined();
    expect(fake.armCalls.length).toBeGreaterThan(0);
    for (const call of fake.armCalls) {
      expect(call.method === 'GET' || call.url.startsWith(`${sitePath}/host/default/sync?`), call.url).toBe(true);
      expect(call.url.toLowerCase(), call.url).not.toMatch(/key|secret|publishxml|config\/appsettings\/list/);
    }
  });

  it('fails at once with ARM\'s error when the app is missing or may not be read', async () => {
    fake.siteReply = { status: 404, body: { error: { code: 'ResourceNotFound', message: "The Resource 'Microsoft.Web/sites/func-abc' was not found" } } };
    const { outcome, azdCalls } = await runHook(azdEnvironment());
    expect(outcome).toBeInstanceOf(HookError);
    expect((outcome as Error).message).toMatch(/404 ResourceNotFound: The Resource/);
    expect((outcome as Error).message).toContain('azd env set SUBSCRIBE_BLOB_EVENTS true && azd provision');
    expect(fake.functionCalls).toHaveLength(0);
    expect(azdCalls).toEqual([['version']]);
  });

  it('fails at once with ARM\'s error when the signed-in identity may not read the function', async () => {
    fake.functionReplies = [{ status: 403, body: { error: { code: 'AuthorizationFailed', message: 'does not have authorization to perform action read' } } }];
    const { outcome, azdCalls } = await runHook(azdEnvironment());
    expect(outcome).toBeInstanceOf(HookError);
    expect((outcome as Error).message).toMatch(/403 AuthorizationFailed: does not have authorization/);
    expect(fake.functionCalls).toHaveLength(1);
    expect(azdCalls).toEqual([['version']]);
  });

  it('gives up after its attempts with the last thing it saw, and provisions nothing', async () => {
    fake.functionReplies = [notFound];
    const { outcome, azdCalls } = await runHook(azdEnvironment());
    expect(outcome).toBeInstanceOf(HookError);
    expect((outcome as Error).message).toMatch(/no function ingestUpload after 4 attempts; last: the app does not list ingestUpload yet \(404 NotFound/);
    expect(fake.functionCalls).toHaveLength(4);
    expect(azdCalls).toEqual([['version']]);
  });
});
