// Alerts an operator of the app needs, all sent to one action group (optionally e-mailing someone):
// failed orchestrations, poison tile results, dead-lettered tiles and failed worker executions,
// Event Grid delivery failures and storage throttling. Log alerts query Application Insights; the others are platform metric alerts.

@description('Action group name.')
param actionGroupName string

@description('Region of the log alerts (the Application Insights component\'s); metric alerts and the action group are global.')
param location string

@description('Tags applied to every resource.')
param tags object

@description('E-mail address that receives the alerts; empty creates the action group without receivers.')
param alertEmail string = ''

@description('Resource id of the Application Insights component the app logs to.')
param applicationInsightsId string

@description('Resource ids of the storage accounts to watch for throttling.')
param storageAccountIds string[]

@description('Resource id of the Event Grid system topic of the uploads.')
param systemTopicId string

@description('Resource id of the Service Bus namespace.')
param serviceBusNamespaceId string

@description('Queue whose dead-letter count is watched.')
param serviceBusQueueName string

@description('Storage queue whose poison queue (<name>-poison) is watched: the worker\'s results.')
param resultsQueueName string

@description('Resource id of the container worker\'s Container Apps job.')
param workerJobId string

@description('Alert when more orchestrations than this fail within 15 minutes.')
@minValue(0)
param failedOrchestrationsThreshold int = 0

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: actionGroupName
  location: 'global'
  tags: tags
  properties: {
    enabled: true
    groupShortName: 'rasteringest'
    emailReceivers: empty(alertEmail)
      ? []
      : [
          {
            name: 'operator'
            emailAddress: alertEmail
            useCommonAlertSchema: true
          }
        ]
  }
}

