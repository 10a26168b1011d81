/**
 * The dashboard keeps its own copy of the job API's shapes (web/api.types.ts: the browser bundle
 * does not compile server modules). These checks fail type-checking (`npm run typecheck`) when
 * the server's shapes drift from what the page reads.
 */
import { describe, expectTypeOf, it } from 'vitest';
import type { TileEntry as LedgerTileEntry, TileLedgerPage } from '../../src/jobs/tile.ledger.js';
import type { BatchView as ServerBatchView } from '../../src/jobs/batch.view.js';
import type { BulkRetryResult as ServerBulkRetryResult } from '../../src/jobs/job.retry.js';
import type { JobView as ServerJobView } from '../../src/jobs/job.view.js';
import type { BatchView, BulkRetryResult, JobView, TileEntry, TilePage } from '../../web/api.types.js';

describe('the dashboard reads what the job API sends', () => {
  it('a tile ledger entry and page', () => {
    expectTypeOf<LedgerTileEntry>().toExtend<TileEntry>();
    expectTypeOf<TileLedgerPage>().toExtend<TilePage>();
  });

  it('a job view', () => {
    expectTypeOf<ServerJobView>().toExtend<JobView>();
  });

  it('a batch view and a bulk retry page', () => {
    expectTypeOf<ServerBatchView>().toExtend<BatchView>();
    expectTypeOf<ServerBulkRetryResult>().toExtend<BulkRetryResult>();
  });
});
