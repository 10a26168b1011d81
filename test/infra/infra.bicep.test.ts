/**
 * Keeps code and infrastructure in step: compiles infra/main.bicep with the Bicep CLI and checks
 * that every setting, container, queue and role the code needs is provisioned, with identity-based
 * connections only and the storage account locked down by default.
 *
 * Needs the Bicep CLI (scripts/install-bicep.sh puts it in .tools/bicep; CI runs that script).
 */
import { accessSync, constants, copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { supersededGraceDefaults } from '../../src/jobs/retired.outputs.js';
import { containers, identityStorageSuffixes, queues, serviceBusConnection, settingNames, storageQueues, workerDefaults } from '../../src/config.js';
import {
  ArmEvaluator,
  compileBicep,
  compileBicepParams,
  deployedResources,
  findBicep,
  Opaque,
  scopesWithDeployments,
  type Value,
  findResources,
  leafNames,
  resolve,
  resolveParameter,
  resourcesOf,
  type ArmResource,
  type Json,
  type JsonObject,
  type ScopedResource,
} from './arm.template.js';
import { hostJsonFor, readBackend, runHostJsonHook, serializeHostJson, type DurableBackend } from '../../infra/hooks/host-json.mjs';
import { resourceProviders } from '../../infra/hooks/preprovision.mjs';

const repoRoot = resolvePath(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bicep = findBicep(repoRoot);
// In CI a missing Bicep CLI is a failure (.ci/run installs it); on a developer machine, a skip.
const inCi = process.env['CI'] === 'true';
if (!bicep && !inCi) {
  console.warn('test/infra skipped: the Bicep CLI is not installed; run `bash scripts/install-bicep.sh` (CI does).');
}

/**
 * Settings in src/config.ts `settingNames` that Azure does not need set, each with the reason.
 * Every other setting name must be an app setting of the Function App.
 */
const optionalInAzure: Record<string, string> = {
  [settingNames.scratchDir]: 'defaults to os.tmpdir() on the instance; only set it to point scratch space elsewhere',
  [settingNames.retentionSchedule]: 'defaults to daily at 03:00 UTC; set it only to purge at another time',
  [settingNames.sourceRead]: 'defaults to the measured choice (docs/benchmarks.md); set it only to override it',
  [settingNames.batchWindow]: 'defaults to 8 sources at once per batch; set it only to tune batches',
  [settingNames.batchChunkSize]: 'defaults to 500 sources per batch chunk; set it only to tune batches',
  [settingNames.batchSchedule]: 'the scheduled batch is opt-in; unset, no timer runs',
  [settingNames.batchSchedulePrefix]: 'only with INGEST_BATCH_SCHEDULE',
  [settingNames.webhookAllowlist]: 'webhooks are opt-in: unset, no collection may name one (events still go to the Event Grid topic)',
  [settingNames.webhookAllowLoopback]: 'local receivers and tests only; off by default',
  [settingNames.inspectTimeoutSeconds]: 'defaults to 60 s per upload inspected (docs/security.md); set it only to change the limit',
  [settingNames.inspectMemoryMb]: 'defaults to 2048 MB per inspecting process, within a Flex instance of 2 GB or more (docs/security.md)',
  [settingNames.maxTilesPerJob]: 'defaults to 2,500 tiles per job (docs/security.md); set it only to change the cap',
  [settingNames.assumeCfLonLat]: 'defaults to on (docs/raster-output.md); set it to false only to refuse CF longitude/latitude grids without a grid_mapping',
  [settingNames.maxExpansionRatio]: 'defaults to 2,000 decoded bytes per stored byte (docs/security.md); set it only to change the bound',
  [settingNames.scratchMaxMb]: 'defaults to 16 GiB of source copies per Functions instance; the worker job sets it from its replica\'s disk (modules/worker.bicep)',
  [settingNames.scheduleRecheckSeconds]: 'defaults to 60 s between re-checks of a schedule window whose "after" is not met (docs/collections.md); set it only to change the poll',
  [settingNames.timerTimeZone]: "the platform's own setting for timer triggers; unset, UTC, which the settings' schedule is shown in",
  [settingNames.workerRetryDelaySeconds]: "defaults to 10 s before the worker's first retry of a failed tile, doubling per delivery; set it only to change the back-off",
};

/**
 * Settings whose names contain "connection string" but carry no secret: the Application Insights
 * connection string names the component and its ingestion endpoint (the component accepts only
 * Entra ID tokens), and the Durable Task Scheduler's is an endpoint plus `Authentication=ManagedIdentity`.
 */
const allowedConnectionStrings = new Set(['APPLICATIONINSIGHTS_CONNECTION_STRING', 'DURABLE_TASK_SCHEDULER_CONNECTION_STRING']);

/** host.json's task hub: the Durable Task Scheduler task hub must carry the same name. */
const hostJsonHubName = (JSON.parse(readFileSync(join(repoRoot, 'host.json'), 'utf8')) as { extensions: { durableTask: { hubName: string } } }).extensions.durableTask.hubName;

const durableHostSetting = 'AzureFunctionsJobHost__extensions__durableTask__storageProvider';

/** Settings Azure sets in their identity-based form (`<name>__<suffix>`), never as a connection string. */
const identityBasedInAzure = new Set<string>([settingNames.storage]);

/** Built-in role definition ids (the same in every tenant). */
const roles = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b',
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88',
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3',
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb',
  serviceBusDataSender: '69a216fc-b8fb-44d8-bc22-1f3c2cd27a39',
  serviceBusDataReceiver: '4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0',
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe',
  serviceBusDataOwner: '090c5cfd-751d-490a-894a-3ce6f1109419',
  acrPull: '7f951dda-4ed3-4680-a7ca-43fe172d538d',
  acrPush: '8311e382-0749-4cb8-b61a-304f252e45ec',
  storageBlobDataReader: '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1',
  storageBlobDelegator: 'db58b8e5-c6ad-4a2a-8342-4190687cbf4a',
  storageQueueDataMessageSender: 'c6a89b2d-59bc-44d0-9896-0f6e12d7b80a',
  durableTaskDataContributor: '0ad04412-c4d5-4796-b79c-f76d14c8d402',
  eventGridDataSender: 'd5a91429-5739-47e2-a06b-3470a27159e7',
} as const;

/** Role names for readable expectations (and failure messages). */
const roleNames: Record<string, string> = Object.fromEntries(Object.entries(roles).map(([name, id]) => [id, name]));

/** Broad control-plane roles that least privilege rules out. */
const broadRoles = {
  owner: '8e3af657-a8ff-443c-a75c-2fe8c4bcb635',
  contributor: 'b24988ac-6180-42a0-ab88-20f7382dd24c',
  storageAccountContributor: '17d1049b-9a84-46fb-8f53-869881c3d3ab',
  userAccessAdministrator: '18d7d88d-d35e-4fb5-a5c3-7773c20a72d9',
} as const;

function readFunctionSources(): string {
  const folder = join(repoRoot, 'src', 'functions');
  return readdirSync(folder)
    .filter((file) => file.endsWith('.ts'))
    .map((file) => readFileSync(join(folder, file), 'utf8'))
    .join('\n');
}

function single(found: ScopedResource[], what: string): ScopedResource {
  expect(found, `exactly one ${what}`).toHaveLength(1);
  return found[0] as ScopedResource;
}

function stringProperty(resource: ArmResource, path: string[]): string {
  let current: Json | undefined = resource as unknown as Json;
  for (const key of path) {
    current = typeof current === 'object' && current !== null && !Array.isArray(current) ? current[key] : undefined;
  }
  expect(typeof current, `${resource.type} ${path.join('.')}`).toBe('string');
  return current as string;
}

describe('azure.yaml', () => {
  const azureYaml = readFileSync(join(repoRoot, 'azure.yaml'), 'utf8');

  it('deploys the api service with a remote build, so Azure installs the linux-x64 gdal-async binary', () => {
    expect(azureYaml).toMatch(/^services:\n  api:\n(?:    .*\n)*?    remoteBuild: true$/m);
  });

  it.each([
    // project hooks (two-space indent) and the api service's (six spaces)
    ['preprovision', '  ', 'node ./infra/hooks/preprovision.mjs'],
    ['predeploy', '  ', 'node ./infra/hooks/predeploy.mjs'],
    ['postdeploy', '  ', 'node ./infra/hooks/postdeploy.mjs'],
    ['prepackage', '      ', 'node ./infra/hooks/host-json.mjs package'],
    ['postpackage', '      ', 'node ./infra/hooks/host-json.mjs restore'],
  ])('runs the same Node.js %s hook on posix and on windows, and the script exists', (hook, indent, command) => {
    const body = new RegExp(`^${indent}${hook}:\\n((?:${indent}  .*\\n)+)`, 'm').exec(azureYaml)?.[1] ?? '';
    const runs = [...body.matchAll(/^ +run: (.+)$/gm)].map((match) => match[1]);
    expect(body).toMatch(new RegExp(`^${indent}  posix:$`, 'm'));
    expect(body).toMatch(new RegExp(`^${indent}  windows:$`, 'm'));
    expect(runs).toEqual([command, command]);
    const script = /node \.\/(\S+)/.exec(command)?.[1] ?? '';
    expect(() => accessSync(join(repoRoot, script), constants.R_OK)).not.toThrow();
    // the service hooks belong to the api service (the one whose host.json is packaged)
    if (indent.length === 6) expect(azureYaml.indexOf(`${indent}${hook}:`)).toBeLessThan(azureYaml.indexOf('\n  worker:\n'));
  });

  it('deploys the worker service to a Container Apps job from worker/Dockerfile, built from the repository root', () => {
    const worker = /^  worker:\n((?:    .*\n)+)/m.exec(azureYaml)?.[1] ?? '';
    expect(worker).toMatch(/^    host: containerapp$/m);
    expect(worker).toMatch(/^    language: docker$/m);
    const project = /^    project: (.+)$/m.exec(worker)?.[1] ?? '';
    const dockerfile = /^      path: (.+)$/m.exec(worker)?.[1] ?? '';
    const context = /^      context: (.+)$/m.exec(worker)?.[1] ?? '';
    // azd resolves docker.path and docker.context against the service's project folder.
    expect(resolvePath(repoRoot, project, dockerfile)).toBe(join(repoRoot, 'worker', 'Dockerfile'));
    expect(resolvePath(repoRoot, project, context)).toBe(repoRoot);
  });

  // azd requires a .funcignore that excludes node_modules when remoteBuild is true.
  it('keeps local node_modules (gdal-async linked to Debian GDAL) out of the package', () => {
    const ignored = readFileSync(join(repoRoot, '.funcignore'), 'utf8').split('\n').map((line) => line.trim());
    expect(ignored.some((line) => /^\/?node_modules\/?$/.test(line))).toBe(true);
  });

  it('ships only what the app runs and the remote build needs: no local host, worker, CLI, benchmarks, tests, scripts or infra', () => {
    const ignored = new Set(readFileSync(join(repoRoot, '.funcignore'), 'utf8').split('\n').map((line) => line.trim()));
    for (const left of ['host', 'worker', 'cli', 'bench', 'test', 'scripts/*', 'infra', 'docs', 'dist/host', 'dist/worker', 'dist/cli', 'dist/bench', 'dist/scripts', 'dist/test']) {
      expect(ignored, left).toContain(left);
    }
    for (const kept of ['src', 'web', 'dist', 'dist/src', 'dist/web', 'host.json', 'package.json', 'package-lock.json', 'tsconfig.json']) {
      expect(ignored, kept).not.toContain(kept);
    }
    // The remote build's `npm run build` bundles the dashboard with this one script.
    expect(ignored).toContain('!scripts/build-web.mjs');
  });
});

const parameterFiles = new Map<string, JsonObject>();

/** Parameter values of a .bicepparam file, read with a bare environment (azd's variables unset). */
function parameterFile(file: string): JsonObject {
  const cached = parameterFiles.get(file);
  if (cached) return cached;
  const saved = { ...process.env };
  try {
    for (const name of Object.keys(process.env)) if (!['PATH', 'HOME', 'DOTNET_ROOT', 'TMPDIR'].includes(name)) delete process.env[name];
    const values = compileBicepParams(bicep as string, join(repoRoot, 'infra', file));
    parameterFiles.set(file, values);
    return values;
  } finally {
    Object.assign(process.env, saved);
  }
}

/** The app settings object a parameter combination provisions (values opaque where Azure computes them). */
function appSettingsFor(main: JsonObject, evaluator: ArmEvaluator): { [key: string]: Value } {
  const configs = deployedResources(main, evaluator, 'Microsoft.Web/sites/config').filter(({ resource, scope }) => leafNames(resource, scope)?.[0] === 'appsettings');
  const { resource, scope } = single(configs, 'appsettings resource');
  const value = evaluator.value(resource.properties as unknown as Json, scope);
  expect(typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Opaque), 'app settings evaluate to an object').toBe(true);
  return value as { [key: string]: Value };
}

