// Every role the app's identity (and optionally the person deploying) needs, each on the narrowest
// scope that works. Names are deterministic guid()s of scope, principal and role, so a redeploy
// finds the same assignments instead of failing on duplicates.
//
// Role definition ids are the built-in ones (the same in every tenant), written out so a reader
// and test/infra can see exactly which roles are granted.

@description('Principal (object) id of the Function App identity.')
param appPrincipalId string

@description('Storage account the app uses as AzureWebJobsStorage and for its containers.')
param storageAccountName string

@description('Application Insights component the app sends telemetry to with its identity.')
param applicationInsightsName string

@description('Service Bus namespace of the large-raster route.')
param serviceBusNamespaceName string

@description('Queue of the large-raster route.')
param serviceBusQueueName string

@description('Principal (object) id of the identity the worker job\'s KEDA scale rule reads the queue length with.')
param scalerPrincipalId string

@description('Container registry the worker\'s image is pulled from (by the app identity) and pushed to (by the person deploying).')
param registryName string

@description('Optional: object id of the person deploying, granted blob data access to upload rasters and read results. Empty grants nothing.')
param userPrincipalId string = ''

@description('Kind of principal userPrincipalId is: User for a person, ServicePrincipal when CI deploys.')
@allowed([
  'User'
  'ServicePrincipal'
  'Group'
])
param userPrincipalType string = 'User'

@description('Whether Durable state has a storage account of its own (durableStorageAccountName).')
param separateDurableStorage bool = false

@description('That account\'s name; only read when separateDurableStorage is true.')
param durableStorageAccountName string = ''

@description('Principal (object) id of the identity Event Grid dead-letters with.')
param eventsPrincipalId string

@description('Container Event Grid dead-letters into.')
param deadLetterContainerName string

resource storage 'Microsoft.Storage/storageAccounts@2024-01-01' existing = {
  name: storageAccountName

  resource blobService 'blobServices' existing = {
    name: 'default'

    resource deadLetterContainer 'containers' existing = {
      name: deadLetterContainerName
    }
  }
}

resource durableStorage 'Microsoft.Storage/storageAccounts@2024-01-01' existing = if (separateDurableStorage) {
  name: separateDurableStorage ? durableStorageAccountName : storageAccountName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource serviceBus 'Microsoft.ServiceBus/namespaces@2024-01-01' existing = {
  name: serviceBusNamespaceName
}

resource largeRasterQueue 'Microsoft.ServiceBus/namespaces/queues@2024-01-01' existing = {
  parent: serviceBus
  name: serviceBusQueueName
}

resource registry 'Microsoft.ContainerRegistry/registries@2025-04-01' existing = {
  name: registryName
}

// Storage Blob Data Owner: the Functions host needs blob leases and container creation
// (azure-webjobs-hosts, Durable's task hub leases and large-message containers); Owner is what
// Azure documents for identity-based AzureWebJobsStorage. The deployment package is read with it
// too, and the worker (same identity) reads sources and writes COGs with it.
resource appBlobDataOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, appPrincipalId, 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b')
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b')
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// Storage Queue Data Contributor: Durable Functions' control and work-item queues; the tile-results
// queue (the worker sends, the app's queue trigger receives and deletes, and moves poison messages
// to tile-results-poison). The worker runs as this same identity, so a narrower queue-scoped
// Message Sender / Message Processor grant would add nothing: this account-wide role, which the
// Functions host needs anyway, already covers both.
resource appQueueDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, appPrincipalId, '974c5e8b-45b9-4653-ba55-5f855dd0fb88')
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '974c5e8b-45b9-4653-ba55-5f855dd0fb88')
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// Storage Table Data Contributor: Durable Functions' History and Instances tables.
resource appTableDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, appPrincipalId, '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3')
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3')
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// Monitoring Metrics Publisher on the component only: telemetry with Entra ID authentication.
resource appMetricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(applicationInsights.id, appPrincipalId, '3913510d-42f4-4e42-8a64-420c390055eb')
  scope: applicationInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '3913510d-42f4-4e42-8a64-420c390055eb')
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// Azure Service Bus Data Sender on the queue only: the app sends tiles to the worker (and sends a
// tile again when its result is late).
resource appServiceBusSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(largeRasterQueue.id, appPrincipalId, '69a216fc-b8fb-44d8-bc22-1f3c2cd27a39')
  scope: largeRasterQueue
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '69a216fc-b8fb-44d8-bc22-1f3c2cd27a39')
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// Azure Service Bus Data Receiver on the queue only: the worker (same identity) receives in
// peek-lock mode, renews locks, completes, abandons and dead-letters: all settlements of a received
// message, which Listen (this role) allows; the worker sends nothing to Service Bus.
resource appServiceBusReceiver 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(largeRasterQueue.id, appPrincipalId, '4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0')
  scope: largeRasterQueue
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0')
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// Azure Service Bus Data Owner on the queue only, for the scaler's own identity: KEDA's
// azure-servicebus scaler reads the queue's active message count with a management operation,
// which needs the Manage right; no narrower built-in role has it. The worker code never holds it.
resource scalerServiceBusOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(largeRasterQueue.id, scalerPrincipalId, '090c5cfd-751d-490a-894a-3ce6f1109419')
  scope: largeRasterQueue
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '090c5cfd-751d-490a-894a-3ce6f1109419')
    principalId: scalerPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// AcrPull on the registry only: the worker job pulls its image as the app identity.
resource appAcrPull 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(registry.id, appPrincipalId, '7f951dda-4ed3-4680-a7ca-43fe172d538d')
  scope: registry
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '7f951dda-4ed3-4680-a7ca-43fe172d538d')
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// Storage Blob Data Contributor for Event Grid's identity, on the dead-letter container only.
resource eventsDeadLetterWriter 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage::blobService::deadLetterContainer.id, eventsPrincipalId, 'ba92f5b4-2d11-453d-a403-e96b0029c9fe')
  scope: storage::blobService::deadLetterContainer
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'ba92f5b4-2d11-453d-a403-e96b0029c9fe')
    principalId: eventsPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// Storage Blob Data Contributor for the person deploying: upload rasters, read COGs and STAC.
resource userBlobDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(userPrincipalId)) {
  name: guid(storage.id, userPrincipalId, 'ba92f5b4-2d11-453d-a403-e96b0029c9fe')
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'ba92f5b4-2d11-453d-a403-e96b0029c9fe')
    principalId: userPrincipalId
    principalType: userPrincipalType
  }
}

// AcrPush on the registry for the person deploying: `azd deploy` pushes the worker's image.
resource userAcrPush 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(userPrincipalId)) {
  name: guid(registry.id, userPrincipalId, '8311e382-0749-4cb8-b61a-304f252e45ec')
  scope: registry
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '8311e382-0749-4cb8-b61a-304f252e45ec')
    principalId: userPrincipalId
    principalType: userPrincipalType
  }
}

// The Durable state account (optional): the data roles Durable Functions' Azure Storage provider
// needs with an identity-based connection (queues, tables, and blobs for leases and large messages).
var durableStorageRoles = [
  '974c5e8b-45b9-4653-ba55-5f855dd0fb88' // Storage Queue Data Contributor
  '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3' // Storage Table Data Contributor
  'ba92f5b4-2d11-453d-a403-e96b0029c9fe' // Storage Blob Data Contributor
]

resource appDurableStorageRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for roleId in durableStorageRoles: if (separateDurableStorage) {
    name: guid(durableStorage.id, appPrincipalId, roleId)
    scope: durableStorage
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleId)
      principalId: appPrincipalId
      principalType: 'ServicePrincipal'
    }
  }
]
