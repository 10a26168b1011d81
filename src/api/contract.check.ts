/**
 * Holds the server's own types to the API contract (`src/api/contract.ts`), at compile time only:
 * what a handler builds must be what the contract accepts, and what the contract parses must be
 * the server's shape. A field added, renamed or retyped on either side fails `tsc` here, not a
 * client at run time. Nothing in this module runs.
 */
import type { z } from 'zod';
import type { BatchView } from '../jobs/batch.view.js';
import type { DurableInstanceStatus } from '../jobs/durable.status.js';
import type { BulkRetryResult } from '../jobs/job.retry.js';
import type { JobView } from '../jobs/job.view.js';
import type { TileEntry, TileLedgerPage } from '../jobs/tile.ledger.js';
import type { submitBatchSchema, submitJobSchema } from '../pipeline/options.js';
import type * as contract from './contract.js';

/** `true` when `A` is assignable to `B`; otherwise `never`, which `true` cannot be assigned to. */
type Extends<A, B> = [A] extends [B] ? true : never;

/** Compared field by field, without the loose objects' index signature (the server's interfaces declare none). */
type Declared<T> = contract.Shape<T>;

/** Both ways: the server's answer parses, and the parsed answer is the server's type. */
type Agrees<Server, Schema extends z.ZodType> = Extends<Server, Declared<z.input<Schema>>> & Extends<z.output<Schema>, Server>;

export const contractAgreement: {
  jobView: Agrees<JobView, typeof contract.jobViewSchema>;
  tileEntry: Agrees<TileEntry, typeof contract.tileEntrySchema>;
  tilePage: Agrees<TileLedgerPage, typeof contract.tilePageSchema>;
  batchView: Agrees<BatchView, typeof contract.batchViewSchema>;
  /** One way: the contract also reads services from before `outcome` and `reason`, and a source the index lost. */
  bulkRetry: Extends<BulkRetryResult, Declared<z.input<typeof contract.bulkRetryPageSchema>>>;
  durableStatus: Agrees<DurableInstanceStatus, typeof contract.durableStatusSchema>;
  /** The clients' request types are requests the server's schemas accept. */
  submitRequest: Extends<Omit<contract.SubmitRequest, 'options'>, Omit<z.input<typeof submitJobSchema>, 'options'>>;
  submitBatchRequest: Extends<contract.SubmitBatchRequest, z.input<typeof submitBatchSchema>>;
} = { jobView: true, tileEntry: true, tilePage: true, batchView: true, bulkRetry: true, durableStatus: true, submitRequest: true, submitBatchRequest: true };
