/**
 * The `workerDispatchPermits` entity: a counting semaphore over the container worker, shared by
 * every job. A tile on the worker route holds a permit from before its message is sent until its
 * worker step ends, so no more tiles are out than the workers can take at once (executions ×
 * tiles per execution, `INGEST_WORKER_DISPATCH_PERMITS`); the others wait in line, in arrival
 * order, with no timer against them (issue 21).
 *
 * An entity cannot raise an event on an orchestration, so a grant travels through whoever caused
 * it: `release`, `reclaim` and `acquire` answer with the holders they granted, and the caller
 * tells them (`announceDispatchPermits`). A waiting tile also asks again now and then
 * (`recheck`), which repairs a lost announcement; one such recheck a minute is handed the audit:
 * it checks that every holder still runs and reclaims the permits of those gone (a job or tile
 * terminated or purged while it held one never releases it). The logic is plain functions over the
 * state, unit-tested without a host.
 */
import * as df from 'durable-functions';
import type { EntityContext } from 'durable-functions';
import { dispatchPermitOperations, entityNames, type PermitAnswer, type PermitRelease, type PermitRequest } from '../pipeline/contracts.js';

export interface DispatchPermitsState {
  /** Permits there are: the latest request's capacity (a settings change applies as new jobs ask). */
  capacity: number;
  /** Instances holding a permit, in the order they got it. */
  holders: string[];
  /** Instances waiting, first in line first. */
  waiting: string[];
  /** Request time of the last audit handed out (ISO); audits are at most one per `auditEveryMs`. */
  lastAuditAt?: string;
  /** Totals, for operators reading the entity's state. */
  granted: number;
  released: number;
  reclaimed: number;
}

/** The one semaphore, keyed by the work queue it guards. */
export const dispatchPermitsKey = 'large-rasters';

export function dispatchPermitsId(): df.EntityId {
  return new df.EntityId(entityNames.workerDispatchPermits, dispatchPermitsKey);
}

/**
 * How long a waiting tile waits for its announcement before it asks again: a minute near the head
 * of the line, longer further back (the announcement is the usual way; asking again only repairs a
 * lost one), at most 10 minutes.
 */
export function permitRecheckMs(position: number, capacity: number): number {
  return Math.min(60_000 * (1 + Math.floor(Math.max(0, position) / Math.max(1, capacity))), 600_000);
}

/** At most one audit of the holders per this long (of request time). */
export const auditEveryMs = 60_000;

export function initialPermitsState(): DispatchPermitsState {
  return { capacity: 1, holders: [], waiting: [], granted: 0, released: 0, reclaimed: 0 };
}

function isState(value: unknown): value is DispatchPermitsState {
  return typeof value === 'object' && value !== null && 'holders' in value && Array.isArray(value.holders) && 'waiting' in value && Array.isArray(value.waiting);
}

/** Moves the first in line to the holders while permits are free; returns who got one. */
function grantFree(state: DispatchPermitsState): string[] {
  const granted: string[] = [];
  while (state.holders.length < state.capacity && state.waiting.length > 0) {
    const next = state.waiting.shift()!;
    state.holders.push(next);
    state.granted++;
    granted.push(next);
  }
  return granted;
}

export function acquirePermit(state: DispatchPermitsState, request: PermitRequest): PermitAnswer {
  if (Number.isInteger(request.capacity) && request.capacity > 0) state.capacity = request.capacity;
  const { holder } = request;
  if (!state.holders.includes(holder) && !state.waiting.includes(holder)) state.waiting.push(holder);
  const grants = grantFree(state).filter((granted) => granted !== holder);
  const granted = state.holders.includes(holder);
  const answer: PermitAnswer = { granted, position: granted ? 0 : state.waiting.indexOf(holder), grants };
  const atMs = Date.parse(request.at);
  const lastMs = state.lastAuditAt ? Date.parse(state.lastAuditAt) : Number.NEGATIVE_INFINITY;
  if (!granted && request.recheck && state.holders.length > 0 && Number.isFinite(atMs) && atMs - lastMs >= auditEveryMs) {
    state.lastAuditAt = request.at;
    answer.audit = [...state.holders];
  }
  return answer;
}

export function releasePermit(state: DispatchPermitsState, holder: string): PermitRelease {
  const held = state.holders.indexOf(holder);
  if (held >= 0) {
    state.holders.splice(held, 1);
    state.released++;
  }
  // A tile that ends while still in line (it failed otherwise) leaves the line too.
  state.waiting = state.waiting.filter((waiting) => waiting !== holder);
  return { grants: grantFree(state) };
}

export function reclaimPermits(state: DispatchPermitsState, gone: readonly string[]): PermitRelease {
  const goneSet = new Set(gone);
  const kept = state.holders.filter((holder) => !goneSet.has(holder));
  state.reclaimed += state.holders.length - kept.length;
  state.holders = kept;
  return { grants: grantFree(state) };
}

export function workerDispatchPermitsEntity(context: EntityContext<DispatchPermitsState>): void {
  const stored: unknown = context.df.getState(initialPermitsState);
  const state = isState(stored) ? stored : initialPermitsState();
  const input: unknown = context.df.getInput();
  switch (context.df.operationName) {
    case dispatchPermitOperations.acquire: {
      if (!isPermitRequest(input)) throw new Error('acquire needs { holder, capacity, at }');
      const answer = acquirePermit(state, input);
      context.df.setState(state);
      context.df.return(answer);
      return;
    }
    case dispatchPermitOperations.release: {
      if (!isHolderInput(input)) throw new Error('release needs { holder }');
      const answer = releasePermit(state, input.holder);
      context.df.setState(state);
      context.df.return(answer);
      return;
    }
    case dispatchPermitOperations.reclaim: {
      if (!isReclaimInput(input)) throw new Error('reclaim needs { holders }');
      const answer = reclaimPermits(state, input.holders);
      context.df.setState(state);
      context.df.return(answer);
      return;
    }
    default:
      throw new Error(`workerDispatchPermits has no operation '${context.df.operationName ?? ''}'`);
  }
}

export function isPermitAnswer(value: unknown): value is PermitAnswer {
  return typeof value === 'object' && value !== null && 'granted' in value && typeof value.granted === 'boolean' && 'grants' in value && Array.isArray(value.grants);
}

export function isPermitRelease(value: unknown): value is PermitRelease {
  return typeof value === 'object' && value !== null && 'grants' in value && Array.isArray(value.grants);
}

function isPermitRequest(value: unknown): value is PermitRequest {
  return isHolderInput(value) && 'capacity' in value && typeof value.capacity === 'number' && 'at' in value && typeof value.at === 'string';
}

function isHolderInput(value: unknown): value is { holder: string } {
  return typeof value === 'object' && value !== null && 'holder' in value && typeof value.holder === 'string' && value.holder !== '';
}

function isReclaimInput(value: unknown): value is { holders: string[] } {
  return typeof value === 'object' && value !== null && 'holders' in value && Array.isArray(value.holders) && value.holders.every((holder) => typeof holder === 'string');
}
