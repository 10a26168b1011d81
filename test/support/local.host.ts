/** Helpers for end-to-end tests that drive the local host over HTTP. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, vi } from 'vitest';
import type { JobView } from '../../cli/jobs.api.js';
import { JobsClient } from '../../cli/jobs.client.js';
import { startAzurite, type RunningAzurite } from '../../host/azurite.js';
import { startLocalHost, type LocalHost } from '../../host/spawn.js';
import type { BlobStore } from '../../src/storage/blob.store.js';
import { AzureBlobStore } from '../../src/storage/azure.blob.store.js';
import { createFixtureDir, type FixtureDir } from './fixtures.js';

export { freePort, projectRoot, startLocalHost, type LocalHost } from '../../host/spawn.js';

/** Waits until the job has finished, through the job API client the CLI uses; returns the last view (checked against the contract). */
export function waitForJob(baseUrl: string, id: string, timeoutMs = 240_000): Promise<JobView> {
  return new JobsClient({ baseUrl }).waitForJob(id, { timeoutMs, intervalMs: 500 });
}

/** The job the upload trigger started for `source`, once it is listed. */
export function jobOfUpload(baseUrl: string, source: string): Promise<JobView> {
  const client = new JobsClient({ baseUrl });
  return vi.waitFor(
    async () => {
      const job = (await client.listJobs({ source })).jobs.find((candidate) => candidate.source === source);
      if (!job) throw new Error(`no job for ${source} yet`);
      return job;
    },
    { timeout: 90_000, interval: 500 },
  );
}

export interface HostOnOwnAzurite {
  readonly host: LocalHost;
  readonly azurite: RunningAzurite;
  /** The app's storage, for uploads and for reading outputs. */
  readonly store: BlobStore;
  readonly fixtures: FixtureDir;
}

/**
 * Registers the hooks of an end-to-end test file: its own Azurite (so no other file's host
 * shares its task hub or queues), the built host on it with `env`, and a fixture folder; all
 * stopped and removed after the file. The returned getters work inside tests.
 */
export function useHostOnOwnAzurite(name: string, env: Record<string, string> = {}): HostOnOwnAzurite {
  let state: (HostOnOwnAzurite & { azuriteDir: string }) | undefined;
  beforeAll(async () => {
    const azuriteDir = mkdtempSync(join(tmpdir(), `${name}-azurite-`));
    const azurite = await startAzurite({ location: azuriteDir });
    const host = await startLocalHost({ storageConnectionString: azurite.connectionString, env });
    state = { host, azurite, azuriteDir, store: AzureBlobStore.fromEnvironment({ AzureWebJobsStorage: azurite.connectionString }), fixtures: createFixtureDir(`${name}-`) };
  });
  afterAll(async () => {
    await state?.host.stop();
    await state?.azurite.stop();
    state?.fixtures.remove();
    if (state) rmSync(state.azuriteDir, { recursive: true, force: true });
  });
  const ready = (): HostOnOwnAzurite => {
    if (!state) throw new Error('useHostOnOwnAzurite: used outside a test (before beforeAll ran)');
    return state;
  };
  return {
    get host() {
      return ready().host;
    },
    get azurite() {
      return ready().azurite;
    },
    get store() {
      return ready().store;
    },
    get fixtures() {
      return ready().fixtures;
    },
  };
}
