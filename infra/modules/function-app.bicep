// Linux Function App on the Flex Consumption plan (Node.js 22) running as a user-assigned managed
// identity. Every connection is identity-based: no account key, SAS or secret appears in the app
// settings. Why Flex Consumption: docs/deploy.md ("Hosting plan").
//
// Every app setting comes from a parameter: a provision replaces the whole `appsettings` list, so a
// value set by hand in the portal would be wiped by the next `azd provision` (docs/deploy.md).

@description('Function App name (also its host name prefix).')
param name string

@description('Flex Consumption plan name.')
param planName string

@description('Azure region of the plan and the app.')
param location string

@description('Tags applied to the plan and the app (the app also gets azd-service-name).')
param tags object

@description('azure.yaml service that azd deploys into this app.')
param azdServiceName string

@description('Resource id of the user-assigned identity the app runs as.')
param identityId string

@description('Client id of that identity: identity-based connections name it, because an app may hold several identities.')
param identityClientId string

@description('Storage account used as AzureWebJobsStorage (Durable state, the tile-results queue, app containers).')
param storageAccountName string

@description('Blob endpoint of that account (https://<account>.blob.<suffix>/).')
param storageBlobEndpoint string

@description('Queue endpoint of that account.')
param storageQueueEndpoint string

@description('Table endpoint of that account.')
param storageTableEndpoint string

@description('URL of the blob container that holds the deployment package.')
param deploymentContainerUrl string

@description('Application Insights connection string (not a secret; ingestion needs an Entra ID token).')
param applicationInsightsConnectionString string

@description('Host name of the Service Bus namespace for the large-raster route.')
param serviceBusFullyQualifiedNamespace string

@description('Largest raster width or height (pixels) accepted by validation.')
@minValue(1)
param maxDimension int

@description('Edge length (pixels) of the tiles a source is split into.')
@minValue(256)
param tileSize int

@description('Rasters larger than this many MB uncompressed go to the container worker (INGEST_WORKER_THRESHOLD_MB).')
@minValue(1)
param workerThresholdMb int

@description('Deliveries of one tile message before the worker dead-letters it (INGEST_WORKER_MAX_DELIVERIES).')
@minValue(1)
param workerMaxDeliveries int

@description('Seconds a tile waits for the worker\'s result before it is sent again (INGEST_WORKER_TILE_TIMEOUT_SECONDS).')
@minValue(1)
param workerTileTimeoutSeconds int

@description('Tiles sent to the container worker at once across all jobs: its executions × tiles per execution (INGEST_WORKER_DISPATCH_PERMITS; modules/worker.bicep computes it).')
@minValue(1)
param workerDispatchPermits int

