import { inject } from 'vitest';
import { AzureTableStore } from '../../src/storage/azure.table.store.js';
import { describeTableStoreContract } from '../support/table.store.contract.js';

describeTableStoreContract('Azure SDK on Azurite', (table) => AzureTableStore.fromEnvironment({ AzureWebJobsStorage: inject('storageConnectionString') }, table));
