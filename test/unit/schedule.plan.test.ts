/**
 * Collection schedules (issue 24, part 4), the pure parts: fire times in a time zone across DST
 * changes (Europe/Berlin, America/New_York), the step a schedule instance takes at a given
 * instant (plan, check, run, wait, missed windows with their reasons, a host down across
 * windows), and the schedule activities' "after" evaluation and batch submission on fakes. The
 * clock is an argument everywhere: no test reads the wall clock.
 */
import { describe, expect, it } from 'vitest';
import { createCheckScheduleAfter, createReadScheduleDefinition, createRunScheduledBatch, snapshotOf } from '../../src/activities/schedule.steps.js';
import type { StoredCollection } from '../../src/collections/collection.store.js';
import { collectionDefinitionSchema } from '../../src/collections/definition.schema.js';
import { findAfterCycle, findCronProblem, validateDefinition } from '../../src/collections/definition.validate.js';
import {
  afterCheck,
  afterRun,
  fireTimesBetween,
  initialCarry,
  nextFireTime,
  planStep,
  scheduleBounds,
  scheduleInstanceId,
  type ScheduleCarry,
  type ScheduleRun,
} from '../../src/collections/schedule.plan.js';
import type { SubmitBatchCommand, SubmitBatchResult } from '../../src/jobs/batch.submit.js';
import { JobIndex, jobIndexKey } from '../../src/jobs/job.index.js';
import { MemoryTableStore } from '../support/memory.table.store.js';

const at = (iso: string): Date => new Date(iso);
const iso = (dates: readonly Date[]): string[] => dates.map((date) => date.toISOString());
const nextRuns = (cron: string, timeZone: string, from: string, count: number): string[] => {
  const runs: Date[] = [];
  let cursor = at(from);
  for (let i = 0; i < count; i++) {
    const next = nextFireTime({ cron, timeZone }, cursor)!;
    runs.push(next);
    cursor = next;
  }
  return iso(runs);
};

describe('fire times across DST', () => {
  it('Europe/Berlin, spring: 02:30 does not exist on 29 March 2026 and fires at 03:00 CEST; the days around keep 02:30 local', () => {
    expect(nextRuns('30 2 * * *', 'Europe/Berlin', '2026-03-28T00:00:00Z', 3)).toEqual(['2026-03-28T01:30:00.000Z', '2026-03-29T01:00:00.000Z', '2026-03-30T00:30:00.000Z']);
  });
  it('Europe/Berlin, autumn: 02:30 happens twice on 25 October 2026 and a fixed time fires once, at the first', () => {
    expect(nextRuns('30 2 * * *', 'Europe/Berlin', '2026-10-24T12:00:00Z', 3)).toEqual(['2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z', '2026-10-27T01:30:00.000Z']);
  });
  it('Europe/Berlin, autumn: a pattern stepping through the repeated hour fires in both of its passes', () => {
    expect(nextRuns('*/30 2 * * *', 'Europe/Berlin', '2026-10-24T23:00:00Z', 5)).toEqual(['2026-10-25T00:00:00.000Z', '2026-10-25T00:30:00.000Z', '2026-10-25T01:00:00.000Z', '2026-10-25T01:30:00.000Z', '2026-10-26T01:00:00.000Z']);
  });
  it('America/New_York: weekdays at 09:00 move from 14:00 to 13:00 UTC over the 8 March 2026 change, skipping the weekend', () => {
    expect(nextRuns('0 9 * * 1-5', 'America/New_York', '2026-03-05T00:00:00Z', 4)).toEqual(['2026-03-05T14:00:00.000Z', '2026-03-06T14:00:00.000Z', '2026-03-09T13:00:00.000Z', '2026-03-10T13:00:00.000Z']);
  });
  it('America/New_York: 02:30 skipped on 8 March fires at 03:00 EDT; 01:30 repeated on 1 November fires once', () => {
    expect(nextRuns('30 2 * * *', 'America/New_York', '2026-03-07T12:00:00Z', 2)).toEqual(['2026-03-08T07:00:00.000Z', '2026-03-09T06:30:00.000Z']);
    expect(nextRuns('30 1 * * *', 'America/New_York', '2026-10-31T12:00:00Z', 2)).toEqual(['2026-11-01T05:30:00.000Z', '2026-11-02T06:30:00.000Z']);
  });
  it('lists the fire times between two instants, bounded', () => {
    const daily = { cron: '0 3 * * *', timeZone: 'UTC' };
    expect(iso(fireTimesBetween(daily, at('2026-01-01T00:00:00Z'), at('2026-01-03T03:00:00Z'), 10).times)).toEqual(['2026-01-01T03:00:00.000Z', '2026-01-02T03:00:00.000Z', '2026-01-03T03:00:00.000Z']);
    expect(fireTimesBetween(daily, at('2026-01-01T00:00:00Z'), at('2026-02-01T00:00:00Z'), 5)).toMatchObject({ more: true, times: expect.any(Array) });
  });
});

