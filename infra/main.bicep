// Raster ingestion on Azure: a Durable Functions app (Flex Consumption, Linux, Node.js 22) that turns
// uploads into Cloud Optimized GeoTIFFs and a static STAC catalog, with identity-based access to
// every data plane. Deployed into one resource group by `azd up` (azure.yaml) or by
// `az deployment group create` (docs/deploy.md).
targetScope = 'resourceGroup'

@minLength(1)
@maxLength(64)
@description('Name of the azd environment; seeds the unique resource names and the azd-env-name tag.')
param environmentName string

@description('Region of every resource; empty means the resource group\'s. It must offer the Flex Consumption plan (az functionapp list-flexconsumption-locations).')
param location string = ''

@description('Object id of the person deploying (azd sets AZURE_PRINCIPAL_ID): granted blob data access to upload rasters and read results. Empty grants nothing.')
param principalId string = ''

@description('Kind of principal principalId is: User (azd up from a laptop) or ServicePrincipal (CI with OIDC sets AZURE_PRINCIPAL_TYPE).')
@allowed([
  'User'
  'ServicePrincipal'
  'Group'
])
param principalType string = 'User'

@description('Opt-in: make the cogs and stac containers anonymously readable (blobs, not listings) so STAC clients can open the catalog without credentials.')
param publicReadAccess bool = false

@description('Second step, after the code is deployed: subscribe the upload function (Event Grid trigger ingestUpload) to Blob Created events (infra/hooks/postdeploy.mjs sets it).')
param subscribeBlobEvents bool = false

@description('Largest raster width or height (pixels) accepted by validation (INGEST_MAX_DIMENSION).')
@minValue(1)
param maxDimension int = 200000

@description('Edge length (pixels) of the tiles a source is split into (INGEST_TILE_SIZE).')
@minValue(256)
param tileSize int = 4096

@description('Rasters larger than this many MB uncompressed (width × height × bands × bytes per sample) go to the container worker (INGEST_WORKER_THRESHOLD_MB).')
@minValue(1)
param workerThresholdMb int = 1024

@description('Deliveries of one tile message before the worker dead-letters it and the tile fails with the reason (INGEST_WORKER_MAX_DELIVERIES).')
@minValue(1)
@maxValue(50)
param workerMaxDeliveries int = 5

@description('Seconds a tile waits for the worker\'s result before the app sends it again (INGEST_WORKER_TILE_TIMEOUT_SECONDS).')
@minValue(60)
param workerTileTimeoutSeconds int = 1800

@description('Worker image (azd sets SERVICE_WORKER_IMAGE_NAME after it deployed one); empty runs a public placeholder until the first `azd deploy`.')
param workerImage string = ''

@description('vCPU of a worker replica; its memory is twice that in GiB.')
@allowed([
  '0.5'
  '1.0'
  '1.5'
  '2.0'
  '2.5'
  '3.0'
  '3.5'
  '4.0'
])
param workerCpu string = '2.0'

@description('Most worker job executions at once.')
@minValue(1)
@maxValue(100)
param workerMaxExecutions int = 10

@description('Seconds one worker execution may run (a stopped execution\'s tile is delivered again).')
@minValue(300)
@maxValue(86400)
param workerReplicaTimeoutSeconds int = 7200

