/**
 * The `collectionMosaicRequests` entity, one per collection: a mark saying its mosaic is out of
 * date. Jobs set it (`request`) when they publish; a mosaic run clears it (`claim`) inside its
 * critical section just before it builds. A request that arrives after a claim is therefore
 * built by a later run, and many requests during one build cost one more build, not many.
 */
import type { EntityContext } from 'durable-functions';
import { mosaicRequestOperations } from '../pipeline/contracts.js';

export interface MosaicRequestsState {
  requested: boolean;
  /** Requests seen and builds claimed, for operators reading the entity's state. */
  requests: number;
  claims: number;
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
    case mosaicRequestOperations.claim:
      context.df.setState({ ...state, requested: false, claims: state.claims + (state.requested ? 1 : 0) });
      context.df.return(state.requested);
      return;
    default:
      throw new Error(`collectionMosaicRequests has no operation '${context.df.operationName ?? ''}'`);
  }
}