const daily = { cron: '0 3 * * *', timeZone: 'Europe/Berlin' };
const started = at('2026-06-01T12:00:00Z');
const run = (window: string, atTime: string, outcome: ScheduleRun['outcome'] = 'started'): ScheduleRun => ({ window, at: atTime, batchId: outcome === 'started' ? 'batch-1' : null, outcome, version: 1 });

describe('a schedule step', () => {
  it('plans the next window and waits for it', () => {
    const step = planStep(initialCarry(started), daily, started);
    expect(step).toMatchObject({ kind: 'wait', until: at('2026-06-02T01:00:00Z'), carry: { window: '2026-06-02T01:00:00.000Z' } });
  });

  it('checks the window once it is open, since the instance started before its first run and since the last run after', () => {
    const planned: ScheduleCarry = { ...initialCarry(started), window: '2026-06-02T01:00:00.000Z' };
    const step = planStep(planned, daily, at('2026-06-02T01:00:00.500Z'));
    expect(step).toMatchObject({ kind: 'check', window: '2026-06-02T01:00:00.000Z', nextWindow: at('2026-06-03T01:00:00Z'), since: started.toISOString() });
    const withRun = planStep({ ...planned, lastRun: run('2026-06-01T01:00:00.000Z', '2026-06-01T01:00:01.000Z') }, daily, at('2026-06-02T01:00:01Z'));
    expect(withRun).toMatchObject({ kind: 'check', since: '2026-06-01T01:00:01.000Z' });
  });

  it('replans at once when the window is not open yet (a changed cron applies to the planned window)', () => {
    const planned: ScheduleCarry = { ...initialCarry(started), window: '2026-06-02T01:00:00.000Z' };
    expect(planStep(planned, { cron: '0 18 * * *', timeZone: 'UTC' }, at('2026-06-01T13:00:00Z'))).toMatchObject({ kind: 'wait', until: at('2026-06-01T18:00:00Z') });
  });

  it('runs when every dependency is met; otherwise re-checks after the interval, never past the next window', () => {
    const open = planStep({ ...initialCarry(started), window: '2026-06-02T01:00:00.000Z' }, daily, at('2026-06-02T01:00:00Z'));
    if (open.kind !== 'check') throw new Error('expected a check');
    expect(afterCheck(open, [], at('2026-06-02T01:00:00Z'), 60_000)).toEqual({ kind: 'run' });
    const waiting = afterCheck(open, ['collection:dem'], at('2026-06-02T01:00:00Z'), 60_000);
    expect(waiting).toMatchObject({ kind: 'wait', until: at('2026-06-02T01:01:00Z'), carry: { window: '2026-06-02T01:00:00.000Z', waitingFor: ['collection:dem'] } });
    const late = afterCheck(open, ['collection:dem'], at('2026-06-03T00:59:30Z'), 60_000);
    expect(late).toMatchObject({ kind: 'wait', until: at('2026-06-03T01:00:00Z') });
  });

  it('records a window whose dependencies were still unmet when the next opened as missed, naming them, and checks the next', () => {
    const carry: ScheduleCarry = { ...initialCarry(started), window: '2026-06-02T01:00:00.000Z', waitingFor: ['collection:dem', 'batch:batch-x'] };
    const step = planStep(carry, daily, at('2026-06-03T01:00:00Z'));
    expect(step).toMatchObject({ kind: 'check', window: '2026-06-03T01:00:00.000Z' });
    expect(step.carry.missed).toEqual([{ window: '2026-06-02T01:00:00.000Z', reason: 'after', waitingFor: ['collection:dem', 'batch:batch-x'], recordedAt: '2026-06-03T01:00:00.000Z' }]);
    expect(step.carry.missedTotal).toBe(1);
    expect(step.carry.waitingFor).toEqual([]);
  });

  it('after a host was down across windows: each passed window is missed as not-running, and the latest open one runs late', () => {
    const carry: ScheduleCarry = { ...initialCarry(started), window: '2026-06-02T01:00:00.000Z' };
    // Down from before 2 June 03:00 (Berlin) to 4 June 09:00 UTC: the 2 and 3 June windows passed, the 4 June one is open.
    const step = planStep(carry, daily, at('2026-06-04T09:00:00Z'));
    expect(step).toMatchObject({ kind: 'check', window: '2026-06-04T01:00:00.000Z', nextWindow: at('2026-06-05T01:00:00Z') });
    expect(step.carry.missed.map((missed) => [missed.window, missed.reason])).toEqual([
      ['2026-06-03T01:00:00.000Z', 'not-running'],
      ['2026-06-02T01:00:00.000Z', 'not-running'],
    ]);
  });

  it('a short outage across one window is a late run, not a miss', () => {
    const step = planStep({ ...initialCarry(started), window: '2026-06-02T01:00:00.000Z' }, daily, at('2026-06-02T01:07:00Z'));
    expect(step).toMatchObject({ kind: 'check', window: '2026-06-02T01:00:00.000Z' });
    expect(step.carry.missed).toEqual([]);
  });

  it('a long outage lists the newest missed windows and counts the rest', () => {
    const every5 = { cron: '*/5 * * * *', timeZone: 'UTC' };
    const step = planStep({ ...initialCarry(started), window: '2026-06-01T12:05:00.000Z', missed: [], missedTotal: 3 }, every5, at('2026-06-11T12:05:00Z'));
    // Ten days of 5-minute windows: 2,880 windows, the last of them open.
    expect(step).toMatchObject({ kind: 'check', window: '2026-06-11T12:05:00.000Z' });
    expect(step.carry.missed).toHaveLength(scheduleBounds.missed);
    expect(step.carry.missedTotal).toBe(3 + 2880);
    expect(step.carry.missed[0]!.window).toBe('2026-06-01T16:15:00.000Z');
  });

  it('after a run, plans strictly after it (a window runs once) and takes the next batch since the run listed; a failed run keeps the earlier mark', () => {
    const carry: ScheduleCarry = { ...initialCarry(started), window: '2026-06-02T01:00:00.000Z', listedUpTo: '2026-06-01T01:00:02.000Z' };
    const ran = afterRun(carry, run('2026-06-02T01:00:00.000Z', '2026-06-02T01:00:01.000Z'));
    expect(ran).toMatchObject({ window: null, listedUpTo: '2026-06-02T01:00:01.000Z', lastRun: { batchId: 'batch-1' } });
    expect(planStep(ran, daily, at('2026-06-02T01:00:02Z'))).toMatchObject({ kind: 'wait', until: at('2026-06-03T01:00:00Z') });
    expect(afterRun(carry, run('2026-06-02T01:00:00.000Z', '2026-06-02T01:00:01.000Z', 'failed')).listedUpTo).toBe('2026-06-01T01:00:02.000Z');
  });

  it('names its instance after the collection and the schedule', () => {
    expect(scheduleInstanceId('dem', 'nightly')).toBe('schedule:dem:nightly');
  });
});