// Durable Functions tracks every orchestration state change as a trace of category
// Host.Triggers.DurableTask, with prop__state and prop__functionType in customDimensions.
resource failedOrchestrations 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: 'failed-orchestrations'
  location: location
  tags: tags
  properties: {
    description: 'Orchestrations that ended in the Failed state (Durable Functions tracking events).'
    severity: 2
    enabled: true
    scopes: [
      applicationInsightsId
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    criteria: {
      allOf: [
        {
          query: 'traces | where customDimensions.Category == "Host.Triggers.DurableTask" | where customDimensions.prop__functionType == "Orchestrator" and customDimensions.prop__state == "Failed"'
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: failedOrchestrationsThreshold
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    actions: {
      actionGroups: [
        actionGroup.id
      ]
    }
  }
}

// A tile result the app's queue trigger fails to handle maxDequeueCount times moves to
// <queue>-poison; the host logs the move, naming the poison queue. Storage queue metrics are per
// account, not per queue, so the log is the signal. Such a tile waits for its timeout and is sent
// to the worker again; the alert says something keeps failing.
resource poisonResultMessages 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: 'poison-tile-results'
  location: location
  tags: tags
  properties: {
    description: 'Worker results the app could not handle after every attempt: moved to the ${resultsQueueName}-poison queue.'
    severity: 2
    enabled: true
    scopes: [
      applicationInsightsId
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    criteria: {
      allOf: [
        {
          query: 'traces | where message has "${resultsQueueName}-poison"'
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    actions: {
      actionGroups: [
        actionGroup.id
      ]
    }
  }
}

resource serviceBusDeadLetters 'Microsoft.Insights/metricAlerts@2018-03-01' = {
  name: 'servicebus-dead-letters'
  location: 'global'
  tags: tags
  properties: {
    description: 'Tiles dead-lettered on the large-raster queue: the worker gave up on them (with the reason) or they expired.'
    severity: 2
    enabled: true
    scopes: [
      serviceBusNamespaceId
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    criteria: {
      'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
      allOf: [
        {
          criterionType: 'StaticThresholdCriterion'
          name: 'dead-lettered'
          metricNamespace: 'Microsoft.ServiceBus/namespaces'
          metricName: 'DeadletteredMessages'
          dimensions: [
            {
              name: 'EntityName'
              operator: 'Include'
              values: [
                serviceBusQueueName
              ]
            }
          ]
          operator: 'GreaterThan'
          threshold: 0
          timeAggregation: 'Maximum'
        }
      ]
    }
    actions: [
      {
        actionGroupId: actionGroup.id
      }
    ]
  }
}

// Worker executions that ended in failure (a crash, an out-of-memory kill, the replica timeout):
// their tiles come back through Service Bus, but repeated failures mean the worker needs a look.
resource workerFailedExecutions 'Microsoft.Insights/metricAlerts@2018-03-01' = {
  name: 'worker-failed-executions'
  location: 'global'
  tags: tags
  properties: {
    description: 'Executions of the container worker job that failed.'
    severity: 2
    enabled: true
    scopes: [
      workerJobId
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    criteria: {
      'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
      allOf: [
        {
          criterionType: 'StaticThresholdCriterion'
          name: 'failed-executions'
          metricNamespace: 'Microsoft.App/jobs'
          metricName: 'Executions'
          dimensions: [
            {
              name: 'state'
              operator: 'Include'
              values: [
                'Failed'
              ]
            }
          ]
          operator: 'GreaterThan'
          threshold: 0
          timeAggregation: 'Total'
        }
      ]
    }
    actions: [
      {
        actionGroupId: actionGroup.id
      }
    ]
  }
}

// Event Grid: failed delivery attempts (the app did not answer), events dead-lettered after the
// retries, and events dropped (dead-lettering itself failed).
var eventGridMetrics = [
  {
    name: 'eventgrid-delivery-failures'
    metric: 'DeliveryAttemptFailCount'
    description: 'Blob Created events that Event Grid failed to deliver to the upload function.'
  }
  {
    name: 'eventgrid-dead-lettered'
    metric: 'DeadLetteredCount'
    description: 'Upload events dead-lettered to the eventgrid-deadletter container after all retries.'
  }
  {
    name: 'eventgrid-dropped'
    metric: 'DroppedEventCount'
    description: 'Upload events Event Grid dropped: neither delivered nor dead-lettered.'
  }
]

resource eventGridAlerts 'Microsoft.Insights/metricAlerts@2018-03-01' = [
  for alert in eventGridMetrics: {
    name: alert.name
    location: 'global'
    tags: tags
    properties: {
      description: alert.description
      severity: 2
      enabled: true
      scopes: [
        systemTopicId
      ]
      evaluationFrequency: 'PT5M'
      windowSize: 'PT15M'
      criteria: {
        'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
        allOf: [
          {
            criterionType: 'StaticThresholdCriterion'
            name: alert.metric
            metricNamespace: 'Microsoft.EventGrid/systemTopics'
            metricName: alert.metric
            operator: 'GreaterThan'
            threshold: 0
            timeAggregation: 'Total'
          }
        ]
      }
      actions: [
        {
          actionGroupId: actionGroup.id
        }
      ]
    }
  }
]

// Storage throttling: transactions answered with a throttling or server-busy response.
resource storageThrottling 'Microsoft.Insights/metricAlerts@2018-03-01' = [
  for (accountId, index) in storageAccountIds: {
    name: 'storage-throttling-${index}'
    location: 'global'
    tags: tags
    properties: {
      description: 'Storage requests throttled (Durable Functions and the app slow down, then retry).'
      severity: 2
      enabled: true
      scopes: [
        accountId
      ]
      evaluationFrequency: 'PT5M'
      windowSize: 'PT15M'
      criteria: {
        'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
        allOf: [
          {
            criterionType: 'StaticThresholdCriterion'
            name: 'throttled-transactions'
            metricNamespace: 'Microsoft.Storage/storageAccounts'
            metricName: 'Transactions'
            dimensions: [
              {
                name: 'ResponseType'
                operator: 'Include'
                values: [
                  'ServerBusyError'
                  'ClientThrottlingError'
                  'ClientAccountRequestThrottlingError'
                  'ClientAccountBandwidthThrottlingError'
                ]
              }
            ]
            operator: 'GreaterThan'
            threshold: 0
            timeAggregation: 'Total'
          }
        ]
      }
      actions: [
        {
          actionGroupId: actionGroup.id
        }
      ]
    }
  }
]

output actionGroupId string = actionGroup.id
