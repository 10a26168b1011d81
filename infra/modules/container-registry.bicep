// Azure Container Registry for the container worker's image (worker/Dockerfile). No admin user and
// no anonymous pull: the worker's Container Apps job pulls with the app's user-assigned identity
// (AcrPull, granted in modules/role-assignments.bicep), and azd pushes (or builds remotely, ACR
// Tasks) with the deploying principal's own Entra ID sign-in.
//
// Basic has no private endpoint (Premium only): with network isolation the registry stays public,
// reachable with an Entra ID token only, and the jobs' Container Apps environment pulls over its
// outbound internet path.

@description('Registry name (5-50 letters and digits, globally unique).')
@minLength(5)
@maxLength(50)
param name string

@description('Azure region of the registry.')
param location string

@description('Tags applied to the registry.')
param tags object

@description('Basic holds one small image comfortably; Premium adds private endpoints and geo-replication.')
@allowed([
  'Basic'
  'Standard'
  'Premium'
])
param sku string = 'Basic'

resource registry 'Microsoft.ContainerRegistry/registries@2025-04-01' = {
  name: name
  location: location
  tags: tags
  sku: {
    name: sku
  }
  properties: {
    adminUserEnabled: false
    anonymousPullEnabled: false
    publicNetworkAccess: 'Enabled'
  }
}

output name string = registry.name
output id string = registry.id
output loginServer string = registry.properties.loginServer
