/**
 * The payload of a tile message, checked field by field before the COG code sees it. The app's
 * own code produced it, so a mismatch is a defect (a version skew between app and worker), not a
 * hostile upload: the tile fails with INTERNAL and the message is dead-lettered.
 */
import { z } from 'zod';
import type { CreateTileCogInput } from '../src/pipeline/contracts.js';
import { ingestOptionsSchema } from '../src/pipeline/options.js';

const pixel = z.number().int().min(0);

/** Unknown fields pass through: a newer app may send more than this worker checks, and the COG code may use them. */
const createTileCogInputSchema = z
  .object({
  source: z.object({ container: z.string().min(1), name: z.string().min(1), etag: z.string().min(1), size: z.number().int().min(0), lastModified: z.string() }),
  outputs: z.object({ collection: z.string().min(1), sourceKey: z.string().min(1), version: z.string().min(1) }),
  itemId: z.string().min(1),
  window: z.object({ index: pixel, row: pixel, col: pixel, x: pixel, y: pixel, width: pixel.min(1), height: pixel.min(1) }),
  options: ingestOptionsSchema,
  })
  .passthrough();

/** The tile's input, or `undefined` when the payload is not one. */
export function readTileInput(payload: unknown): CreateTileCogInput | undefined {
  const parsed = createTileCogInputSchema.safeParse(payload);
  if (!parsed.success) return undefined;
  const input: CreateTileCogInput = parsed.data;
  return input;
}
