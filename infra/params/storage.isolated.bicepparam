// Check combination: Azure Storage backend with a separate Durable state account, network isolation
// on, Service Bus Premium (so it gets a private endpoint), after the Event Grid subscription exists
// and a worker image has been deployed.
using '../main.bicep'

param environmentName = 'check-storage-isolated'
param durableBackend = 'AzureStorage'
param separateDurableStorage = true
param networkIsolation = true
param serviceBusSku = 'Premium'
param subscribeBlobEvents = true
param sourceContainers = 'uploads, archive'
param workerImage = 'crcheck.azurecr.io/raster-ingest/worker-check:azd-deploy-1'
