// Optional network isolation: a virtual network whose `app` subnet the Function App joins (Flex
// Consumption VNet integration needs a subnet delegated to Microsoft.App/environments), a `jobs`
// subnet for the container worker's Container Apps environment (delegated the same way), and private
// endpoints in the `private-endpoints` subnet, with private DNS zones so that the usual host names
// (st<token>.blob.core.windows.net, ...) resolve to the private addresses inside the VNet.

@description('Virtual network name.')
param name string

@description('Azure region of the network (the Function App\'s).')
param location string

@description('Tags applied to every resource.')
param tags object

@description('Address space of the virtual network.')
param addressPrefix string = '10.60.0.0/16'

@description('Subnet the Function App integrates with (outbound).')
param appSubnetPrefix string = '10.60.0.0/24'

@description('Subnet of the container worker\'s Container Apps environment (workload profiles: /27 or larger).')
param jobsSubnetPrefix string = '10.60.2.0/24'

@description('Subnet of the private endpoints.')
param privateEndpointSubnetPrefix string = '10.60.1.0/24'

@description('Private endpoints to create: a resource, the sub-resource (group id) and the private DNS zone of that sub-resource.')
param privateEndpoints {
  @description('Private endpoint name.')
  name: string
  @description('Resource id of the target (storage account, Service Bus namespace).')
  resourceId: string
  @description('Sub-resource: blob, queue, table or namespace.')
  groupId: string
  @description('Private DNS zone, e.g. privatelink.blob.core.windows.net.')
  dnsZone: string
}[]

var dnsZones = union(map(privateEndpoints, endpoint => endpoint.dnsZone), [])

resource vnet 'Microsoft.Network/virtualNetworks@2024-05-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    addressSpace: {
      addressPrefixes: [
        addressPrefix
      ]
    }
    subnets: [
      {
        name: 'app'
        properties: {
          addressPrefix: appSubnetPrefix
          delegations: [
            {
              name: 'flex-consumption'
              properties: {
                serviceName: 'Microsoft.App/environments'
              }
            }
          ]
        }
      }
      {
        name: 'jobs'
        properties: {
          addressPrefix: jobsSubnetPrefix
          delegations: [
            {
              name: 'container-apps'
              properties: {
                serviceName: 'Microsoft.App/environments'
              }
            }
          ]
        }
      }
      {
        name: 'private-endpoints'
        properties: {
          addressPrefix: privateEndpointSubnetPrefix
          privateEndpointNetworkPolicies: 'Disabled'
        }
      }
    ]
  }

  resource appSubnet 'subnets' existing = {
    name: 'app'
  }

  resource jobsSubnet 'subnets' existing = {
    name: 'jobs'
  }

  resource privateEndpointSubnet 'subnets' existing = {
    name: 'private-endpoints'
  }
}

resource zones 'Microsoft.Network/privateDnsZones@2024-06-01' = [
  for zone in dnsZones: {
    name: zone
    location: 'global'
    tags: tags
  }
]

resource zoneLinks 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2024-06-01' = [
  for (zone, index) in dnsZones: {
    parent: zones[index]
    name: '${name}-link'
    location: 'global'
    tags: tags
    properties: {
      registrationEnabled: false
      virtualNetwork: {
        id: vnet.id
      }
    }
  }
]

resource endpoints 'Microsoft.Network/privateEndpoints@2024-05-01' = [
  for endpoint in privateEndpoints: {
    name: endpoint.name
    location: location
    tags: tags
    properties: {
      subnet: {
        id: vnet::privateEndpointSubnet.id
      }
      privateLinkServiceConnections: [
        {
          name: endpoint.name
          properties: {
            privateLinkServiceId: endpoint.resourceId
            groupIds: [
              endpoint.groupId
            ]
          }
        }
      ]
    }
  }
]

resource endpointDnsGroups 'Microsoft.Network/privateEndpoints/privateDnsZoneGroups@2024-05-01' = [
  for (endpoint, index) in privateEndpoints: {
    parent: endpoints[index]
    name: 'default'
    properties: {
      privateDnsZoneConfigs: [
        {
          name: replace(endpoint.dnsZone, '.', '-')
          properties: {
            privateDnsZoneId: zones[indexOf(dnsZones, endpoint.dnsZone)].id
          }
        }
      ]
    }
    dependsOn: [
      zoneLinks
    ]
  }
]

output appSubnetId string = vnet::appSubnet.id
output jobsSubnetId string = vnet::jobsSubnet.id
output name string = vnet.name
