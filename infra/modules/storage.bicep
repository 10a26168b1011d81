// Storage account for the Functions host (Durable Functions state, the tile-results queue), the app's
// own containers and the Flex Consumption deployment package. Keys are disabled: every client,
// the platform included, authenticates with Microsoft Entra ID.

@description('Storage account name (3-24 lower-case letters and digits).')
@minLength(3)
@maxLength(24)
param name string

@description('Azure region of the account.')
param location string

@description('Tags applied to the account.')
param tags object

@description('Blob containers the app reads and writes (uploads, COGs, STAC).')
param appContainerNames string[]

@description('Containers whose blobs become anonymously readable when publicReadAccess is true (COGs and STAC).')
param publicContainerNames string[]

@description('Container that holds the Flex Consumption deployment package.')
param deploymentContainerName string

@description('Container where Event Grid writes events it could not deliver.')
param deadLetterContainerName string

@description('Storage queues the app triggers on and the worker sends to (tile-results), with their poison queues.')
param queueNames string[] = []

@description('Opt-in: let anyone read blobs (not list containers) in publicContainerNames, e.g. to serve the STAC catalog to STAC Browser. Off by default.')
param publicReadAccess bool = false

@description('Network isolation: turn public network access off; clients come in through private endpoints (modules/network.bicep).')
param networkIsolation bool = false

@description('Days that deleted blobs and containers stay recoverable.')
@minValue(1)
@maxValue(365)
param softDeleteRetentionDays int = 7

resource storage 'Microsoft.Storage/storageAccounts@2024-01-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: publicReadAccess
    allowCrossTenantReplication: false
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    dnsEndpointType: 'Standard'
    minimumTlsVersion: 'TLS1_2'
    publicNetworkAccess: networkIsolation ? 'Disabled' : 'Enabled'
    supportsHttpsTrafficOnly: true
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: networkIsolation ? 'Deny' : 'Allow'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2024-01-01' = {
  parent: storage
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: softDeleteRetentionDays
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: softDeleteRetentionDays
    }
    // STAC clients in browsers (STAC Browser) fetch the catalog cross-origin; only needed when public.
    cors: {
      corsRules: publicReadAccess
        ? [
            {
              allowedOrigins: ['*']
              allowedMethods: ['GET', 'HEAD', 'OPTIONS']
              allowedHeaders: ['*']
              exposedHeaders: ['*']
              maxAgeInSeconds: 3600
            }
          ]
        : []
    }
  }
}

resource appContainers 'Microsoft.Storage/storageAccounts/blobServices/containers@2024-01-01' = [
  for containerName in appContainerNames: {
    parent: blobService
    name: containerName
    properties: {
      publicAccess: publicReadAccess && contains(publicContainerNames, containerName) ? 'Blob' : 'None'
    }
  }
]

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2024-01-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource deadLetterContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2024-01-01' = {
  parent: blobService
  name: deadLetterContainerName
  properties: {
    publicAccess: 'None'
  }
}

// Queues exist before any code runs: the worker may report a tile before the app's queue trigger
// has ever started, and an operator can look into the poison queue from the first day.
resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2024-01-01' = {
  parent: storage
  name: 'default'
}

resource queues 'Microsoft.Storage/storageAccounts/queueServices/queues@2024-01-01' = [
  for queueName in queueNames: {
    parent: queueService
    name: queueName
  }
]

output name string = storage.name
output id string = storage.id
output blobEndpoint string = storage.properties.primaryEndpoints.blob
output queueEndpoint string = storage.properties.primaryEndpoints.queue
output tableEndpoint string = storage.properties.primaryEndpoints.table
output deploymentContainerUrl string = '${storage.properties.primaryEndpoints.blob}${deploymentContainer.name}'
