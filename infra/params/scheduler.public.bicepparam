// Check combination: Durable Task Scheduler backend, no network isolation, deployed by CI as a
// service principal, alerts e-mailed, a STAC API configured, the largest worker replicas.
using '../main.bicep'

param environmentName = 'check-scheduler-public'
param durableBackend = 'DurableTaskScheduler'
param principalId = '00000000-0000-0000-0000-000000000001'
param principalType = 'ServicePrincipal'
param alertEmail = 'operator@example.org'
param stacApiUrl = 'https://stac.example.org/'
param stacApiScope = 'api://stac/.default'
param alwaysReadyDurableInstances = 0
param workerCpu = '4.0'
param workerMaxExecutions = 20
param workerMaxDeliveries = 8
param workerThresholdMb = 512
