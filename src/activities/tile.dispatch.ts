/** Activity: send one tile to the container worker over the work queue (Service Bus in Azure). */
import type { DispatchTileInput } from '../pipeline/contracts.js';
import type { TileWorkMessage } from '../queue/tile.messages.js';
import type { ActivityDependencies } from './activity.dependencies.js';

export type DispatchTile = (input: DispatchTileInput) => Promise<void>;

export function createDispatchTile(deps: Pick<ActivityDependencies, 'workQueue'>): DispatchTile {
  return async ({ instanceId, eventName, dispatchId, input }) => {
    const message: TileWorkMessage = { kind: 'tile-work', instanceId, eventName, dispatchId, input };
    // The dispatch id makes a retried send of the same dispatch a duplicate the queue can drop.
    await deps.workQueue().send(message, { messageId: dispatchId });
  };
}
