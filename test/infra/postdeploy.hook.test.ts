/**
 * The azd postdeploy hook (infra/hooks/postdeploy.mjs) against a fake Azure Resource Manager and a
 * fake Function App on loopback, and a recorded azd: it checks its prerequisites first, waits while
 * the key is missing or ARM is briefly unavailable, fails at once with ARM's own error when access is
 * denied, never prints the key, and provisions again only once the key exists.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HookError, readHookSettings, runPostdeploy } from '../../infra/hooks/postdeploy.mjs';

type Reply = { status: number; body: unknown };

interface FakeAzure {
  baseUrl: string;
  /** Replies to successive listkeys calls; the last one repeats. */
  listKeysReplies: Reply[];
  listKeysCalls: { url: string; authorization: string | undefined }[];
  wakeCalls: number;
}

const secretKey = 'blobs-extension-key-value';

let server: Server;
let fake: FakeAzure;

beforeEach(async () => {
  fake = { baseUrl: '', listKeysReplies: [], listKeysCalls: [], wakeCalls: 0 };
  server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const url = request.url ?? '';
    if (request.method === 'POST' && url.includes('/host/default/listkeys')) {
      fake.listKeysCalls.push({ url, authorization: request.headers.authorization });
      const reply = fake.listKeysReplies[Math.min(fake.listKeysCalls.length - 1, fake.listKeysReplies.length - 1)] ?? { status: 500, body: {} };
      response.writeHead(reply.status, { 'content-type': 'application/json' }).end(JSON.stringify(reply.body));
      return;
    }
    if (url.startsWith('/api/jobs')) {
      fake.wakeCalls++;
      response.writeHead(401).end();
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

describe('postdeploy hook', () => {
  it('names every missing azd variable instead of running half-configured', () => {
    expect(() => readHookSettings({ AZURE_RESOURCE_GROUP: 'rg' })).toThrow(HookError);
    expect(() => readHookSettings({ AZURE_RESOURCE_GROUP: 'rg' })).toThrow(/AZURE_SUBSCRIPTION_ID, AZURE_FUNCTION_APP_NAME, FUNCTION_BASE_URL/);
  });

  it('does nothing once the subscription is part of the deployment', async () => {
    const { outcome, azdCalls } = await runHook(azdEnvironment({ SUBSCRIBE_BLOB_EVENTS: 'True' }));
    expect(outcome).toBeUndefined();
    expect(azdCalls).toEqual([]);
    expect(fake.listKeysCalls).toHaveLength(0);
  });

  it('checks azd and its sign-in before touching Azure, and reports azd\'s own error', async () => {
    const { outcome, azdCalls } = await runHook(azdEnvironment(), async () => {
      throw new HookError('postdeploy: azd gave no Azure Resource Manager token: not logged in. Sign in with: azd auth login');
    });
    expect(outcome).toBeInstanceOf(HookError);
    expect((outcome as Error).message).toContain('azd auth login');
    expect(azdCalls).toEqual([['version']]);
    expect(fake.listKeysCalls).toHaveLength(0);
  });

  it('waits while the key is missing or ARM is briefly unavailable, then provisions with the subscription', async () => {
    fake.listKeysReplies = [
      { status: 200, body: { masterKey: 'm', systemKeys: {} } },
      { status: 503, body: { error: { code: 'ServiceUnavailable', message: 'host starting' } } },
      { status: 200, body: { masterKey: 'm', systemKeys: { blobs_extension: secretKey } } },
    ];
    const { outcome, lines, azdCalls } = await runHook(azdEnvironment());
    expect(outcome).toBeUndefined();
    expect(fake.listKeysCalls).toHaveLength(3);
    expect(fake.listKeysCalls[0]?.authorization).toBe('Bearer arm-token');
    expect(fake.listKeysCalls[0]?.url).toBe(
      '/subscriptions/00000000-0000-0000-0000-00000000000a/resourceGroups/rg-raster/providers/Microsoft.Web/sites/func-abc/host/default/listkeys?api-version=2024-04-01',
    );
    expect(fake.wakeCalls).toBe(3);
    expect(lines.join('\n')).toContain('503 ServiceUnavailable');
    expect(lines.join('\n')).not.toContain(secretKey);
    expect(azdCalls).toEqual([['version'], ['env', 'set', 'SUBSCRIBE_BLOB_EVENTS', 'true'], ['provision', '--no-prompt']]);
  });

  it('fails at once with ARM\'s error when the signed-in identity may not read the keys', async () => {
    fake.listKeysReplies = [{ status: 403, body: { error: { code: 'AuthorizationFailed', message: 'does not have authorization to perform action listkeys' } } }];
    const { outcome, azdCalls } = await runHook(azdEnvironment());
    expect(outcome).toBeInstanceOf(HookError);
    expect((outcome as Error).message).toMatch(/403 AuthorizationFailed: does not have authorization/);
    expect((outcome as Error).message).toContain('azd env set SUBSCRIBE_BLOB_EVENTS true && azd provision');
    expect(fake.listKeysCalls).toHaveLength(1);
    expect(azdCalls).toEqual([['version']]);
  });

  it('gives up after its attempts with the last thing it saw, and provisions nothing', async () => {
    fake.listKeysReplies = [{ status: 200, body: { systemKeys: {} } }];
    const { outcome, azdCalls } = await runHook(azdEnvironment());
    expect(outcome).toBeInstanceOf(HookError);
    expect((outcome as Error).message).toMatch(/no blobs_extension key after 4 attempts; last: the host has no blobs_extension key yet/);
    expect(fake.listKeysCalls).toHaveLength(4);
    expect(azdCalls).toEqual([['version']]);
  });
});
