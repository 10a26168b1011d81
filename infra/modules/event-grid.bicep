// Event Grid system topic on the storage account, and (once the app's code runs) the subscription
// that delivers Blob Created events for the uploads container to the blob extension's webhook,
// which drives the blob trigger declared with source 'EventGrid'.
//
// The webhook needs the host's `blobs_extension` system key, which the Functions host creates only
// after code with an Event Grid blob trigger has started; Event Grid also validates the endpoint
// when the subscription is created. So the subscription is deployed in a second step
// (createSubscription = true), after the code: azd does it in infra/hooks/postdeploy.sh.

@description('System topic name.')
param systemTopicName string

@description('Azure region: a system topic lives where its source does.')
param location string

@description('Tags applied to the topic.')
param tags object

@description('Storage account whose blob events the topic publishes.')
param storageAccountName string

@description('Create the subscription (needs the deployed code; see the header).')
param createSubscription bool

@description('Function App that hosts the blob trigger.')
param functionAppName string

@description('Name the blob trigger is registered under (app.storageBlob(<name>, ...)).')
param blobTriggerFunctionName string

@description('Container the blob trigger watches.')
param uploadsContainerName string

@description('Event subscription name.')
param subscriptionName string

@description('Resource id of the user-assigned identity Event Grid writes dead letters with.')
param eventsIdentityId string

@description('Container for events that could not be delivered.')
param deadLetterContainerName string

resource storage 'Microsoft.Storage/storageAccounts@2024-01-01' existing = {
  name: storageAccountName
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' existing = {
  name: functionAppName
}

// The host's keys, read with the list function: Bicep ships no types for Microsoft.Web/sites/host,
// so a resource symbol for it would draw a BCP081 warning.
var hostKeysApiVersion = '2024-04-01'

resource systemTopic 'Microsoft.EventGrid/systemTopics@2025-02-15' = {
  name: systemTopicName
  location: location
  tags: tags
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${eventsIdentityId}': {}
    }
  }
  properties: {
    source: storage.id
    topicType: 'Microsoft.Storage.StorageAccounts'
  }
}

resource blobCreatedSubscription 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2025-02-15' = if (createSubscription) {
  parent: systemTopic
  name: subscriptionName
  properties: {
    eventDeliverySchema: 'EventGridSchema'
    destination: {
      endpointType: 'WebHook'
      properties: {
        // ARM evaluates reference and list functions of a conditional resource even when its
        // condition is false (docs/deploy.md, "Sources"): without the ternary, the first provision
        // (no code deployed, so no host keys) fails on listKeys. if() evaluates only its taken branch.
        endpointUrl: createSubscription
          ? 'https://${functionApp.properties.defaultHostName}/runtime/webhooks/blobs?functionName=Host.Functions.${blobTriggerFunctionName}&code=${listKeys('${functionApp.id}/host/default', hostKeysApiVersion).systemKeys.blobs_extension}'
          : ''
      }
    }
    filter: {
      includedEventTypes: [
        'Microsoft.Storage.BlobCreated'
      ]
      subjectBeginsWith: '/blobServices/default/containers/${uploadsContainerName}/blobs/'
      // A directory created on a hierarchical-namespace account is not a raster.
      advancedFilters: [
        {
          operatorType: 'StringNotIn'
          key: 'data.contentType'
          values: [
            'application/x-directory'
          ]
        }
      ]
    }
    retryPolicy: {
      maxDeliveryAttempts: 30
      eventTimeToLiveInMinutes: 1440
    }
    // After the retries, an undelivered upload event is kept (not dropped): replay it by
    // re-uploading the blob or by POST /api/jobs with its name.
    deadLetterWithResourceIdentity: {
      identity: {
        type: 'UserAssigned'
        userAssignedIdentity: eventsIdentityId
      }
      deadLetterDestination: {
        endpointType: 'StorageBlob'
        properties: {
          resourceId: storage.id
          blobContainerName: deadLetterContainerName
        }
      }
    }
  }
}

output systemTopicName string = systemTopic.name
output systemTopicId string = systemTopic.id
output subscriptionCreated bool = createSubscription
