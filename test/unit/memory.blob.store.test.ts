import { describeBlobStoreContract } from '../support/blob.store.contract.js';
import { MemoryBlobStore } from '../support/memory.blob.store.js';

describeBlobStoreContract('in memory (the unit tests\' twin)', () => new MemoryBlobStore());