describe('CI/CD workflow (.github/workflows/azure-dev.yml; scripts/check-infra.sh validates its syntax)', () => {
  const workflow = readFileSync(join(repoRoot, '.github', 'workflows', 'azure-dev.yml'), 'utf8');

  it('signs in to Azure with OIDC (a federated credential, no secret)', () => {
    expect(workflow).toMatch(/^      id-token: write/m);
    expect(workflow).toContain('--federated-credential-provider github');
    expect(workflow).not.toMatch(/secrets\./);
  });

  it('names no GitHub environment in the deploy job: the OIDC subject must match the federated credentials azd pipeline config creates', () => {
    const deploy = /^  deploy:\n((?:    .*\n|\n)+)/m.exec(workflow)?.[1] ?? '';
    expect(deploy).toContain('id-token: write');
    expect(deploy).not.toMatch(/^    environment:/m);
  });

  it('passes the Durable backend variables that main.bicepparam and the host.json hook both read', () => {
    for (const name of ['DURABLE_BACKEND', 'SEPARATE_DURABLE_STORAGE']) expect(workflow, name).toContain(`${name}: \${{ vars.${name} }}`);
  });

  it('runs .ci/run first, and deploys only after it passed', () => {
    expect(workflow).toContain('run: bash .ci/run');
    expect(workflow).toMatch(/^  deploy:\n(?:    .*\n)*?    needs: checks$/m);
    expect(workflow.indexOf('azd provision --no-prompt')).toBeLessThan(workflow.indexOf('azd deploy --no-prompt'));
    expect(workflow).toContain('AZURE_PRINCIPAL_TYPE: ServicePrincipal');
  });
});

// Outside CI without the Bicep CLI (scripts/install-bicep.sh) the templates cannot be compiled: a skipped test says so.
if (!bicep && !inCi) it.skip('Bicep CLI not installed (scripts/install-bicep.sh installs it; CI always does)', () => {});

