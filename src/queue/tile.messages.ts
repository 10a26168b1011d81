/**
 * Messages between the app and the container worker. Pure types and checks: the orchestrators
 * import the names, the activities and the worker the shapes.
 *
 * Work: the app sends one `TileWorkMessage` per tile to the `large-rasters` queue. The worker
 * makes the tile's COG (the same activity code the Functions route runs) and answers with one
 * `TileResultMessage` on the `tile-results` Storage queue; a queue-triggered function raises it as
 * the external event `eventName` on the waiting orchestration `instanceId`. A duplicate delivery
 * makes the same COG again (same blob names) and its second result finds no one waiting.
 */
import { z } from 'zod';
import type { ActivityOutcome, CreateTileCogInput, TileCog } from '../pipeline/contracts.js';

/** External event a tile's orchestration waits for: the worker's `tile-started`, then its `tile-result`. */
export const tileResultEvent = 'tile-cog';

export interface TileWorkMessage {
  kind: 'tile-work';
  /** The orchestration that waits for the result (a tile branch, or the job on the single-tile route). */
  instanceId: string;
  eventName: string;
  /** Unique per dispatch: a re-sent tile has a new one, so results can be told apart in logs. */
  dispatchId: string;
  input: CreateTileCogInput;
}

/** Sent when a worker starts on a tile, so the ledger can tell "running" from "queued". */
export interface TileStartedMessage {
  kind: 'tile-started';
  instanceId: string;
  eventName: string;
  dispatchId: string;
  worker: { name: string; deliveryCount: number; startedAt: string };
}

export interface TileResultMessage {
  kind: 'tile-result';
  instanceId: string;
  eventName: string;
  dispatchId: string;
  outcome: ActivityOutcome<TileCog>;
  /** Where and how the tile was made, for the ledger and the logs. */
  worker: { name: string; deliveryCount: number; startedAt: string; endedAt: string };
}

const envelope = { instanceId: z.string().min(1).max(300), eventName: z.string().min(1).max(100), dispatchId: z.string().min(1).max(100) };

/** Envelope checks only: the payload is the activity contract, produced by our own code. */
export const tileWorkMessageSchema = z.object({ kind: z.literal('tile-work'), ...envelope, input: z.object({ itemId: z.string() }).passthrough() }).passthrough();

export const tileStartedMessageSchema = z
  .object({ kind: z.literal('tile-started'), ...envelope, worker: z.object({ name: z.string(), deliveryCount: z.number(), startedAt: z.string() }) })
  .passthrough();

export const tileResultMessageSchema = z
  .object({
    kind: z.literal('tile-result'),
    ...envelope,
    outcome: z.union([z.object({ ok: z.literal(true), value: z.object({ itemId: z.string() }).passthrough() }), z.object({ ok: z.literal(false), failure: z.object({ code: z.string(), message: z.string() }) })]),
    worker: z.object({ name: z.string(), deliveryCount: z.number(), startedAt: z.string(), endedAt: z.string() }),
  })
  .passthrough();

/** The fields of a tile COG that registration relies on: enough to trust a worker's result. */
export function isTileCog(value: unknown): value is TileCog {
  return (
    typeof value === 'object' &&
    value !== null &&
    'itemId' in value &&
    typeof value.itemId === 'string' &&
    'size' in value &&
    typeof value.size === 'number' &&
    'checksum' in value &&
    typeof value.checksum === 'string' &&
    'blob' in value &&
    typeof value.blob === 'object' &&
    'window' in value &&
    typeof value.window === 'object' &&
    'bbox' in value &&
    Array.isArray(value.bbox) &&
    'bands' in value &&
    Array.isArray(value.bands) &&
    'geometry' in value &&
    typeof value.geometry === 'object'
  );
}
