/** How every activity answers the orchestrator: a value, a final failure as data, or a retryable failure thrown. */
import type { ActivityContract, ActivityOutcome, WorkSpan } from '../pipeline/contracts.js';
import { FailureError, type Failure } from '../pipeline/failure.js';
import { classifyError, isFinalFailure } from './failure.classify.js';

/** An activity's implementation, typed by its contract. */
export type ActivityImplementation<Contract> = Contract extends ActivityContract<infer Input, infer Output> ? (input: Input) => Promise<Output> : never;

/**
 * Runs an activity. A final failure (bad upload, conflict) comes back as `{ok: false}` so the
 * orchestrator does not retry it; anything else is thrown as a `FailureError` for the retry
 * policy, its message carrying only the code and the person-facing text. `report` sees the raw
 * error, for the service's own logs. An outcome says when the activity ran (`ran`), so its wait
 * for a slot can be told from its work.
 */
export async function runToOutcome<Output>(run: () => Promise<Output>, report: (failure: Failure, error: unknown) => void): Promise<ActivityOutcome<Output>> {
  const startedAt = new Date().toISOString();
  const ran = (): WorkSpan => ({ startedAt, endedAt: new Date().toISOString() });
  try {
    const value = await run();
    return { ok: true, value, ran: ran() };
  } catch (error) {
    const failure = classifyError(error);
    report(failure, error);
    if (isFinalFailure(failure)) return { ok: false, failure, ran: ran() };
    throw new FailureError(failure);
  }
}
