// Event Grid custom topic for the app's job events (issue 24; docs/collections.md, "Events out"):
// job ends and quarantine decisions as CloudEvents 1.0, published by the function app with its
// managed identity. Local auth (access keys) is off: only Entra ID callers holding "EventGrid Data
// Sender" on this topic may publish, and the app's identity gets that role here, scoped to the
// topic (the shared role-assignments module stays untouched).

@description('Custom topic name.')
param topicName string

@description('Azure region.')
param location string

@description('Tags applied to the topic.')
param tags object

@description('Principal id of the function app\'s user-assigned identity, which publishes.')
param appPrincipalId string

resource topic 'Microsoft.EventGrid/topics@2025-02-15' = {
  name: topicName
  location: location
  tags: tags
  properties: {
    inputSchema: 'CloudEventSchemaV1_0'
    disableLocalAuth: true
    publicNetworkAccess: 'Enabled'
  }
}

// Built-in role "EventGrid Data Sender".
var eventGridDataSender = 'd5a91429-5739-47e2-a06b-3470a27159e7'

resource appDataSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: topic
  name: guid(topic.id, appPrincipalId, eventGridDataSender)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', eventGridDataSender)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

output name string = topic.name
output endpoint string = topic.properties.endpoint
