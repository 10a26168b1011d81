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
import { stableId } from '../../infra/hooks/app-registration.mjs';
import { appRoles } from '../../src/api/access.js';

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
    const { registered } = await runPreprovision({
      env: { AZURE_SUBSCRIPTION_ID: subscription, AUTH_APP_REGISTRATION: 'skip' },
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
    const outcome = await runPreprovision({ env: { AZURE_SUBSCRIPTION_ID: subscription, AUTH_APP_REGISTRATION: 'skip' }, log: () => undefined, getToken: async () => 't', baseUrl, providers: ['Microsoft.DurableTask'], ...noWait }).catch((error: unknown) => error);
    expect(outcome).toBeInstanceOf(PreprovisionError);
    expect((outcome as Error).message).toMatch(/403 AuthorizationFailed: no register action/);
    expect((outcome as Error).message).toContain('az provider register --namespace Microsoft.DurableTask');
  });

  it('gives up after its looks when a provider stays Registering', async () => {
    handler = (_request, response) => response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ registrationState: 'Registering' }));
    const outcome = await runPreprovision({ env: { AZURE_SUBSCRIPTION_ID: subscription, AUTH_APP_REGISTRATION: 'skip' }, log: () => undefined, getToken: async () => 't', baseUrl, providers: ['Microsoft.App'], attempts: 3, ...noWait }).catch((error: unknown) => error);
    expect((outcome as Error).message).toMatch(/Microsoft\.App still not registered after 3 looks/);
    expect(calls.filter((call) => call.method === 'POST')).toHaveLength(0);
  });

  it('makes the API\'s app registration through Microsoft Graph (upsert by unique name), with its roles, scope URI, service principal and the deployer as admin, and sets AUTH_CLIENT_ID', async () => {
    const appId = '99999999-8888-4777-8666-555555555555';
    const bodies: { method: string; url: string; body: string; prefer: string | undefined }[] = [];
    let principalExists = false;
    handler = (request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const url = request.url ?? '';
        bodies.push({ method: request.method ?? '', url, body: Buffer.concat(chunks).toString(), prefer: request.headers['prefer'] as string | undefined });
        const send = (status: number, body: unknown = {}): void => void response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
        if (url.startsWith('/subscriptions/')) return send(200, { registrationState: 'Registered' });
        if (url.startsWith("/graph/applications(uniqueName='raster-ingest-dev')")) return request.method === 'GET' ? send(200, { id: 'object-id', appId }) : send(204);
        if (url.startsWith(`/graph/servicePrincipals(appId='${appId}')`)) return principalExists ? send(200, { id: 'sp-id' }) : send(404, { error: { code: 'Request_ResourceNotFound', message: 'no' } });
        if (url === '/graph/servicePrincipals') return (principalExists = true), send(201, { id: 'sp-id' });
        if (url === '/graph/servicePrincipals/sp-id/appRoleAssignedTo') return send(201, {});
        send(404);
      });
    };
    const azdCalls: string[][] = [];
    const tokenScopes: string[] = [];
    const run = () =>
      runPreprovision({
        env: { AZURE_SUBSCRIPTION_ID: subscription, AZURE_ENV_NAME: 'dev', AZURE_PRINCIPAL_ID: 'user-object-id', FUNCTION_BASE_URL: 'https://func-abc.azurewebsites.net' },
        log: () => undefined,
        getToken: async (_tenant, scope) => (tokenScopes.push(scope), scope.includes('graph') ? 'graph-token' : 'arm-token'),
        azd: (args) => void azdCalls.push(args),
        baseUrl,
        graphBaseUrl: `${baseUrl}/graph`,
        providers: ['Microsoft.Web'],
        ...noWait,
      });
    const { authClientId } = await run();
    expect(authClientId).toBe(appId);
    expect(tokenScopes).toEqual(['https://management.azure.com/.default', 'https://graph.microsoft.com/.default']);
    expect(azdCalls).toEqual([['env', 'set', 'AUTH_CLIENT_ID', appId]]);
    const upsert = bodies.find((call) => call.method === 'PATCH' && call.prefer === 'create-if-missing');
    const registration = JSON.parse(upsert?.body ?? '{}') as { appRoles: { value: string; id: string }[]; web: { redirectUris: string[]; implicitGrantSettings: { enableIdTokenIssuance: boolean } }; signInAudience: string };
    // The roles the app checks, with ids that stay the same from run to run.
    expect(registration.appRoles.map((role) => role.value)).toEqual([...appRoles]);
    expect(registration.appRoles.map((role) => role.id)).toEqual(appRoles.map((role) => stableId(`app-role:${role}`)));
    expect(registration.web.redirectUris).toEqual(['https://func-abc.azurewebsites.net/.auth/login/aad/callback']);
    expect(registration.web.implicitGrantSettings.enableIdTokenIssuance).toBe(true);
    expect(registration.signInAudience).toBe('AzureADMyOrg');
    expect(bodies.some((call) => call.method === 'PATCH' && call.body === JSON.stringify({ identifierUris: [`api://${appId}`] }))).toBe(true);
    const assignment = JSON.parse(bodies.find((call) => call.url.endsWith('/appRoleAssignedTo'))?.body ?? '{}') as Record<string, string>;
    expect(assignment).toEqual({ principalId: 'user-object-id', resourceId: 'sp-id', appRoleId: stableId('app-role:admin') });
    // A second run creates no second service principal.
    const posts = bodies.filter((call) => call.url === '/graph/servicePrincipals').length;
    await run();
    expect(bodies.filter((call) => call.url === '/graph/servicePrincipals').length).toBe(posts);
  });

  it('leaves a given AUTH_CLIENT_ID alone, and says what to do when Graph refuses to register the app', async () => {
    handler = (request, response) => {
      if ((request.url ?? '').startsWith('/subscriptions/')) return void response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ registrationState: 'Registered' }));
      response.writeHead(403, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'Authorization_RequestDenied', message: 'Insufficient privileges' } }));
    };
    const common = { log: () => undefined, azd: () => undefined, baseUrl, graphBaseUrl: `${baseUrl}/graph`, providers: ['Microsoft.Web'], ...noWait };
    const given = await runPreprovision({ ...common, env: { AZURE_SUBSCRIPTION_ID: subscription, AUTH_CLIENT_ID: 'given-id' }, getToken: async (_tenant, scope) => (scope.includes('graph') ? Promise.reject(new Error('no Graph token needed')) : 't') });
    expect(given.authClientId).toBe('given-id');
    expect(calls.some((call) => call.url.startsWith('/graph'))).toBe(false);
    const outcome = await runPreprovision({ ...common, env: { AZURE_SUBSCRIPTION_ID: subscription }, getToken: async () => 't' }).catch((error: unknown) => error);
    expect(outcome).toBeInstanceOf(PreprovisionError);
    expect((outcome as Error).message).toMatch(/403 Authorization_RequestDenied.*azd env set AUTH_CLIENT_ID <client id>.*AUTH_APP_REGISTRATION skip/);
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
