/**
 * The app's narrow view of a message queue with peek-lock semantics, the same for Azure Service
 * Bus (in Azure) and its local stand-in on Storage queues (`storage.queue.ts`): a received
 * message is locked for `lockDurationMs`, renewable while it is worked on; completing deletes it,
 * abandoning makes it visible again at once, and an expired lock redelivers it with
 * `deliveryCount` one higher. Dead-lettering moves it aside with a reason.
 */

export interface QueueSender {
  /** `messageId` lets the queue drop duplicates where it can (Service Bus duplicate detection). */
  send(body: unknown, options?: { messageId?: string }): Promise<void>;
  close(): Promise<void>;
}

export interface LockedMessage {
  /** The parsed JSON body, unchecked: receivers validate it. */
  readonly body: unknown;
  readonly messageId: string;
  /** 1 on the first delivery. */
  readonly deliveryCount: number;
  complete(): Promise<void>;
  abandon(): Promise<void>;
  deadLetter(reason: string, description: string): Promise<void>;
  /** Extends the lock by the queue's lock duration from now. */
  renewLock(): Promise<void>;
}

export interface QueueReceiver {
  readonly lockDurationMs: number;
  /** Up to `maxMessages`, waiting at most `maxWaitMs` for the first. */
  receive(maxMessages: number, maxWaitMs: number): Promise<LockedMessage[]>;
  close(): Promise<void>;
}

/** What a dead-lettered message looks like when read back (for tests and operators). */
export interface DeadLetteredMessage {
  body: unknown;
  reason: string;
  description: string;
  deliveryCount: number;
}
