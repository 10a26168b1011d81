/**
 * The worker's dispatch permits (issue 21, backpressure): the `workerDispatchPermits` entity's
 * logic as plain functions, and the entity function itself driven through a fake context, with
 * no host. Then the activities that announce grants and audit holders, over fake clients.
 */
import type { EntityContext } from 'durable-functions';
import { describe, expect, it } from 'vitest';
import { createAnnounceDispatchPermits, createAuditDispatchPermits } from '../../src/activities/dispatch.permits.js';
import {
  acquirePermit,
  auditEveryMs,
  initialPermitsState,
  permitRecheckMs,
  reclaimPermits,
  releasePermit,
  workerDispatchPermitsEntity,
  type DispatchPermitsState,
} from '../../src/orchestrations/dispatch.permits.entity.js';
import { dispatchPermitEvent, type PermitAnswer } from '../../src/pipeline/contracts.js';

const at = (seconds: number): string => new Date(Date.parse('2026-01-01T00:00:00Z') + seconds * 1000).toISOString();
const ask = (state: DispatchPermitsState, holder: string, capacity = 2, seconds = 0, recheck = false): PermitAnswer => acquirePermit(state, { holder, capacity, at: at(seconds), ...(recheck ? { recheck } : {}) });

describe('the dispatch permits (a counting semaphore with FIFO grants)', () => {
  it('grants up to the capacity at once, then queues in arrival order, across jobs', () => {
    const state = initialPermitsState();
    expect(ask(state, 'job-a-tile-0')).toEqual({ granted: true, position: 0, grants: [] });
    expect(ask(state, 'job-b-tile-0')).toEqual({ granted: true, position: 0, grants: [] });
    expect(ask(state, 'job-a-tile-1')).toEqual({ granted: false, position: 0, grants: [] });
    expect(ask(state, 'job-c-tile-0')).toEqual({ granted: false, position: 1, grants: [] });
    expect(ask(state, 'job-b-tile-1')).toEqual({ granted: false, position: 2, grants: [] });
    expect(state.holders).toEqual(['job-a-tile-0', 'job-b-tile-0']);
    expect(state.waiting).toEqual(['job-a-tile-1', 'job-c-tile-0', 'job-b-tile-1']);
  });

  it('asking again keeps the place in line, and a holder asking again still holds (no second permit)', () => {
    const state = initialPermitsState();
    ask(state, 'a');
    ask(state, 'b');
    ask(state, 'c');
    ask(state, 'd');
    expect(ask(state, 'd', 2, 30, true)).toMatchObject({ granted: false, position: 1 });
    expect(ask(state, 'c', 2, 30, true)).toMatchObject({ granted: false, position: 0 });
    expect(ask(state, 'a', 2, 30, true)).toMatchObject({ granted: true });
    expect(state.holders).toEqual(['a', 'b']);
    expect(state.waiting).toEqual(['c', 'd']);
    expect(state.granted).toBe(2);
  });

  it('a release hands the permit to the first in line and says so, for the releaser to announce', () => {
    const state = initialPermitsState();
    for (const holder of ['a', 'b', 'c', 'd']) ask(state, holder);
    expect(releasePermit(state, 'b')).toEqual({ grants: ['c'] });
    expect(state.holders).toEqual(['a', 'c']);
    // Releasing twice (a replayed or repeated release) frees nothing more.
    expect(releasePermit(state, 'b')).toEqual({ grants: [] });
    expect(state.holders).toEqual(['a', 'c']);
    expect(state.released).toBe(1);
    // The granted tile asking again (its announcement was lost) finds its permit.
    expect(ask(state, 'c', 2, 60, true)).toMatchObject({ granted: true });
  });

  it('a tile that ends while still in line leaves the line, taking no permit', () => {
    const state = initialPermitsState();
    for (const holder of ['a', 'b', 'c', 'd']) ask(state, holder);
    expect(releasePermit(state, 'c')).toEqual({ grants: [] });
    expect(state.waiting).toEqual(['d']);
    expect(releasePermit(state, 'a')).toEqual({ grants: ['d'] });
  });

  it('follows a new capacity from the latest request: more grants at once, fewer lets holders finish', () => {
    const state = initialPermitsState();
    for (const holder of ['a', 'b', 'c', 'd', 'e']) ask(state, holder, 2);
    expect(ask(state, 'f', 4)).toEqual({ granted: false, position: 1, grants: ['c', 'd'] });
    expect(state.holders).toEqual(['a', 'b', 'c', 'd']);
    ask(state, 'g', 1);
    // Nobody loses a permit; the next grant waits until fewer than one hold.
    expect(releasePermit(state, 'a')).toEqual({ grants: [] });
    expect(releasePermit(state, 'b')).toEqual({ grants: [] });
    expect(releasePermit(state, 'c')).toEqual({ grants: [] });
    expect(releasePermit(state, 'd')).toEqual({ grants: ['e'] });
  });

  it('hands the audit of the holders to one recheck a minute, never to a first request', () => {
    const state = initialPermitsState();
    for (const holder of ['a', 'b', 'c', 'd']) ask(state, holder);
    expect(ask(state, 'e', 2, 10)).not.toHaveProperty('audit');
    expect(ask(state, 'c', 2, 60, true)).toMatchObject({ granted: false, audit: ['a', 'b'] });
    expect(ask(state, 'd', 2, 61, true)).not.toHaveProperty('audit');
    expect(ask(state, 'd', 2, 60 + auditEveryMs / 1000, true)).toMatchObject({ audit: ['a', 'b'] });
  });

  it('reclaims the permits of holders found gone (a terminated or purged job) and grants them in order', () => {
    const state = initialPermitsState();
    for (const holder of ['a', 'b', 'c', 'd', 'e']) ask(state, holder);
    expect(reclaimPermits(state, ['b', 'not-a-holder'])).toEqual({ grants: ['c'] });
    expect(reclaimPermits(state, ['a', 'c'])).toEqual({ grants: ['d', 'e'] });
    expect(state).toMatchObject({ holders: ['d', 'e'], waiting: [], reclaimed: 3 });
  });

  it('waiting tiles ask again after a minute near the head of the line, later further back, at most 10 minutes', () => {
    expect(permitRecheckMs(0, 20)).toBe(60_000);
    expect(permitRecheckMs(19, 20)).toBe(60_000);
    expect(permitRecheckMs(20, 20)).toBe(120_000);
    expect(permitRecheckMs(10_000, 20)).toBe(600_000);
  });
});