@description('Memory (MB) of each Flex Consumption instance: 512, 2048 or 4096.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 4096

@description('Upper bound of Flex Consumption instances.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Always-ready instances for the durable group (orchestrators, activities, entities). Microsoft recommends 1 for Durable Functions on Flex; it bills around the clock. 0 scales to zero.')
@minValue(0)
@maxValue(10)
param alwaysReadyDurableInstances int = 1

@description('Service Bus tier: Basic (queues only, no base charge), Standard, or Premium (needed for a private endpoint with networkIsolation).')
@allowed([
  'Basic'
  'Standard'
  'Premium'
])
param serviceBusSku string = 'Basic'

@description('Durable Functions backend: AzureStorage (default) or DurableTaskScheduler (managed; Microsoft\'s recommendation on Flex Consumption). Switching starts with an empty task hub.')
@allowed([
  'AzureStorage'
  'DurableTaskScheduler'
])
param durableBackend string = 'AzureStorage'

@description('Durable Task Scheduler billing: Consumption (per action) or Dedicated (reserved capacity unit).')
@allowed([
  'Consumption'
  'Dedicated'
])
param durableTaskSchedulerSku string = 'Consumption'

@description('AzureStorage backend only: keep Durable state in a storage account of its own, so heavy orchestration traffic does not share request limits with uploads and COGs.')
param separateDurableStorage bool = false

@description('Comma list of containers a job may read its source from (INGEST_SOURCE_CONTAINERS). Each is provisioned.')
param sourceContainers string = 'uploads'

@description('Days a finished orchestration instance is kept before the retention timer purges it (DURABLE_RETENTION_DAYS).')
@minValue(1)
param retentionDays int = 30

@description('Hours the COGs a newer version of their source replaced stay readable before the retention timer deletes them (INGEST_SUPERSEDED_GRACE_HOURS); 0 deletes them when they are replaced.')
@minValue(0)
param supersededGraceHours int = 24

@description('STAC API landing page (STAC_API_URL); empty writes the static catalog only. A provision sets every app setting from parameters, so set it here, not in the portal.')
param stacApiUrl string = ''

@description('Entra ID scope of the STAC API token (STAC_API_SCOPE).')
param stacApiScope string = ''

@description('api-version sent to the STAC API (STAC_API_VERSION).')
param stacApiVersion string = ''

@description('E-mail address for the alerts\' action group; empty creates the alerts without a receiver.')
param alertEmail string = ''

@description('Alert when more orchestrations than this fail within 15 minutes.')
@minValue(0)
param failedOrchestrationsThreshold int = 0

@description('Application (client) id of the API\'s Entra ID app registration with the app roles reader, operator and admin (AUTH_CLIENT_ID, set by infra/hooks/preprovision.mjs). Empty: sign-in is not configured and the API refuses every request.')
param authClientId string = ''

@description('Network isolation: VNet integration for the app, private endpoints for storage (and Service Bus on Premium), public network access off on them.')
param networkIsolation bool = false

var region = empty(location) ? resourceGroup().location : location
var abbrs = loadJsonContent('abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, resourceGroup().id, environmentName))
var tags = {
  'azd-env-name': environmentName
}

// Containers, queue and function names the code uses (src/config.ts `containers`, `queues`,
// `storageQueues`; the Event Grid trigger in src/functions). test/infra checks they stay in step.
var containerNames = {
  uploads: 'uploads'
  cogs: 'cogs'
  stac: 'stac'
  batchManifests: 'batch-manifests'
}
// Every container a job may read from exists (INGEST_SOURCE_CONTAINERS); uploads always does.
var sourceContainerNames = filter(map(split(sourceContainers, ','), container => trim(container)), container => !empty(container))
var largeRasterQueueName = 'large-rasters'
var tileResultsQueueName = 'tile-results'
// Service Bus' own dead-lettering stays behind the worker's (which gives the reason): it only
// catches a tile whose worker dies on every delivery.
var serviceBusMaxDeliveryCount = max(10, workerMaxDeliveries + 5)
// Microsoft's public sample image for jobs: it exits at once. The job exists from the first
// provision (so the scale rule and roles do), but runs the real worker only after `azd deploy`.
var workerPlaceholderImage = 'mcr.microsoft.com/k8se/quickstart-jobs:latest'
// extensions.durableTask.hubName of host.json: the Durable Task Scheduler task hub must carry the
// same name (test/infra checks it).
var taskHubName = 'RasterIngestHub'
var useScheduler = durableBackend == 'DurableTaskScheduler'
var useDurableStorage = separateDurableStorage && !useScheduler
var serviceBusPrivate = networkIsolation && serviceBusSku == 'Premium'
// Blob Created events that Event Grid could not deliver (app down for a day) land here instead of being dropped.
var deadLetterContainerName = 'eventgrid-deadletter'
var uploadFunctionName = 'ingestUpload'
var deleteFunctionName = 'removeDeletedSource'

var functionAppName = '${abbrs.webSitesFunctions}${resourceToken}'
var deploymentContainerName = 'app-package-${take(functionAppName, 32)}-${take(resourceToken, 7)}'

resource appIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: '${abbrs.managedIdentityUserAssignedIdentities}${resourceToken}'
  location: region
  tags: tags
}

// Event Grid's own identity, used only to write undeliverable events to the dead-letter container.
resource eventsIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: '${abbrs.managedIdentityUserAssignedIdentities}events-${resourceToken}'
  location: region
  tags: tags
}

// The worker code's own identity: the worker runs native GDAL on untrusted uploads, so it gets
// read on the source containers, write on the COG container, its queue and the results queue,
// and nothing of the app's (deployment package, Durable state, STAC, jobs index).
resource workerIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: '${abbrs.managedIdentityUserAssignedIdentities}worker-${resourceToken}'
  location: region
  tags: tags
}

