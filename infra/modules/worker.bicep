// The container worker of the large-raster route (issue 9): a Container Apps job, event-driven,
// that KEDA's azure-servicebus scaler starts when tile messages wait on the `large-rasters` queue.
// Each execution runs worker/main.js with --once: it takes tiles until the queue is empty, makes
// their COGs with the same code as the Functions route, reports each on the `tile-results` Storage
// queue, and exits. Nothing runs (and nothing bills) while the queue is empty.
//
// The job runs as a user-assigned identity of its own (read on the source containers, write on the
// COG container, its queue and the results queue: modules/role-assignments.bicep; no secret
// anywhere). Its scale rule authenticates with a second identity of its own: KEDA reads the
// queue's message count through Service Bus' management operations, which need the Manage right
// (Azure Service Bus Data Owner), and the code's identity should not hold it.

@description('Container Apps environment name.')
param environmentName string

@description('Container Apps job name.')
param jobName string

@description('Azure region of the environment and the job.')
param location string

@description('Tags applied to both (the job also gets azd-service-name).')
param tags object

@description('azure.yaml service that azd deploys into this job (host: containerapp).')
param azdServiceName string

@description('Log Analytics workspace that receives the environment\'s console and system logs (through Azure Monitor diagnostic settings, so no workspace key is handed to the environment).')
param logAnalyticsWorkspaceId string

@description('Subnet (delegated to Microsoft.App/environments) the environment joins; empty means no VNet (network isolation off).')
param infrastructureSubnetId string = ''

@description('Resource id of the user-assigned identity the worker code runs as (the worker\'s own, not the app\'s).')
param identityId string

@description('Client id of that identity: identity-based connections name it.')
param identityClientId string

@description('Resource id of the user-assigned identity the KEDA scale rule reads the queue length with.')
param scalerIdentityId string

@description('Login server of the registry the image is pulled from (with identityId, which holds AcrPull).')
param registryLoginServer string

@description('Image to run. Before the first `azd deploy` there is none in the registry yet, so main.bicep passes a public placeholder; afterwards the image azd deployed (SERVICE_WORKER_IMAGE_NAME).')
param image string

@description('Storage account used as AzureWebJobsStorage (sources, COGs, jobs index, tile-results queue).')
param storageAccountName string

@description('Blob endpoint of that account.')
param storageBlobEndpoint string

@description('Queue endpoint of that account.')
param storageQueueEndpoint string

@description('Table endpoint of that account.')
param storageTableEndpoint string

@description('Service Bus namespace name (the KEDA scaler takes the name).')
param serviceBusNamespaceName string

@description('Host name of the Service Bus namespace (the worker\'s identity-based connection takes the host name).')
param serviceBusFullyQualifiedNamespace string

@description('Queue the worker receives tiles from.')
param queueName string

@description('Largest raster width or height (pixels), as the app.')
@minValue(1)
param maxDimension int

@description('Tile edge length (pixels), as the app.')
@minValue(256)
param tileSize int

@description('Comma list of the containers a job may read its source from, as the app.')
param sourceContainers string

@description('Deliveries of one tile message before the worker dead-letters it with the reason (INGEST_WORKER_MAX_DELIVERIES).')
@minValue(1)
param maxDeliveries int

@description('vCPU of a worker replica; memory is twice that in GiB (the Consumption profile\'s ratio).')
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
param cpu string = '2.0'

@description('Most job executions running at once (each takes tiles until the queue is empty).')
@minValue(1)
@maxValue(100)
param maxExecutions int = 10

@description('Seconds one execution may run before Container Apps stops it. A stopped execution\'s tile lock expires and Service Bus delivers the tile again.')
@minValue(300)
@maxValue(86400)
param replicaTimeoutSeconds int = 7200

@description('Seconds between two looks of the scaler at the queue.')
@minValue(10)
param pollingIntervalSeconds int = 30

var memoryByCpu = {
  '0.5': '1Gi'
  '1.0': '2Gi'
  '1.5': '3Gi'
  '2.0': '4Gi'
  '2.5': '5Gi'
  '3.0': '6Gi'
  '3.5': '7Gi'
  '4.0': '8Gi'
}
// Tiles one replica works on at once (the worker's --concurrency): one per whole vCPU. Each holds
// at most one in-memory tile (512 MiB) plus GDAL's cache, well inside 2 GiB per vCPU.
var concurrencyByCpu = {
  '0.5': 1
  '1.0': 1
  '1.5': 1
  '2.0': 2
  '2.5': 2
  '3.0': 3
  '3.5': 3
  '4.0': 4
}
// Ephemeral disk of a replica by vCPU (Container Apps, "Use storage mounts": 0.5 → 2 GiB, 1 → 4 GiB,
// over 1 → 8 GiB; image layers and logs count against it). The worker may fill three quarters of
// it with source copies (INGEST_SCRATCH_MAX_MB); under INGEST_SOURCE_READ=auto a source over half
// of that (3 GiB on the default 2 vCPU) is read in place, with signed, version-checked ranges.
var ephemeralGiBByCpu = {
  '0.5': 2
  '1.0': 4
  '1.5': 8
  '2.0': 8
  '2.5': 8
  '3.0': 8
  '3.5': 8
  '4.0': 8
}
var scratchMaxMb = ephemeralGiBByCpu[cpu] * 1024 * 3 / 4
// Tiles the app sends to the workers at once across all jobs (INGEST_WORKER_DISPATCH_PERMITS on the
// Function App, from this module's output): every execution busy, none waiting on the queue.
var dispatchPermits = maxExecutions * concurrencyByCpu[cpu]
var workloadProfileName = 'Consumption'

