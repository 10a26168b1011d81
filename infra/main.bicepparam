// Parameters for `azd up` / `azd provision` (azd fills these from its environment) and for
// `az deployment group create --parameters infra/main.bicepparam` (export the variables first).
using 'main.bicep'

param environmentName = readEnvironmentVariable('AZURE_ENV_NAME', 'raster-ingest')
// Empty: the resource group's region.
param location = readEnvironmentVariable('AZURE_LOCATION', '')
param principalId = readEnvironmentVariable('AZURE_PRINCIPAL_ID', '')
param publicReadAccess = toLower(readEnvironmentVariable('PUBLIC_READ_ACCESS', 'false')) == 'true'
param subscribeBlobEvents = toLower(readEnvironmentVariable('SUBSCRIBE_BLOB_EVENTS', 'false')) == 'true'
param maxDimension = int(readEnvironmentVariable('INGEST_MAX_DIMENSION', '200000'))
param tileSize = int(readEnvironmentVariable('INGEST_TILE_SIZE', '4096'))
param instanceMemoryMB = int(readEnvironmentVariable('FLEX_INSTANCE_MEMORY_MB', '4096'))
param maximumInstanceCount = int(readEnvironmentVariable('FLEX_MAXIMUM_INSTANCE_COUNT', '40'))
param alwaysReadyDurableInstances = int(readEnvironmentVariable('FLEX_ALWAYS_READY_DURABLE', '0'))
param serviceBusSku = readEnvironmentVariable('SERVICE_BUS_SKU', 'Basic')