// The worker job's KEDA scale rule reads the queue length with this identity (Manage right on the
// queue only); the worker code runs as workerIdentity.
resource scalerIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: '${abbrs.managedIdentityUserAssignedIdentities}scaler-${resourceToken}'
  location: region
  tags: tags
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    name: '${abbrs.storageStorageAccounts}${resourceToken}'
    location: region
    tags: tags
    appContainerNames: union(
      [
        containerNames.uploads
        containerNames.cogs
        containerNames.stac
        containerNames.batchManifests
      ],
      sourceContainerNames
    )
    publicContainerNames: [
      containerNames.cogs
      containerNames.stac
    ]
    deploymentContainerName: deploymentContainerName
    deadLetterContainerName: deadLetterContainerName
    queueNames: [
      tileResultsQueueName
      '${tileResultsQueueName}-poison'
    ]
    publicReadAccess: publicReadAccess
    networkIsolation: networkIsolation
  }
}

module durableStorage 'modules/durable-storage.bicep' = if (useDurableStorage) {
  name: 'durable-storage'
  params: {
    name: '${abbrs.storageStorageAccounts}dt${take(resourceToken, 20)}'
    location: region
    tags: tags
    networkIsolation: networkIsolation
  }
}

module scheduler 'modules/durable-task-scheduler.bicep' = if (useScheduler) {
  name: 'durable-task-scheduler'
  params: {
    name: '${abbrs.durableTaskSchedulers}${resourceToken}'
    location: region
    tags: tags
    taskHubName: taskHubName
    sku: durableTaskSchedulerSku
    appPrincipalId: appIdentity.properties.principalId
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    logAnalyticsName: '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
    applicationInsightsName: '${abbrs.insightsComponents}${resourceToken}'
    location: region
    tags: tags
  }
}

module serviceBus 'modules/service-bus.bicep' = {
  name: 'service-bus'
  params: {
    name: '${abbrs.serviceBusNamespaces}${resourceToken}'
    location: region
    tags: tags
    queueName: largeRasterQueueName
    maxDeliveryCount: serviceBusMaxDeliveryCount
    sku: serviceBusSku
    disablePublicNetworkAccess: serviceBusPrivate
  }
}

module registry 'modules/container-registry.bicep' = {
  name: 'container-registry'
  params: {
    name: '${abbrs.containerRegistryRegistries}${resourceToken}'
    location: region
    tags: tags
  }
}

// Private endpoints per storage sub-resource (blob, queue, table), for each account, and for Service Bus on Premium.
var storageSubresources = [
  'blob'
  'queue'
  'table'
]
var storagePrivateEndpoints = map(storageSubresources, subresource => {
  name: '${abbrs.networkPrivateEndpoints}${subresource}-${resourceToken}'
  resourceId: storage.outputs.id
  groupId: subresource
  dnsZone: 'privatelink.${subresource}.${environment().suffixes.storage}'
})
var durableStoragePrivateEndpoints = useDurableStorage
  ? map(storageSubresources, subresource => {
      name: '${abbrs.networkPrivateEndpoints}durable-${subresource}-${resourceToken}'
      resourceId: durableStorage!.outputs.id
      groupId: subresource
      dnsZone: 'privatelink.${subresource}.${environment().suffixes.storage}'
    })
  : []
var serviceBusPrivateEndpoints = serviceBusPrivate
  ? [
      {
        name: '${abbrs.networkPrivateEndpoints}servicebus-${resourceToken}'
        resourceId: serviceBus.outputs.id
        groupId: 'namespace'
        dnsZone: 'privatelink.servicebus.windows.net'
      }
    ]
  : []

module network 'modules/network.bicep' = if (networkIsolation) {
  name: 'network'
  params: {
    name: '${abbrs.networkVirtualNetworks}${resourceToken}'
    location: region
    tags: tags
    privateEndpoints: concat(storagePrivateEndpoints, durableStoragePrivateEndpoints, serviceBusPrivateEndpoints)
  }
}

// Roles are granted before the app exists, so its first start already has data access.
module roles 'modules/role-assignments.bicep' = {
  name: 'role-assignments'
  params: {
    appPrincipalId: appIdentity.properties.principalId
    storageAccountName: storage.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    serviceBusNamespaceName: serviceBus.outputs.name
    serviceBusQueueName: serviceBus.outputs.queueName
    userPrincipalId: principalId
    userPrincipalType: principalType
    separateDurableStorage: useDurableStorage
    durableStorageAccountName: useDurableStorage ? durableStorage!.outputs.name : ''
    eventsPrincipalId: eventsIdentity.properties.principalId
    deadLetterContainerName: deadLetterContainerName
    scalerPrincipalId: scalerIdentity.properties.principalId
    registryName: registry.outputs.name
    workerPrincipalId: workerIdentity.properties.principalId
    sourceContainerNames: sourceContainerNames
    workerOutputContainerNames: [
      containerNames.cogs
    ]
    resultsQueueName: tileResultsQueueName
  }
}

