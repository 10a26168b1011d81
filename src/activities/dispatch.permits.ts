/**
 * Activities of the worker's dispatch permits (src/orchestrations/dispatch.permits.entity.ts),
 * through the durable client: an entity cannot raise events or read instances itself.
 */
import type { DurableClient } from 'durable-functions';
import { dispatchPermitEvent } from '../pipeline/contracts.js';

/** Raises "your turn" on each tile granted a permit. A tile already gone is skipped: the audit reclaims its permit. */
export function createAnnounceDispatchPermits(client: Pick<DurableClient, 'raiseEvent'>): (input: { holders: string[] }) => Promise<void> {
  return async ({ holders }) => {
    const results = await Promise.allSettled(holders.map((holder) => client.raiseEvent(holder, dispatchPermitEvent, { kind: 'dispatch-permit' })));
    const failed = results.filter((result) => result.status === 'rejected').length;
    // Only when no announcement went out is it worth a retry; a tile missed asks again by itself.
    if (failed > 0 && failed === holders.length) throw new Error(`none of ${holders.length} dispatch permit announcements could be raised`);
  };
}

/** Runtime statuses of an instance that will never release what it holds. */
const endedStatuses = new Set(['Completed', 'Failed', 'Terminated', 'Canceled']);

/**
 * The holders that no longer run: ended (a release it never sent: terminated, or an older
 * version's code), or not found (purged). An instance that cannot be read is kept: never reclaim
 * on a guess.
 */
export function createAuditDispatchPermits(findInstance: (instanceId: string) => Promise<{ runtimeStatus: string } | undefined>): (input: { holders: string[] }) => Promise<string[]> {
  return async ({ holders }) => {
    const verdicts = await Promise.all(
      holders.map(async (holder) => {
        try {
          const status = await findInstance(holder);
          return !status || endedStatuses.has(status.runtimeStatus) ? holder : undefined;
        } catch {
          return undefined;
        }
      }),
    );
    return verdicts.filter((holder): holder is string => holder !== undefined);
  };
}
