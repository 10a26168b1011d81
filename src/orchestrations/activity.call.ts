/**
 * The one way orchestrators call activities: by contract, so input and output types come from
 * `contracts.ts` and no call site casts. A final failure the activity returned, and a failure
 * thrown after the retries ran out, both surface as an exception that `failureFrom` reads.
 */
import type { OrchestrationContext, Task } from 'durable-functions';
import type { ActivityContract, ActivityOutcome, WorkSpan } from '../pipeline/contracts.js';
import { FailureError, failureFrom, isFailure, isFinalFailure } from '../pipeline/failure.js';
import { createActivityRetryOptions, tileRetryPolicy } from './retry.policy.js';

/** Checks the envelope every activity returns (see `ActivityOutcome`); the value inside is the activity's contract. */
function isOutcome<Output>(value: unknown): value is ActivityOutcome<Output> {
  if (typeof value !== 'object' || value === null || !('ok' in value)) return false;
  // `{ok: true}` alone is a void activity's outcome (JSON drops an undefined value).
  if (value.ok === true) return true;
  return value.ok === false && 'failure' in value && isFailure(value.failure);
}

function* unwrap<Input, Output>(contract: ActivityContract<Input, Output>, task: Task, onRan?: (ran: WorkSpan | undefined) => void): Generator<Task, Output, unknown> {
  const outcome: unknown = yield task;
  if (!isOutcome<Output>(outcome)) throw new FailureError({ code: 'INTERNAL', message: `the step ${contract.name} returned an unexpected result` });
  onRan?.(isWorkSpan(outcome.ran) ? outcome.ran : undefined);
  if (!outcome.ok) throw new FailureError(outcome.failure);
  return outcome.value;
}

function isWorkSpan(value: unknown): value is WorkSpan {
  return typeof value === 'object' && value !== null && 'startedAt' in value && typeof value.startedAt === 'string' && 'endedAt' in value && typeof value.endedAt === 'string';
}

/**
 * The value of an activity task already scheduled (by the caller, e.g. inside a `Task.any`),
 * with the same checks as `callActivity`; `onRan` hears when the activity ran (its outcome's
 * `ran`), also when it returned a final failure.
 */
export function unwrapActivity<Input, Output>(contract: ActivityContract<Input, Output>, task: Task, onRan: (ran: WorkSpan | undefined) => void): Generator<Task, Output, unknown> {
  return unwrap(contract, task, onRan);
}

/** The back-off before attempt `attempt + 1` of a step retried in the orchestrator (`tileRetryPolicy`). */
export function retryDelayMs(attempt: number): number {
  return Math.min(tileRetryPolicy.firstDelayMs * tileRetryPolicy.backoffCoefficient ** (attempt - 1), tileRetryPolicy.maxDelayMs);
}

/** Calls an activity with the standard retry policy (Durable's own retries, with back-off). */
export function* callActivity<Input, Output>(context: OrchestrationContext, contract: ActivityContract<Input, Output>, input: Input): Generator<Task, Output, unknown> {
  return yield* unwrap(contract, context.df.callActivityWithRetry(contract.name, createActivityRetryOptions(), input));
}

/**
 * Calls an activity, retrying here rather than in Durable, so the caller sees each attempt
 * (`onAttempt`) and final failures are not retried at all. Same back-off as `callActivity`.
 */
export function* callActivityCountingAttempts<Input, Output>(
  context: OrchestrationContext,
  contract: ActivityContract<Input, Output>,
  input: Input,
  onAttempt: (attempt: number) => void,
): Generator<Task, Output, unknown> {
  for (let attempt = 1; ; attempt++) {
    onAttempt(attempt);
    try {
      return yield* unwrap(contract, context.df.callActivity(contract.name, input));
    } catch (error) {
      const failure = failureFrom(error);
      if (isFinalFailure(failure) || attempt >= tileRetryPolicy.maxAttempts) throw new FailureError(failure);
      yield context.df.createTimer(new Date(context.df.currentUtcDateTime.getTime() + retryDelayMs(attempt)));
    }
  }
}