// Job events out (CloudEvents) to a custom topic; the app publishes with its identity (EventGrid Data Sender there).
module eventTopic 'modules/event-topic.bicep' = {
  name: 'event-topic'
  params: {
    topicName: '${abbrs.eventGridTopics}${resourceToken}'
    location: region
    tags: tags
    appPrincipalId: appIdentity.properties.principalId
  }
}

module functionApp 'modules/function-app.bicep' = {
  name: 'function-app'
  params: {
    name: functionAppName
    planName: '${abbrs.webServerFarms}${resourceToken}'
    location: region
    tags: tags
    azdServiceName: 'api'
    identityId: appIdentity.id
    identityClientId: appIdentity.properties.clientId
    storageAccountName: storage.outputs.name
    storageBlobEndpoint: storage.outputs.blobEndpoint
    storageQueueEndpoint: storage.outputs.queueEndpoint
    storageTableEndpoint: storage.outputs.tableEndpoint
    deploymentContainerUrl: storage.outputs.deploymentContainerUrl
    applicationInsightsConnectionString: monitoring.outputs.applicationInsightsConnectionString
    serviceBusFullyQualifiedNamespace: serviceBus.outputs.fullyQualifiedNamespace
    maxDimension: maxDimension
    tileSize: tileSize
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    alwaysReadyDurableInstances: alwaysReadyDurableInstances
    sourceContainers: join(sourceContainerNames, ',')
    retentionDays: retentionDays
    supersededGraceHours: supersededGraceHours
    workerThresholdMb: workerThresholdMb
    workerMaxDeliveries: workerMaxDeliveries
    workerTileTimeoutSeconds: workerTileTimeoutSeconds
    // What the worker job can take at once (its executions × concurrency): the bound on tiles out.
    workerDispatchPermits: worker.outputs.dispatchPermits
    stacApiUrl: stacApiUrl
    stacApiScope: stacApiScope
    stacApiVersion: stacApiVersion
    durableBackend: durableBackend
    durableTaskSchedulerEndpoint: useScheduler ? scheduler!.outputs.endpoint : ''
    durableStorageEndpoints: useDurableStorage
      ? {
          blob: durableStorage!.outputs.blobEndpoint
          queue: durableStorage!.outputs.queueEndpoint
          table: durableStorage!.outputs.tableEndpoint
        }
      : null
    virtualNetworkSubnetId: networkIsolation ? network!.outputs.appSubnetId : ''
    authClientId: authClientId
    eventTopicEndpoint: eventTopic.outputs.endpoint
  }
  dependsOn: [
    roles
  ]
}

// The container worker: a Container Apps job scaled by KEDA on the large-raster queue. Created
// after the roles, so its first execution can already pull its image and read its queue.
module worker 'modules/worker.bicep' = {
  name: 'worker'
  params: {
    environmentName: '${abbrs.appManagedEnvironments}${resourceToken}'
    jobName: '${abbrs.appContainerAppsJobs}worker-${take(resourceToken, 10)}'
    location: region
    tags: tags
    azdServiceName: 'worker'
    logAnalyticsWorkspaceId: monitoring.outputs.logAnalyticsId
    infrastructureSubnetId: networkIsolation ? network!.outputs.jobsSubnetId : ''
    identityId: workerIdentity.id
    identityClientId: workerIdentity.properties.clientId
    scalerIdentityId: scalerIdentity.id
    registryLoginServer: registry.outputs.loginServer
    image: empty(workerImage) ? workerPlaceholderImage : workerImage
    storageAccountName: storage.outputs.name
    storageBlobEndpoint: storage.outputs.blobEndpoint
    storageQueueEndpoint: storage.outputs.queueEndpoint
    storageTableEndpoint: storage.outputs.tableEndpoint
    serviceBusNamespaceName: serviceBus.outputs.name
    serviceBusFullyQualifiedNamespace: serviceBus.outputs.fullyQualifiedNamespace
    // The name itself (not the module's output) so that test/infra can follow it to src/config.ts.
    queueName: largeRasterQueueName
    maxDimension: maxDimension
    tileSize: tileSize
    sourceContainers: join(sourceContainerNames, ',')
    maxDeliveries: workerMaxDeliveries
    cpu: workerCpu
    maxExecutions: workerMaxExecutions
    replicaTimeoutSeconds: workerReplicaTimeoutSeconds
  }
  dependsOn: [
    roles
  ]
}