resource environment 'Microsoft.App/managedEnvironments@2025-01-01' = {
  name: environmentName
  location: location
  tags: tags
  properties: {
    // Logs go to Azure Monitor and from there to the workspace (diagnostic setting below): the
    // 'log-analytics' destination would need the workspace's shared key in the template.
    appLogsConfiguration: {
      destination: 'azure-monitor'
    }
    workloadProfiles: [
      {
        name: workloadProfileName
        workloadProfileType: 'Consumption'
      }
    ]
    // With network isolation the executions run in the VNet, so they reach storage and Service Bus
    // through the private endpoints (and the private DNS zones linked to the VNet).
    vnetConfiguration: empty(infrastructureSubnetId)
      ? null
      : {
          infrastructureSubnetId: infrastructureSubnetId
          internal: true
        }
    zoneRedundant: false
  }
}

resource environmentLogs 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: environment
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [
      {
        categoryGroup: 'allLogs'
        enabled: true
      }
    ]
  }
}

resource job 'Microsoft.App/jobs@2025-01-01' = {
  name: jobName
  location: location
  tags: union(tags, { 'azd-service-name': azdServiceName })
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
      '${scalerIdentityId}': {}
    }
  }
  properties: {
    environmentId: environment.id
    workloadProfileName: workloadProfileName
    configuration: {
      triggerType: 'Event'
      replicaTimeout: replicaTimeoutSeconds
      // A failed execution is not retried by Container Apps: its tile's lock expires and Service Bus
      // delivers it again (up to the worker's own dead-letter limit), which is the one retry path.
      replicaRetryLimit: 0
      registries: [
        {
          server: registryLoginServer
          identity: identityId
        }
      ]
      eventTriggerConfig: {
        parallelism: 1
        replicaCompletionCount: 1
        scale: {
          minExecutions: 0
          maxExecutions: maxExecutions
          pollingInterval: pollingIntervalSeconds
          rules: [
            {
              name: 'large-rasters'
              type: 'azure-servicebus'
              // One execution per `concurrency` waiting tiles (up to maxExecutions): the app sends
              // at most maxExecutions × concurrency tiles at once (dispatchPermits), so a full queue
              // starts every execution and each takes a full load; tiles being worked on are
              // locked, not active, so they do not start more executions.
              metadata: {
                namespace: serviceBusNamespaceName
                queueName: queueName
                messageCount: string(concurrencyByCpu[cpu])
              }
              identity: scalerIdentityId
            }
          ]
        }
      }
    }
    template: {
      containers: [
        {
          name: 'worker'
          image: image
          command: [
            'node'
          ]
          args: [
            'dist/worker/main.js'
            '--once'
            '--concurrency'
            string(concurrencyByCpu[cpu])
          ]
          resources: {
            cpu: json(cpu)
            memory: memoryByCpu[cpu]
          }
          // The same identity-based settings as the Function App (modules/function-app.bicep),
          // read by the same src/config.ts and src/storage/connection.ts.
          env: [
            { name: 'AzureWebJobsStorage__accountName', value: storageAccountName }
            { name: 'AzureWebJobsStorage__blobServiceUri', value: storageBlobEndpoint }
            { name: 'AzureWebJobsStorage__queueServiceUri', value: storageQueueEndpoint }
            { name: 'AzureWebJobsStorage__tableServiceUri', value: storageTableEndpoint }
            { name: 'AzureWebJobsStorage__credential', value: 'managedidentity' }
            { name: 'AzureWebJobsStorage__clientId', value: identityClientId }
            { name: 'ServiceBusConnection__fullyQualifiedNamespace', value: serviceBusFullyQualifiedNamespace }
            { name: 'ServiceBusConnection__credential', value: 'managedidentity' }
            { name: 'ServiceBusConnection__clientId', value: identityClientId }
            // Two identities are assigned: SDK credentials that pick one alone take this one.
            { name: 'AZURE_CLIENT_ID', value: identityClientId }
            { name: 'INGEST_MAX_DIMENSION', value: string(maxDimension) }
            { name: 'INGEST_TILE_SIZE', value: string(tileSize) }
            { name: 'INGEST_SOURCE_CONTAINERS', value: sourceContainers }
            { name: 'INGEST_WORKER_MAX_DELIVERIES', value: string(maxDeliveries) }
            // A source larger than the replica's disk allows is read in place (see scratchMaxMb).
            { name: 'INGEST_SOURCE_READ', value: 'auto' }
            { name: 'INGEST_SCRATCH_MAX_MB', value: string(scratchMaxMb) }
          ]
        }
      ]
    }
  }
}

output environmentName string = environment.name
output jobName string = job.name
output jobId string = job.id
@description('Tiles the app may have out to the worker at once: executions × tiles per execution (INGEST_WORKER_DISPATCH_PERMITS).')
output dispatchPermits int = dispatchPermits
