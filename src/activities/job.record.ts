/** Activity: a job writes its final state to the jobs index, so lists and bulk retry filter on it. */
import type { RecordJobInput } from '../pipeline/contracts.js';
import type { ActivityDependencies } from './activity.dependencies.js';

export type RecordJob = (input: RecordJobInput) => Promise<void>;

export function createRecordJob(deps: Pick<ActivityDependencies, 'jobs'>): RecordJob {
  return async (input) => {
    await deps.jobs.record(input);
  };
}