@description('Memory (MB) of each instance: GDAL holds a tile window and its overviews in memory. Flex Consumption offers only these sizes.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 4096

@description('Upper bound of instances the plan scales out to.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Always-ready instances for the durable group (Microsoft recommends 1 for Durable Functions on Flex); 0 lets the app scale to zero.')
@minValue(0)
param alwaysReadyDurableInstances int = 1

@description('Comma list of the containers a job may read its source from (INGEST_SOURCE_CONTAINERS).')
param sourceContainers string

@description('Days a finished orchestration instance is kept before the retention timer purges it (DURABLE_RETENTION_DAYS).')
@minValue(1)
param retentionDays int

@description('Hours replaced COGs stay readable before the retention timer deletes them (INGEST_SUPERSEDED_GRACE_HOURS).')
@minValue(0)
param supersededGraceHours int

@description('STAC API landing page (STAC_API_URL); empty publishes the static catalog only.')
param stacApiUrl string = ''

@description('Entra ID scope of the STAC API token (STAC_API_SCOPE); empty sends no token.')
param stacApiScope string = ''

@description('api-version sent to the STAC API (STAC_API_VERSION); empty sends none.')
param stacApiVersion string = ''

@description('Durable Functions backend: AzureStorage (queues, tables and blobs in a storage account) or DurableTaskScheduler.')
@allowed([
  'AzureStorage'
  'DurableTaskScheduler'
])
param durableBackend string = 'AzureStorage'

@description('Durable Task Scheduler endpoint (https://<scheduler>.<region>.durabletask.io); only with durableBackend DurableTaskScheduler.')
param durableTaskSchedulerEndpoint string = ''

@description('Endpoints of a separate storage account for Durable state (AzureStorage backend); empty keeps Durable state in AzureWebJobsStorage.')
param durableStorageEndpoints {
  blob: string
  queue: string
  table: string
}?

@description('Subnet (delegated to Microsoft.App/environments) the app joins for outbound traffic; empty means no VNet integration.')
param virtualNetworkSubnetId string = ''

@description('Application (client) id of the API\'s Entra ID app registration (infra/hooks/preprovision.mjs creates it, with the app roles reader, operator, admin). Empty: no App Service Authentication, and the API refuses every request (sign-in is required in Azure).')
param authClientId string = ''

@description('Endpoint of the Event Grid custom topic job events go to (INGEST_EVENT_TOPIC_ENDPOINT); empty = webhooks only.')
param eventTopicEndpoint string = ''

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true // Linux
  }
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': azdServiceName })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    // Outbound traffic through the VNet, so the storage and Service Bus private endpoints are reached.
    virtualNetworkSubnetId: empty(virtualNetworkSubnetId) ? null : virtualNetworkSubnetId
    siteConfig: {
      minTlsVersion: '1.2'
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: deploymentContainerUrl
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
        alwaysReady: alwaysReadyDurableInstances > 0
          ? [
              {
                name: 'durable'
                instanceCount: alwaysReadyDurableInstances
              }
            ]
          : []
      }
      // Flex Consumption takes the runtime here, not from FUNCTIONS_WORKER_RUNTIME / WEBSITE_NODE_DEFAULT_VERSION.
      // Node.js 20 reached end of support on 2026-04-30; the code runs on 20 and 22.
      runtime: {
        name: 'node'
        version: '22'
      }
    }
  }
}

// No FTP or Kudu basic-auth publishing credentials: azd and Core Tools deploy with Entra ID tokens.
resource ftpBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'scm'
  properties: {
    allow: false
  }
}

// Sign-in: App Service Authentication (Easy Auth, authsettingsV2), which Flex Consumption supports.
// Easy Auth validates the caller's Entra ID token (issuer: this tenant; audience: the API's
// registration) before any function runs, and hands the app the caller's app roles in
// `x-ms-client-principal`; the app checks each route's role (src/api/access.ts). No client secret:
// browsers sign in with an ID token (the registration allows ID tokens), API clients send access
// tokens. Without a registration nothing is configured and the app refuses every API request.
resource authSettings 'Microsoft.Web/sites/config@2024-04-01' = if (!empty(authClientId)) {
  parent: functionApp
  name: 'authsettingsV2'
  properties: {
    platform: {
      enabled: true
    }
    globalValidation: {
      requireAuthentication: true
      // Browsers (the dashboard) are sent to sign in; a request with X-Requested-With or a bearer
      // token that fails validation gets 401.
      unauthenticatedClientAction: 'RedirectToLoginPage'
      redirectToProvider: 'azureactivedirectory'
      // Event Grid delivers Blob Created events to the extension's webhook, which the host guards
      // with its system key; Event Grid holds no Entra ID token for this API.
      excludedPaths: [
        '/runtime/webhooks/eventgrid'
      ]
    }
    identityProviders: {
      azureActiveDirectory: {
        enabled: true
        registration: {
          clientId: authClientId
          openIdIssuer: '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'
        }
        validation: {
          allowedAudiences: [
            'api://${authClientId}'
            authClientId
          ]
        }
      }
    }
    login: {
      tokenStore: {
        enabled: true
      }
    }
    httpSettings: {
      requireHttps: true
    }
  }
}