const stored = (id: string, raw: unknown, version = 1): StoredCollection => ({ id, version, definition: collectionDefinitionSchema.parse(raw), updatedTime: '2026-06-01T00:00:00Z' });

describe('schedule activities (on fakes)', () => {
  const dem = stored('dem', { sources: [{ container: 'uploads', prefix: 'dem/' }], options: { compression: 'ZSTD' }, schedules: [{ name: 'nightly', cron: '0 3 * * *', timeZone: 'Europe/Berlin', after: [{ collection: 'rasters' }] }, { name: 'own', cron: '0 4 * * *', source: 'incoming/dem/' }] }, 3);

  it('reads a schedule, its source defaulting to the collection\'s first source; a removed one is null', async () => {
    const read = createReadScheduleDefinition({ readCollection: async (id) => (id === 'dem' ? dem : undefined) });
    expect(await read({ collection: 'dem', name: 'nightly' })).toEqual({ version: 3, cron: '0 3 * * *', timeZone: 'Europe/Berlin', source: 'uploads/dem/', after: [{ collection: 'rasters' }] });
    expect(snapshotOf(dem, 'own')?.source).toBe('incoming/dem/');
    expect(await read({ collection: 'dem', name: 'gone' })).toBeNull();
    expect(await read({ collection: 'nothing', name: 'nightly' })).toBeNull();
  });

  it('evaluates "after": a collection with a job completed since, a batch completed since; the others are named', async () => {
    const since = '2026-06-02T00:00:00.000Z';
    const check = createCheckScheduleAfter({
      collectionCompletedSince: async (collection, from) => collection === 'done' && from.toISOString() === since,
      batchCompletedAt: async (batchId) => (batchId === 'batch-new' ? at('2026-06-02T00:10:00Z') : batchId === 'batch-old' ? at('2026-06-01T23:00:00Z') : undefined),
    });
    expect(await check({ since, after: [{ collection: 'done' }, { collection: 'idle' }, { batch: 'batch-new' }, { batch: 'batch-old' }, { batch: 'batch-running' }] })).toEqual(['collection:idle', 'batch:batch-old', 'batch:batch-running']);
    expect(await check({ since, after: [] })).toEqual([]);
  });

  it("submits the batch over the schedule's source since the last run, with the collection's options of the version read", async () => {
    const commands: SubmitBatchCommand[] = [];
    const runBatch = (result: SubmitBatchResult) =>
      createRunScheduledBatch({
        readCollection: async (id, version) => (id === 'dem' && version === 3 ? dem : undefined),
        submitBatch: async (command) => {
          commands.push(command);
          return result;
        },
        now: () => at('2026-06-02T01:00:00.750Z'),
      });
    const snapshot = snapshotOf(dem, 'nightly')!;
    const started = await runBatch({ outcome: 'started', instanceId: 'batch-abc', attempt: 1 })({ collection: 'dem', name: 'nightly', snapshot, window: '2026-06-02T01:00:00.000Z', since: '2026-06-01T01:00:00.000Z' });
    expect(started).toEqual({ window: '2026-06-02T01:00:00.000Z', at: '2026-06-02T01:00:00.000Z', batchId: 'batch-abc', outcome: 'started', version: 3 });
    expect(commands[0]).toMatchObject({ selection: { kind: 'prefix', path: 'uploads/dem/' }, collection: 'dem', options: { compression: 'ZSTD' }, filters: { since: '2026-06-01T01:00:00.000Z' }, allowEmpty: true });
    const first = await runBatch({ outcome: 'missing', field: 'source', problem: 'no blobs under "uploads/dem/"' })({ collection: 'dem', name: 'nightly', snapshot, window: '2026-06-02T01:00:00.000Z', since: null });
    expect(first).toMatchObject({ outcome: 'nothing-new', batchId: null });
    expect(commands[1]!.filters).toEqual({});
    const refused = await runBatch({ outcome: 'invalid', field: 'source', problem: 'container "cogs" is not a source container' })({ collection: 'dem', name: 'nightly', snapshot, window: '2026-06-02T01:00:00.000Z', since: null });
    expect(refused).toMatchObject({ outcome: 'failed', detail: expect.stringContaining('source: container') });
  });
});

