/** An in-memory stand-in for the work queue and the results queue, for the worker loop in-process. */
import type { QueueSender } from '../../src/queue/message.queue.js';
import type { MessageNotes, NotedLockedMessage, NotedQueueReceiver } from '../../src/queue/queue.factory.js';

type Call = string;

/** The work and results queues in memory: what the worker sent and how it settled each message, in order. */
export class MemoryQueue implements NotedQueueReceiver, QueueSender {
  readonly calls: Call[] = [];
  readonly sent: unknown[] = [];
  readonly started: unknown[] = [];
  /** Notes left by the last abandon. */
  abandonedWith: MessageNotes | undefined;
  /** The delay of each abandon, in order. */
  readonly abandonDelays: number[] = [];
  private readonly waiting: NotedLockedMessage[] = [];

  /** With `redeliver`, an abandoned message comes back after its delay, one delivery more, with its notes (as the real queues do). */
  constructor(
    readonly lockDurationMs: number,
    private readonly redeliver = false,
  ) {}

  add(body: unknown, deliveryCount = 1, notes: MessageNotes = {}, id = `m${this.waiting.length + 1}`): void {
    const calls = this.calls;
    this.waiting.push({
      body,
      notes,
      messageId: id,
      deliveryCount,
      complete: async () => void calls.push(`complete ${id}`),
      abandon: async (newNotes, options) => {
        calls.push(`abandon ${id}`);
        this.abandonedWith = newNotes;
        this.abandonDelays.push(options?.delayMs ?? 0);
        if (this.redeliver) setTimeout(() => this.add(body, deliveryCount + 1, newNotes ?? notes, id), options?.delayMs ?? 0);
      },
      deadLetter: async (reason) => void calls.push(`deadLetter ${id} ${reason}`),
      renewLock: async () => void calls.push(`renew ${id}`),
    });
  }

  async receive(_max: number, maxWaitMs: number): Promise<NotedLockedMessage[]> {
    const next = this.waiting.shift();
    if (next) return [next];
    // Empty: wait as a real receive would (which lets redeliveries due meanwhile arrive).
    if (this.redeliver) await new Promise((resolve) => setTimeout(resolve, maxWaitMs));
    return [];
  }

  async send(body: unknown): Promise<void> {
    // "started" messages are kept apart, so the call sequences below read as results and settlements.
    if (typeof body === 'object' && body !== null && 'kind' in body && body.kind === 'tile-started') {
      this.started.push(body);
      return;
    }
    this.sent.push(body);
    this.calls.push('send result');
  }

  async close(): Promise<void> {}
}
