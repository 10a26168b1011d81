import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startAzurite, type RunningAzurite } from '../../host/azurite.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Connection string of the Azurite instance (or storage account) the tests share. */
    storageConnectionString: string;
  }
}

let azurite: RunningAzurite | undefined;
let location: string | undefined;

/**
 * One Azurite for the whole run, on free ports, unless TEST_STORAGE_CONNECTION_STRING names
 * storage to use instead. Tests that need their own (restart tests) start one themselves.
 */
export async function setup(project: TestProject): Promise<void> {
  const given = process.env['TEST_STORAGE_CONNECTION_STRING'];
  if (given) {
    project.provide('storageConnectionString', given);
    return;
  }
  location = mkdtempSync(join(tmpdir(), 'raster-ingest-azurite-'));
  azurite = await startAzurite({ location });
  project.provide('storageConnectionString', azurite.connectionString);
}

export async function teardown(): Promise<void> {
  await azurite?.stop();
  if (location) rmSync(location, { recursive: true, force: true });
}