describe('"after" a collection, in the jobs index', () => {
  it('is met by a job of that collection completed at or after the time, even one created before it; not by other collections or states', async () => {
    const jobs = new JobIndex(new MemoryTableStore());
    const row = (id: string, collection: string, status: 'Completed' | 'Failed' | 'Running', created: string, updated: string) =>
      jobs.record({ key: jobIndexKey(at(created), id), id, collection, status, source: `incoming/${id}.tif`, createdTime: created, lastUpdatedTime: updated, attempt: 1, previousAttempt: null, tilesDone: 0, tilesFailed: 0, tilesTotal: 0, errors: [], errorCodes: [] });
    await row('old', 'dem', 'Completed', '2026-06-01T00:00:00.000Z', '2026-06-01T01:00:00.000Z');
    await row('long', 'dem', 'Completed', '2026-06-01T00:00:00.000Z', '2026-06-02T05:00:00.000Z');
    await row('failed', 'raw', 'Failed', '2026-06-02T06:00:00.000Z', '2026-06-02T07:00:00.000Z');
    await row('running', 'raw', 'Running', '2026-06-02T06:00:00.000Z', '2026-06-02T07:00:00.000Z');
    await row('other', 'rasters', 'Completed', '2026-06-02T06:00:00.000Z', '2026-06-02T07:00:00.000Z');
    expect(await jobs.hasCompletedSince('dem', at('2026-06-02T00:00:00Z'))).toBe(true);
    expect(await jobs.hasCompletedSince('dem', at('2026-06-02T05:00:00Z'))).toBe(true);
    expect(await jobs.hasCompletedSince('dem', at('2026-06-02T05:00:00.001Z'))).toBe(false);
    expect(await jobs.hasCompletedSince('raw', at('2026-06-01T00:00:00Z'))).toBe(false);
  });
});

