/**
 * The worker loop in-process, on an in-memory queue and a stand-in for the COG code: what it
 * sends and how it settles, in which order; lock renewal during a long tile; unreadable input;
 * shutdown giving tiles in flight back. (The real queue and COG code: worker.e2e.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import type { CreateTileCog } from '../../src/activities/tile.cog.create.js';
import type { CreateTileCogInput, TileCog } from '../../src/pipeline/contracts.js';
import { workerRetryDelayMs } from '../../src/config.js';
import { FailureError } from '../../src/pipeline/failure.js';
import { ingestOptionsSchema } from '../../src/pipeline/options.js';
import { tileResultEvent, type TileWorkMessage } from '../../src/queue/tile.messages.js';
import { TileWorker, type WorkerLog } from '../../worker/tile.worker.js';
import { MemoryQueue } from './memory.queue.js';
import { waitFor } from './worker.support.js';

const input: CreateTileCogInput = {
  source: { container: 'uploads', name: 'incoming/a.tif', etag: '"0x1"', size: 10, lastModified: '2026-01-01T00:00:00.000Z' },
  outputs: { collection: 'c', sourceKey: 'a-tif-000000000000', version: 'v000000000000' },
  itemId: 'a-tif-000000000000-r0-c0',
  window: { index: 0, row: 0, col: 0, x: 0, y: 0, width: 10, height: 10 },
  options: ingestOptionsSchema.parse({}),
};

function work(overrides: Partial<TileWorkMessage> = {}): TileWorkMessage {
  return { kind: 'tile-work', instanceId: 'job-1:tile-0', eventName: tileResultEvent, dispatchId: 'd-1', input, ...overrides };
}

function tileCogOf(tile: CreateTileCogInput): TileCog {
  return {
    itemId: tile.itemId,
    window: tile.window,
    blob: { container: 'cogs', name: `${tile.itemId}.tif`, url: `http://example/${tile.itemId}.tif` },
    size: 1,
    checksum: '1220',
    width: tile.window.width,
    height: tile.window.height,
    geoTransform: [0, 1, 0, 0, 0, -1],
    crs: null,
    bands: [],
    geometry: { type: 'Polygon', coordinates: [] },
    bbox: [0, 0, 1, 1],
    nativeBbox: [0, 0, 1, 1],
  };
}

function quietLog(): WorkerLog & { lines: string[] } {
  const lines: string[] = [];
  return { lines, info: (line) => void lines.push(line), error: (line) => void lines.push(line) };
}

function workerOn(queue: MemoryQueue, createTileCog: CreateTileCog, maxDeliveries = 3, retryDelayMs?: (deliveryCount: number) => number): { worker: TileWorker; log: ReturnType<typeof quietLog> } {
  const log = quietLog();
  return {
    worker: new TileWorker({ name: 'w', concurrency: 1, once: true, maxDeliveries, receiver: queue, results: queue, createTileCog, log, receiveWaitMs: 20, ...(retryDelayMs ? { retryDelayMs } : {}) }),
    log,
  };
}

describe('TileWorker', () => {
  it('renews the lock while a long tile is made, then sends the result before completing', async () => {
    const queue = new MemoryQueue(1500);
    queue.add(work());
    // The tile takes until the lock has been renewed twice.
    const { worker, log } = workerOn(queue, async (tile) => {
      await waitFor('two renewals', async () => (queue.calls.filter((call) => call === 'renew m1').length >= 2 ? true : undefined), 20_000, 50);
      return tileCogOf(tile);
    });
    await worker.run();
    const renewals = queue.calls.filter((call) => call === 'renew m1').length;
    expect(renewals).toBeGreaterThanOrEqual(2);
    expect(queue.calls.slice(renewals)).toEqual(['send result', 'complete m1']);
    // The tile's orchestration heard that the worker started on it (the ledger shows "running").
    expect(queue.started).toEqual([expect.objectContaining({ kind: 'tile-started', instanceId: 'job-1:tile-0', worker: expect.objectContaining({ name: 'w', deliveryCount: 1 }) })]);
    expect(queue.sent).toEqual([
      expect.objectContaining({
        kind: 'tile-result',
        instanceId: 'job-1:tile-0',
        eventName: tileResultEvent,
        dispatchId: 'd-1',
        outcome: { ok: true, value: tileCogOf(input) },
        worker: expect.objectContaining({ name: 'w', deliveryCount: 1 }),
      }),
    ]);
    expect(log.lines.filter((line) => / completed: /.test(line))).toHaveLength(1);
  });

  it('abandons on a retryable failure noting it on the message; whoever gets it once too often gives it as the reason', async () => {
    const queue = new MemoryQueue(60_000);
    queue.add(work());
    const failing: CreateTileCog = async () => {
      throw new FailureError({ code: 'TRANSIENT_STORAGE', message: 'storage answered HTTP 503; retrying later may succeed' });
    };
    await workerOn(queue, failing, 1).worker.run();
    expect(queue.calls).toEqual(['abandon m1']);
    expect(queue.abandonedWith).toEqual({ failureCode: 'TRANSIENT_STORAGE', failureMessage: 'storage answered HTTP 503; retrying later may succeed' });
    // Redelivered past the limit, with its notes, to another worker (a new process knows nothing else).
    queue.add(work(), 2, queue.abandonedWith);
    await workerOn(queue, failing, 1).worker.run();
    expect(queue.calls.slice(1)).toEqual(['send result', 'deadLetter m1 MaxDeliveriesExceeded']);
    expect(queue.sent).toEqual([
      expect.objectContaining({ outcome: { ok: false, failure: { code: 'TRANSIENT_STORAGE', message: 'dead-lettered after 1 deliveries: storage answered HTTP 503; retrying later may succeed' } } }),
    ]);
  });

  it('waits before each retry, twice as long each delivery, and with --once stays for a retry still due', async () => {
    const queue = new MemoryQueue(60_000, true);
    queue.add(work());
    const deliveredAt: number[] = [];
    const failing: CreateTileCog = async () => {
      deliveredAt.push(Date.now());
      throw new FailureError({ code: 'INTERNAL', message: 'an unexpected error occurred; the service logs have the details' });
    };
    const { worker, log } = workerOn(queue, failing, 3, (deliveryCount) => 100 * 2 ** (deliveryCount - 1));
    await worker.run();
    // Three deliveries failed, 100, 200 and 400 ms apart at least; the fourth dead-lettered the tile (not 5 deliveries within milliseconds).
    expect(queue.abandonDelays).toEqual([100, 200, 400]);
    expect(deliveredAt).toHaveLength(3);
    expect(deliveredAt[1]! - deliveredAt[0]!).toBeGreaterThanOrEqual(100);
    expect(deliveredAt[2]! - deliveredAt[1]!).toBeGreaterThanOrEqual(200);
    expect(queue.calls).toEqual(['abandon m1', 'abandon m1', 'abandon m1', 'send result', 'deadLetter m1 MaxDeliveriesExceeded']);
    expect(log.lines.filter((line) => /will be retried in 0\.[124] s \(INTERNAL\)/.test(line))).toHaveLength(3);
    // The settings' schedule: 10 s doubling, at most 5 minutes.
    expect([1, 2, 3, 4, 5, 6].map((delivery) => workerRetryDelayMs({ retryDelaySeconds: 10 }, delivery))).toEqual([10_000, 20_000, 40_000, 80_000, 160_000, 300_000]);
  });

  it('without notes (the worker stopped or lost the lock each time), says so when it dead-letters', async () => {
    const queue = new MemoryQueue(60_000);
    queue.add(work(), 4);
    await workerOn(queue, async () => {
      throw new Error('must not be called');
    }).worker.run();
    expect(queue.sent).toEqual([
      expect.objectContaining({ outcome: { ok: false, failure: { code: 'INTERNAL', message: 'dead-lettered after 3 deliveries: each delivery ended without a result (the worker stopped or lost the lock)' } } }),
    ]);
  });

  it('fails and dead-letters a tile-work message whose tile it cannot read', async () => {
    const queue = new MemoryQueue(60_000);
    queue.add({ ...work(), input: { itemId: 'x', window: { x: -1 } } });
    const { worker } = workerOn(queue, async () => {
      throw new Error('must not be called');
    });
    await worker.run();
    expect(queue.calls).toEqual(['send result', 'deadLetter m1 InvalidTileInput']);
    expect(queue.sent).toEqual([expect.objectContaining({ outcome: { ok: false, failure: expect.objectContaining({ code: 'INTERNAL' }) } })]);
  });

  it('on shutdown stops receiving and gives a tile still in flight after the grace period back to the queue', async () => {
    const queue = new MemoryQueue(60_000);
    queue.add(work());
    queue.add(work({ dispatchId: 'd-2' }));
    let release: (() => void) | undefined;
    const { worker } = workerOn(queue, (tile) => new Promise((resolve) => (release = () => resolve(tileCogOf(tile)))));
    const running = worker.run();
    await waitFor('a tile in flight', async () => (worker.tilesInFlight === 1 ? true : undefined));
    worker.stop();
    await worker.drain(50);
    expect(queue.calls).toEqual(['abandon m1']);
    // The tile's code ends after all (the program would have exited): the second message was never taken.
    release?.();
    await running;
    expect(queue.calls).not.toContain('renew m2');
    expect(queue.calls.filter((call) => call.endsWith('m2'))).toEqual([]);
  });
});
