// Event Grid system topic on the storage account, and (once the app's code runs) its two
// subscriptions for the uploads container: Blob Created events to the Event Grid trigger function
// `ingestUpload` (src/functions/uploads.eventgrid.ts), Blob Deleted events to `removeDeletedSource`
// (src/functions/sources.deleted.eventgrid.ts), with the same delivery, retry and dead-letter
// settings. The events carry metadata only, never the blob's bytes.
//
// The destination is the function itself (endpoint type AzureFunction, by resource id): Event Grid
// calls it with its own platform authentication, so no function or host key is read, stored or
// sent. ARM checks that the function exists when the subscription is created, and the function
// exists only once the code is deployed. So the subscriptions are deployed in a second step
// (createSubscription = true), after the code: azd does it in infra/hooks/postdeploy.mjs, once
// `ingestUpload` is listed (both triggers are indexed together, from the one deployed package).

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

@description('Name the deletion trigger is registered under (app.eventGrid(<name>, ...)).')
param deleteFunctionName string

@description('Container whose new blobs start jobs, and whose deleted blobs have their outputs removed.')
param uploadsContainerName string

@description('Event subscription name (Blob Created).')
param subscriptionName string

@description('Event subscription name (Blob Deleted).')
param deletedSubscriptionName string

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

resource deleteFunction 'Microsoft.Web/sites/functions@2024-04-01' existing = {
  parent: functionApp
  name: deleteFunctionName
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

resource blobDeletedSubscription 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2025-02-15' = if (createSubscription) {
  parent: systemTopic
  name: deletedSubscriptionName
  properties: {
    eventDeliverySchema: 'EventGridSchema'
    destination: {
      endpointType: 'AzureFunction'
      properties: {
        resourceId: deleteFunction.id
        // One event per call: each deletion starts (or finds) its own removal.
        maxEventsPerBatch: 1
        preferredBatchSizeInKilobytes: 64
      }
    }
    filter: {
      includedEventTypes: [
        'Microsoft.Storage.BlobDeleted'
      ]
      subjectBeginsWith: '/blobServices/default/containers/${uploadsContainerName}/blobs/'
      // Deleting a directory of a hierarchical-namespace account deletes no raster by itself.
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
    // The same delivery, retries and dead-letter destination as Blob Created (test/infra checks
    // they stay equal). After the retries, an undelivered deletion is kept, not dropped: see
    // docs/operations.md, "Removing a source", for replaying it.
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
