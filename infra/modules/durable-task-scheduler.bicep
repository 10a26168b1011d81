// Durable Task Scheduler: the managed Durable Functions backend Microsoft recommends on Flex
// Consumption. A scheduler, the task hub the app uses, and the Durable Task Data Contributor role
// for the app's identity on that task hub only. The scheduler accepts only Entra ID tokens.

@description('Scheduler name (3-64 letters, digits and hyphens).')
@minLength(3)
@maxLength(64)
param name string

@description('Azure region of the scheduler (keep it with the Function App).')
param location string

@description('Tags applied to the scheduler.')
param tags object

@description('Task hub name: must equal extensions.durableTask.hubName in host.json (test/infra checks it).')
param taskHubName string

@description('Consumption bills per action; Dedicated reserves capacity units.')
@allowed([
  'Consumption'
  'Dedicated'
])
param sku string = 'Consumption'

@description('Principal (object) id of the Function App identity.')
param appPrincipalId string

resource scheduler 'Microsoft.DurableTask/schedulers@2026-02-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    sku: union({ name: sku }, sku == 'Dedicated' ? { capacity: 1 } : {})
    // The allow list must not be empty (an empty list denies all traffic). Flex Consumption has no
    // fixed outbound address, so access is governed by the Entra ID role below, not by IP.
    ipAllowlist: [
      '0.0.0.0/0'
    ]
  }
}

resource taskHub 'Microsoft.DurableTask/schedulers/taskHubs@2026-02-01' = {
  parent: scheduler
  name: taskHubName
  properties: {}
}

// Durable Task Data Contributor, on the task hub only: the role Microsoft documents for Durable
// Functions apps (orchestration, activity and entity work items, plus the client's queries and purges).
resource appDurableTaskDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(taskHub.id, appPrincipalId, '0ad04412-c4d5-4796-b79c-f76d14c8d402')
  scope: taskHub
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '0ad04412-c4d5-4796-b79c-f76d14c8d402')
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

output name string = scheduler.name
output endpoint string = scheduler.properties.endpoint
output taskHubName string = taskHub.name
