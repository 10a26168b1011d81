import { DefaultAzureCredential, ManagedIdentityCredential, type TokenCredential } from '@azure/identity';
import { TableClient } from '@azure/data-tables';
import { BlobServiceClient } from '@azure/storage-blob';
import { settingNames, type Environment } from '../config.js';

/** Azurite's well-known development account (documented, not a secret). */
const devAccount = 'devstoreaccount1';
const devKey = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export function developmentConnectionString(host = '127.0.0.1', blobPort = 10000, queuePort = 10001, tablePort = 10002): string {
  return (
    `DefaultEndpointsProtocol=http;AccountName=${devAccount};AccountKey=${devKey};` +
    `BlobEndpoint=http://${host}:${blobPort}/${devAccount};` +
    `QueueEndpoint=http://${host}:${queuePort}/${devAccount};` +
    `TableEndpoint=http://${host}:${tablePort}/${devAccount};`
  );
}

/** How to reach the storage account behind a connection setting such as `AzureWebJobsStorage`. */
export type StorageConnection =
  | { kind: 'connectionString'; connectionString: string }
  | { kind: 'identity'; blobServiceUri: string; tableServiceUri: string; credential: TokenCredential };

/**
 * Resolves a Functions connection setting the way the Functions host does: a connection string
 * in `<name>`, or identity-based settings `<name>__accountName` / `<name>__blobServiceUri`
 * (with `<name>__credential=managedidentity` and `<name>__clientId` for a user-assigned identity).
 */
export function resolveStorageConnection(env: Environment = process.env, name: string = settingNames.storage): StorageConnection {
  const value = env[name]?.trim();
  if (value) {
    const connectionString = value === 'UseDevelopmentStorage=true' ? developmentConnectionString() : value;
    return { kind: 'connectionString', connectionString };
  }
  const accountName = env[`${name}__accountName`];
  const blobServiceUri = env[`${name}__blobServiceUri`] ?? (accountName ? `https://${accountName}.blob.core.windows.net` : undefined);
  if (!blobServiceUri) {
    throw new Error(
      `Storage is not configured: set ${name} to a connection string, or ${name}__accountName (or ${name}__blobServiceUri) for identity-based access`,
    );
  }
  const tableServiceUri =
    env[`${name}__tableServiceUri`] ?? (accountName ? `https://${accountName}.table.core.windows.net` : blobServiceUri.replace('.blob.', '.table.'));
  const clientId = env[`${name}__clientId`];
  const credential =
    env[`${name}__credential`] === 'managedidentity'
      ? new ManagedIdentityCredential(clientId ? { clientId } : {})
      : new DefaultAzureCredential(clientId ? { managedIdentityClientId: clientId } : {});
  return { kind: 'identity', blobServiceUri, tableServiceUri, credential };
}

export function createBlobServiceClient(connection: StorageConnection): BlobServiceClient {
  return connection.kind === 'connectionString'
    ? BlobServiceClient.fromConnectionString(connection.connectionString)
    : new BlobServiceClient(connection.blobServiceUri, connection.credential);
}

export function createTableClient(connection: StorageConnection, table: string): TableClient {
  return connection.kind === 'connectionString'
    ? // Azurite serves plain HTTP; Azure's connection strings are HTTPS.
      TableClient.fromConnectionString(connection.connectionString, table, { allowInsecureConnection: connection.connectionString.includes('http://') })
    : new TableClient(connection.tableServiceUri, table, connection.credential);
}
