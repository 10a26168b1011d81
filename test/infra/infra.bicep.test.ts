/**
 * Keeps code and infrastructure in step: compiles infra/main.bicep with the Bicep CLI and checks
 * that every setting, container, queue and role the code needs is provisioned, with identity-based
 * connections only and the storage account locked down by default.
 *
 * Needs the Bicep CLI (scripts/install-bicep.sh puts it in .tools/bicep; CI runs that script).
 */
import { accessSync, constants, existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { containers, identityStorageSuffixes, queues, serviceBusConnection, settingNames } from '../../src/config.js';
import {
  compileBicep,
  findBicep,
  findResources,
  leafNames,
  resolve,
  resolveParameter,
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
  [settingNames.stacApiUrl]: 'publishing to a STAC API is opt-in; unset, the app writes the static catalog only',
  [settingNames.stacApiScope]: 'only with STAC_API_URL, and only for APIs that want an Entra ID token',
  [settingNames.stacApiVersion]: 'only with STAC_API_URL, for APIs that require an api-version parameter',
  [settingNames.stacApiClientId]: 'only with STAC_API_URL; defaults to the credential DefaultAzureCredential picks',
};

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

  it('runs a postdeploy hook that exists and is executable', () => {
    const hook = /postdeploy:\n(?:\s+.*\n)*?\s+run: \.\/(\S+)/.exec(azureYaml)?.[1];
    expect(hook).toBeDefined();
    const path = join(repoRoot, hook as string);
    expect(() => accessSync(path, constants.X_OK)).not.toThrow();
  });

  // azd requires a .funcignore that excludes node_modules when remoteBuild is true; the file
  // belongs to the app's packaging, so until it exists this check has nothing to read.
  it.skipIf(!existsSync(join(repoRoot, '.funcignore')))(
    'keeps local node_modules (gdal-async linked to Debian GDAL) out of the package (skipped while .funcignore does not exist)',
    () => {
      const ignored = readFileSync(join(repoRoot, '.funcignore'), 'utf8').split('\n').map((line) => line.trim());
      expect(ignored.some((line) => /^\/?node_modules\/?$/.test(line))).toBe(true);
    },
  );
});

