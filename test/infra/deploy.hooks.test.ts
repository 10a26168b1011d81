/**
 * The azd hooks around provision and deploy against fakes on loopback: preprovision registers the
 * resource providers a fresh subscription lacks (and names the command when it may not), predeploy
 * waits, bounded, while storage refuses the new role assignments (azure-dev#8026), and the
 * host.json hook packages and restores the file in a project folder.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HookError as PreprovisionError, runPreprovision } from '../../infra/hooks/preprovision.mjs';
import { HookError as PredeployError, runPredeploy } from '../../infra/hooks/predeploy.mjs';
import { runHostJsonHook } from '../../infra/hooks/host-json.mjs';

type Handler = (request: IncomingMessage, response: ServerResponse) => void;

let server: Server;
let baseUrl: string;
let handler: Handler;
const calls: { method: string; url: string; authorization: string | undefined }[] = [];

beforeEach(async () => {
  calls.length = 0;
  server = createServer((request, response) => {
    calls.push({ method: request.method ?? '', url: request.url ?? '', authorization: request.headers.authorization });
    handler(request, response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const noWait = { intervalMs: 0, sleep: async () => undefined };

describe('preprovision hook: resource providers', () => {
  const subscription = '00000000-0000-0000-0000-00000000000a';

  it('registers only what is not registered, waits until it is, and says what it did', async () => {
    const states: Record<string, string[]> = { 'Microsoft.App': ['NotRegistered', 'Registering', 'Registered'], 'Microsoft.Web': ['Registered'] };
    handler = (request, response) => {
      const namespace = /\/providers\/([^/?]+)/.exec(request.url ?? '')?.[1] ?? '';
      if (request.method === 'POST') return void response.writeHead(200).end('{}');
      const sequence = states[namespace] ?? ['Registered'];
      const state = sequence.length > 1 ? sequence.shift() : sequence[0];
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ registrationState: state }));
    };
    const lines: string[] = [];
    const registered = await runPreprovision({
      env: { AZURE_SUBSCRIPTION_ID: subscription },
      log: (line) => lines.push(line),
      getToken: async () => 'arm-token',
      baseUrl,
      providers: ['Microsoft.App', 'Microsoft.Web'],
      ...noWait,
    });
    expect(registered).toEqual(['Microsoft.App']);
    expect(calls.filter((call) => call.method === 'POST').map((call) => call.url)).toEqual([`/subscriptions/${subscription}/providers/Microsoft.App/register?api-version=2021-04-01`]);
    expect(calls.every((call) => call.authorization === 'Bearer arm-token')).toBe(true);
    expect(lines.join('\n')).toContain('registered Microsoft.App');
  });

  it('names the providers and the az command when the identity may not register them', async () => {
    handler = (request, response) => {
      if (request.method === 'POST') {
        return void response.writeHead(403, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'AuthorizationFailed', message: 'no register action' } }));
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ registrationState: 'NotRegistered' }));
    };
    const outcome = await runPreprovision({ env: { AZURE_SUBSCRIPTION_ID: subscription }, log: () => undefined, getToken: async () => 't', baseUrl, providers: ['Microsoft.DurableTask'], ...noWait }).catch((error: unknown) => error);
    expect(outcome).toBeInstanceOf(PreprovisionError);
    expect((outcome as Error).message).toMatch(/403 AuthorizationFailed: no register action/);
    expect((outcome as Error).message).toContain('az provider register --namespace Microsoft.DurableTask');
  });

  it('gives up after its looks when a provider stays Registering', async () => {
    handler = (_request, response) => response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ registrationState: 'Registering' }));
    const outcome = await runPreprovision({ env: { AZURE_SUBSCRIPTION_ID: subscription }, log: () => undefined, getToken: async () => 't', baseUrl, providers: ['Microsoft.App'], attempts: 3, ...noWait }).catch((error: unknown) => error);
    expect((outcome as Error).message).toMatch(/Microsoft\.App still not registered after 3 looks/);
    expect(calls.filter((call) => call.method === 'POST')).toHaveLength(0);
  });

  it('needs the subscription azd chose', async () => {
    await expect(runPreprovision({ env: {}, getToken: async () => 't' })).rejects.toThrow(/AZURE_SUBSCRIPTION_ID not set/);
  });
});

describe('predeploy hook: storage data plane access', () => {
  const env = (): Record<string, string> => ({ STORAGE_BLOB_ENDPOINT: `${baseUrl}/`, AZURE_FUNCTION_DEPLOYMENT_CONTAINER: 'app-package-func-abc' });
  const refusal = (response: ServerResponse, code: string): void => void response.writeHead(403, { 'x-ms-error-code': code }).end(`<Error><Code>${code}</Code></Error>`);

  it('waits while storage refuses the new role (AuthorizationPermissionMismatch), then lets the deploy go on', async () => {
    let looks = 0;
    handler = (_request, response) => (++looks < 3 ? refusal(response, 'AuthorizationPermissionMismatch') : void response.writeHead(200).end('<EnumerationResults/>'));
    const lines: string[] = [];
    const attempts = await runPredeploy({ env: env(), log: (line) => lines.push(line), getToken: async () => 'storage-token', ...noWait });
    expect(attempts).toBe(3);
    expect(calls[0]?.url).toBe('/app-package-func-abc?restype=container&comp=list&maxresults=1');
    expect(calls[0]?.authorization).toBe('Bearer storage-token');
    expect(lines.join('\n')).toContain('(1/30): 403 AuthorizationPermissionMismatch');
  });

  it('gives up after a bounded number of looks, with what to do', async () => {
    handler = (_request, response) => refusal(response, 'AuthorizationPermissionMismatch');
    const outcome = await runPredeploy({ env: env(), log: () => undefined, getToken: async () => 't', attempts: 4, ...noWait }).catch((error: unknown) => error);
    expect(outcome).toBeInstanceOf(PredeployError);
    expect((outcome as Error).message).toMatch(/after 4 looks \(last: 403 AuthorizationPermissionMismatch\).*run azd deploy again/);
    expect(calls).toHaveLength(4);
  });

  it('fails at once on what waiting cannot fix (a missing container)', async () => {
    handler = (_request, response) => void response.writeHead(404, { 'x-ms-error-code': 'ContainerNotFound' }).end();
    const outcome = await runPredeploy({ env: env(), log: () => undefined, getToken: async () => 't', ...noWait }).catch((error: unknown) => error);
    expect((outcome as Error).message).toMatch(/404 ContainerNotFound/);
    expect(calls).toHaveLength(1);
  });

  it('looks at nothing with network isolation, and names missing outputs otherwise', async () => {
    await expect(runPredeploy({ env: { NETWORK_ISOLATION: 'true' }, log: () => undefined, getToken: async () => 't' })).resolves.toBe(0);
    expect(calls).toHaveLength(0);
    await expect(runPredeploy({ env: {}, log: () => undefined, getToken: async () => 't' })).rejects.toThrow(/STORAGE_BLOB_ENDPOINT, AZURE_FUNCTION_DEPLOYMENT_CONTAINER not set/);
  });
});

describe('host.json hook', () => {
  it('packages the scheduler variant into the project folder and restores the checked-in file', () => {
    const project = mkdtempSync(join(tmpdir(), 'host-json-hook-'));
    try {
      const original = readFileSync(join(import.meta.dirname, '..', '..', 'host.json'), 'utf8');
      writeFileSync(join(project, 'host.json'), original);
      const lines: string[] = [];
      runHostJsonHook({ command: 'package', env: { DURABLE_BACKEND: 'DurableTaskScheduler' }, projectDir: project, log: (line) => lines.push(line) });
      const packaged = JSON.parse(readFileSync(join(project, 'host.json'), 'utf8')) as { extensions: { durableTask: { storageProvider: unknown } } };
      expect(packaged.extensions.durableTask.storageProvider).toEqual({ type: 'azureManaged', connectionStringName: 'DURABLE_TASK_SCHEDULER_CONNECTION_STRING' });
      expect(lines.join('\n')).toContain('packaged for DurableTaskScheduler');
      runHostJsonHook({ command: 'restore', projectDir: project });
      expect(readFileSync(join(project, 'host.json'), 'utf8')).toBe(original);
      expect(() => runHostJsonHook({ command: 'publish', projectDir: project })).toThrow(/unknown command "publish"/);
    } finally {
      rmSync(project, { recursive: true, force: true });
    }
  });
});
