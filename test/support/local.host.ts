/** Helpers for end-to-end tests that drive the local host over HTTP. */
export { freePort, projectRoot, startLocalHost, type LocalHost } from '../../host/spawn.js';

/** Polls `GET /api/jobs/{id}` until the job has finished; returns the last view. */
export async function waitForJob<T extends { status: string }>(baseUrl: string, id: string, timeoutMs = 240_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const response = await fetch(`${baseUrl}/api/jobs/${encodeURIComponent(id)}`);
    if (response.ok) {
      const view = (await response.json()) as T;
      if (['Completed', 'Failed', 'Terminated', 'Canceled'].includes(view.status)) return view;
    }
    if (Date.now() > deadline) throw new Error(`job ${id} did not finish within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 500));
  }
}
