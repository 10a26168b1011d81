/**
 * Keeps code and infrastructure in step: compiles infra/main.bicep with the Bicep CLI and checks
 * that every setting, container, queue and role the code needs is provisioned, with identity-based
 * connections only and the storage account locked down by default.
 *
 * Needs the Bicep CLI (scripts/install-bicep.sh puts it in .tools/bicep; CI runs that script).
 */
import { accessSync, constants, readdirSync, readFileSync } from 'node:fs';
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
} as const;

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

  it('runs the same Node.js postdeploy hook on posix and on windows, and the script exists', () => {
    const hooks = /postdeploy:\n((?:    .*\n)+)/.exec(azureYaml)?.[1] ?? '';
    const runs = [...hooks.matchAll(/^      run: (.+)$/gm)].map((match) => match[1]);
    expect(hooks).toMatch(/^    posix:$/m);
    expect(hooks).toMatch(/^    windows:$/m);
    expect(runs).toEqual(['node ./infra/hooks/postdeploy.mjs', 'node ./infra/hooks/postdeploy.mjs']);
    expect(() => accessSync(join(repoRoot, 'infra', 'hooks', 'postdeploy.mjs'), constants.R_OK)).not.toThrow();
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
    it('delivers Blob Created events for the uploads container to the Event Grid trigger registered in src/functions, by resource id and without a key', () => {
      const topic = single(findResources(main, 'Microsoft.EventGrid/systemTopics'), 'system topic').resource;
      expect(topic.properties?.['topicType']).toBe('Microsoft.Storage.StorageAccounts');

      const { resource, scope } = single(findResources(main, 'Microsoft.EventGrid/systemTopics/eventSubscriptions'), 'event subscription');
      const filter = resource.properties?.['filter'] as JsonObject;
      expect(filter['includedEventTypes']).toEqual(['Microsoft.Storage.BlobCreated']);
      expect(String(filter['subjectBeginsWith'])).toContain("/blobServices/default/containers/{0}/blobs/', parameters('uploadsContainerName')");
      expect(resolveParameter('uploadsContainerName', scope)).toBe(containers.uploads);

      const destination = (resource.properties?.['destination'] as JsonObject) ?? {};
      expect(destination['endpointType']).toBe('AzureFunction');
      const target = stringProperty(resource, ['properties', 'destination', 'properties', 'resourceId']);
      expect(target).toBe("[resourceId('Microsoft.Web/sites/functions', parameters('functionAppName'), parameters('uploadFunctionName'))]");
      expect(JSON.stringify(destination)).not.toMatch(/endpointUrl|code=|key/i);
      const functionName = resolveParameter('uploadFunctionName', scope);
      expect(typeof functionName).toBe('string');

      // The function app the subscription names is the one the template creates.
      const boundApp = (scope.boundParameters?.['functionAppName'] as JsonObject | undefined)?.['value'];
      expect(String(boundApp)).toContain("'function-app'");

      const sources = readFunctionSources();
      const registration = new RegExp(`app\\.eventGrid\\(\\s*'${String(functionName)}',\\s*\\{([\\s\\S]*?)\\n\\}\\);`).exec(sources);
      expect(registration, `app.eventGrid('${String(functionName)}', ...) in src/functions`).not.toBeNull();
      expect(sources).toMatch(/blobCreatedEventType = 'Microsoft\.Storage\.BlobCreated'/);
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

    it('is event-driven: KEDA azure-servicebus on the large-raster queue, one execution per waiting tile, from 0 up to a bound', () => {
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
      expect(at(rule, 'metadata', 'messageCount')).toBe('1');
      expect(String(at(rule, 'metadata', 'namespace'))).toBe("[parameters('serviceBusNamespaceName')]");
      // identity-based: no connection string secret in the rule
      expect(at(rule, 'auth')).toBeUndefined();
      expect(at(job, 'properties', 'configuration', 'secrets')).toBeUndefined();
    });

    it('runs as the app\'s user-assigned identity; the scale rule uses an identity of its own', () => {
      const { job, scope } = jobOf(defaults);
      expect(at(job, 'identity', 'type')).toBe('UserAssigned');
      const assigned = Object.keys((at(job, 'identity', 'userAssignedIdentities') as { [key: string]: Value }) ?? {});
      expect(assigned.sort()).toEqual(["[format('{0}', parameters('identityId'))]", "[format('{0}', parameters('scalerIdentityId'))]"]);
      const rule = (at(job, 'properties', 'configuration', 'eventTriggerConfig', 'scale', 'rules') as Value[])[0];
      expect(String(at(rule, 'identity'))).toBe("[parameters('scalerIdentityId')]");
      expect(String(at(job, 'properties', 'configuration', 'registries', 0, 'identity'))).toBe("[parameters('identityId')]");
      const bound = (name: string): string => String(((scope.boundParameters?.[name] as JsonObject | undefined) ?? {})['value']);
      expect(bound('identityId')).toContain('Microsoft.ManagedIdentity/userAssignedIdentities');
      expect(bound('identityId')).not.toContain('scaler-');
      expect(bound('scalerIdentityId')).toContain("'{0}scaler-{1}'");
      // the site runs as the same identity
      const { scope: siteScope } = single(findResources(main, 'Microsoft.Web/sites'), 'site');
      expect(String(((siteScope.boundParameters?.['identityId'] as JsonObject | undefined) ?? {})['value'])).toBe(bound('identityId'));
    });

    it('gets the app\'s identity-based storage and Service Bus settings, under the same names and from the same sources', () => {
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
        expect(source(jobValue, scope), name).toBe(source(appValue, appScope));
      }
      expect(env['AzureWebJobsStorage__credential']).toBe('managedidentity');
      expect(env[settingNames.workerMaxDeliveries]).toBe(String(workerDefaults.maxDeliveries));
      for (const name of [settingNames.tileSize, settingNames.maxDimension, settingNames.sourceContainers]) expect(env[name], name).toBe(String(settings[name]));
      expect(JSON.stringify(env)).not.toMatch(/AccountKey=|SharedAccessKey|DefaultEndpointsProtocol/);
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
    const { resource, scope } = single(findResources(main, 'Microsoft.EventGrid/systemTopics/eventSubscriptions'), 'event subscription');
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

    it.each([
      ['Storage Blob Data Owner', roles.storageBlobDataOwner, 'Microsoft.Storage/storageAccounts'],
      ['Storage Queue Data Contributor', roles.storageQueueDataContributor, 'Microsoft.Storage/storageAccounts'],
      ['Storage Table Data Contributor', roles.storageTableDataContributor, 'Microsoft.Storage/storageAccounts'],
      ['Monitoring Metrics Publisher', roles.monitoringMetricsPublisher, 'Microsoft.Insights/components'],
      ['Azure Service Bus Data Sender', roles.serviceBusDataSender, 'Microsoft.ServiceBus/namespaces/queues'],
      ['Azure Service Bus Data Receiver', roles.serviceBusDataReceiver, 'Microsoft.ServiceBus/namespaces/queues'],
      ['AcrPull', roles.acrPull, 'Microsoft.ContainerRegistry/registries'],
    ])('grants the app identity %s on the narrowest scope', (_name, roleId, scopeType) => {
      const matching = assignments().filter(({ resource }) => roleOf(resource) === roleId && resource.properties?.['principalId'] === "[parameters('appPrincipalId')]");
      const { resource } = single(matching, `${_name} assignment`);
      // `[resourceId('<type>', ...)]`: the exact resource type, so a queue role is not on the namespace.
      expect(String(resource.scope)).toContain(`[resourceId('${scopeType}',`);
      expect(resource.properties?.['principalType']).toBe('ServicePrincipal');
    });

    it('binds the roles to the identity the Function App runs as', () => {
      const { scope } = single(
        assignments().filter(({ resource }) => roleOf(resource) === roles.storageBlobDataOwner),
        'Storage Blob Data Owner assignment',
      );
      const bound = scope.boundParameters?.['appPrincipalId'] as JsonObject;
      expect(String(bound['value'])).toContain('Microsoft.ManagedIdentity/userAssignedIdentities');
      const site = single(findResources(main, 'Microsoft.Web/sites'), 'site').resource;
      expect(JSON.stringify(site['identity'])).toContain("parameters('identityId')");
    });

    it('lets the scaler identity manage the large-raster queue only, and gives nothing like it to the app identity', () => {
      const owners = assignments().filter(({ resource }) => roleOf(resource) === roles.serviceBusDataOwner);
      const { resource } = single(owners, 'Azure Service Bus Data Owner assignment');
      expect(resource.properties?.['principalId']).toBe("[parameters('scalerPrincipalId')]");
      expect(String(resource.scope)).toContain("[resourceId('Microsoft.ServiceBus/namespaces/queues',");
      const scalerGrants = assignments().filter(({ resource: assignment }) => assignment.properties?.['principalId'] === "[parameters('scalerPrincipalId')]");
      expect(scalerGrants).toHaveLength(1);
      const { scope } = single(owners, 'Azure Service Bus Data Owner assignment');
      expect(String(((scope.boundParameters?.['scalerPrincipalId'] as JsonObject | undefined) ?? {})['value'])).toContain("'{0}scaler-{1}'");
    });

    it('covers what the worker does with the app identity it shares: receive and dead-letter tiles, read sources and write COGs, send results', () => {
      const appRoles = assignments()
        .filter(({ resource }) => resource.properties?.['principalId'] === "[parameters('appPrincipalId')]")
        .map(({ resource }) => `${roleOf(resource)} ${String(resource.scope)}`);
      // Listen covers receive, renew, complete, abandon and dead-letter; the worker sends nothing to Service Bus.
      expect(appRoles.some((entry) => entry.startsWith(roles.serviceBusDataReceiver) && entry.includes('Microsoft.ServiceBus/namespaces/queues'))).toBe(true);
      // Blob data on the account: sources in, COGs out (Owner, which the Functions host needs anyway).
      expect(appRoles.some((entry) => entry.startsWith(roles.storageBlobDataOwner) && entry.includes("'Microsoft.Storage/storageAccounts'"))).toBe(true);
      // tile-results: the worker adds messages, the app's queue trigger reads and deletes them.
      expect(appRoles.some((entry) => entry.startsWith(roles.storageQueueDataContributor) && entry.includes("'Microsoft.Storage/storageAccounts'"))).toBe(true);
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
      const { resource, scope } = single(deployedResources(main, evaluator, 'Microsoft.EventGrid/systemTopics/eventSubscriptions'), 'event subscription');
      const destination = evaluator.value(resource.properties?.['destination'], scope) as { [key: string]: Value };
      expect(destination['endpointType']).toBe('AzureFunction');
      expect(String((destination['properties'] as { [key: string]: Value })['resourceId'])).toContain("resourceId('Microsoft.Web/sites/functions'");
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

    it('selects the scheduler through app settings (one host.json for both backends), with identity-only authentication', () => {
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
