import { terminalStatuses, type InstanceRecord, type RuntimeStatus } from '../storage/task.hub.store.js';
import { EventType, eventKey, retryExpiredField, type HistoryEvent, type RetryOptions } from './history.js';
import type { EpisodeSnapshot, ParsedLog } from './history.log.js';
import { EpisodeState } from './episode.state.js';
import { HistoryBlob } from './history.blob.js';

/** What a sequence number (EventId) was used for. */
export interface ScheduledWork {
  kind: 'activity' | 'subOrchestration' | 'timer' | 'retryTimer' | 'http';
  name: string;
  input?: string | undefined;
  actionIndex?: number | undefined;
  /** Set when this is an attempt of an action with retry options. */
  retryIndex?: number | undefined;
  childInstanceId?: string | undefined;
  fireAt?: string | undefined;
  /** HTTP: the SDK polls 202 + Location responses itself; the host must allocate the follow-ups. */
  asyncPattern?: boolean | undefined;
  /** HTTP polling: do not send before this time. */
  notBefore?: string | undefined;
  /** Sub-orchestration version. */
  version?: string | undefined;
  /** Retry timer created after the retry timeout had passed: no further attempt follows it. */
  retryExpired?: boolean | undefined;
}

/** The history event that records an action, as the determinism check compares them. */
export type RecordedAction = 'TaskScheduled' | 'SubOrchestrationInstanceCreated' | 'TimerCreated';

export interface RetryState {
  attempt: number;
  options: RetryOptions;
  /** Orchestration time (ms) of the episode that scheduled the first attempt; absent in older histories. */
  firstAttemptAt?: number | undefined;
}

/**
 * In-memory state of one orchestration execution, rebuilt from its history blob on load.
 * The history blob is the source of truth; this is a cache plus bookkeeping.
 */
export class InstanceState {
  record: InstanceRecord;
  /** Input JSON text with large messages resolved. */
  input: string | undefined;
  status: RuntimeStatus;
  customStatus: string | undefined;
  output: string | undefined;
  /** Committed history (added to only through addCommitted). */
  readonly history: HistoryEvent[] = [];
  /** Committed history serialized with IsPlayed: true, comma separated (sent with every episode). */
  private played = '';
  episodes = 0;
  handledActions = 0;
  /** The next sequence number (EventId): taken through takeEventId / useEventId. */
  nextEventId = 0;
  readonly scheduled = new Map<number, ScheduledWork>();
  /** Names recorded per action index, for the determinism check. */
  readonly actionRecords = new Map<number, { eventId: number; name: string; recorded: RecordedAction }>();
  readonly doneKeys = new Set<string>();
  /** Events received and not yet in an episode (the inbox): changed only through the methods below. */
  private inbox: HistoryEvent[] = [];
  private readonly inboxKeys = new Set<string>();
  retries = new Map<number, RetryState>();
  canceledTimers = new Set<number>();
  /** Entity critical section (context.df.lock) the orchestration holds or has asked for. */
  currentLock: { requestId: string; entities: string[] } | undefined;
  /** Node timers of durable timers and HTTP polling waits, by id: armed and cleared only through the methods below. */
  private readonly timers = new Map<number, NodeJS.Timeout>();
  /** The history blob, as its writer (HistoryWriter) keeps track of it. */
  readonly blob = new HistoryBlob();
  /** Between episodes: what the EpisodeRunner (its owner) remembers about this instance. */
  readonly episode = new EpisodeState();
  /** The next episode's timer (EpisodeRunner.scheduleEpisode) and the pending-results flush timer (InstanceRegistry.deliver). */
  private episodeTimer: NodeJS.Timeout | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  /** When the inbox last went from empty to not empty (0: empty). */
  private firstPendingAt = 0;
  private lastStarted = 0;
  /** Set once the instance reached a terminal state or was purged: late results are dropped. */
  private retiredCopy = false;

  constructor(record: InstanceRecord, input: string | undefined) {
    this.record = record;
    this.input = input;
    this.status = record.runtimeStatus;
    this.customStatus = record.customStatus;
    this.output = record.output;
  }

  get id(): string {
    return this.record.instanceId;
  }

  get playedJson(): string {
    return this.played;
  }

  /** Time of the last OrchestratorStarted in history (the next episode starts later). */
  get lastStartedAt(): number {
    return this.lastStarted;
  }

  get retired(): boolean {
    return this.retiredCopy;
  }

