/** Helpers for end-to-end tests that drive the local host over HTTP. */
import type { JobView } from '../../cli/jobs.api.js';
import { JobsClient } from '../../cli/jobs.client.js';

export { freePort, projectRoot, startLocalHost, type LocalHost } from '../../host/spawn.js';

/**
 * Waits until the job has finished, through the job API client the CLI uses; returns the last
 * view (checked against the contract). The type parameter is accepted for existing call sites
 * (`waitForJob<JobView>(...)`) and unused: the answer is always a `JobView`.
 */
// eslint-disable-next-line @typescript-eslint/no-unused-vars -- kept for call sites that still pass <JobView>
export function waitForJob<_View = JobView>(baseUrl: string, id: string, timeoutMs = 240_000): Promise<JobView> {
  return new JobsClient({ baseUrl }).waitForJob(id, { timeoutMs, intervalMs: 500 });
}
