// Parameters for `azd up` / `azd provision` (azd fills these from its environment) and for
// `az deployment group create --parameters infra/main.bicepparam` (export the variables first).
// Every app setting comes from here: set values with `azd env set NAME value`, not in the portal,
// because each provision replaces the app settings (docs/deploy.md).
using 'main.bicep'

// An empty variable (e.g. an unset GitHub repository variable passed as '') means the default.
var principalTypeSetting = readEnvironmentVariable('AZURE_PRINCIPAL_TYPE', '')
var serviceBusSkuSetting = readEnvironmentVariable('SERVICE_BUS_SKU', '')
var durableBackendSetting = readEnvironmentVariable('DURABLE_BACKEND', '')
var durableTaskSchedulerSkuSetting = readEnvironmentVariable('DURABLE_TASK_SCHEDULER_SKU', '')
var workerCpuSetting = readEnvironmentVariable('WORKER_CPU', '')
var workerThresholdSetting = readEnvironmentVariable('INGEST_WORKER_THRESHOLD_MB', '')
var workerMaxDeliveriesSetting = readEnvironmentVariable('INGEST_WORKER_MAX_DELIVERIES', '')
var workerTileTimeoutSetting = readEnvironmentVariable('INGEST_WORKER_TILE_TIMEOUT_SECONDS', '')
var workerMaxExecutionsSetting = readEnvironmentVariable('WORKER_MAX_EXECUTIONS', '')
var workerReplicaTimeoutSetting = readEnvironmentVariable('WORKER_REPLICA_TIMEOUT_SECONDS', '')

param environmentName = readEnvironmentVariable('AZURE_ENV_NAME', 'raster-ingest')
// Empty: the resource group's region.
param location = readEnvironmentVariable('AZURE_LOCATION', '')
param principalId = readEnvironmentVariable('AZURE_PRINCIPAL_ID', '')
// ServicePrincipal when CI deploys: .github/workflows/azure-dev.yml sets AZURE_PRINCIPAL_TYPE.
param principalType = empty(principalTypeSetting) ? 'User' : principalTypeSetting
param publicReadAccess = toLower(readEnvironmentVariable('PUBLIC_READ_ACCESS', 'false')) == 'true'
param subscribeBlobEvents = toLower(readEnvironmentVariable('SUBSCRIBE_BLOB_EVENTS', 'false')) == 'true'
param maxDimension = int(readEnvironmentVariable('INGEST_MAX_DIMENSION', '200000'))
param tileSize = int(readEnvironmentVariable('INGEST_TILE_SIZE', '4096'))
param sourceContainers = readEnvironmentVariable('INGEST_SOURCE_CONTAINERS', 'uploads')
param retentionDays = int(readEnvironmentVariable('DURABLE_RETENTION_DAYS', '30'))
param supersededGraceHours = int(readEnvironmentVariable('INGEST_SUPERSEDED_GRACE_HOURS', '24'))
param workerThresholdMb = int(empty(workerThresholdSetting) ? '1024' : workerThresholdSetting)
param workerMaxDeliveries = int(empty(workerMaxDeliveriesSetting) ? '5' : workerMaxDeliveriesSetting)
param workerTileTimeoutSeconds = int(empty(workerTileTimeoutSetting) ? '1800' : workerTileTimeoutSetting)
// azd records the image it deployed for the `worker` service here; a provision keeps it instead of
// putting the placeholder back (the hook's second provision included).
param workerImage = readEnvironmentVariable('SERVICE_WORKER_IMAGE_NAME', '')
// any(): as for instanceMemoryMB below, ARM checks the allowed values when the deployment starts.
param workerCpu = any(empty(workerCpuSetting) ? '2.0' : workerCpuSetting)
param workerMaxExecutions = int(empty(workerMaxExecutionsSetting) ? '10' : workerMaxExecutionsSetting)
param workerReplicaTimeoutSeconds = int(empty(workerReplicaTimeoutSetting) ? '7200' : workerReplicaTimeoutSetting)
param stacApiUrl = readEnvironmentVariable('STAC_API_URL', '')
param stacApiScope = readEnvironmentVariable('STAC_API_SCOPE', '')
param stacApiVersion = readEnvironmentVariable('STAC_API_VERSION', '')
// any(): a number read from the environment can't be typed as 512 | 2048 | 4096 here; ARM checks
// the template's allowed values when the deployment starts and rejects any other size.
param instanceMemoryMB = any(int(readEnvironmentVariable('FLEX_INSTANCE_MEMORY_MB', '4096')))
param maximumInstanceCount = int(readEnvironmentVariable('FLEX_MAXIMUM_INSTANCE_COUNT', '40'))
param alwaysReadyDurableInstances = int(readEnvironmentVariable('FLEX_ALWAYS_READY_DURABLE', '1'))
param serviceBusSku = empty(serviceBusSkuSetting) ? 'Basic' : serviceBusSkuSetting
param durableBackend = empty(durableBackendSetting) ? 'AzureStorage' : durableBackendSetting
param durableTaskSchedulerSku = empty(durableTaskSchedulerSkuSetting) ? 'Consumption' : durableTaskSchedulerSkuSetting
param separateDurableStorage = toLower(readEnvironmentVariable('SEPARATE_DURABLE_STORAGE', 'false')) == 'true'
param alertEmail = readEnvironmentVariable('ALERT_EMAIL', '')
param failedOrchestrationsThreshold = int(readEnvironmentVariable('ALERT_FAILED_ORCHESTRATIONS_THRESHOLD', '0'))
// The API's Entra ID app registration (infra/hooks/preprovision.mjs creates it and sets this).
param authClientId = readEnvironmentVariable('AUTH_CLIENT_ID', '')
param networkIsolation = toLower(readEnvironmentVariable('NETWORK_ISOLATION', 'false')) == 'true'
