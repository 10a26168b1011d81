/**
 * Activity: a tile's COG, then its STAC item, in one step. As two activities, a fan-out of N tiles
 * queues N COG activities ahead of the first registration (Durable runs activities in arrival
 * order, a few per instance), so items appeared only once nearly every COG was made; in one step
 * each item is registered the moment its COG is uploaded. A retry makes the same COG blob again
 * (same name) and writes the same item (idempotent).
 */
import type { CreateAndRegisterTileInput, RegisteredItem } from '../pipeline/contracts.js';
import type { CreateTileCog } from './tile.cog.create.js';
import type { RegisterTileItem } from './tile.item.register.js';

export type CreateAndRegisterTile = (input: CreateAndRegisterTileInput) => Promise<RegisteredItem>;

export function createCreateAndRegisterTile(steps: { createTileCog: CreateTileCog; registerTileItem: RegisterTileItem }): CreateAndRegisterTile {
  return async ({ datetime, order, ...cogInput }) => {
    const tile = await steps.createTileCog(cogInput);
    return steps.registerTileItem({ outputs: cogInput.outputs, source: cogInput.source, tile, datetime, order });
  };
}
