/**
 * A manifest that lists one source twice: its job is started once, and the second entry is a skip
 * with the reason. Before, both entries ran: the second start of the same instance failed the entry
 * INTERNAL while the job completed, and `GET /api/jobs?batch=` listed the job twice (found by probing).
 */
import { describe, expect, it } from 'vitest';
import { createPrepareBatchJobs } from '../../src/activities/batch.sources.js';
import { JobIndex } from '../../src/jobs/job.index.js';
import { ingestOptionsSchema } from '../../src/pipeline/options.js';
import { MemoryBlobStore } from '../support/memory.blob.store.js';
import { MemoryTableStore } from '../support/memory.table.store.js';

describe('a batch chunk that lists a source twice', () => {
  it('starts its job once and skips the repeat, saying why', async () => {
    // The real jobs index on the in-memory table: what the batch lists is what it wrote.
    const jobs = new JobIndex(new MemoryTableStore());
    const prepare = createPrepareBatchJobs({ store: new MemoryBlobStore(), jobs, findJob: async () => undefined });
    const source = { container: 'incoming', name: 'weird/good1.tif', etag: '"0x1"', size: 10, lastModified: '2026-12-06T11:00:00.000Z' };
    const other = { ...source, name: 'weird/other.tif' };

    const prepared = await prepare({
      batchId: 'batch-1',
      chunk: 0,
      sources: [source, other, { ...source }, source],
      collection: 'c',
      options: ingestOptionsSchema.parse({}),
      tileSize: 512,
      worker: { thresholdBytes: 1, tileTimeoutSeconds: 1 },
    });

    expect(prepared.map((job) => job.kind)).toEqual(['run', 'run', 'skip', 'skip']);
    expect(prepared[2]).toMatchObject({ source: 'incoming/weird/good1.tif', reason: expect.stringMatching(/more than once/) });
    const runs = prepared.flatMap((job) => (job.kind === 'run' ? [job.instanceId] : []));
    expect(new Set(runs).size).toBe(2);
    const listed = await jobs.page({ batch: 'batch-1', top: 10 });
    expect(listed.entries.map((entry) => entry.id).sort()).toEqual([...runs].sort());
  });
});
