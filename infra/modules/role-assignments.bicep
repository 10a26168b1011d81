// Every role each identity needs, each on the narrowest scope that works:
// - the Function App's identity (appPrincipalId): the Functions host's own storage (AzureWebJobsStorage:
//   account-wide, see below why), telemetry, sending tiles to the worker;
// - the worker's identity (workerPrincipalId): it runs native GDAL on untrusted uploads, so it gets
//   only what it does: read the source containers, write the COG container, take (and reschedule)
//   tiles on its queue, send results on `tile-results`, pull its image. Nothing on the deployment
//   package, the Durable state (task hub queues, tables, lease blobs), the STAC container, the
//   jobs index or the Service Bus namespace;
// - the KEDA scaler's identity, Event Grid's identity, and optionally the person deploying.
// test/infra lists every assignment (principal, role, scope) and fails on any other. Names are deterministic guid()s of scope, principal and role, so a redeploy
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

@description('Principal (object) id of the identity the worker code runs as (its own, not the app\'s).')
param workerPrincipalId string

@description('Containers a job may read its source from (INGEST_SOURCE_CONTAINERS): the worker may read these and nothing else.')
param sourceContainerNames string[]

@description('Containers the worker writes its outputs to (the tile COGs and thumbnails).')
param workerOutputContainerNames string[]

@description('Storage queue the worker sends tile results to (the app\'s queue trigger reads it).')
param resultsQueueName string

@description('Principal (object) id of the identity the worker job\'s KEDA scale rule reads the queue length with.')
param scalerPrincipalId string

@description('Container registry the worker\'s image is pulled from (by the worker identity) and pushed to (by the person deploying).')
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

  resource queueService 'queueServices' existing = {
    name: 'default'

    resource resultsQueue 'queues' existing = {
      name: resultsQueueName
    }
  }
}

resource sourceContainers 'Microsoft.Storage/storageAccounts/blobServices/containers@2024-01-01' existing = [
  for containerName in sourceContainerNames: {
    parent: storage::blobService
    name: containerName
  }
]

resource workerOutputContainers 'Microsoft.Storage/storageAccounts/blobServices/containers@2024-01-01' existing = [
  for containerName in workerOutputContainerNames: {
    parent: storage::blobService
    name: containerName
  }
]

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

// Storage Blob Data Owner, account-wide: the Functions host creates its containers at run time
// (azure-webjobs-hosts, azure-webjobs-secrets, Durable's task hub leases and large-message
// containers, named after the hub) and takes blob leases in them; a container-scoped role cannot
// create a container, and Owner is what Azure documents for identity-based AzureWebJobsStorage.
// The app also reads its deployment package and writes uploads, COGs, STAC and batch manifests.
resource appBlobDataOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, appPrincipalId, 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b')
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b')
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// Storage Queue Data Contributor, account-wide: Durable Functions creates its control and
// work-item queues at run time (named after the hub and partition); the app's queue trigger
// receives and deletes tile-results and moves poison messages to tile-results-poison.
resource appQueueDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, appPrincipalId, '974c5e8b-45b9-4653-ba55-5f855dd0fb88')
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '974c5e8b-45b9-4653-ba55-5f855dd0fb88')
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// Storage Table Data Contributor, account-wide: Durable Functions creates its History and Instances
// tables at run time; the jobs index and the retired-outputs table are the app's too.
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
// tile again when its result is late). The app never receives from it.
resource appServiceBusSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(largeRasterQueue.id, appPrincipalId, '69a216fc-b8fb-44d8-bc22-1f3c2cd27a39')
  scope: largeRasterQueue
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '69a216fc-b8fb-44d8-bc22-1f3c2cd27a39')
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// --- The worker's identity ---

// Azure Service Bus Data Receiver on its queue only: receive in peek-lock mode, renew locks,
// complete, abandon and dead-letter (all settlements of a received message need only Listen).
resource workerServiceBusReceiver 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(largeRasterQueue.id, workerPrincipalId, '4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0')
  scope: largeRasterQueue
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0')
    principalId: workerPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// Azure Service Bus Data Sender on the same queue only: a retry with back-off has no Service Bus
// settlement of its own, so the worker schedules a copy of the tile message for later
// (src/queue/servicebus.queue.ts).
resource workerServiceBusSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(largeRasterQueue.id, workerPrincipalId, '69a216fc-b8fb-44d8-bc22-1f3c2cd27a39')
  scope: largeRasterQueue
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '69a216fc-b8fb-44d8-bc22-1f3c2cd27a39')
    principalId: workerPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// Storage Blob Data Reader on each source container only: the worker reads uploads and nothing else.
resource workerSourceReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (containerName, index) in sourceContainerNames: {
    name: guid(sourceContainers[index].id, workerPrincipalId, '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1')
    scope: sourceContainers[index]
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1')
      principalId: workerPrincipalId
      principalType: 'ServicePrincipal'
    }
  }
]

// Storage Blob Data Contributor on each output container only: the tile COGs and thumbnails.
resource workerOutputWriter 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (containerName, index) in workerOutputContainerNames: {
    name: guid(workerOutputContainers[index].id, workerPrincipalId, 'ba92f5b4-2d11-453d-a403-e96b0029c9fe')
    scope: workerOutputContainers[index]
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'ba92f5b4-2d11-453d-a403-e96b0029c9fe')
      principalId: workerPrincipalId
      principalType: 'ServicePrincipal'
    }
  }
]

// Storage Blob Delegator on the account: a source read in place (GDAL's /vsicurl/) goes through a
// user delegation SAS, and the key for it is asked of the blob service (account level). The role
// holds no data action: a SAS signed with the key grants at most what the worker's data roles
// above grant (reading the source containers), so this opens nothing else.
resource workerBlobDelegator 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, workerPrincipalId, 'db58b8e5-c6ad-4a2a-8342-4190687cbf4a')
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'db58b8e5-c6ad-4a2a-8342-4190687cbf4a')
    principalId: workerPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// Storage Queue Data Message Sender on the results queue only: add messages, nothing else.
resource workerResultsSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage::queueService::resultsQueue.id, workerPrincipalId, 'c6a89b2d-59bc-44d0-9896-0f6e12d7b80a')
  scope: storage::queueService::resultsQueue
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'c6a89b2d-59bc-44d0-9896-0f6e12d7b80a')
    principalId: workerPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// AcrPull on the registry only: the worker job pulls its image as the worker's identity.
resource workerAcrPull 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(registry.id, workerPrincipalId, '7f951dda-4ed3-4680-a7ca-43fe172d538d')
  scope: registry
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '7f951dda-4ed3-4680-a7ca-43fe172d538d')
    principalId: workerPrincipalId
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
