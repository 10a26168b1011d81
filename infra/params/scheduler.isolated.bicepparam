// Check combination: Durable Task Scheduler (Dedicated) with network isolation on and Service Bus
// Basic, which has no private endpoint and stays public (Entra ID only).
using '../main.bicep'

param environmentName = 'check-scheduler-isolated'
param durableBackend = 'DurableTaskScheduler'
param durableTaskSchedulerSku = 'Dedicated'
param networkIsolation = true
param instanceMemoryMB = 2048
