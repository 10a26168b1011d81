/**
 * One API contract (src/api/contract.ts): the dashboard and the CLI parse every answer with it and
 * take their types from it. The server's types are held to it at compile time
 * (src/api/contract.check.ts); here, what the server's pure builders produce parses with it, and
 * the module stays bundleable for the browser (no Node imports, at any depth).
 */
import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, expectTypeOf, it } from 'vitest';
import * as cliApi from '../../cli/jobs.api.js';
import { batchViewSchema, durableStatusSchema, jobViewSchema, problemSchema, tileEntrySchema, type JobView } from '../../src/api/contract.js';
import { problem } from '../../src/functions/http.problem.js';
import { durableStatusOfJob } from '../../src/jobs/durable.status.js';
import { buildBatchView } from '../../src/jobs/batch.view.js';
import { buildJobView, buildJobViewFromIndex, type OrchestrationStatusLike } from '../../src/jobs/job.view.js';

const root = resolve(import.meta.dirname, '../..');

const running: OrchestrationStatusLike = {
  instanceId: 'ingest-1',
  name: 'ingestRaster',
  runtimeStatus: 'Running',
  createdTime: '2026-01-01T00:00:00Z',
  lastUpdatedTime: '2026-01-01T00:00:05Z',
  input: { source: { container: 'uploads', name: 'a.tif', etag: 'x', size: 10 }, collection: 'rasters', options: {}, tileSize: 512 },
  output: null,
  customStatus: { source: 'uploads/a.tif', collection: 'rasters', stage: 'creating-cogs', route: 'functions', layout: 'fan-out', tilesDone: 3, tilesTotal: 4, itemsRegistered: 3, errors: [] },
};

/** Every module `entry` imports, at any depth, with the bare specifiers (packages, built-ins) it names. */
function importGraph(entry: string): { modules: string[]; bare: Set<string> } {
  const modules: string[] = [];
  const bare = new Set<string>();
  const pending = [entry];
  while (pending.length) {
    const file = pending.pop()!;
    if (modules.includes(file)) continue;
    modules.push(file);
    const source = readFileSync(file, 'utf8');
    for (const match of source.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+'([^']+)'/gm)) {
      const specifier = match[1]!;
      if (specifier.startsWith('.')) pending.push(join(dirname(file), specifier.replace(/\.js$/, '.ts')));
      else bare.add(specifier);
    }
  }
  return { modules: modules.map((file) => relative(root, file)), bare };
}

describe('the API contract', () => {
  it('imports nothing of Node, at any depth: the dashboard bundles it', () => {
    const { modules, bare } = importGraph(join(root, 'src/api/contract.ts'));
    expect(modules.sort()).toEqual(['src/api/contract.ts', 'src/collections/definition.schema.ts', 'src/pipeline/failure.ts']);
    expect([...bare]).toEqual(['zod']);
    expect([...bare].filter((name) => name.startsWith('node:') || builtinModules.includes(name))).toEqual([]);
  });

  // The dashboard's side is type-checked by web/tsconfig.json (DOM library): its client imports these schemas and types.
  it('is what the CLI parses with', () => {
    expect(cliApi.jobViewSchema).toBe(jobViewSchema);
    expect(cliApi.tileEntrySchema).toBe(tileEntrySchema);
    expectTypeOf<cliApi.JobView>().toEqualTypeOf<JobView>();
  });

  it('parses the job views the server builds: live, failed, and from the jobs index', () => {
    const live = buildJobView(running);
    expect(jobViewSchema.parse(live)).toEqual(live);
    const failed = buildJobView({ ...running, runtimeStatus: 'Failed', customStatus: { ...(running.customStatus as object), stage: 'failed', tilesFailed: 1, errors: [{ code: 'DISK_FULL', message: 'out of scratch space', itemId: 'a-r0-c1' }] } });
    expect(jobViewSchema.parse(failed)).toEqual(failed);
    const listed = buildJobViewFromIndex({
      key: 'k', id: 'ingest-2', source: 'uploads/b.tif', collection: 'rasters', status: 'Failed', createdTime: '2026-01-01T00:00:00Z', lastUpdatedTime: '2026-01-01T00:01:00Z',
      attempt: 1, previousAttempt: null, tilesDone: 0, tilesFailed: 0, tilesTotal: 0, errors: [{ code: 'INVALID_INPUT', message: 'no CRS' }], errorCodes: ['INVALID_INPUT'],
    });
    expect(jobViewSchema.parse(listed)).toEqual(listed);
    expect(listed.retry.offered).toBe(false);
  });

  it("parses the Durable-shaped status and a batch view the server builds", () => {
    const view = buildJobView({ ...running, runtimeStatus: 'Completed' });
    expect(durableStatusSchema.parse(durableStatusOfJob(view, 'ingestRaster'))).toMatchObject({ runtimeStatus: 'Completed', instanceId: 'ingest-1' });
    const batch = buildBatchView({ instanceId: 'batch-1', name: 'ingestBatch', runtimeStatus: 'Running', createdTime: '2026-01-01T00:00:00Z', lastUpdatedTime: '2026-01-01T00:00:05Z', input: null, customStatus: null }, new Date('2026-01-01T00:01:00Z'));
    expect(batchViewSchema.parse(batch)).toEqual(batch);
  });

  it('parses the problem+json the handlers answer with, extra fields kept', () => {
    const answer = problem(409, 'A retry cannot help', 'upload a new version', { outcome: 'permanent', codes: ['INVALID_INPUT'], retryable: false });
    expect(answer.headers).toMatchObject({ 'Content-Type': 'application/problem+json' });
    expect(problemSchema.parse(answer.jsonBody)).toEqual({ title: 'A retry cannot help', status: 409, detail: 'upload a new version', outcome: 'permanent', codes: ['INVALID_INPUT'], retryable: false });
  });

  it('refuses an answer of another shape, naming the field', () => {
    const view = buildJobView(running);
    const result = jobViewSchema.safeParse({ ...view, tiles: { done: '3' } });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(['tiles', 'done']);
  });
});