/** A fake entity context: the state, the operation and its input in; the new state and the answer out. */
function runEntity(state: unknown, operationName: string, input: unknown): { state: unknown; answer: unknown } {
  let next = state;
  let answer: unknown;
  const context = {
    df: {
      operationName,
      getState: (initial: () => unknown) => next ?? initial(),
      getInput: () => input,
      setState: (value: unknown) => (next = value),
      return: (value: unknown) => (answer = value),
    },
  } as unknown as EntityContext<DispatchPermitsState>;
  workerDispatchPermitsEntity(context);
  return { state: next, answer };
}

describe('the workerDispatchPermits entity function', () => {
  it('keeps its state across operations and answers each', () => {
    let state: unknown;
    const step = (operation: string, input: unknown): unknown => {
      const result = runEntity(state, operation, input);
      state = result.state;
      return result.answer;
    };
    expect(step('acquire', { holder: 'a', capacity: 1, at: at(0) })).toMatchObject({ granted: true });
    expect(step('acquire', { holder: 'b', capacity: 1, at: at(0) })).toMatchObject({ granted: false, position: 0 });
    expect(step('release', { holder: 'a' })).toEqual({ grants: ['b'] });
    expect(step('reclaim', { holders: ['b'] })).toEqual({ grants: [] });
    expect(state).toMatchObject({ holders: [], waiting: [], granted: 2, released: 1, reclaimed: 1 });
  });

  it('refuses malformed operations instead of corrupting its state', () => {
    expect(() => runEntity(undefined, 'acquire', { holder: '' })).toThrow(/acquire needs/);
    expect(() => runEntity(undefined, 'release', {})).toThrow(/release needs/);
    expect(() => runEntity(undefined, 'reclaim', { holders: [1] })).toThrow(/reclaim needs/);
    expect(() => runEntity(undefined, 'grab', {})).toThrow(/no operation 'grab'/);
  });
});

describe('the permit activities', () => {
  it('announce the turn of each granted tile by the event it waits for', async () => {
    const raised: Array<[string, string]> = [];
    await createAnnounceDispatchPermits({ raiseEvent: async (instanceId: string, eventName: string) => void raised.push([instanceId, eventName]) })({ holders: ['t1', 't2'] });
    expect(raised).toEqual([
      ['t1', dispatchPermitEvent],
      ['t2', dispatchPermitEvent],
    ]);
  });

  it('fail only when no announcement went out (a retry then helps); one tile gone is left to the audit', async () => {
    const refuseT1 = { raiseEvent: async (instanceId: string) => (instanceId === 't1' ? Promise.reject(new Error('not found')) : undefined) };
    await expect(createAnnounceDispatchPermits(refuseT1)({ holders: ['t1', 't2'] })).resolves.toBeUndefined();
    await expect(createAnnounceDispatchPermits(refuseT1)({ holders: ['t1'] })).rejects.toThrow(/none of 1/);
  });

  it('audit: holders ended or purged are gone; running, pending, suspended or unreadable ones keep their permits', async () => {
    const statuses: Record<string, string | undefined> = { run: 'Running', pend: 'Pending', susp: 'Suspended', done: 'Completed', fail: 'Failed', term: 'Terminated', purged: undefined };
    const find = async (id: string) => {
      if (id === 'unreadable') throw new Error('HTTP 503');
      const runtimeStatus = statuses[id];
      return runtimeStatus ? { runtimeStatus } : undefined;
    };
    expect(await createAuditDispatchPermits(find)({ holders: [...Object.keys(statuses), 'unreadable'] })).toEqual(['done', 'fail', 'term', 'purged']);
  });
});
