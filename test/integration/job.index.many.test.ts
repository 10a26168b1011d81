/**
 * The jobs index writes a batch's rows in transactions (issue 22): `recordMany` writes 150 rows
 * (Table Storage takes at most 100 operations per transaction, so two), and merges into rows
 * already there as `record` does, on Azurite.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, inject, it } from 'vitest';
import { JobIndex, jobIndexKey, type JobIndexEntry } from '../../src/jobs/job.index.js';

const entry = (batch: string, key: string, index: number): Partial<JobIndexEntry> & { key: string } => ({
  key,
  id: `job-${index}`,
  batch,
  source: `uploads/many/${index}.tif`,
  collection: 'many',
  status: 'Pending',
  createdTime: '2026-01-01T00:00:00.000Z',
  lastUpdatedTime: '2026-01-01T00:00:00.000Z',
  attempt: 1,
  previousAttempt: null,
  tilesDone: 0,
  tilesFailed: 0,
  tilesTotal: 0,
});

describe('JobIndex.recordMany', () => {
  it('writes 150 rows of a batch in transactions of at most 100, and merges into a row already there', async () => {
    const jobs = JobIndex.fromEnvironment({ AzureWebJobsStorage: inject('storageConnectionString') });
    const batch = `batch-${randomUUID().slice(0, 8)}`;
    const keys = Array.from({ length: 150 }, (_, index) => jobIndexKey(new Date('2026-01-01T00:00:00Z'), `${batch}-${index}`, index));
    // One row already ended: recordMany merges into it, as the job's own record would.
    await jobs.record({ ...entry(batch, keys[0]!, 0), status: 'Completed', tilesDone: 1 });
    await jobs.recordMany(keys.map((key, index) => (index === 0 ? { key, batch, errorCodes: [] } : entry(batch, key, index))));
    const listed: JobIndexEntry[] = [];
    let continuationToken: string | undefined;
    do {
      const page = await jobs.page({ batch, top: 100, ...(continuationToken ? { continuationToken } : {}) });
      listed.push(...page.entries);
      continuationToken = page.continuationToken ?? undefined;
    } while (continuationToken);
    expect(listed).toHaveLength(150);
    expect(listed.find((row) => row.key === keys[0])).toMatchObject({ status: 'Completed', tilesDone: 1, source: 'uploads/many/0.tif' });
    expect(listed.filter((row) => row.status === 'Pending')).toHaveLength(149);
  });
});