describe('schedule definitions', () => {
  const now = at('2026-12-07T10:00:00Z');
  const context = (others: Record<string, unknown> = {}) => ({
    sourceContainers: ['uploads', 'incoming'],
    webhooks: { allowlist: [], allowLoopback: false },
    others: new Map(Object.entries(others).map(([id, raw]) => [id, collectionDefinitionSchema.parse(raw)])),
    now,
  });

  it('takes standard five-field cron only: croner\'s L, W, # and Quartz\'s ? are refused with the field named', () => {
    for (const cron of ['0 3 L * *', '0 3 15W * *', '0 3 * * 5#2', '0 3 ? * *', '@daily   ']) {
      expect(findCronProblem(cron, 'UTC', now), cron).toMatchObject({ field: 'cron', message: expect.stringMatching(/not standard cron|five-field/) });
    }
    expect(findCronProblem('0 3 * jan-mar mon-fri', 'UTC', now)).toBeNull();
  });

  it('refuses a schedule firing less than once a year, whatever today is (29 February only), and more than 12 times an hour', () => {
    for (const today of ['2027-03-01T00:00:00Z', '2028-02-28T00:00:00Z', '2028-03-01T00:00:00Z']) {
      expect(findCronProblem('0 3 29 2 *', 'UTC', at(today)), today).toMatchObject({ field: 'cron', message: expect.stringMatching(/once a year|never fires/) });
    }
    expect(findCronProblem('0 3 1 1 *', 'UTC', now)).toBeNull();
    expect(findCronProblem('*/4 * * * *', 'UTC', now)).toMatchObject({ field: 'cron', message: expect.stringContaining('at most every 5 minutes') });
    expect(findCronProblem('*/5 * * * *', 'UTC', now)).toBeNull();
  });

  it('refuses "after" its own collection, and schedules that wait for each other in a cycle, naming the loop', () => {
    expect(validateDefinition('a', { sources: [{ container: 'uploads', prefix: 'a/' }], schedules: [{ name: 's', cron: '0 3 * * *', after: [{ collection: 'a' }] }] }, context())).toMatchObject({ ok: false, issues: [{ path: 'schedules.0.after.0.collection', message: expect.stringContaining('its own collection') }] });
    const others = {
      b: { sources: [{ container: 'uploads', prefix: 'b/' }], schedules: [{ name: 's', cron: '0 3 * * *', after: [{ collection: 'c' }] }] },
      c: { sources: [{ container: 'uploads', prefix: 'c/' }], schedules: [{ name: 's', cron: '0 3 * * *', after: [{ collection: 'a' }] }] },
    };
    const check = validateDefinition('a', { sources: [{ container: 'uploads', prefix: 'a/' }], schedules: [{ name: 's', cron: '0 3 * * *', after: [{ collection: 'b' }] }] }, context(others));
    expect(check).toMatchObject({ ok: false, issues: [{ path: 'schedules.0.after.0.collection', message: expect.stringContaining('a → b → c → a') }] });
    const definition = collectionDefinitionSchema.parse({ schedules: [{ name: 's', cron: '0 3 * * *', after: [{ collection: 'b' }] }] });
    expect(findAfterCycle('a', 'b', definition, new Map([['b', collectionDefinitionSchema.parse({ schedules: [{ name: 's', cron: '0 3 * * *', after: [{ collection: 'rasters' }] }] })]]))).toBeUndefined();
  });
});