module eventGrid 'modules/event-grid.bicep' = {
  name: 'event-grid'
  params: {
    systemTopicName: '${abbrs.eventGridSystemTopics}${resourceToken}'
    location: region
    tags: tags
    storageAccountName: storage.outputs.name
    createSubscription: subscribeBlobEvents
    functionAppName: functionApp.outputs.name
    uploadFunctionName: uploadFunctionName
    deleteFunctionName: deleteFunctionName
    uploadsContainerName: containerNames.uploads
    subscriptionName: '${abbrs.eventGridEventSubscriptions}${containerNames.uploads}-blob-created'
    deletedSubscriptionName: '${abbrs.eventGridEventSubscriptions}${containerNames.uploads}-blob-deleted'
    eventsIdentityId: eventsIdentity.id
    deadLetterContainerName: deadLetterContainerName
  }
  dependsOn: [
    roles // the dead-letter role must exist before Event Grid first writes with it
  ]
}

module alerts 'modules/alerts.bicep' = {
  name: 'alerts'
  params: {
    actionGroupName: '${abbrs.insightsActionGroups}${resourceToken}'
    location: region
    tags: tags
    alertEmail: alertEmail
    applicationInsightsId: monitoring.outputs.applicationInsightsId
    storageAccountIds: useDurableStorage ? [storage.outputs.id, durableStorage!.outputs.id] : [storage.outputs.id]
    systemTopicId: eventGrid.outputs.systemTopicId
    serviceBusNamespaceId: serviceBus.outputs.id
    serviceBusQueueName: serviceBus.outputs.queueName
    resultsQueueName: tileResultsQueueName
    workerJobId: worker.outputs.jobId
    failedOrchestrationsThreshold: failedOrchestrationsThreshold
  }
}

output AZURE_LOCATION string = region
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = resourceGroup().name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
// The Flex deployment package container: infra/hooks/predeploy.mjs waits until storage lets azd's identity list it.
output AZURE_FUNCTION_DEPLOYMENT_CONTAINER string = deploymentContainerName
output FUNCTION_BASE_URL string = functionApp.outputs.baseUrl
// The scope the CLI asks Entra ID for (raster-ingest --scope, RASTER_INGEST_API_SCOPE); empty without sign-in.
output AUTH_API_SCOPE string = empty(authClientId) ? '' : 'api://${authClientId}/.default'
output JOBS_API_URL string = '${functionApp.outputs.baseUrl}/api/jobs'
output STORAGE_ACCOUNT_NAME string = storage.outputs.name
output STORAGE_BLOB_ENDPOINT string = storage.outputs.blobEndpoint
output STORAGE_QUEUE_ENDPOINT string = storage.outputs.queueEndpoint
output STORAGE_TABLE_ENDPOINT string = storage.outputs.tableEndpoint
output UPLOADS_CONTAINER_URL string = '${storage.outputs.blobEndpoint}${containerNames.uploads}'
output STAC_CATALOG_URL string = '${storage.outputs.blobEndpoint}${containerNames.stac}/catalog.json'
output SERVICE_BUS_NAMESPACE string = serviceBus.outputs.fullyQualifiedNamespace
output SERVICE_BUS_QUEUE_NAME string = serviceBus.outputs.queueName
output TILE_RESULTS_QUEUE_NAME string = tileResultsQueueName
// azd pushes the worker's image here (and reads it under this name); the job pulls it with the app identity.
output AZURE_CONTAINER_REGISTRY_ENDPOINT string = registry.outputs.loginServer
output AZURE_CONTAINER_REGISTRY_NAME string = registry.outputs.name
output CONTAINER_APPS_ENVIRONMENT_NAME string = worker.outputs.environmentName
output WORKER_JOB_NAME string = worker.outputs.jobName
output EVENT_GRID_SYSTEM_TOPIC_NAME string = eventGrid.outputs.systemTopicName
output EVENT_TOPIC_ENDPOINT string = eventTopic.outputs.endpoint
output BLOB_EVENTS_SUBSCRIBED bool = eventGrid.outputs.subscriptionCreated
output DURABLE_BACKEND string = durableBackend
output DURABLE_TASK_SCHEDULER_ENDPOINT string = useScheduler ? scheduler!.outputs.endpoint : ''
output APPLICATIONINSIGHTS_CONNECTION_STRING string = monitoring.outputs.applicationInsightsConnectionString
