import { inject } from 'vitest';
import { AzureBlobStore } from '../../src/storage/azure.blob.store.js';
import { describeBlobStoreContract } from '../support/blob.store.contract.js';

describeBlobStoreContract('Azure SDK on Azurite', () => AzureBlobStore.fromEnvironment({ AzureWebJobsStorage: inject('storageConnectionString') }));
