// Check combination: Durable Task Scheduler backend, no network isolation, deployed by CI as a
// service principal, alerts e-mailed, a STAC API configured, the largest worker replicas, sign-in
// configured, always-ready 0 (scale from zero: only safe since the packaged host.json names the scheduler).
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
// Sign-in configured: App Service Authentication for this app registration.
param authClientId = '11111111-2222-4333-8444-555555555555'