describe.skipIf(!bicep && !inCi)('infra/main.bicep compiled to ARM JSON', () => {
  let main: JsonObject;
  let appSettings: ScopedResource;
  let settings: JsonObject;

  beforeAll(() => {
    if (!bicep) throw new Error('CI=true but the Bicep CLI is not installed: run `bash scripts/install-bicep.sh` first');
    main = compileBicep(bicep, join(repoRoot, 'infra', 'main.bicep'));
    const configs = findResources(main, 'Microsoft.Web/sites/config').filter(
      ({ resource, scope }) => leafNames(resource, scope)?.[0] === 'appsettings',
    );
    appSettings = single(configs, 'appsettings resource');
    settings = appSettings.resource.properties ?? {};
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

    it('switches the blob trigger to Event Grid, the only blob trigger Flex Consumption runs', () => {
      expect(settings[settingNames.blobTriggerSource]).toBe('EventGrid');
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
      // The Application Insights connection string names the component and ingestion endpoint; it
      // is not a secret, and the component accepts only Entra ID tokens (local auth is off).
      const allowedConnectionStrings = new Set(['APPLICATIONINSIGHTS_CONNECTION_STRING']);
      for (const [name, value] of Object.entries(settings)) {
        const text = String(value);
        expect(text, name).not.toMatch(/AccountKey=|SharedAccessKey|SharedAccessSignature|DefaultEndpointsProtocol|sig=/i);
        expect(text, name).not.toMatch(/list(Keys|ConnectionStrings|AccountSas|ServiceSas)\(/i);
        if (!allowedConnectionStrings.has(name)) expect(name, name).not.toMatch(/connection_?string/i);
      }
      expect(String(settings['APPLICATIONINSIGHTS_AUTHENTICATION_STRING'])).toContain('Authorization=AAD');
    });

    it('lists keys nowhere but in the Event Grid webhook (the blob extension key)', () => {
      const everywhere = JSON.stringify(main).match(/listKeys\(/g) ?? [];
      const subscriptions = findResources(main, 'Microsoft.EventGrid/systemTopics/eventSubscriptions');
      const inWebhook = JSON.stringify(subscriptions.map(({ resource }) => resource)).match(/listKeys\(/g) ?? [];
      expect(everywhere.length).toBe(inWebhook.length);
      expect(JSON.stringify(main['outputs'])).not.toMatch(/list\w*\(/);
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
    it('runs Node.js 20 on Linux Flex Consumption as the user-assigned identity, tagged for azd', () => {
      const plan = single(findResources(main, 'Microsoft.Web/serverfarms'), 'plan').resource as unknown as JsonObject;
      expect(plan['sku']).toEqual({ tier: 'FlexConsumption', name: 'FC1' });
      const { resource: site, scope } = single(findResources(main, 'Microsoft.Web/sites'), 'site');
      expect(site['kind']).toBe('functionapp,linux');
      expect((site['identity'] as JsonObject)['type']).toBe('UserAssigned');
      expect(site.properties?.['httpsOnly']).toBe(true);
      const config = site.properties?.['functionAppConfig'] as JsonObject;
      expect(config['runtime']).toEqual({ name: 'node', version: '20' });
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
      const found = findResources(main, 'Microsoft.Storage/storageAccounts/blobServices/containers');
      const names = found.flatMap(({ resource, scope }) => leafNames(resource, scope) ?? []);
      for (const container of Object.values(containers)) expect(names, container).toContain(container);
      expect(found.some(({ resource }) => String(resource.name).includes('deploymentContainerName'))).toBe(true);
    });

    it('turns shared keys off, requires TLS 1.2 and HTTPS, and allows no public blob access by default', () => {
      const { resource, scope } = single(findResources(main, 'Microsoft.Storage/storageAccounts'), 'storage account');
      expect(resource.properties?.['allowSharedKeyAccess']).toBe(false);
      expect(resource.properties?.['minimumTlsVersion']).toBe('TLS1_2');
      expect(resource.properties?.['supportsHttpsTrafficOnly']).toBe(true);
      expect(resolve(resource.properties?.['allowBlobPublicAccess'], scope)).toBe(false);
    });

    it('never makes the uploads container public, even when public read access is asked for', () => {
      const { scope } = single(findResources(main, 'Microsoft.Storage/storageAccounts'), 'storage account');
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
  });

  describe('Event Grid', () => {
    it('delivers Blob Created events for the uploads container to the blob trigger registered in src/functions', () => {
      const topic = single(findResources(main, 'Microsoft.EventGrid/systemTopics'), 'system topic').resource;
      expect(topic.properties?.['topicType']).toBe('Microsoft.Storage.StorageAccounts');

      const { resource, scope } = single(findResources(main, 'Microsoft.EventGrid/systemTopics/eventSubscriptions'), 'event subscription');
      const filter = resource.properties?.['filter'] as JsonObject;
      expect(filter['includedEventTypes']).toEqual(['Microsoft.Storage.BlobCreated']);
      expect(String(filter['subjectBeginsWith'])).toContain("/blobServices/default/containers/{0}/blobs/', parameters('uploadsContainerName')");
      expect(resolveParameter('uploadsContainerName', scope)).toBe(containers.uploads);

      const endpoint = stringProperty(resource, ['properties', 'destination', 'properties', 'endpointUrl']);
      expect(endpoint).toContain('/runtime/webhooks/blobs?functionName=Host.Functions.{1}');
      expect(endpoint).toContain('systemKeys.blobs_extension');
      const functionName = resolveParameter('blobTriggerFunctionName', scope);

      const sources = readFunctionSources();
      // The options object, up to the `});` that closes the registration.
      const registration = new RegExp(`app\\.storageBlob\\(\\s*'${String(functionName)}',\\s*\\{([\\s\\S]*?)\\n\\}\\);`).exec(sources);
      expect(registration, `app.storageBlob('${String(functionName)}', ...) in src/functions`).not.toBeNull();
      const options = registration?.[1] ?? '';
      expect(options).toMatch(/path:\s*`\$\{containers\.uploads\}\//);
      expect(options).toMatch(/connection:\s*settingNames\.storage/);
      expect(options).toMatch(/source:\s*readBlobTriggerSource\(\)/);
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

    it('uses deterministic guid() names, resource scopes, and no broad control-plane role', () => {
      const all = assignments();
      expect(all.length).toBeGreaterThanOrEqual(6);
      for (const { resource } of all) {
        expect(String(resource.name)).toMatch(/^\[guid\(/);
        expect(resource.scope, 'assignment on a resource, not the whole group').toBeDefined();
        expect(Object.values(broadRoles) as string[]).not.toContain(roleOf(resource));
      }
    });

    it('grants the person deploying only Storage Blob Data Contributor, and only when a principal id is given', () => {
      const userAssignments = assignments().filter(({ resource }) => resource.properties?.['principalType'] === 'User');
      for (const { resource } of userAssignments) {
        expect(roleOf(resource)).toBe(roles.storageBlobDataContributor);
        expect(String(resource.condition)).toContain('empty(parameters(');
      }
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
