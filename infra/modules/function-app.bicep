// Linux Function App on the Flex Consumption plan (Node.js 20) running as a user-assigned managed
// identity. Every connection is identity-based: no account key, SAS or connection string appears in
// the app settings. Why Flex Consumption: docs/deploy.md ("Hosting plan").

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

@description('Storage account used as AzureWebJobsStorage (Durable state, blob trigger, app containers).')
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

@description('Memory (MB) of each instance, 512, 2048 or 4096: GDAL holds a tile window and its overviews in memory.')
@minValue(512)
@maxValue(4096)
param instanceMemoryMB int = 4096

@description('Upper bound of instances the plan scales out to.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Always-ready instances for the durable group; 0 lets the app scale to zero.')
@minValue(0)
param alwaysReadyDurableInstances int = 0

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
      runtime: {
        name: 'node'
        version: '20'
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

// Setting names match src/config.ts (settingNames, identityStorageSuffixes, serviceBusConnection);
// test/infra checks that they stay in step.
resource appSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: functionApp
  name: 'appsettings'
  properties: {
    // Identity-based AzureWebJobsStorage: the host, Durable Functions (blobs, queues, tables), the
    // blob trigger and the app's own BlobStore all resolve these.
    AzureWebJobsStorage__accountName: storageAccountName
    AzureWebJobsStorage__blobServiceUri: storageBlobEndpoint
    AzureWebJobsStorage__queueServiceUri: storageQueueEndpoint
    AzureWebJobsStorage__tableServiceUri: storageTableEndpoint
    AzureWebJobsStorage__credential: 'managedidentity'
    AzureWebJobsStorage__clientId: identityClientId
    // Service Bus for the large-raster route, identity-based as well.
    ServiceBusConnection__fullyQualifiedNamespace: serviceBusFullyQualifiedNamespace
    ServiceBusConnection__credential: 'managedidentity'
    ServiceBusConnection__clientId: identityClientId
    // Telemetry sent with the identity (the component has local auth disabled).
    APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsightsConnectionString
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
    // Flex Consumption supports only the Event Grid-based blob trigger; locally it stays polling.
    BLOB_TRIGGER_SOURCE: 'EventGrid'
    INGEST_MAX_DIMENSION: string(maxDimension)
    INGEST_TILE_SIZE: string(tileSize)
  }
}

output name string = functionApp.name
output defaultHostName string = functionApp.properties.defaultHostName
output baseUrl string = 'https://${functionApp.properties.defaultHostName}'
