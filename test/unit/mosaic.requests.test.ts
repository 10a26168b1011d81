/**
 * The `collectionMosaicRequests` entity (issue 22): jobs of 1.7 on ask `requestRun` and start a
 * `collectionMosaic` run only when none they were told to start is still to claim, so a burst of
 * jobs starts one run, not one each. Driven through a fake entity context, with no host.
 */
import type { EntityContext } from 'durable-functions';
import { describe, expect, it } from 'vitest';
import { collectionMosaicRequestsEntity, unclaimedRunStaleMs, type MosaicRequestsState } from '../../src/orchestrations/mosaic.requests.entity.js';

const at = (ms: number): string => new Date(Date.parse('2026-01-01T00:00:00Z') + ms).toISOString();

/** The entity function over a state it keeps between operations; each call answers as the entity would. */
function entity(): { call(operation: string, input?: unknown): unknown; readonly state: MosaicRequestsState | undefined } {
  let state: MosaicRequestsState | undefined;
  return {
    call(operationName, input) {
      let answer: unknown;
      const context = {
        df: {
          operationName,
          getState: (initial: () => MosaicRequestsState) => state ?? initial(),
          getInput: () => input,
          setState: (value: MosaicRequestsState) => (state = value),
          return: (value: unknown) => (answer = value),
        },
      } as unknown as EntityContext<MosaicRequestsState>;
      collectionMosaicRequestsEntity(context);
      return answer;
    },
    get state() {
      return state;
    },
  };
}

describe('collectionMosaicRequests: one run per burst', () => {
  it('tells the first job of a burst to start a run, the others not; each marks the mosaic out of date', () => {
    const requests = entity();
    expect(requests.call('requestRun', { at: at(0) })).toBe(true);
    expect(requests.call('requestRun', { at: at(100) })).toBe(false);
    expect(requests.call('requestRun', { at: at(200) })).toBe(false);
    expect(requests.state).toMatchObject({ requested: true, requests: 3, runExpectedSince: at(0) });
    // The run claims all three at once.
    expect(requests.call('claim')).toBe(true);
    expect(requests.state).toMatchObject({ requested: false, claims: 1 });
    expect(requests.state).not.toHaveProperty('runExpectedSince');
  });

  it('tells the next job to start another run once the started one has claimed (it is building, not waiting)', () => {
    const requests = entity();
    requests.call('requestRun', { at: at(0) });
    requests.call('claim');
    expect(requests.call('requestRun', { at: at(1000) })).toBe(true);
    // A run with nothing to claim still ends the wait for a run.
    requests.call('claim');
    expect(requests.call('claim')).toBe(false);
    expect(requests.call('requestRun', { at: at(2000) })).toBe(true);
  });

  it('starts another run when the expected one never claimed within the staleness bound (its start failed)', () => {
    const requests = entity();
    requests.call('requestRun', { at: at(0) });
    expect(requests.call('requestRun', { at: at(unclaimedRunStaleMs) })).toBe(false);
    expect(requests.call('requestRun', { at: at(unclaimedRunStaleMs + 1) })).toBe(true);
    expect(requests.state).toMatchObject({ runExpectedSince: at(unclaimedRunStaleMs + 1) });
  });

  it('keeps the older signal (`request`, jobs before 1.7): marked, no run expected', () => {
    const requests = entity();
    requests.call('request');
    expect(requests.state).toEqual({ requested: true, requests: 1, claims: 0 });
    expect(requests.call('requestRun', { at: at(0) })).toBe(true);
  });

  it('starts a run for a request without a readable time', () => {
    const requests = entity();
    requests.call('requestRun', { at: at(0) });
    expect(requests.call('requestRun', {})).toBe(true);
  });
});
