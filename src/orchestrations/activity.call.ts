/**
 * The one way orchestrators call activities: by contract, so input and output types come from
 * `contracts.ts` and no call site casts. A final failure the activity returned, and a failure
 * thrown after the retries ran out, both surface as a `FailureError`-carrying exception.
 */
import type { OrchestrationContext, Task } from 'durable-functions';
import type { ActivityContract, ActivityOutcome } from '../pipeline/contracts.js';
import { FailureError, isFailure } from '../pipeline/failure.js';
import { createActivityRetryOptions } from './retry.policy.js';

/** Checks the envelope every activity returns (see `ActivityOutcome`); the value inside is the activity's contract. */
function isOutcome<Output>(value: unknown): value is ActivityOutcome<Output> {
  if (typeof value !== 'object' || value === null || !('ok' in value)) return false;
  if (value.ok === true) return 'value' in value;
  return value.ok === false && 'failure' in value && isFailure(value.failure);
}

export function* callActivity<Input, Output>(context: OrchestrationContext, contract: ActivityContract<Input, Output>, input: Input): Generator<Task, Output, unknown> {
  const outcome: unknown = yield context.df.callActivityWithRetry(contract.name, createActivityRetryOptions(), input);
  if (!isOutcome<Output>(outcome)) throw new FailureError({ code: 'INTERNAL', message: `the step ${contract.name} returned an unexpected result` });
  if (!outcome.ok) throw new FailureError(outcome.failure);
  return outcome.value;
}
