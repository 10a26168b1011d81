import * as df from 'durable-functions';
import { describe, expect, it } from 'vitest';
import { purgeExpiredInstances, readRetentionDays, readRetentionSchedule, retentionFilter, type PurgeClient } from '../../src/jobs/retention.js';

describe('retention settings', () => {
  it('DURABLE_RETENTION_DAYS defaults to 30 and must be a positive number', () => {
    expect(readRetentionDays({})).toBe(30);
    expect(readRetentionDays({ DURABLE_RETENTION_DAYS: '7' })).toBe(7);
    expect(readRetentionDays({ DURABLE_RETENTION_DAYS: '0.5' })).toBe(0.5);
    expect(() => readRetentionDays({ DURABLE_RETENTION_DAYS: '0' })).toThrow('DURABLE_RETENTION_DAYS must be a positive number of days, got "0"');
    expect(() => readRetentionDays({ DURABLE_RETENTION_DAYS: 'month' })).toThrow(/DURABLE_RETENTION_DAYS/);
  });

  it('DURABLE_RETENTION_SCHEDULE defaults to daily at 03:00 UTC', () => {
    expect(readRetentionSchedule({})).toBe('0 0 3 * * *');
    expect(readRetentionSchedule({ DURABLE_RETENTION_SCHEDULE: ' 0 30 1 * * Sun ' })).toBe('0 30 1 * * Sun');
  });
});

describe('retention purge', () => {
  it('asks for finished instances only (never running, pending or suspended), created before now minus the period', () => {
    const filter = retentionFilter(new Date('2026-03-31T00:00:00Z'), 30);
    expect(filter.createdTimeTo?.toISOString()).toBe('2026-03-01T00:00:00.000Z');
    expect(filter.createdTimeFrom?.getTime()).toBe(0);
    expect(filter.runtimeStatus).toEqual([df.OrchestrationRuntimeStatus.Completed, df.OrchestrationRuntimeStatus.Failed, df.OrchestrationRuntimeStatus.Terminated]);
  });

  it('purges through the durable client and reports the count and cutoff', async () => {
    const calls: df.OrchestrationFilter[] = [];
    const client: PurgeClient = {
      purgeInstanceHistoryBy: async (filter) => {
        calls.push(filter);
        return { instancesDeleted: 4 };
      },
    };
    const outcome = await purgeExpiredInstances(client, new Date('2026-03-31T00:00:00Z'), 1);
    expect(outcome).toEqual({ instancesDeleted: 4, createdBefore: new Date('2026-03-30T00:00:00Z') });
    expect(calls).toHaveLength(1);
  });
});