  /** This copy runs no more (finished, replaced or purged): its timers stop and late results are dropped. */
  retire(): void {
    this.retiredCopy = true;
    this.stopAllTimers();
  }

  /** Takes the next sequence number. */
  takeEventId(): number {
    return this.nextEventId++;
  }

  /** The SDK numbered an action `id`: the next sequence number follows it. */
  useEventId(id: number): void {
    this.nextEventId = Math.max(this.nextEventId, id + 1);
  }

  /** Runs `run` after `delayMs` as timer `id`, replacing a timer of that id. */
  setTimer(id: number, delayMs: number, run: () => void): void {
    clearTimeout(this.timers.get(id));
    this.timers.set(
      id,
      setTimeout(() => {
        this.timers.delete(id);
        run();
      }, delayMs),
    );
  }

  cancelTimer(id: number): void {
    clearTimeout(this.timers.get(id));
    this.timers.delete(id);
  }

  /** Cancels the durable timers and HTTP polling waits (the instance finished). */
  cancelTimers(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  /** Cancels every timer of the instance, the episode and flush timers too (retired, or the host stops). */
  stopAllTimers(): void {
    this.cancelTimers();
    clearTimeout(this.episodeTimer);
    this.episodeTimer = undefined;
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
  }

  get episodeScheduled(): boolean {
    return this.episodeTimer !== undefined;
  }

  /** Runs the next episode after `delayMs`, replacing one scheduled before. */
  setEpisodeTimer(delayMs: number, run: () => void): void {
    clearTimeout(this.episodeTimer);
    this.episodeTimer = setTimeout(() => {
      this.episodeTimer = undefined;
      run();
    }, delayMs);
  }

  /** Flushes pending results after `delayMs`, unless a flush is already due. */
  ensureFlushTimer(delayMs: number, flush: () => void): void {
    if (this.flushTimer) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      flush();
    }, delayMs);
  }

  /** Not finished, continued as new or retired: episodes may still run. */
  isRunnable(): boolean {
    return !this.retired && !terminalStatuses.has(this.status) && this.status !== 'ContinuedAsNew';
  }

  /** Rebuilds the bookkeeping from a parsed history blob. */
  restore(parsed: ParsedLog, blobLength: number, blobBlocks: number): void {
    this.blob.reset(blobLength, blobBlocks);
    this.episodes = parsed.episodes;
    const snapshot = parsed.snapshot;
    if (snapshot) this.applySnapshot(snapshot);
    for (const event of parsed.committed) this.addCommitted(event);
    for (const event of parsed.pending) {
      if (this.receive(event)) this.blob.markStored(eventKey(event)!);
    }
  }

  /** Since when events have been waiting in the inbox (0: none waits). */
  get waitingSince(): number {
    return this.firstPendingAt;
  }

  /** Events received and not yet taken by an episode, in the order they came. */
  get pending(): readonly HistoryEvent[] {
    return this.inbox;
  }

  /** Whether an event with this key was already received (waiting, or in the history). */
  hasReceived(key: string): boolean {
    return this.doneKeys.has(key) || this.inboxKeys.has(key);
  }

  isPending(key: string): boolean {
    return this.inboxKeys.has(key);
  }

  /** Adds an event to the inbox; `false` (and nothing changes) when its key was received before. */
  receive(event: HistoryEvent): boolean {
    const key = eventKey(event);
    if (key && this.hasReceived(key)) return false;
    if (this.inbox.length === 0) this.firstPendingAt = Date.now();
    this.inbox.push(event);
    if (key) this.inboxKeys.add(key);
    return true;
  }

  /** Takes `taken` out of the inbox for an episode; what stays waits for the next one. */
  take(taken: readonly HistoryEvent[]): void {
    const leaving = new Set(taken);
    this.inbox = this.inbox.filter((event) => !leaving.has(event));
    for (const event of taken) {
      const key = eventKey(event);
      if (key) this.inboxKeys.delete(key);
    }
    this.firstPendingAt = this.inbox.length ? Date.now() : 0;
  }

  /** Takes one control event (terminate, suspend, resume) out of the inbox; the others keep their wait. */
  takeControl(control: HistoryEvent): void {
    this.inbox = this.inbox.filter((event) => event !== control);
    this.inboxKeys.delete(eventKey(control)!);
  }

  private applySnapshot(snapshot: EpisodeSnapshot): void {
    this.status = snapshot.st as RuntimeStatus;
    this.handledActions = snapshot.h;
    this.nextEventId = snapshot.id;
    this.customStatus = snapshot.cs;
    this.output = snapshot.out;
    this.retries = retriesOf(snapshot);
    this.canceledTimers = new Set(snapshot.x ?? []);
    this.currentLock = snapshot.l ? { requestId: snapshot.l.id, entities: snapshot.l.e } : undefined;
  }

  snapshot(next?: EpisodeSnapshot['next']): EpisodeSnapshot {
    const snapshot: EpisodeSnapshot = { st: this.status, h: this.handledActions, id: this.nextEventId };
    if (this.customStatus !== undefined) snapshot.cs = this.customStatus;
    if (this.output !== undefined) snapshot.out = this.output;
    if (this.retries.size) {
      snapshot.r = Object.fromEntries(
        [...this.retries].map(([index, retry]) => [String(index), { attempt: retry.attempt, options: retry.options, ...(retry.firstAttemptAt === undefined ? {} : { t0: retry.firstAttemptAt }) }]),
      );
    }
    if (this.canceledTimers.size) snapshot.x = [...this.canceledTimers];
    if (this.currentLock) snapshot.l = { id: this.currentLock.requestId, e: this.currentLock.entities };
    if (next) snapshot.next = next;
    return snapshot;
  }

  /** Adds a committed event to the in-memory history and the bookkeeping derived from it. */
  addCommitted(event: HistoryEvent): void {
    this.history.push(event);
    const played = { ...event, IsPlayed: true };
    this.played += (this.played ? ',' : '') + JSON.stringify(played);
    const key = eventKey(event);
    if (key) this.doneKeys.add(key);
    if (event.EventType === EventType.OrchestratorStarted) this.lastStarted = Date.parse(event.Timestamp);
    switch (event.EventType) {
      case EventType.TaskScheduled: {
        const isHttp = event.Name === httpActivityName;
        this.scheduled.set(event.EventId, {
          kind: isHttp ? 'http' : 'activity',
          name: event.Name ?? '',
          input: event.Input,
          actionIndex: event.ActionIndex,
          retryIndex: event['RetryIndex'] as number | undefined,
          asyncPattern: event['AsyncPattern'] as boolean | undefined,
          notBefore: event['NotBefore'] as string | undefined,
        });
        this.recordAction(event, 'TaskScheduled');
        break;
      }
      case EventType.SubOrchestrationInstanceCreated:
        this.scheduled.set(event.EventId, {
          kind: 'subOrchestration',
          name: event.Name ?? '',
          input: event.Input,
          actionIndex: event.ActionIndex,
          retryIndex: event['RetryIndex'] as number | undefined,
          childInstanceId: event.InstanceId,
          version: (event['Version'] as string | undefined) || undefined,
        });
        this.recordAction(event, 'SubOrchestrationInstanceCreated');
        break;
      case EventType.TimerCreated:
        this.scheduled.set(event.EventId, {
          kind: event['RetryTimer'] ? 'retryTimer' : 'timer',
          name: '',
          actionIndex: event.ActionIndex,
          fireAt: event.FireAt,
          retryExpired: event[retryExpiredField] === true || undefined,
        });
        if (!event['RetryTimer']) this.recordAction(event, 'TimerCreated');
        break;
    }
  }

  private recordAction(event: HistoryEvent, recorded: RecordedAction): void {
    if (event.ActionIndex === undefined || this.actionRecords.has(event.ActionIndex)) return;
    this.actionRecords.set(event.ActionIndex, { eventId: event.EventId, name: event.Name ?? '', recorded });
  }

  /** Scheduled work that has neither a result in history nor one waiting to be applied. */
  openWork(): Array<[number, ScheduledWork]> {
    return [...this.scheduled].filter(([id]) => !this.doneKeys.has(`t:${id}`) && !this.inboxKeys.has(`t:${id}`));
  }
}

/** Retry state per action index from an episode snapshot. */
export function retriesOf(snapshot: EpisodeSnapshot | undefined): Map<number, RetryState> {
  return new Map(Object.entries(snapshot?.r ?? {}).map(([index, retry]) => [Number(index), { attempt: retry.attempt, options: retry.options, firstAttemptAt: retry.t0 }]));
}

/** TaskScheduled name the host uses for callHttp, as the Durable extension does. */
export const httpActivityName = 'BuiltIn::HttpActivity';
