/**
 * Uploads a local file for `submit`, through the app's own storage interface. Storage is a
 * connection string, or a blob service URL with DefaultAzureCredential; without either, a
 * local host's URL means its embedded Azurite.
 */
import { DefaultAzureCredential } from '@azure/identity';
import { BlobServiceClient } from '@azure/storage-blob';
import { AzureBlobStore } from '../src/storage/azure.blob.store.js';
import { asStoreError } from '../src/storage/store.error.js';
import { createBlobServiceClient, resolveStorageConnection } from '../src/storage/connection.js';
import { CliUsageError } from './cli.args.js';
import type { UploadRequest } from './cli.context.js';
import { UploadError } from './cli.program.js';

function isLoopback(url: string): boolean {
  try {
    return ['localhost', '127.0.0.1', '[::1]'].includes(new URL(url).hostname);
  } catch {
    return false;
  }
}

/** The blob service to upload to; a loopback `apiUrl` means the local host's Azurite by default. */
export function chooseBlobService(request: UploadRequest): BlobServiceClient {
  if (request.connectionString) return createBlobServiceClient(resolveStorageConnection({ AzureWebJobsStorage: request.connectionString }));
  if (request.accountUrl) return new BlobServiceClient(request.accountUrl, new DefaultAzureCredential());
  if (isLoopback(request.apiUrl)) return createBlobServiceClient(resolveStorageConnection({ AzureWebJobsStorage: 'UseDevelopmentStorage=true' }));
  throw new CliUsageError('to upload a local file to Azure, give --account-url https://<account>.blob.core.windows.net (signs in with DefaultAzureCredential) or --connection-string (or set AzureWebJobsStorage)');
}

/** A storage failure as the status and error code the service gave, never its full text (which may hold a SAS URL). */
function describeStorageFailure(error: unknown): string {
  const storeError = asStoreError(error);
  if (storeError) {
    const { status, code } = storeError.detail;
    if (status === undefined) return `storage could not be reached${code ? ` (${code})` : ''}: check --connection-string / AzureWebJobsStorage, or that the local host's Azurite runs`;
    return `storage answered HTTP ${status}${code ? ` (${code})` : ''}`;
  }
  return error instanceof Error ? error.name : 'unknown error';
}

export async function uploadLocalFile(request: UploadRequest): Promise<void> {
  const store = new AzureBlobStore(chooseBlobService(request));
  try {
    await store.uploadFile({ container: request.container, name: request.name }, request.path, request.contentType);
  } catch (error) {
    throw new UploadError(`uploading to ${request.container}/${request.name} failed: ${describeStorageFailure(error)}`);
  }
}