// Durable Functions backend, chosen with app settings that override host.json
// (`AzureFunctionsJobHost__<path>`), so one host.json serves both backends and the local host.
var durableHostSetting = 'AzureFunctionsJobHost__extensions__durableTask__storageProvider'
var durableSettings = durableBackend == 'DurableTaskScheduler'
  ? {
      '${durableHostSetting}__type': 'azureManaged'
      '${durableHostSetting}__connectionStringName': 'DURABLE_TASK_SCHEDULER_CONNECTION_STRING'
      // Endpoint and identity only: the scheduler accepts nothing but Entra ID tokens.
      DURABLE_TASK_SCHEDULER_CONNECTION_STRING: 'Endpoint=${durableTaskSchedulerEndpoint};Authentication=ManagedIdentity;ClientID=${identityClientId}'
    }
  : union(
      {
        // Flex Consumption is sensitive to queue polling delays: Microsoft recommends 10 s or less
        // (the Azure Storage provider's default is 30 s). Costs more storage transactions.
        '${durableHostSetting}__maxQueuePollingInterval': '00:00:10'
      },
      durableStorageEndpoints == null
        ? {}
        : {
            '${durableHostSetting}__connectionName': 'DurableStorage'
            DurableStorage__blobServiceUri: durableStorageEndpoints!.blob
            DurableStorage__queueServiceUri: durableStorageEndpoints!.queue
            DurableStorage__tableServiceUri: durableStorageEndpoints!.table
            DurableStorage__credential: 'managedidentity'
            DurableStorage__clientId: identityClientId
          }
    )

// Setting names match src/config.ts (settingNames, identityStorageSuffixes, serviceBusConnection);
// test/infra checks that they stay in step.
resource appSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: functionApp
  name: 'appsettings'
  properties: union(
    {
      // Identity-based AzureWebJobsStorage: the host, Durable Functions (blobs, queues, tables), the
      // tile-results queue trigger and the app's own BlobStore all resolve these.
      AzureWebJobsStorage__accountName: storageAccountName
      AzureWebJobsStorage__blobServiceUri: storageBlobEndpoint
      AzureWebJobsStorage__queueServiceUri: storageQueueEndpoint
      AzureWebJobsStorage__tableServiceUri: storageTableEndpoint
      AzureWebJobsStorage__credential: 'managedidentity'
      AzureWebJobsStorage__clientId: identityClientId
      // Service Bus for the large-raster route (the app sends tiles), identity-based as well.
      ServiceBusConnection__fullyQualifiedNamespace: serviceBusFullyQualifiedNamespace
      ServiceBusConnection__credential: 'managedidentity'
      ServiceBusConnection__clientId: identityClientId
      // Telemetry sent with the identity (the component has local auth disabled).
      APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsightsConnectionString
      APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
      INGEST_MAX_DIMENSION: string(maxDimension)
      INGEST_TILE_SIZE: string(tileSize)
      INGEST_SOURCE_CONTAINERS: sourceContainers
      DURABLE_RETENTION_DAYS: string(retentionDays)
      INGEST_SUPERSEDED_GRACE_HOURS: string(supersededGraceHours)
      // The route to the container worker (modules/worker.bicep) and how long a tile waits for it.
      INGEST_WORKER_THRESHOLD_MB: string(workerThresholdMb)
      INGEST_WORKER_MAX_DELIVERIES: string(workerMaxDeliveries)
      INGEST_WORKER_TILE_TIMEOUT_SECONDS: string(workerTileTimeoutSeconds)
      INGEST_WORKER_DISPATCH_PERMITS: string(workerDispatchPermits)
      // Publishing to a STAC API is opt-in: empty values read as unset (src/config.ts). The token is
      // requested as the app's user-assigned identity, which DefaultAzureCredential cannot pick alone.
      STAC_API_URL: stacApiUrl
      STAC_API_SCOPE: stacApiScope
      STAC_API_VERSION: stacApiVersion
      STAC_API_CLIENT_ID: identityClientId
      // Every HTTP route checks its app role in Easy Auth's principal (src/functions/http.access.ts).
      API_SIGN_IN: 'required'
      // Job events (CloudEvents) to the custom topic, published with the app's identity (modules/event-topic.bicep).
      INGEST_EVENT_TOPIC_ENDPOINT: eventTopicEndpoint
    },
    durableSettings
  )
}

output name string = functionApp.name
output defaultHostName string = functionApp.properties.defaultHostName
output baseUrl string = 'https://${functionApp.properties.defaultHostName}'
output signInConfigured bool = !empty(authClientId)