describe.skipIf(!bicep && !inCi)('infra/main.bicep compiled to ARM JSON', () => {
  let main: JsonObject;
  let settings: { [key: string]: Value };
  /** The default deployment (infra/main.bicepparam with azd's variables unset). */
  let defaults: ArmEvaluator;

  beforeAll(() => {
    if (!bicep) throw new Error('CI=true but the Bicep CLI is not installed: run `bash scripts/install-bicep.sh` first');
    main = compileBicep(bicep, join(repoRoot, 'infra', 'main.bicep'));
    defaults = new ArmEvaluator(parameterFile('main.bicepparam'));
    settings = appSettingsFor(main, defaults);
  });

  describe('app settings match what src/config.ts reads', () => {
    it('sets every setting in settingNames, except the ones listed as optional with a reason', () => {
      for (const name of Object.values(settingNames)) {
        if (name in optionalInAzure) continue;
        if (identityBasedInAzure.has(name)) {
          for (const suffix of identityStorageSuffixes) {
            expect(Object.keys(settings), `${name}__${suffix}`).toContain(`${name}__${suffix}`);
          }
        } else {
          expect(Object.keys(settings), name).toContain(name);
        }
      }
      for (const name of Object.keys(optionalInAzure)) {
        expect(Object.values(settingNames) as string[], `optional setting ${name} is one the code reads`).toContain(name);
      }
    });

    it('provisions the worker route\'s settings with the code\'s defaults', () => {
      expect(settings[settingNames.workerThresholdMb]).toBe(String(workerDefaults.thresholdMb));
      expect(settings[settingNames.workerMaxDeliveries]).toBe(String(workerDefaults.maxDeliveries));
      expect(settings[settingNames.workerTileTimeoutSeconds]).toBe(String(workerDefaults.tileTimeoutSeconds));
    });

    it('sets nothing for the blob trigger that the Event Grid trigger replaced', () => {
      expect(Object.keys(settings)).not.toContain('BLOB_TRIGGER_SOURCE');
    });

    it('connects to storage with the managed identity, never with a connection string', () => {
      expect(Object.keys(settings)).not.toContain(settingNames.storage);
      expect(settings[`${settingNames.storage}__credential`]).toBe('managedidentity');
      expect(String(settings[`${settingNames.storage}__clientId`])).toContain('identityClientId');
      for (const service of ['blob', 'queue', 'table']) {
        expect(String(settings[`${settingNames.storage}__${service}ServiceUri`])).toMatch(/^\[parameters\('storage\w+Endpoint'\)\]$/);
      }
    });

    it('connects to Service Bus with the managed identity', () => {
      expect(Object.keys(settings)).not.toContain(serviceBusConnection);
      expect(settings[`${serviceBusConnection}__fullyQualifiedNamespace`]).toBeDefined();
      expect(settings[`${serviceBusConnection}__credential`]).toBe('managedidentity');
      expect(String(settings[`${serviceBusConnection}__clientId`])).toContain('identityClientId');
    });

    it('holds no account key, SAS, connection string or listed key', () => {
      for (const [name, value] of Object.entries(settings)) {
        const text = String(value);
        expect(text, name).not.toMatch(/AccountKey=|SharedAccessKey|SharedAccessSignature|DefaultEndpointsProtocol|sig=/i);
        expect(text, name).not.toMatch(/list(Keys|ConnectionStrings|AccountSas|ServiceSas)\(/i);
        if (!allowedConnectionStrings.has(name)) expect(name, name).not.toMatch(/connection_?string/i);
      }
      expect(String(settings['APPLICATIONINSIGHTS_AUTHENTICATION_STRING'])).toContain('Authorization=AAD');
    });

    it('lists no key anywhere: no list function in the whole template (Event Grid delivers to the function by resource id)', () => {
      expect(JSON.stringify(main).match(/list\w*\(/gi) ?? []).toEqual([]);
    });

    it('provisions the settings the app reads now: source containers, retention, STAC API as the app identity', () => {
      expect(settings[settingNames.retentionDays]).toBe('30');
      expect(settings[settingNames.supersededGraceHours]).toBe(String(supersededGraceDefaults.hours));
      expect(settings[settingNames.sourceContainers]).toBe(containers.uploads);
      expect(String(settings[settingNames.stacApiClientId])).toBe("[parameters('identityClientId')]");
      expect(String(settings[`${settingNames.storage}__clientId`])).toBe("[parameters('identityClientId')]");
      // Empty means unset to src/config.ts, so a provision without a STAC API configures none.
      for (const name of [settingNames.stacApiUrl, settingNames.stacApiScope, settingNames.stacApiVersion]) expect(settings[name], name).toBe('');
    });

    it('leaves out settings that Flex Consumption rejects (the runtime is set in functionAppConfig)', () => {
      for (const name of ['FUNCTIONS_WORKER_RUNTIME', 'FUNCTIONS_EXTENSION_VERSION', 'WEBSITE_NODE_DEFAULT_VERSION', 'WEBSITE_RUN_FROM_PACKAGE', 'WEBSITE_CONTENTAZUREFILECONNECTIONSTRING', 'WEBSITE_CONTENTSHARE']) {
        expect(Object.keys(settings)).not.toContain(name);
      }
    });

    it('reads no environment variable directly in src/: every setting goes through src/config.ts', () => {
      const literalReads: string[] = [];
      const walk = (folder: string): void => {
        for (const entry of readdirSync(folder, { withFileTypes: true })) {
          const path = join(folder, entry.name);
          if (entry.isDirectory()) walk(path);
          else if (entry.name.endsWith('.ts')) {
            const source = readFileSync(path, 'utf8');
            for (const match of source.matchAll(/process\.env(?:\.([A-Za-z_]\w*)|\[\s*['"]([^'"]+)['"]\s*\])/g)) {
              literalReads.push(`${path}: ${match[1] ?? match[2]}`);
            }
          }
        }
      };
      walk(join(repoRoot, 'src'));
      expect(literalReads).toEqual([]);
    });
  });

  describe('Function App', () => {
    it('runs Node.js 22 on Linux Flex Consumption as the user-assigned identity, tagged for azd', () => {
      const plan = single(findResources(main, 'Microsoft.Web/serverfarms'), 'plan').resource as unknown as JsonObject;
      expect(plan['sku']).toEqual({ tier: 'FlexConsumption', name: 'FC1' });
      const { resource: site, scope } = single(findResources(main, 'Microsoft.Web/sites'), 'site');
      expect(site['kind']).toBe('functionapp,linux');
      expect((site['identity'] as JsonObject)['type']).toBe('UserAssigned');
      expect(site.properties?.['httpsOnly']).toBe(true);
      const config = site.properties?.['functionAppConfig'] as JsonObject;
      expect(config['runtime']).toEqual({ name: 'node', version: '22' });
      const deploymentStorage = (config['deployment'] as JsonObject)['storage'] as JsonObject;
      expect((deploymentStorage['authentication'] as JsonObject)['type']).toBe('UserAssignedIdentity');
      expect(String(site['tags'])).toContain("'azd-service-name'");
      const serviceName = resolveParameter('azdServiceName', scope);
      expect(serviceName).toBe('api');
      expect(readFileSync(join(repoRoot, 'azure.yaml'), 'utf8')).toMatch(new RegExp(`^services:\\n  ${serviceName}:\\n(?:    .*\\n)*?    host: function$`, 'm'));
    });
  });

  it('turns off basic-auth publishing credentials (FTP and Kudu)', () => {
    const policies = findResources(main, 'Microsoft.Web/sites/basicPublishingCredentialsPolicies');
    const names = policies.flatMap(({ resource, scope }) => leafNames(resource, scope) ?? []);
    expect(names.sort()).toEqual(['ftp', 'scm']);
    for (const { resource } of policies) expect(resource.properties?.['allow']).toBe(false);
  });

  describe('storage', () => {
    it('provisions every container in src/config.ts `containers`, and the deployment package container', () => {
      const found = deployedResources(main, defaults, 'Microsoft.Storage/storageAccounts/blobServices/containers');
      const names = found.flatMap(({ resource, scope }) =>
        resource.copy ? (defaults.parameter('appContainerNames', scope) as string[]) : (leafNames(resource, scope) ?? []),
      );
      for (const container of Object.values(containers)) expect(names, container).toContain(container);
      expect(found.some(({ resource }) => String(resource.name).includes('deploymentContainerName'))).toBe(true);
    });

    it('turns shared keys off, requires TLS 1.2 and HTTPS, and allows no public blob access by default', () => {
      const { resource, scope } = single(deployedResources(main, defaults, 'Microsoft.Storage/storageAccounts'), 'storage account');
      expect(resource.properties?.['allowSharedKeyAccess']).toBe(false);
      expect(resource.properties?.['minimumTlsVersion']).toBe('TLS1_2');
      expect(resource.properties?.['supportsHttpsTrafficOnly']).toBe(true);
      expect(resolve(resource.properties?.['allowBlobPublicAccess'], scope)).toBe(false);
    });

    it('provisions every container jobs may read from (INGEST_SOURCE_CONTAINERS), trimmed', () => {
      const evaluator = new ArmEvaluator(parameterFile('params/storage.isolated.bicepparam'));
      const { scope } = single(deployedResources(main, evaluator, 'Microsoft.Storage/storageAccounts/blobServices/containers').filter(({ resource }) => resource.copy), 'container loop');
      expect(evaluator.parameter('appContainerNames', scope)).toEqual([containers.uploads, containers.cogs, containers.stac, containers.batchManifests, 'archive']);
      expect(appSettingsFor(main, evaluator)[settingNames.sourceContainers]).toBe('uploads,archive');
    });

    it('never makes the uploads container public, even when public read access is asked for', () => {
      const { scope } = single(deployedResources(main, defaults, 'Microsoft.Storage/storageAccounts'), 'storage account');
      const publicContainers = resolveParameter('publicContainerNames', scope);
      expect(publicContainers).toEqual(expect.arrayContaining([containers.cogs, containers.stac]));
      expect(publicContainers).not.toContain(containers.uploads);
    });

    it('keeps deleted blobs and containers recoverable (soft delete)', () => {
      const { resource } = single(findResources(main, 'Microsoft.Storage/storageAccounts/blobServices'), 'blob service');
      expect((resource.properties?.['deleteRetentionPolicy'] as JsonObject)['enabled']).toBe(true);
      expect((resource.properties?.['containerDeleteRetentionPolicy'] as JsonObject)['enabled']).toBe(true);
    });
  });

  describe('Service Bus', () => {
    it('provisions every queue in src/config.ts `queues` in a namespace without SAS keys', () => {
      const names = findResources(main, 'Microsoft.ServiceBus/namespaces/queues').flatMap(({ resource, scope }) => leafNames(resource, scope) ?? []);
      for (const queue of Object.values(queues)) expect(names, queue).toContain(queue);
      const { resource } = single(findResources(main, 'Microsoft.ServiceBus/namespaces'), 'Service Bus namespace');
      expect(resource.properties?.['disableLocalAuth']).toBe(true);
    });

    it('locks a tile for 5 minutes (the worker renews), dead-letters expired ones, and lets the worker dead-letter first', () => {
      for (const file of ['main.bicepparam', 'params/scheduler.public.bicepparam']) {
        const evaluator = new ArmEvaluator(parameterFile(file));
        const { resource, scope } = single(deployedResources(main, evaluator, 'Microsoft.ServiceBus/namespaces/queues'), 'queue');
        const properties = evaluator.value(resource.properties as unknown as Json, scope) as { [key: string]: Value };
        expect(properties['lockDuration'], file).toBe('PT5M');
        expect(properties['deadLetteringOnMessageExpiration'], file).toBe(true);
        const appMaxDeliveries = Number(appSettingsFor(main, evaluator)[settingNames.workerMaxDeliveries]);
        expect(Number.isInteger(appMaxDeliveries), file).toBe(true);
        expect(properties['maxDeliveryCount'], file).toBeGreaterThan(appMaxDeliveries);
      }
    });
  });

  describe('Storage queues', () => {
    it('provisions every queue in src/config.ts `storageQueues`, and its poison queue, in the AzureWebJobsStorage account', () => {
      const found = deployedResources(main, defaults, 'Microsoft.Storage/storageAccounts/queueServices/queues');
      const { resource, scope } = single(found, 'queue loop');
      expect(resource.copy).toBeDefined();
      const names = defaults.parameter('queueNames', scope) as string[];
      for (const queue of Object.values(storageQueues)) {
        expect(names, queue).toContain(queue);
        expect(names, `${queue}-poison`).toContain(`${queue}-poison`);
      }
      // the same account the app's AzureWebJobsStorage names
      const { resource: account, scope: accountScope } = single(deployedResources(main, defaults, 'Microsoft.Storage/storageAccounts'), 'storage account');
      expect(resource.name).toContain("parameters('name')");
      expect(String(account.name)).toBe("[parameters('name')]");
      expect(scope.template).toBe(accountScope.template);
    });
  });

  describe('Event Grid', () => {
    /** The subscription that includes `eventType`. */
    const subscriptionFor = (eventType: string): ScopedResource =>
      single(
        findResources(main, 'Microsoft.EventGrid/systemTopics/eventSubscriptions').filter(({ resource }) => JSON.stringify((resource.properties?.['filter'] as JsonObject)['includedEventTypes']) === JSON.stringify([eventType])),
        `${eventType} subscription`,
      );

    it('has two subscriptions on the one system topic: Blob Created and Blob Deleted, nothing else', () => {
      const topic = single(findResources(main, 'Microsoft.EventGrid/systemTopics'), 'system topic').resource;
      expect(topic.properties?.['topicType']).toBe('Microsoft.Storage.StorageAccounts');
      const subscriptions = findResources(main, 'Microsoft.EventGrid/systemTopics/eventSubscriptions');
      expect(subscriptions).toHaveLength(2);
      for (const { resource } of subscriptions) expect(String(resource.name)).toContain("parameters('systemTopicName')");
      expect(subscriptions.flatMap(({ resource }) => (resource.properties?.['filter'] as JsonObject)['includedEventTypes'] as string[]).sort()).toEqual(['Microsoft.Storage.BlobCreated', 'Microsoft.Storage.BlobDeleted']);
    });

    for (const [eventType, parameter, typeConstant] of [
      ['Microsoft.Storage.BlobCreated', 'uploadFunctionName', /blobCreatedEventType = 'Microsoft\.Storage\.BlobCreated'/],
      ['Microsoft.Storage.BlobDeleted', 'deleteFunctionName', /blobDeletedEventType = 'Microsoft\.Storage\.BlobDeleted'/],
    ] as const) {
      it(`delivers ${eventType} events for the uploads container to the Event Grid trigger registered in src/functions, by resource id and without a key`, () => {
        const { resource, scope } = subscriptionFor(eventType);
        const filter = resource.properties?.['filter'] as JsonObject;
        expect(String(filter['subjectBeginsWith'])).toContain("/blobServices/default/containers/{0}/blobs/', parameters('uploadsContainerName')");
        expect(resolveParameter('uploadsContainerName', scope)).toBe(containers.uploads);
        expect(JSON.stringify(filter['advancedFilters'])).toContain('application/x-directory');

        const destination = (resource.properties?.['destination'] as JsonObject) ?? {};
        expect(destination['endpointType']).toBe('AzureFunction');
        const target = JSON.stringify(destination['properties']);
        expect(target).toContain(`resourceId('Microsoft.Web/sites/functions', parameters('functionAppName'), parameters('${parameter}'))`);
        expect(target).toMatch(/maxEventsPerBatch/);
        expect(target).not.toMatch(/endpointUrl|code=|key/i);
        const functionName = resolveParameter(parameter, scope);
        expect(typeof functionName).toBe('string');

        // The function app the subscription names is the one the template creates.
        const boundApp = (scope.boundParameters?.['functionAppName'] as JsonObject | undefined)?.['value'];
        expect(String(boundApp)).toContain("'function-app'");

        const sources = readFunctionSources();
        const registration = new RegExp(`app\\.eventGrid\\(\\s*'${String(functionName)}',\\s*\\{([\\s\\S]*?)\\n\\}\\);`).exec(sources);
        expect(registration, `app.eventGrid('${String(functionName)}', ...) in src/functions`).not.toBeNull();
        expect(`${sources}\n${readFileSync(join(repoRoot, 'src/jobs/source.removal.ts'), 'utf8')}`).toMatch(typeConstant);
      });
    }

    it('delivers and dead-letters Blob Deleted as it does Blob Created: the same batch size, retries and dead-letter destination', () => {
      const created = subscriptionFor('Microsoft.Storage.BlobCreated').resource.properties!;
      const deleted = subscriptionFor('Microsoft.Storage.BlobDeleted').resource.properties!;
      for (const key of ['retryPolicy', 'deadLetterWithResourceIdentity', 'eventDeliverySchema']) expect(deleted[key], key).toEqual(created[key]);
      const deliveryOf = (properties: JsonObject): string => JSON.stringify((properties['destination'] as JsonObject)['properties']).replace(/uploadFunctionName|deleteFunctionName/, 'name');
      expect(deliveryOf(deleted)).toBe(deliveryOf(created));
    });
  });

  describe('container worker (Container Apps job)', () => {
    const jobOf = (evaluator: ArmEvaluator): { job: { [key: string]: Value }; scope: ScopedResource['scope']; resource: ArmResource } => {
      const { resource, scope } = single(deployedResources(main, evaluator, 'Microsoft.App/jobs'), 'Container Apps job');
      const job = evaluator.value(resource as unknown as Json, scope) as { [key: string]: Value };
      return { job, scope, resource };
    };
    const at = (value: Value | undefined, ...path: (string | number)[]): Value | undefined => {
      let current: Value | undefined = value;
      for (const key of path) {
        if (Array.isArray(current) && typeof key === 'number') current = current[key];
        else if (current !== null && typeof current === 'object' && !Array.isArray(current) && !(current instanceof Opaque) && typeof key === 'string') {
          current = (current as { [key: string]: Value })[key];
        } else return undefined;
      }
      return current;
    };

    it('is event-driven: KEDA azure-servicebus on the large-raster queue, one execution per waiting load of tiles, from 0 up to a bound', () => {
      const { job } = jobOf(defaults);
      expect(at(job, 'properties', 'configuration', 'triggerType')).toBe('Event');
      const scale = at(job, 'properties', 'configuration', 'eventTriggerConfig', 'scale');
      expect(at(scale, 'minExecutions')).toBe(0);
      expect(at(scale, 'maxExecutions')).toBe(10);
      const rules = at(scale, 'rules') as Value[];
      expect(rules).toHaveLength(1);
      const rule = rules[0];
      expect(at(rule, 'type')).toBe('azure-servicebus');
      expect(at(rule, 'metadata', 'queueName')).toBe(queues.largeRasters);
      // One execution per full load of tiles (its --concurrency), so the tiles the app may have out start every execution.
      expect(at(rule, 'metadata', 'messageCount')).toBe('2');
      expect(String(at(rule, 'metadata', 'namespace'))).toBe("[parameters('serviceBusNamespaceName')]");
      // identity-based: no connection string secret in the rule
      expect(at(rule, 'auth')).toBeUndefined();
      expect(at(job, 'properties', 'configuration', 'secrets')).toBeUndefined();
    });

    it('runs as a user-assigned identity of its own (not the app\'s); the scale rule uses a third one', () => {
      const { job, scope } = jobOf(defaults);
      expect(at(job, 'identity', 'type')).toBe('UserAssigned');
      const assigned = Object.keys((at(job, 'identity', 'userAssignedIdentities') as { [key: string]: Value }) ?? {});
      expect(assigned.sort()).toEqual(["[format('{0}', parameters('identityId'))]", "[format('{0}', parameters('scalerIdentityId'))]"]);
      const rule = (at(job, 'properties', 'configuration', 'eventTriggerConfig', 'scale', 'rules') as Value[])[0];
      expect(String(at(rule, 'identity'))).toBe("[parameters('scalerIdentityId')]");
      expect(String(at(job, 'properties', 'configuration', 'registries', 0, 'identity'))).toBe("[parameters('identityId')]");
      const bound = (name: string): string => String(((scope.boundParameters?.[name] as JsonObject | undefined) ?? {})['value']);
      expect(bound('identityId')).toContain('Microsoft.ManagedIdentity/userAssignedIdentities');
      expect(bound('identityId')).toContain("'{0}worker-{1}'");
      expect(bound('identityClientId')).toContain("'{0}worker-{1}'");
      expect(bound('scalerIdentityId')).toContain("'{0}scaler-{1}'");
      // the site runs as another identity: an exploited decoder in the worker holds none of the app's roles
      const { scope: siteScope } = single(findResources(main, 'Microsoft.Web/sites'), 'site');
      expect(String(((siteScope.boundParameters?.['identityId'] as JsonObject | undefined) ?? {})['value'])).not.toBe(bound('identityId'));
    });

    it('gets the app\'s identity-based storage and Service Bus settings, under the same names and from the same sources, with its own identity', () => {
      const { job, scope } = jobOf(defaults);
      const env = Object.fromEntries(
        ((at(job, 'properties', 'template', 'containers', 0, 'env') as Value[]) ?? []).map((entry) => [String(at(entry, 'name')), String(at(entry, 'value'))]),
      );
      const { scope: appScope } = single(
        deployedResources(main, defaults, 'Microsoft.Web/sites/config').filter(({ resource, scope: configScope }) => leafNames(resource, configScope)?.[0] === 'appsettings'),
        'appsettings',
      );
      const mirrored = Object.keys(settings).filter((name) => name.startsWith(`${settingNames.storage}__`) || name.startsWith(`${serviceBusConnection}__`));
      expect(mirrored.length).toBe(identityStorageSuffixes.length + 3);
      for (const name of mirrored) {
        expect(Object.keys(env), name).toContain(name);
        // `[parameters('x')]` in both modules, bound to the same expression in main.bicep
        const appValue = String(settings[name]);
        const jobValue = env[name] ?? '';
        const source = (value: string, where: ScopedResource['scope']): string => {
          const parameter = /^\[parameters\('([^']+)'\)\]$/.exec(value)?.[1];
          return parameter ? String(((where.boundParameters?.[parameter] as JsonObject | undefined) ?? {})['value']) : value;
        };
        // The client id names each its own identity; everything else is the same.
        const own = (text: string): string => text.replace("'{0}worker-{1}'", "'{0}{1}'");
        expect(own(source(jobValue, scope)), name).toBe(source(appValue, appScope));
      }
      expect(env['AzureWebJobsStorage__credential']).toBe('managedidentity');
      expect(env[settingNames.workerMaxDeliveries]).toBe(String(workerDefaults.maxDeliveries));
      for (const name of [settingNames.tileSize, settingNames.maxDimension, settingNames.sourceContainers]) expect(env[name], name).toBe(String(settings[name]));
      expect(JSON.stringify(env)).not.toMatch(/AccountKey=|SharedAccessKey|DefaultEndpointsProtocol/);
    });

    it('bounds the tiles out to what the job can take: the app\'s dispatch permits are executions × tiles per execution, from the job\'s own sizing', () => {
      const permitsOf = (evaluator: ArmEvaluator): Value | undefined => {
        const { scope } = jobOf(evaluator);
        const output = ((scope.template['outputs'] as JsonObject)['dispatchPermits'] as JsonObject)['value'];
        return evaluator.value(output, scope);
      };
      expect(permitsOf(defaults)).toBe(workerDefaults.dispatchPermits);
      expect(permitsOf(new ArmEvaluator({ ...parameterFile('main.bicepparam'), workerCpu: '4.0', workerMaxExecutions: 5 }))).toBe(20);
      expect(permitsOf(new ArmEvaluator({ ...parameterFile('main.bicepparam'), workerCpu: '1.0', workerMaxExecutions: 3 }))).toBe(3);
      // The Function App's setting is that output, not a number of its own that could drift from the job.
      const { scope: siteScope } = single(findResources(main, 'Microsoft.Web/sites'), 'site');
      expect(String(settings[settingNames.workerDispatchPermits])).toBe("[string(parameters('workerDispatchPermits'))]");
      expect(String(((siteScope.boundParameters?.['workerDispatchPermits'] as JsonObject | undefined) ?? {})['value'])).toMatch(/reference\(.*'worker'.*\)\.outputs\.dispatchPermits\.value/);
    });

    it('reads sources larger than its disk allows in place: the scratch cap is three quarters of the replica\'s ephemeral disk', () => {
      const envOf = (evaluator: ArmEvaluator): { [name: string]: string } =>
        Object.fromEntries(((at(jobOf(evaluator).job, 'properties', 'template', 'containers', 0, 'env') as Value[]) ?? []).map((entry) => [String(at(entry, 'name')), String(at(entry, 'value'))]));
      const env = envOf(defaults);
      expect(env[settingNames.sourceRead]).toBe('auto');
      // 2 vCPU: 8 GiB of ephemeral disk, 6 GiB of copies, so sources up to 3 GiB are copied and larger ones read in place.
      expect(env[settingNames.scratchMaxMb]).toBe(String(6 * 1024));
      expect(envOf(new ArmEvaluator({ ...parameterFile('main.bicepparam'), workerCpu: '1.0' }))[settingNames.scratchMaxMb]).toBe(String(3 * 1024));
      expect(envOf(new ArmEvaluator({ ...parameterFile('main.bicepparam'), workerCpu: '0.5' }))[settingNames.scratchMaxMb]).toBe(String(1536));
    });

    it('sizes a replica at 2 vCPU / 4 GiB working on a tile per vCPU, and lets one run longer than a tile waits for it', () => {
      const { job } = jobOf(defaults);
      const resources = at(job, 'properties', 'template', 'containers', 0, 'resources');
      expect(at(resources, 'cpu')).toBe(2);
      expect(at(resources, 'memory')).toBe('4Gi');
      const timeout = at(job, 'properties', 'configuration', 'replicaTimeout');
      expect(typeof timeout).toBe('number');
      expect(timeout as number).toBeGreaterThanOrEqual(workerDefaults.tileTimeoutSeconds);
      // One tile at a time per whole vCPU: two on the default replica, four on the largest.
      expect(at(job, 'properties', 'template', 'containers', 0, 'args')).toEqual(['dist/worker/main.js', '--once', '--concurrency', '2']);
      const largest = jobOf(new ArmEvaluator({ ...parameterFile('main.bicepparam'), workerCpu: '4.0' })).job;
      expect(at(largest, 'properties', 'template', 'containers', 0, 'resources', 'memory')).toBe('8Gi');
      expect(at(largest, 'properties', 'template', 'containers', 0, 'args')).toEqual(['dist/worker/main.js', '--once', '--concurrency', '4']);
    });

    it('is found by azd as the worker service, pulls from the template\'s registry, and runs a placeholder until the first deploy', () => {
      const { job, scope } = jobOf(defaults);
      expect(resolveParameter('azdServiceName', scope)).toBe('worker');
      expect(at(job, 'tags', 'azd-service-name')).toBe('worker');
      expect(at(job, 'properties', 'template', 'containers', 0, 'image')).toBe('mcr.microsoft.com/k8se/quickstart-jobs:latest');
      const deployed = jobOf(new ArmEvaluator({ ...parameterFile('main.bicepparam'), workerImage: 'crabc.azurecr.io/raster-ingest/worker-dev:azd-deploy-1' }));
      expect(at(deployed.job, 'properties', 'template', 'containers', 0, 'image')).toBe('crabc.azurecr.io/raster-ingest/worker-dev:azd-deploy-1');
      expect(String(at(job, 'properties', 'configuration', 'registries', 0, 'server'))).toBe("[parameters('registryLoginServer')]");
      const { resource: registry } = single(deployedResources(main, defaults, 'Microsoft.ContainerRegistry/registries'), 'container registry');
      expect(registry.properties?.['adminUserEnabled']).toBe(false);
      expect(registry.properties?.['anonymousPullEnabled']).toBe(false);
      const outputs = main['outputs'] as JsonObject;
      expect(Object.keys(outputs)).toContain('AZURE_CONTAINER_REGISTRY_ENDPOINT');
    });

    it('logs to the Log Analytics workspace through Azure Monitor, with no workspace key', () => {
      const { resource: environment } = single(deployedResources(main, defaults, 'Microsoft.App/managedEnvironments'), 'Container Apps environment');
      expect((environment.properties?.['appLogsConfiguration'] as JsonObject)['destination']).toBe('azure-monitor');
      const diagnostics = deployedResources(main, defaults, 'Microsoft.Insights/diagnosticSettings');
      const { resource: setting } = single(diagnostics, 'diagnostic setting');
      expect(String(setting.properties?.['workspaceId'])).toBe("[parameters('logAnalyticsWorkspaceId')]");
    });

    it('joins the VNet with network isolation (to reach the private endpoints), and none without', () => {
      const { resource, scope } = single(deployedResources(main, defaults, 'Microsoft.App/managedEnvironments'), 'Container Apps environment');
      expect(defaults.value(resource.properties?.['vnetConfiguration'], scope)).toBeNull();
      expect(String(resource.properties?.['vnetConfiguration'])).toContain("createObject('infrastructureSubnetId', parameters('infrastructureSubnetId'), 'internal', true())");
      const isolated = new ArmEvaluator(parameterFile('params/storage.isolated.bicepparam'));
      const { scope: inVnetScope } = single(deployedResources(main, isolated, 'Microsoft.App/managedEnvironments'), 'Container Apps environment');
      // The subnet id is a module output (opaque here): the binding shows where it comes from.
      // Bicep compiles a conditional binding to `if(..., createObject('value', ...), ...)`.
      const bound = JSON.stringify(inVnetScope.boundParameters?.['infrastructureSubnetId']);
      expect(bound).toContain("if(parameters('networkIsolation')");
      expect(bound).toContain('.outputs.jobsSubnetId.value');
      const { resource: network } = single(deployedResources(main, isolated, 'Microsoft.Network/virtualNetworks'), 'virtual network');
      const subnets = (network.properties?.['subnets'] as JsonObject[]).map((subnet) => subnet['name']);
      expect(subnets).toContain('jobs');
    });

    it('takes its size and bounds from parameters', () => {
      const { job } = jobOf(new ArmEvaluator(parameterFile('params/scheduler.public.bicepparam')));
      const resources = at(job, 'properties', 'template', 'containers', 0, 'resources');
      expect(at(resources, 'cpu')).toBe(4);
      expect(at(resources, 'memory')).toBe('8Gi');
      expect(at(job, 'properties', 'configuration', 'eventTriggerConfig', 'scale', 'maxExecutions')).toBe(20);
    });
  });

  it('dead-letters undeliverable upload events to a provisioned container, written with an identity scoped to it', () => {
    const { resource, scope } = single(
      findResources(main, 'Microsoft.EventGrid/systemTopics/eventSubscriptions').filter(({ resource: subscription }) => String(subscription.name).includes("parameters('subscriptionName')")),
      'event subscription',
    );
    const deadLetter = resource.properties?.['deadLetterWithResourceIdentity'] as JsonObject;
    expect((deadLetter['identity'] as JsonObject)['type']).toBe('UserAssigned');
    const destination = deadLetter['deadLetterDestination'] as JsonObject;
    expect(destination['endpointType']).toBe('StorageBlob');
    expect((destination['properties'] as JsonObject)['blobContainerName']).toBe("[parameters('deadLetterContainerName')]");
    const deadLetterContainer = resolveParameter('deadLetterContainerName', scope);
    expect(typeof deadLetterContainer).toBe('string');

    const containerNames = findResources(main, 'Microsoft.Storage/storageAccounts/blobServices/containers').flatMap(
      ({ resource: container, scope: containerScope }) => leafNames(container, containerScope) ?? [],
    );
    expect(containerNames).toContain(deadLetterContainer);

    const writers = findResources(main, 'Microsoft.Authorization/roleAssignments').filter(
      ({ resource: assignment }) => assignment.properties?.['principalId'] === "[parameters('eventsPrincipalId')]",
    );
    const { resource: writer } = single(writers, 'dead-letter writer role');
    expect(String(writer.properties?.['roleDefinitionId'])).toContain(roles.storageBlobDataContributor);
    expect(String(writer.scope)).toContain("[resourceId('Microsoft.Storage/storageAccounts/blobServices/containers',");
  });

  describe('role assignments', () => {
    const assignments = (): ScopedResource[] => findResources(main, 'Microsoft.Authorization/roleAssignments');
    const roleOf = (resource: ArmResource): string => /'([0-9a-f-]{36})'\)\]$/.exec(stringProperty(resource, ['properties', 'roleDefinitionId']))?.[1] ?? '';

    it('binds the roles to the identity the Function App runs as, and the worker job to an identity of its own', () => {
      const { scope } = single(
        assignments().filter(({ resource }) => roleOf(resource) === roles.storageBlobDataOwner),
        'Storage Blob Data Owner assignment',
      );
      const bound = scope.boundParameters?.['appPrincipalId'] as JsonObject;
      expect(String(bound['value'])).toContain("format('{0}{1}'");
      const site = single(findResources(main, 'Microsoft.Web/sites'), 'site').resource;
      expect(JSON.stringify(site['identity'])).toContain("parameters('identityId')");
      const workerModule = single(findResources(main, 'Microsoft.Resources/deployments').filter(({ resource }) => resource.name === 'worker'), 'worker module').resource;
      const workerIdentity = String(((workerModule.properties?.['parameters'] as JsonObject)['identityId'] as JsonObject)['value']);
      expect(workerIdentity).toContain("format('{0}worker-{1}'");
      expect(workerIdentity).not.toContain("format('{0}{1}'");
    });

    it('uses deterministic guid() names, resource scopes, and no broad control-plane role', () => {
      const all = assignments();
      expect(all.length).toBeGreaterThanOrEqual(6);
      for (const { resource } of all) {
        expect(String(resource.name)).toMatch(/^\[guid\(/);
        expect(resource.scope, 'assignment on a resource, not the whole group').toBeDefined();
        expect(Object.values(broadRoles) as string[]).not.toContain(roleOf(resource));
      }
    });

    it('grants the person deploying only Storage Blob Data Contributor and AcrPush, and only when a principal id is given', () => {
      const userAssignments = assignments().filter(({ resource }) => String(resource.properties?.['principalId']).includes('userPrincipalId'));
      expect(userAssignments.map(({ resource }) => roleOf(resource)).sort()).toEqual([roles.storageBlobDataContributor, roles.acrPush].sort());
      for (const { resource } of userAssignments) expect(String(resource.condition)).toContain('empty(parameters(');
    });
  });


  it('registers every resource provider the template deploys into (infra/hooks/preprovision.mjs), and no other', () => {
    const namespaces = new Set<string>();
    for (const scope of scopesWithDeployments(main)) {
      for (const resource of resourcesOf(scope.template)) namespaces.add(resource.type.split('/')[0] as string);
    }
    // Always registered on every subscription.
    namespaces.delete('Microsoft.Resources');
    namespaces.delete('Microsoft.Authorization');
    expect([...resourceProviders].sort()).toEqual([...namespaces].sort());
  });

  it('keeps every trace out of Application Insights sampling: the failed-orchestration and poison-queue alerts count traces', () => {
    const hostJson = JSON.parse(readFileSync(join(repoRoot, 'host.json'), 'utf8')) as { logging: { applicationInsights: { samplingSettings: { isEnabled: boolean; excludedTypes: string } } } };
    const excluded = hostJson.logging.applicationInsights.samplingSettings.excludedTypes.split(';').map((type) => type.trim());
    const queries = findResources(main, 'Microsoft.Insights/scheduledQueryRules').map(({ resource }) => JSON.stringify(resource.properties?.['criteria'] ?? null));
    expect(queries.length).toBeGreaterThan(0);
    // A query is a literal or a format() whose text starts with the table.
    const tables = new Set(queries.map((query) => /"query":"(?:\[format\(')?\s*(\w+)/.exec(query)?.[1]));
    // Each telemetry table an alert reads, as the sampling type that feeds it.
    const samplingTypeOf: Record<string, string> = { traces: 'Trace', requests: 'Request', exceptions: 'Exception', dependencies: 'Dependency', customEvents: 'Event' };
    expect(tables.has('traces')).toBe(true);
    for (const table of tables) expect(excluded, `alerts read ${String(table)}`).toContain(samplingTypeOf[String(table)]);
  });

  describe('outputs', () => {
    it('gives the function base URL, the storage endpoints and the STAC catalog URL', () => {
      const outputs = main['outputs'] as JsonObject;
      for (const name of ['FUNCTION_BASE_URL', 'STORAGE_BLOB_ENDPOINT', 'STORAGE_QUEUE_ENDPOINT', 'STORAGE_TABLE_ENDPOINT', 'STAC_CATALOG_URL']) {
        expect(Object.keys(outputs), name).toContain(name);
      }
      const stac = String((outputs['STAC_CATALOG_URL'] as JsonObject)['value']);
      expect(stac).toContain('/catalog.json');
      expect(stac).toContain("variables('containerNames').stac");
      expect(resolve("[variables('containerNames').stac]", { template: main, boundParameters: undefined, parent: undefined })).toBe(containers.stac);
    });
  });
});

/**
 * Evaluates, as ARM would for one parameter combination, every expression of every resource in the
 * module deployments that run (resources whose own condition is false included: ARM evaluates their
 * reference and list functions anyway), and every output. Returns the functions called.
 */
function functionsEvaluated(main: JsonObject, parameters: JsonObject): string[] {
  const evaluator = new ArmEvaluator(parameters);
  for (const scope of scopesWithDeployments(main)) {
    // A module whose condition is false never starts its nested deployment: nothing in it is evaluated.
    if (scope.deployment && evaluator.deployed(scope.deployment.resource, scope.deployment.scope) === false) continue;
    for (const resource of resourcesOf(scope.template)) {
      evaluator.value(resource.condition, scope);
      evaluator.value(resource.name, scope);
      const properties = resource.properties ?? {};
      evaluator.value(resource.type === 'Microsoft.Resources/deployments' ? (properties['parameters'] ?? null) : properties, scope);
    }
    evaluator.value(scope.template['outputs'] ?? null, scope);
  }
  return evaluator.calls;
}


/** Which identity a module's principal parameter is bound to, by the name main.bicep gives it. */
function identityOf(principal: Json | undefined, scope: ScopedResource['scope']): string {
  const parameter = /^\[parameters\('([^']+)'\)\]$/.exec(String(principal))?.[1];
  if (!parameter) return `unknown principal ${String(principal)}`;
  const bound = scope.boundParameters?.[parameter];
  const text = JSON.stringify(bound ?? null);
  if (text.includes("parameters('principalId')")) return 'deployer';
  const name = /Microsoft\.ManagedIdentity\/userAssignedIdentities', format\('\{0\}([a-z]*)-?\{1\}'/.exec(text)?.[1];
  if (name === undefined) return `unknown principal ${parameter}`;
  return name === '' ? 'app' : name;
}

/** Top-level comma-separated arguments of an ARM function call's argument text. */
function splitArguments(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let current = '';
  for (const char of text) {
    if (char === "'") quoted = !quoted;
    if (!quoted && (char === '(' || char === '[')) depth++;
    if (!quoted && (char === ')' || char === ']')) depth--;
    if (!quoted && depth === 0 && char === ',') {
      parts.push(current.trim());
      current = '';
    } else current += char;
  }
  if (current.trim()) parts.push(current.trim());
  return parts;
}

/**
 * Every role assignment one parameter combination deploys, as "identity | role | scope" lines: the
 * identity by its name in main.bicep (app, worker, scaler, events, deployer), the role by name, the
 * scope as its resource type and the names that the parameters decide (a container, a queue), with
 * each copy of a loop expanded.
 */
function grantsFor(main: JsonObject, evaluator: ArmEvaluator): string[] {
  const lines: string[] = [];
  for (const { resource, scope } of deployedResources(main, evaluator, 'Microsoft.Authorization/roleAssignments')) {
    const count = resource.copy ? Number(evaluator.value(resource.copy['count'], scope)) : 1;
    for (let index = 0; index < count; index++) {
      const indexed = (text: string): string => text.replaceAll('copyIndex()', String(index));
      const roleText = indexed(String(resource.properties?.['roleDefinitionId']));
      const roleCall = /subscriptionResourceId\('Microsoft\.Authorization\/roleDefinitions', (.+)\)\]$/.exec(roleText)?.[1] ?? '';
      const roleId = String(evaluator.value(`[${roleCall}]`, scope));
      const scopeText = indexed(String(resource.scope));
      const call = /^\[resourceId\('([^']+)', (.+)\)\]$/.exec(scopeText);
      let where = `unparsed scope ${scopeText}`;
      if (call) {
        const type = call[1] as string;
        const names = splitArguments(call[2] as string).map((argument) => {
          const value = evaluator.value(`[${argument}]`, scope);
          if (typeof value === 'string') return value;
          // A name that another module's output decides: keep the parameter that carries it.
          return /^parameters\('([^']+)'\)$/.exec(argument)?.[1] ?? (argument.startsWith('if(') ? (argument.includes('durableStorageAccountName') ? 'durableStorageAccountName' : argument) : argument);
        });
        where = `${type.split('/').slice(1).join('/')} ${names.join('/')}`;
      }
      lines.push(`${identityOf(resource.properties?.['principalId'], scope)} | ${roleNames[roleId] ?? roleId} | ${where}`);
    }
  }
  return lines.sort();
}

describe.skipIf(!bicep && !inCi)('parameter combinations (infra/main.bicepparam, infra/params/*.bicepparam)', () => {
  let main: JsonObject;
  const combination = (file: string): { parameters: JsonObject; evaluator: ArmEvaluator; settings: { [key: string]: Value } } => {
    const parameters = parameterFile(file);
    const evaluator = new ArmEvaluator(parameters);
    return { parameters, evaluator, settings: appSettingsFor(main, evaluator) };
  };
  const deployedNames = (evaluator: ArmEvaluator, type: string): string[] =>
    deployedResources(main, evaluator, type).flatMap(({ resource, scope }) => leafNames(resource, scope) ?? [String(resource.name)]);

  beforeAll(() => {
    if (!bicep) throw new Error('CI=true but the Bicep CLI is not installed: run `bash scripts/install-bicep.sh` first');
    main = compileBicep(bicep, join(repoRoot, 'infra', 'main.bicep'));
  });

  describe('first provision: no code deployed yet, so no function and no host keys', () => {
    it('evaluates no list function at all, and deploys no event subscription (ARM would reject one to a function that does not exist yet)', () => {
      const parameters = parameterFile('main.bicepparam');
      expect(parameters['subscribeBlobEvents']).toBe(false);
      const calls = functionsEvaluated(main, parameters);
      expect(calls.length).toBeGreaterThan(100);
      expect(calls.filter((name) => /^list/i.test(name))).toEqual([]);
      expect(deployedResources(main, new ArmEvaluator(parameters), 'Microsoft.EventGrid/systemTopics/eventSubscriptions')).toEqual([]);
    });

    it('once subscribed, the walk reaches the subscription and still evaluates no list function: the function is named by resource id, no key', () => {
      const parameters = parameterFile('params/storage.isolated.bicepparam');
      expect(parameters['subscribeBlobEvents']).toBe(true);
      const calls = functionsEvaluated(main, parameters);
      expect(calls.filter((name) => /^list/i.test(name))).toEqual([]);
      const evaluator = new ArmEvaluator(parameters);
      const subscriptions = deployedResources(main, evaluator, 'Microsoft.EventGrid/systemTopics/eventSubscriptions');
      expect(subscriptions).toHaveLength(2);
      for (const { resource, scope } of subscriptions) {
        const destination = evaluator.value(resource.properties?.['destination'], scope) as { [key: string]: Value };
        expect(destination['endpointType']).toBe('AzureFunction');
        expect(String((destination['properties'] as { [key: string]: Value })['resourceId'])).toContain("resourceId('Microsoft.Web/sites/functions'");
      }
    });
  });

  describe('Durable backend: Azure Storage (default)', () => {
    it('deploys no scheduler and polls the Durable queues at most every 10 s, as Microsoft recommends on Flex', () => {
      const { evaluator, settings } = combination('main.bicepparam');
      expect(deployedResources(main, evaluator, 'Microsoft.DurableTask/schedulers')).toEqual([]);
      expect(settings[`${durableHostSetting}__maxQueuePollingInterval`]).toBe('00:00:10');
      expect(Object.keys(settings)).not.toContain(`${durableHostSetting}__type`);
      expect(Object.keys(settings).filter((name) => name.startsWith('DurableStorage__'))).toEqual([]);
    });

    it('puts Durable state in its own account when asked: identity-based connection, queue/table/blob data roles', () => {
      const { evaluator, settings } = combination('params/storage.isolated.bicepparam');
      expect(settings[`${durableHostSetting}__connectionName`]).toBe('DurableStorage');
      for (const suffix of ['blobServiceUri', 'queueServiceUri', 'tableServiceUri', 'credential', 'clientId']) {
        expect(Object.keys(settings), suffix).toContain(`DurableStorage__${suffix}`);
      }
      expect(settings['DurableStorage__credential']).toBe('managedidentity');
      const accounts = deployedResources(main, evaluator, 'Microsoft.Storage/storageAccounts');
      expect(accounts).toHaveLength(2);
      for (const { resource } of accounts) expect(resource.properties?.['allowSharedKeyAccess']).toBe(false);
      const durableRoles = deployedResources(main, evaluator, 'Microsoft.Authorization/roleAssignments').filter(({ resource }) =>
        JSON.stringify(resource.scope).includes('durableStorageAccountName'),
      );
      const { resource: loop, scope } = single(durableRoles, 'Durable state role loop');
      expect(loop.copy).toBeDefined();
      expect(evaluator.value('[variables(\'durableStorageRoles\')]', scope)).toEqual([
        roles.storageQueueDataContributor,
        roles.storageTableDataContributor,
        roles.storageBlobDataContributor,
      ]);
      // and none of them without the separate account
      const defaults = new ArmEvaluator(parameterFile('main.bicepparam'));
      expect(deployedResources(main, defaults, 'Microsoft.Authorization/roleAssignments').filter(({ resource }) => JSON.stringify(resource.scope).includes('durableStorageAccountName'))).toEqual([]);
    });
  });

  describe('Durable backend: Durable Task Scheduler', () => {
    it('deploys a scheduler and a task hub named like host.json\'s hubName, and grants the app Durable Task Data Contributor on the task hub', () => {
      const { evaluator } = combination('params/scheduler.public.bicepparam');
      expect(deployedResources(main, evaluator, 'Microsoft.DurableTask/schedulers')).toHaveLength(1);
      const hubs = deployedResources(main, evaluator, 'Microsoft.DurableTask/schedulers/taskHubs');
      const { resource: hub, scope } = single(hubs, 'task hub');
      expect(leafNames(hub, scope)).toEqual([hostJsonHubName]);
      const grants = deployedResources(main, evaluator, 'Microsoft.Authorization/roleAssignments').filter(({ resource }) =>
        String(resource.properties?.['roleDefinitionId']).includes('0ad04412-c4d5-4796-b79c-f76d14c8d402'),
      );
      const { resource: grant } = single(grants, 'Durable Task Data Contributor assignment');
      expect(String(grant.scope)).toContain("resourceId('Microsoft.DurableTask/schedulers/taskHubs'");
      expect(grant.properties?.['principalId']).toBe("[parameters('appPrincipalId')]");
    });

    it('selects the scheduler through app settings (the checked-in host.json names no provider type; the packaged one does, see below), with identity-only authentication', () => {
      const { settings } = combination('params/scheduler.public.bicepparam');
      expect(settings[`${durableHostSetting}__type`]).toBe('azureManaged');
      expect(settings[`${durableHostSetting}__connectionStringName`]).toBe('DURABLE_TASK_SCHEDULER_CONNECTION_STRING');
      const connection = String(settings['DURABLE_TASK_SCHEDULER_CONNECTION_STRING']);
      expect(connection).toContain('Authentication=ManagedIdentity;ClientID={1}');
      expect(connection).toContain("parameters('identityClientId')");
      expect(Object.keys(settings)).not.toContain(`${durableHostSetting}__maxQueuePollingInterval`);
      // host.json must not pick a provider itself: the Azure Storage deployment sets no type and
      // relies on the default, the scheduler deployment overrides it.
      const hostJson = JSON.parse(readFileSync(join(repoRoot, 'host.json'), 'utf8')) as { extensions?: { durableTask?: { storageProvider?: { type?: string } } } };
      expect(hostJson.extensions?.durableTask?.storageProvider?.type, 'host.json leaves the provider type to the app settings').toBeUndefined();
    });

    it('provisions the STAC API settings from parameters, so a provision keeps them', () => {
      const { settings } = combination('params/scheduler.public.bicepparam');
      expect(settings[settingNames.stacApiUrl]).toBe('https://stac.example.org/');
      expect(settings[settingNames.stacApiScope]).toBe('api://stac/.default');
    });

    it('grants a CI service principal its role as a ServicePrincipal', () => {
      const { evaluator } = combination('params/scheduler.public.bicepparam');
      const userGrants = deployedResources(main, evaluator, 'Microsoft.Authorization/roleAssignments').filter(({ resource }) =>
        String(resource.properties?.['principalId']).includes('userPrincipalId'),
      );
      expect(userGrants).toHaveLength(2);
      for (const { resource, scope } of userGrants) expect(evaluator.value(resource.properties?.['principalType'], scope)).toBe('ServicePrincipal');
    });
  });


  describe('role assignments: every grant of every identity, per parameter combination (principal, role, scope)', () => {
    // What every deployment grants; each combination adds its own below.
    const common = [
      'app | storageBlobDataOwner | storageAccounts storageAccountName',
      'app | storageQueueDataContributor | storageAccounts storageAccountName',
      'app | storageTableDataContributor | storageAccounts storageAccountName',
      'app | monitoringMetricsPublisher | components applicationInsightsName',
      'app | serviceBusDataSender | namespaces/queues serviceBusNamespaceName/serviceBusQueueName',
      // Publishing job events (issue 24): the topic only, keys off.
      'app | eventGridDataSender | topics topicName',
      'events | storageBlobDataContributor | storageAccounts/blobServices/containers storageAccountName/default/eventgrid-deadletter',
      'scaler | serviceBusDataOwner | namespaces/queues serviceBusNamespaceName/serviceBusQueueName',
      'worker | acrPull | registries registryName',
      'worker | serviceBusDataReceiver | namespaces/queues serviceBusNamespaceName/serviceBusQueueName',
      'worker | serviceBusDataSender | namespaces/queues serviceBusNamespaceName/serviceBusQueueName',
      `worker | storageBlobDataContributor | storageAccounts/blobServices/containers storageAccountName/default/${containers.cogs}`,
      `worker | storageBlobDataReader | storageAccounts/blobServices/containers storageAccountName/default/${containers.uploads}`,
      'worker | storageBlobDelegator | storageAccounts storageAccountName',
      `worker | storageQueueDataMessageSender | storageAccounts/queueServices/queues storageAccountName/default/${storageQueues.tileResults}`,
    ];
    it.each([
      ['main.bicepparam', []],
      [
        'params/storage.isolated.bicepparam',
        [
          // sourceContainers = 'uploads, archive': the worker reads both, trimmed.
          'worker | storageBlobDataReader | storageAccounts/blobServices/containers storageAccountName/default/archive',
          'app | storageQueueDataContributor | storageAccounts durableStorageAccountName',
          'app | storageTableDataContributor | storageAccounts durableStorageAccountName',
          'app | storageBlobDataContributor | storageAccounts durableStorageAccountName',
        ],
      ],
      [
        'params/scheduler.public.bicepparam',
        [
          `app | durableTaskDataContributor | schedulers/taskHubs name/${hostJsonHubName}`,
          'deployer | storageBlobDataContributor | storageAccounts storageAccountName',
          'deployer | acrPush | registries registryName',
        ],
      ],
      ['params/scheduler.isolated.bicepparam', [`app | durableTaskDataContributor | schedulers/taskHubs name/${hostJsonHubName}`]],
    ])('%s grants exactly the listed roles', (file, extra) => {
      expect(grantsFor(main, new ArmEvaluator(parameterFile(file)))).toEqual([...common, ...extra].sort());
    });

    it('keeps the worker away from the deployment package, Durable state, STAC and the jobs index: no data role of it on the account, a table, the task hub or the Durable account', () => {
      for (const file of ['main.bicepparam', 'params/storage.isolated.bicepparam', 'params/scheduler.public.bicepparam']) {
        const worker = grantsFor(main, new ArmEvaluator(parameterFile(file))).filter((line) => line.startsWith('worker |'));
        // Account-wide, the worker holds only Storage Blob Delegator (no data action: a user
        // delegation SAS grants at most what its container-scoped roles grant).
        expect(worker.filter((line) => line.endsWith('| storageAccounts storageAccountName'))).toEqual(['worker | storageBlobDelegator | storageAccounts storageAccountName']);
        for (const line of worker) {
          expect(line).not.toMatch(/durableStorageAccountName|taskHubs|tableServices|app-package|stac|batch-manifests/);
        }
      }
    });
  });


  describe('host.json packaged for each parameter file (the Flex scale controller reads storageProvider from the file)', () => {
    const parameterFiles = ['main.bicepparam', ...readdirSync(join(repoRoot, 'infra', 'params')).filter((file) => file.endsWith('.bicepparam')).map((file) => `params/${file}`)];
    /** What the prepackage hook writes into a copy of the project for these parameters, read back from disk. */
    const packagedHostJson = (env: Record<string, string>): { storageProvider: Record<string, string>; hubName: string } => {
      const project = mkdtempSync(join(tmpdir(), 'host-json-'));
      try {
        copyFileSync(join(repoRoot, 'host.json'), join(project, 'host.json'));
        runHostJsonHook({ command: 'package', env, projectDir: project, log: () => undefined });
        const written = JSON.parse(readFileSync(join(project, 'host.json'), 'utf8')) as { extensions: { durableTask: { storageProvider: Record<string, string>; hubName: string } } };
        return written.extensions.durableTask;
      } finally {
        rmSync(project, { recursive: true, force: true });
      }
    };
    /** The azd environment that gives these parameter values (the names main.bicepparam reads). */
    const envFor = (parameters: JsonObject): Record<string, string> => ({
      DURABLE_BACKEND: String(parameters['durableBackend']),
      SEPARATE_DURABLE_STORAGE: String(parameters['separateDurableStorage'] ?? false),
    });

    it.each(parameterFiles)('%s: the packaged storageProvider is exactly what the app settings set, so the scale controller watches the backend the app runs on', (file) => {
      const { parameters, settings } = combination(file);
      const packaged = packagedHostJson(envFor(parameters));
      const fromSettings = Object.fromEntries(
        Object.entries(settings)
          .filter(([name]) => name.startsWith(`${durableHostSetting}__`))
          .map(([name, value]) => [name.slice(durableHostSetting.length + 2), value]),
      );
      expect(packaged.storageProvider).toEqual(fromSettings);
      expect(packaged.hubName).toBe(hostJsonHubName);
      const scheduler = parameters['durableBackend'] === 'DurableTaskScheduler';
      expect(packaged.storageProvider['type']).toBe(scheduler ? 'azureManaged' : undefined);
      if (scheduler) expect(Object.keys(settings)).toContain(packaged.storageProvider['connectionStringName']);
      if (!scheduler && parameters['separateDurableStorage'] === true) {
        // Durable state in its own account: the scale controller must watch that account's queues.
        expect(packaged.storageProvider['connectionName']).toBe('DurableStorage');
        expect(Object.keys(settings)).toContain('DurableStorage__queueServiceUri');
      }
      // Always-ready 0 (a scale-to-zero deployment) is only safe when the scale controller sees the right backend.
      if (parameters['alwaysReadyDurableInstances'] === 0) expect(packaged.storageProvider).toEqual(fromSettings);
    });

    it('main.bicepparam and the hook read the same azd variables: each backend the environment selects is packaged as provisioned', () => {
      const bicepparam = readFileSync(join(repoRoot, 'infra', 'main.bicepparam'), 'utf8');
      for (const name of ['DURABLE_BACKEND', 'SEPARATE_DURABLE_STORAGE']) expect(bicepparam).toContain(`readEnvironmentVariable('${name}'`);
      const saved = { ...process.env };
      try {
        for (const env of [
          { DURABLE_BACKEND: 'DurableTaskScheduler', SEPARATE_DURABLE_STORAGE: 'false' },
          { DURABLE_BACKEND: '', SEPARATE_DURABLE_STORAGE: 'TRUE' },
          { DURABLE_BACKEND: 'DurableTaskScheduler', SEPARATE_DURABLE_STORAGE: 'true' },
        ]) {
          Object.assign(process.env, env);
          const parameters = compileBicepParams(bicep as string, join(repoRoot, 'infra', 'main.bicepparam'));
          const settings = appSettingsFor(main, new ArmEvaluator(parameters));
          const fromSettings = Object.fromEntries(Object.entries(settings).filter(([name]) => name.startsWith(`${durableHostSetting}__`)).map(([name, value]) => [name.slice(durableHostSetting.length + 2), value]));
          expect(packagedHostJson(env).storageProvider, JSON.stringify(env)).toEqual(fromSettings);
        }
      } finally {
        for (const name of ['DURABLE_BACKEND', 'SEPARATE_DURABLE_STORAGE']) delete process.env[name];
        Object.assign(process.env, saved);
      }
    });

    it('the checked-in host.json is the default variant byte for byte: packaging the default or restoring leaves the working tree as it is', () => {
      const text = readFileSync(join(repoRoot, 'host.json'), 'utf8');
      const backend: DurableBackend = readBackend({});
      expect(backend).toEqual({ durableBackend: 'AzureStorage', separateDurableStorage: false });
      expect(serializeHostJson(hostJsonFor(JSON.parse(text), backend))).toBe(text);
      const scheduler = hostJsonFor(JSON.parse(text), { durableBackend: 'DurableTaskScheduler', separateDurableStorage: false });
      expect(serializeHostJson(hostJsonFor(scheduler, backend))).toBe(text);
      expect(() => readBackend({ DURABLE_BACKEND: 'Netherite' })).toThrow(/AzureStorage or DurableTaskScheduler/);
    });
  });


  describe('sign-in (App Service Authentication on the Flex app)', () => {
    const authSettings = (file: string): { [key: string]: Value } | undefined => {
      const { evaluator } = combination(file);
      const found = deployedResources(main, evaluator, 'Microsoft.Web/sites/config').filter(({ resource, scope }) => leafNames(resource, scope)?.[0] === 'authsettingsV2');
      if (found.length === 0) return undefined;
      const { resource, scope } = single(found, 'authsettingsV2');
      return evaluator.value(resource.properties as unknown as Json, scope) as { [key: string]: Value };
    };

    it('requires a signed-in caller, validated against this tenant and the API\'s registration, with no client secret', () => {
      const { parameters } = combination('params/scheduler.public.bicepparam');
      const clientId = String(parameters['authClientId']);
      const auth = JSON.parse(JSON.stringify(authSettings('params/scheduler.public.bicepparam'))) as {
        platform: { enabled: boolean };
        globalValidation: { requireAuthentication: boolean; unauthenticatedClientAction: string; excludedPaths: string[] };
        identityProviders: { azureActiveDirectory: { enabled: boolean; registration: Record<string, string>; validation: { allowedAudiences: string[] } } };
        httpSettings: { requireHttps: boolean };
      };
      expect(auth.platform.enabled).toBe(true);
      expect(auth.globalValidation.requireAuthentication).toBe(true);
      // Only the Event Grid webhook passes without a token (the host guards it with its system key).
      expect(auth.globalValidation.excludedPaths).toEqual(['/runtime/webhooks/eventgrid']);
      const aad = auth.identityProviders.azureActiveDirectory;
      expect(aad.enabled).toBe(true);
      expect(aad.registration['clientId']).toBe(clientId);
      // The issuer is this tenant's v2.0 endpoint (an expression of environment() and tenant()).
      const raw = single(findResources(main, 'Microsoft.Web/sites/config').filter(({ resource }) => JSON.stringify(resource).includes('openIdIssuer')), 'authsettingsV2').resource;
      expect(JSON.stringify(raw)).toMatch(/openIdIssuer":"\[format\('\{0\}\{1\}\/v2\.0', environment\(\)\.authentication\.loginEndpoint, tenant\(\)\.tenantId\)\]/);
      expect(aad.validation.allowedAudiences).toEqual([`api://${clientId}`, clientId]);
      expect(Object.keys(aad.registration)).not.toContain('clientSecretSettingName');
      expect(auth.httpSettings.requireHttps).toBe(true);
    });

    it('configures none without a registration, and the app still requires sign-in (API_SIGN_IN), so the API fails closed', () => {
      expect(authSettings('main.bicepparam')).toBeUndefined();
      for (const file of ['main.bicepparam', 'params/scheduler.public.bicepparam']) expect(combination(file).settings[settingNames.apiSignIn], file).toBe('required');
    });

    it('gives the CLI its scope: api://<client id>/.default', () => {
      const outputs = main['outputs'] as JsonObject;
      expect(String((outputs['AUTH_API_SCOPE'] as JsonObject)['value'])).toContain("api://{0}/.default");
    });
  });

  describe('main.bicepparam and the CI workflow', () => {
    it('reads an empty variable (an unset GitHub repository variable) as the default for every worker setting the workflow passes', () => {
      const workflow = readFileSync(join(repoRoot, '.github', 'workflows', 'azure-dev.yml'), 'utf8');
      const passed = ['INGEST_WORKER_THRESHOLD_MB', 'INGEST_WORKER_MAX_DELIVERIES', 'INGEST_WORKER_TILE_TIMEOUT_SECONDS', 'WORKER_CPU', 'WORKER_MAX_EXECUTIONS', 'WORKER_REPLICA_TIMEOUT_SECONDS'];
      for (const name of passed) expect(workflow, name).toContain(`${name}: \${{ vars.${name} }}`);
      const saved = { ...process.env };
      try {
        for (const name of passed) process.env[name] = '';
        const values = compileBicepParams(bicep as string, join(repoRoot, 'infra', 'main.bicepparam'));
        expect(values).toMatchObject({
          workerThresholdMb: workerDefaults.thresholdMb,
          workerMaxDeliveries: workerDefaults.maxDeliveries,
          workerTileTimeoutSeconds: workerDefaults.tileTimeoutSeconds,
          workerCpu: '2.0',
          workerMaxExecutions: 10,
          workerReplicaTimeoutSeconds: 7200,
        });
      } finally {
        for (const name of passed) delete process.env[name];
        Object.assign(process.env, saved);
      }
    });
  });

  describe('Flex Consumption', () => {
    it('keeps one always-ready durable instance by default and offers only the documented memory sizes', () => {
      const { evaluator } = combination('main.bicepparam');
      const { resource, scope } = single(deployedResources(main, evaluator, 'Microsoft.Web/sites'), 'site');
      const scale = evaluator.value((resource.properties?.['functionAppConfig'] as JsonObject)['scaleAndConcurrency'], scope);
      expect(JSON.parse(JSON.stringify(scale))).toMatchObject({ alwaysReady: [{ name: 'durable', instanceCount: 1 }], instanceMemoryMB: 4096 });
      const declared = (main['parameters'] as JsonObject)['instanceMemoryMB'] as JsonObject;
      expect(declared['allowedValues']).toEqual([512, 2048, 4096]);
    });
  });

  describe('network isolation', () => {
    it('off by default: no VNet, no private endpoint, public endpoints with Entra ID only', () => {
      const { evaluator } = combination('main.bicepparam');
      expect(deployedResources(main, evaluator, 'Microsoft.Network/virtualNetworks')).toEqual([]);
      expect(deployedResources(main, evaluator, 'Microsoft.Network/privateEndpoints')).toEqual([]);
      const { resource, scope } = single(deployedResources(main, evaluator, 'Microsoft.Storage/storageAccounts'), 'storage account');
      expect(evaluator.value(resource.properties?.['publicNetworkAccess'], scope)).toBe('Enabled');
    });

    it('on: the app joins a delegated subnet; blob, queue and table (and Service Bus on Premium) get private endpoints; public access off', () => {
      const { evaluator } = combination('params/storage.isolated.bicepparam');
      const { resource: vnet } = single(deployedResources(main, evaluator, 'Microsoft.Network/virtualNetworks'), 'virtual network');
      expect(JSON.stringify(vnet.properties)).toContain('Microsoft.App/environments');
      const { resource: site, scope: siteScope } = single(deployedResources(main, evaluator, 'Microsoft.Web/sites'), 'site');
      expect(String(evaluator.value(site.properties?.['virtualNetworkSubnetId'], siteScope))).toContain('virtualNetworkSubnetId');

      const endpoints = deployedResources(main, evaluator, 'Microsoft.Network/privateEndpoints');
      const { resource: endpoint, scope } = single(endpoints, 'private endpoint copy loop');
      const wanted = evaluator.parameter('privateEndpoints', scope);
      const groups = (wanted as { groupId: string }[]).map((entry) => entry.groupId).sort();
      expect(groups).toEqual(['blob', 'blob', 'namespace', 'queue', 'queue', 'table', 'table']);
      expect(JSON.stringify(endpoint.properties)).toContain('groupId');

      for (const { resource: account, scope: accountScope } of deployedResources(main, evaluator, 'Microsoft.Storage/storageAccounts')) {
        expect(evaluator.value(account.properties?.['publicNetworkAccess'], accountScope)).toBe('Disabled');
      }
      const { resource: namespace, scope: namespaceScope } = single(deployedResources(main, evaluator, 'Microsoft.ServiceBus/namespaces'), 'namespace');
      expect(evaluator.value(namespace.properties?.['publicNetworkAccess'], namespaceScope)).toBe('Disabled');
    });

    it('on with Service Bus Basic: no Service Bus endpoint (Premium only), so the namespace stays public with Entra ID only', () => {
      const { evaluator } = combination('params/scheduler.isolated.bicepparam');
      const { scope } = single(deployedResources(main, evaluator, 'Microsoft.Network/privateEndpoints'), 'private endpoint copy loop');
      const groups = (evaluator.parameter('privateEndpoints', scope) as { groupId: string }[]).map((entry) => entry.groupId).sort();
      expect(groups).toEqual(['blob', 'queue', 'table']);
      const { resource: namespace, scope: namespaceScope } = single(deployedResources(main, evaluator, 'Microsoft.ServiceBus/namespaces'), 'namespace');
      expect(evaluator.value(namespace.properties?.['publicNetworkAccess'], namespaceScope)).toBe('Enabled');
    });
  });

  describe('alerts', () => {
    it('sends every alert to one action group, e-mailing only when an address is given', () => {
      for (const [file, receivers] of [
        ['main.bicepparam', 0],
        ['params/scheduler.public.bicepparam', 1],
      ] as const) {
        const { evaluator } = combination(file);
        const { resource, scope } = single(deployedResources(main, evaluator, 'Microsoft.Insights/actionGroups'), 'action group');
        const emails = evaluator.value(resource.properties?.['emailReceivers'], scope);
        expect(emails, file).toHaveLength(receivers);
        const logAlerts = deployedNames(evaluator, 'Microsoft.Insights/scheduledQueryRules');
        expect(logAlerts.sort(), file).toEqual(['failed-orchestrations', 'poison-tile-results']);
      }
    });

    it('watches failed orchestrations, the tile-results poison queue, Service Bus dead letters, Event Grid delivery and storage throttling', () => {
      const { evaluator } = combination('params/storage.isolated.bicepparam');
      const queries = deployedResources(main, evaluator, 'Microsoft.Insights/scheduledQueryRules').map(({ resource, scope }) =>
        JSON.stringify(evaluator.value(resource.properties as unknown as Json, scope)),
      );
      expect(queries.some((query) => query.includes('prop__state') && query.includes('Failed'))).toBe(true);
      expect(queries.some((query) => query.includes(`${storageQueues.tileResults}-poison`))).toBe(true);
      const metricAlerts = deployedResources(main, evaluator, 'Microsoft.Insights/metricAlerts').map(({ resource, scope }) => ({
        text: JSON.stringify(resource.properties),
        variables: JSON.stringify(scope.template['variables'] ?? {}),
      }));
      const metrics = metricAlerts.map(({ text }) => /"metricName":"([^"]+)"/.exec(text)?.[1]);
      expect(metrics).toContain('DeadletteredMessages');
      const workerAlert = metricAlerts.find(({ text }) => text.includes('Microsoft.App/jobs'))?.text ?? '';
      expect(workerAlert).toContain('"metricName":"Executions"');
      expect(workerAlert).toContain('"Failed"');
      expect(metrics).toContain('Transactions');
      const eventGridMetrics = JSON.parse(metricAlerts.find(({ text }) => text.includes('Microsoft.EventGrid/systemTopics'))?.variables ?? '{}') as { eventGridMetrics: { metric: string }[] };
      expect(eventGridMetrics.eventGridMetrics.map((entry) => entry.metric)).toEqual(['DeliveryAttemptFailCount', 'DeadLetteredCount', 'DroppedEventCount']);
      const throttling = metricAlerts.find(({ text }) => text.includes('Transactions'))?.text ?? '';
      expect(throttling).toContain('ServerBusyError');
      expect(throttling).toContain('ClientThrottlingError');
    });
  });
});
