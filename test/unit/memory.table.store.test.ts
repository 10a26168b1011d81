import { describeTableStoreContract } from '../support/table.store.contract.js';
import { MemoryTableStore } from '../support/memory.table.store.js';

describeTableStoreContract('in memory (the unit tests\' twin)', () => new MemoryTableStore());
