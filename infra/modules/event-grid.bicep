// Event Grid system topic on the storage account, and (once the app's code runs) the subscription
// that delivers Blob Created events for the uploads container to the Event Grid trigger function
// `ingestUpload` (src/functions/uploads.eventgrid.ts). The event carries metadata only, never the
// blob's bytes.
//
// The destination is the function itself (endpoint type AzureFunction, by resource id): Event Grid
// calls it with its own platform authentication, so no function or host key is read, stored or
// sent. ARM checks that the function exists when the subscription is created, and the function
// exists only once the code is deployed. So the subscription is deployed in a second step
// (createSubscription = true), after the code: azd does it in infra/hooks/postdeploy.mjs.

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

@description('Function App that hosts the Event Grid trigger.')
param functionAppName string

@description('Name the Event Grid trigger is registered under (app.eventGrid(<name>, ...)).')
param uploadFunctionName string

@description('Container whose new blobs start jobs.')
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

resource uploadFunction 'Microsoft.Web/sites/functions@2024-04-01' existing = {
  parent: functionApp
  name: uploadFunctionName
}

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
      endpointType: 'AzureFunction'
      properties: {
        resourceId: uploadFunction.id
        // One event per call: each upload starts (or finds) its own job.
        maxEventsPerBatch: 1
        preferredBatchSizeInKilobytes: 64
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
