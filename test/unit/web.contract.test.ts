/**
 * The dashboard keeps its own copy of the job API's shapes (web/api.types.ts: the browser bundle
 * does not compile server modules). These checks fail type-checking (`npm run typecheck`) when
 * the server's shapes drift from what the page reads.
 */
import { describe, expectTypeOf, it } from 'vitest';
import type { TileEntry as LedgerTileEntry, TileLedgerPage } from '../../src/jobs/tile.ledger.js';
import type { JobView as ServerJobView } from '../../src/jobs/job.view.js';
import type { JobView, TileEntry, TilePage } from '../../web/api.types.js';

describe('the dashboard reads what the job API sends', () => {
  it('a tile ledger entry and page', () => {
    expectTypeOf<LedgerTileEntry>().toExtend<TileEntry>();
    expectTypeOf<TileLedgerPage>().toExtend<TilePage>();
  });

  it('a job view', () => {
    expectTypeOf<ServerJobView>().toExtend<JobView>();
  });
});
