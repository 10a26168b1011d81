import { EventType, type HistoryEvent } from './history.js';

/** How long completions may wait while the orchestrator is known to be blocked on a Task.all. */
const maxWakeDelayMs = 2000;

/**
 * What the episode runner remembers about one instance between its episodes: whether one runs,
 * how long the last took (episodes are spaced by their own duration), when the next is due, the
 * Task.all the orchestrator is probably blocked on, and the warnings already given. Owned by the
 * EpisodeRunner; the registry only reports arrivals (`noteArrival`).
 */
export class EpisodeState {
  private runningNow = false;
  private lastDurationMs = 0;
  private lastEnd = 0;
  private due = 0;
  /**
   * EventIds the orchestrator is probably blocked on (all of a Task.all) and not yet answered, to
   * avoid replays that cannot make progress; broken once something else arrives.
   */
  private wakeIds: Set<number> | undefined;
  private wakeRemaining = 0;
  private wakeBroken = false;
  /** This host's versioning refused to run the instance (versionFailureStrategy Reject): it waits for a host that may. */
  private versionRejected = false;
  /** SDK task ids already warned about as re-yielded in a new Task.any / Task.all (one warning per task). */
  private readonly warnedRepeats = new Set<number>();

  get running(): boolean {
    return this.runningNow;
  }

  begin(): void {
    this.runningNow = true;
  }

  /** The episode ended (or was abandoned) at `now`. */
  end(now: number): void {
    this.runningNow = false;
    this.lastEnd = now;
  }

  /** Releases the running flag without counting an end (the copy is being dropped). */
  abandon(): void {
    this.runningNow = false;
  }

  recordDuration(ms: number): void {
    this.lastDurationMs = ms;
  }

  /** Delay before the next episode: episodes replay the whole history, so they are spaced by their own duration. */
  spacing(now: number): number {
    return Math.max(0, this.lastEnd + this.lastDurationMs - now);
  }

  /** While the orchestrator waits on a Task.all whose results are not all in: how long to wait for them. */
  blockedWait(now: number, waitingSince: number): number | undefined {
    if (!this.wakeIds || this.wakeRemaining <= 0 || this.wakeBroken) return undefined;
    return Math.max(maxWakeDelayMs, this.lastDurationMs * 10) - (now - waitingSince);
  }

  /** Records an episode due at `due`, unless one already scheduled is due sooner (then false). */
  bringForward(due: number, alreadyScheduled: boolean): boolean {
    if (alreadyScheduled && due >= this.due - 2) return false;
    this.due = due;
    return true;
  }

  /**
   * After an episode: the EventIds of the Task.all it is blocked on (undefined: none), of which
   * `isDone` ones are answered in history and `isPending` ones wait in the inbox.
   */
  blockOn(ids: number[] | undefined, isDone: (id: number) => boolean, isPending: (id: number) => boolean, otherPending: boolean): void {
    this.wakeBroken = false;
    if (!ids) {
      this.wakeIds = undefined;
      return;
    }
    const open = ids.filter((id) => !isDone(id));
    this.wakeIds = new Set(open);
    this.wakeRemaining = open.filter((id) => !isPending(id)).length;
    this.wakeBroken = otherPending;
  }

  /** An incoming event arrived: one of the awaited results, or something that may matter to the code. */
  noteArrival(event: HistoryEvent): void {
    if (!this.wakeIds) return;
    if ((event.EventType === EventType.TaskCompleted || event.EventType === EventType.SubOrchestrationInstanceCompleted) && this.wakeIds.has(event.TaskScheduledId ?? -1)) {
      this.wakeRemaining--;
    } else if (event.EventType !== EventType.TaskCompleted) {
      // A failure resolves a Task.all; an external event or timer may matter to the code too.
      this.wakeBroken = true;
    }
  }

  get rejected(): boolean {
    return this.versionRejected;
  }

  /** Marks the instance refused by versioning; true the first time (warn once). */
  reject(): boolean {
    const first = !this.versionRejected;
    this.versionRejected = true;
    return first;
  }

  /** True the first time a re-yielded task is seen (warn once per task). */
  firstRepeat(taskId: number): boolean {
    if (this.warnedRepeats.has(taskId)) return false;
    this.warnedRepeats.add(taskId);
    return true;
  }
}
