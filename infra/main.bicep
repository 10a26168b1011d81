// Raster ingestion on Azure: a Durable Functions app (Flex Consumption, Linux, Node.js 20) that turns
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

@description('Opt-in: make the cogs and stac containers anonymously readable (blobs, not listings) so STAC clients can open the catalog without credentials.')
param publicReadAccess bool = false

@description('Second step, after the code is deployed: subscribe the blob trigger to Blob Created events (infra/hooks/postdeploy.sh sets it).')
param subscribeBlobEvents bool = false

@description('Largest raster width or height (pixels) accepted by validation (INGEST_MAX_DIMENSION).')
@minValue(1)
param maxDimension int = 200000

@description('Edge length (pixels) of the tiles a source is split into (INGEST_TILE_SIZE).')
@minValue(256)
param tileSize int = 4096

@description('Memory (MB) of each Flex Consumption instance: 512, 2048 or 4096.')
@minValue(512)
@maxValue(4096)
param instanceMemoryMB int = 4096

@description('Upper bound of Flex Consumption instances.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Always-ready instances for the durable group (orchestrators, activities, entities): 0 scales to zero; 1 removes cold starts but bills around the clock.')
@minValue(0)
@maxValue(10)
param alwaysReadyDurableInstances int = 0

@description('Service Bus tier: Basic (queues only, no base charge) or Standard.')
@allowed([
  'Basic'
  'Standard'
])
param serviceBusSku string = 'Basic'

var region = empty(location) ? resourceGroup().location : location
var abbrs = loadJsonContent('abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, resourceGroup().id, environmentName))
var tags = {
  'azd-env-name': environmentName
}

// Containers, queue and function names the code uses (src/config.ts `containers`, `queues`;
// the blob trigger in src/functions). test/infra checks they stay in step.
var containerNames = {
  uploads: 'uploads'
  cogs: 'cogs'
  stac: 'stac'
}
var largeRasterQueueName = 'large-rasters'
// Blob Created events that Event Grid could not deliver (app down for a day) land here instead of being dropped.
var deadLetterContainerName = 'eventgrid-deadletter'
var blobTriggerFunctionName = 'ingestUpload'

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

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    name: '${abbrs.storageStorageAccounts}${resourceToken}'
    location: region
    tags: tags
    appContainerNames: [
      containerNames.uploads
      containerNames.cogs
      containerNames.stac
    ]
    publicContainerNames: [
      containerNames.cogs
      containerNames.stac
    ]
    deploymentContainerName: deploymentContainerName
    deadLetterContainerName: deadLetterContainerName
    publicReadAccess: publicReadAccess
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
    sku: serviceBusSku
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
    eventsPrincipalId: eventsIdentity.properties.principalId
    deadLetterContainerName: deadLetterContainerName
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
    blobTriggerFunctionName: blobTriggerFunctionName
    uploadsContainerName: containerNames.uploads
    subscriptionName: '${abbrs.eventGridEventSubscriptions}${containerNames.uploads}-blob-created'
    eventsIdentityId: eventsIdentity.id
    deadLetterContainerName: deadLetterContainerName
  }
  dependsOn: [
    roles // the dead-letter role must exist before Event Grid first writes with it
  ]
}

output AZURE_LOCATION string = region
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = resourceGroup().name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output FUNCTION_BASE_URL string = functionApp.outputs.baseUrl
output JOBS_API_URL string = '${functionApp.outputs.baseUrl}/api/jobs'
output STORAGE_ACCOUNT_NAME string = storage.outputs.name
output STORAGE_BLOB_ENDPOINT string = storage.outputs.blobEndpoint
output STORAGE_QUEUE_ENDPOINT string = storage.outputs.queueEndpoint
output STORAGE_TABLE_ENDPOINT string = storage.outputs.tableEndpoint
output UPLOADS_CONTAINER_URL string = '${storage.outputs.blobEndpoint}${containerNames.uploads}'
output STAC_CATALOG_URL string = '${storage.outputs.blobEndpoint}${containerNames.stac}/catalog.json'
output SERVICE_BUS_NAMESPACE string = serviceBus.outputs.fullyQualifiedNamespace
output SERVICE_BUS_QUEUE_NAME string = serviceBus.outputs.queueName
output EVENT_GRID_SYSTEM_TOPIC_NAME string = eventGrid.outputs.systemTopicName
output BLOB_EVENTS_SUBSCRIBED bool = eventGrid.outputs.subscriptionCreated
output APPLICATIONINSIGHTS_CONNECTION_STRING string = monitoring.outputs.applicationInsightsConnectionString
