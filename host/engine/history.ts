/** History event types, as DurableTask numbers them (the SDK reads them by number). */
export const EventType = {
  ExecutionStarted: 0,
  ExecutionCompleted: 1,
  ExecutionFailed: 2,
  ExecutionTerminated: 3,
  TaskScheduled: 4,
  TaskCompleted: 5,
  TaskFailed: 6,
  SubOrchestrationInstanceCreated: 7,
  SubOrchestrationInstanceCompleted: 8,
  SubOrchestrationInstanceFailed: 9,
  TimerCreated: 10,
  TimerFired: 11,
  OrchestratorStarted: 12,
  OrchestratorCompleted: 13,
  EventSent: 14,
  EventRaised: 15,
  ContinueAsNew: 16,
  ExecutionSuspended: 19,
  ExecutionResumed: 20,
} as const;

export const eventTypeNames: Record<number, string> = Object.fromEntries(Object.entries(EventType).map(([name, value]) => [value, name]));

/** A history event in the PascalCase wire shape the SDK replays. Host-only fields are ignored by it. */
export interface HistoryEvent {
  EventType: number;
  EventId: number;
  Timestamp: string;
  IsPlayed?: boolean;
  Name?: string;
  Input?: string | undefined;
  Result?: string;
  Reason?: string;
  Details?: string;
  TaskScheduledId?: number;
  TimerId?: number;
  FireAt?: string;
  InstanceId?: string;
  OrchestrationStatus?: string;
  /** Host-only: index of the action (depth-first over the action tree) this event serves. */
  ActionIndex?: number;
  /** Host-only: identity of an external message, so a redelivery is recognized. */
  MessageId?: string;
  [field: string]: unknown;
}

/**
 * Host-only TimerCreated field: the retry timer of a call whose retry timeout had passed when its
 * attempt failed; the SDK (patched by the host) ends the retries when it fires.
 */
export const retryExpiredField = 'RetryExpired';

/**
 * Action types of the SDK's OrchestratorState, by name: the SDK sends the numbers (its internal
 * `ActionType` enum, not exported; test/host/host.units.test.ts pins these to it).
 */
export const ActionType = {
  CallActivity: 0,
  CallActivityWithRetry: 1,
  CallSubOrchestrator: 2,
  CallSubOrchestratorWithRetry: 3,
  ContinueAsNew: 4,
  CreateTimer: 5,
  WaitForExternalEvent: 6,
  CallEntity: 7,
  CallHttp: 8,
  SignalEntity: 9,
  WhenAny: 11,
  WhenAll: 12,
  LockEntities: 13,
  ReleaseEntities: 14,
} as const;

export interface RetryOptions {
  firstRetryIntervalInMilliseconds: number;
  maxNumberOfAttempts: number;
  backoffCoefficient?: number;
  maxRetryIntervalInMilliseconds?: number;
  retryTimeoutInMilliseconds?: number;
}

export interface DurableHttpRequest {
  method: string;
  uri: string;
  content?: string;
  headers?: Record<string, string>;
  asynchronousPatternEnabled?: boolean;
}

export interface Action {
  actionType: number;
  functionName?: string;
  input?: unknown;
  instanceId?: string;
  version?: string;
  retryOptions?: RetryOptions;
  fireAt?: string;
  isCanceled?: boolean;
  externalEventName?: string;
  httpRequest?: DurableHttpRequest;
  compoundActions?: Action[];
  /** Sequence number the SDK gave the task (written by the host's patch of the SDK, when present). */
  taskId?: number;
  /** CallEntity / SignalEntity. */
  operation?: string;
  /** LockEntities: the critical section's request id and entities. */
  lockRequestId?: string;
  lockSet?: Array<{ name: string; key: string }>;
}

export interface OrchestratorState {
  isDone: boolean;
  actions: Action[][];
  output?: unknown;
  error?: string;
  customStatus?: unknown;
}

/** Marker before the state JSON in the error an orchestrator that throws rejects with. */
const outOfProcDataMarker = '$OutOfProcData$:';

/**
 * The OrchestratorState carried by the error a throwing orchestrator rejects with
 * ("<bool>\n\n$OutOfProcData$:<state JSON>"), or undefined when the error has none.
 */
export function stateOfOrchestratorError(message: string): OrchestratorState | undefined {
  const at = message.indexOf(outOfProcDataMarker);
  return at < 0 ? undefined : (JSON.parse(message.slice(at + outOfProcDataMarker.length)) as OrchestratorState);
}

/**
 * Leaves of the action tree in depth-first order, each with the top-level action it belongs to.
 * A task yielded again inside a new Task.any / Task.all repeats its action; repeats (same SDK
 * task id) are dropped, since the SDK gives them no new sequence number, and returned in
 * `repeats` (Azure schedules them again: azure-functions-durable-js#574).
 */
export function flattenActions(state: OrchestratorState): { leaves: Action[]; topLevel: Array<{ action: Action; first: number; count: number }>; repeats: Action[] } {
  const leaves: Action[] = [];
  const repeats: Action[] = [];
  const topLevel: Array<{ action: Action; first: number; count: number }> = [];
  const seen = new Set<number>();
  const visit = (action: Action): void => {
    if (action.actionType === ActionType.WhenAll || action.actionType === ActionType.WhenAny) {
      for (const child of action.compoundActions ?? []) visit(child);
    } else if (typeof action.taskId !== 'number' || !seen.has(action.taskId)) {
      if (typeof action.taskId === 'number') seen.add(action.taskId);
      leaves.push(action);
    } else {
      repeats.push(action);
    }
  };
  for (const group of state.actions ?? []) {
    for (const action of group ?? []) {
      const first = leaves.length;
      visit(action);
      topLevel.push({ action, first, count: leaves.length - first });
    }
  }
  return { leaves, topLevel, repeats };
}

/** Actions that take the next sequence number (EventId); external-event waits take none. */
export function takesEventId(action: Action): boolean {
  return action.actionType !== ActionType.WaitForExternalEvent && action.actionType !== ActionType.ContinueAsNew;
}

/**
 * The SDK sends string inputs JSON-encoded once more (Utils.processInput) and other values as is;
 * this returns JSON text of the value the user passed.
 */
export function actionInputJson(input: unknown): string | undefined {
  if (input === undefined) return undefined;
  if (typeof input === 'string') return input;
  return JSON.stringify(input);
}

/** Timestamp of a host-made history event. */
export function nowIso(): string {
  return new Date().toISOString();
}

/** Identity of an incoming event, used to apply each exactly once. */
export function eventKey(event: HistoryEvent): string | undefined {
  switch (event.EventType) {
    case EventType.TaskCompleted:
    case EventType.TaskFailed:
    case EventType.SubOrchestrationInstanceCompleted:
    case EventType.SubOrchestrationInstanceFailed:
      return `t:${event.TaskScheduledId}`;
    case EventType.TimerFired:
      return `t:${event.TimerId}`;
    case EventType.EventRaised:
    case EventType.ExecutionTerminated:
    case EventType.ExecutionSuspended:
    case EventType.ExecutionResumed:
      return event.MessageId ? `m:${event.MessageId}` : undefined;
    default:
      return undefined;
  }
}
