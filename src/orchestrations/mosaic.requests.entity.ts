/**
 * The `collectionMosaicRequests` entity, one per collection: a mark saying its mosaic is out of
 * date. Jobs set it (`request`) when they publish; a mosaic run clears it (`claim`) inside its
 * critical section just before it builds. A request that arrives after a claim is therefore
 * built by a later run, and many requests during one build cost one more build, not many.
 *
 * Jobs of 1.7 on ask first (`requestRun`) and start a run only when none they started is still
 * waiting to claim (issue 22): a burst of jobs starts one or two `collectionMosaic` orchestrations,
 * not one each (each a start, a lock, a claim and a release). A run that was to be started but
 * never claimed (its start failed for good) stops counting after `unclaimedRunStaleMs`, so the
 * next job starts another.
 */
import type { EntityContext } from 'durable-functions';
import { mosaicRequestOperations, type MosaicRunRequest } from '../pipeline/contracts.js';

/** How long a run a job was told to start may take to claim before the next job starts another (a long build before it is the usual reason). */
export const unclaimedRunStaleMs = 5 * 60 * 1000;

export interface MosaicRequestsState {
  requested: boolean;
  /** Requests seen and builds claimed, for operators reading the entity's state. */
  requests: number;
  claims: number;
  /** When a job was last told to start a run (`requestRun`) that has not claimed yet. */
  runExpectedSince?: string;
}

/** Whether `requestRun` at `at` tells its job to start a run: none expected, or the one expected is overdue. */
export function startsRun(state: Pick<MosaicRequestsState, 'runExpectedSince'>, at: string): boolean {
  if (state.runExpectedSince === undefined) return true;
  const waited = Date.parse(at) - Date.parse(state.runExpectedSince);
  return !Number.isFinite(waited) || waited > unclaimedRunStaleMs;
}

function isRunRequest(value: unknown): value is MosaicRunRequest {
  return typeof value === 'object' && value !== null && 'at' in value && typeof value.at === 'string';
}

const initialState = (): MosaicRequestsState => ({ requested: false, requests: 0, claims: 0 });

function isState(value: unknown): value is MosaicRequestsState {
  return typeof value === 'object' && value !== null && 'requested' in value && typeof value.requested === 'boolean';
}

export function collectionMosaicRequestsEntity(context: EntityContext<MosaicRequestsState>): void {
  const stored: unknown = context.df.getState(initialState);
  const state = isState(stored) ? stored : initialState();
  switch (context.df.operationName) {
    case mosaicRequestOperations.request:
      context.df.setState({ ...state, requested: true, requests: state.requests + 1 });
      return;
    case mosaicRequestOperations.requestRun: {
      const input: unknown = context.df.getInput();
      const at = isRunRequest(input) ? input.at : '';
      const start = startsRun(state, at);
      context.df.setState({ ...state, requested: true, requests: state.requests + 1, ...(start ? { runExpectedSince: at } : {}) });
      context.df.return(start);
      return;
    }
    case mosaicRequestOperations.claim: {
      // Whichever run claims, the one a job was told to start is no longer awaited.
      const claimed: MosaicRequestsState = { ...state, requested: false, claims: state.claims + (state.requested ? 1 : 0) };
      delete claimed.runExpectedSince;
      context.df.setState(claimed);
      context.df.return(state.requested);
      return;
    }
    default:
      throw new Error(`collectionMosaicRequests has no operation '${context.df.operationName ?? ''}'`);
  }
}
