// Service Bus namespace and queue for the large-raster route: the app sends one message per tile,
// the container worker (modules/worker.bicep) receives them. SAS keys are disabled: senders,
// receivers and the worker's KEDA scaler authenticate with Microsoft Entra ID (the role module
// grants each identity its data role on this queue only).

@description('Service Bus namespace name.')
param name string

@description('Azure region of the namespace.')
param location string

@description('Tags applied to the namespace.')
param tags object

@description('Queue that carries large rasters to their own processing route.')
param queueName string

@description('Basic has queues and no base charge; Standard adds topics, sessions and duplicate detection; Premium is the only tier with private endpoints.')
@allowed([
  'Basic'
  'Standard'
  'Premium'
])
param sku string = 'Basic'

@description('Deliveries before Service Bus itself dead-letters a message. Above the app\'s INGEST_WORKER_MAX_DELIVERIES: the worker dead-letters a tile first, with the reason; this is the backstop for a worker that dies every time.')
@minValue(1)
param maxDeliveryCount int = 10

@description('Turn public network access off (clients use the private endpoint). Service Bus offers private endpoints only on Premium.')
param disablePublicNetworkAccess bool = false

resource namespace 'Microsoft.ServiceBus/namespaces@2024-01-01' = {
  name: name
  location: location
  tags: tags
  sku: union({ name: sku, tier: sku }, sku == 'Premium' ? { capacity: 1 } : {})
  properties: {
    disableLocalAuth: true
    minimumTlsVersion: '1.2'
    publicNetworkAccess: disablePublicNetworkAccess ? 'Disabled' : 'Enabled'
  }
}

resource queue 'Microsoft.ServiceBus/namespaces/queues@2024-01-01' = {
  parent: namespace
  name: queueName
  properties: {
    // A tile message is small (a few KB); making its COG is long, so the lock is the longest
    // Service Bus allows and the worker renews it while it works.
    lockDuration: 'PT5M'
    maxDeliveryCount: maxDeliveryCount
    deadLetteringOnMessageExpiration: true
    defaultMessageTimeToLive: 'P14D'
  }
}

output name string = namespace.name
output id string = namespace.id
output queueName string = queue.name
// Host name only (e.g. sb-xyz.servicebus.windows.net), the form `__fullyQualifiedNamespace` expects.
output fullyQualifiedNamespace string = split(replace(namespace.properties.serviceBusEndpoint, 'https://', ''), ':')[0]
