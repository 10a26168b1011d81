/**
 * `raster-ingest collections`, `collection get` and `collection put` against a fake API: the
 * requests they make (If-Match from --replaces), the tables and JSON they print, and the API's
 * refusals (a 400 naming the path in the definition, a 412) with exit code 3.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { collectionDefinitionSchema } from '../../src/api/contract.js';
import { json, problem, route, runFakeCli, sampleJob } from './fake.job.api.js';

const folder = mkdtempSync(join(tmpdir(), 'collection-cli-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

const definition = { sources: [{ container: 'uploads', prefix: 'dem/' }], gates: { maxNodataShare: 0.2 }, options: { compression: 'ZSTD' } };
const view = (version: number) => ({ id: 'dem', version, updatedTime: '2026-12-06T07:00:00.000Z', definition: collectionDefinitionSchema.parse(definition), jobs: '/api/jobs?collection=dem' });

describe('raster-ingest collections', () => {
  it('lists the definitions as a table and names the default collection', async () => {
    const result = await runFakeCli(['collections'], [route('GET', '/api/collections', () => json(200, { collections: [view(3)], defaultCollection: 'rasters' }))]);
    expect(result.exitCode, result.err).toBe(0);
    const lines = result.out.split('\n');
    expect(lines[0]).toMatch(/^COLLECTION\s+VERSION\s+SOURCES\s+GATES\s+DERIVED FROM\s+SCHEDULES\s+WEBHOOKS$/);
    expect(lines[1]).toMatch(/^dem\s+v3\s+uploads\/dem\/\s+maxNodataShare\s+–\s+0\s+0$/);
    expect(lines.at(-1)).toBe('Uploads no source rule matches go to "rasters".');
  });
});

describe('raster-ingest collection get|put', () => {
  it('gets a definition, or an earlier version, as JSON', async () => {
    const result = await runFakeCli(['collection', 'get', 'dem', '--version-number', '2', '--json'], [route('GET', '/api/collections/dem', () => json(200, view(2)))]);
    expect(result.exitCode, result.err).toBe(0);
    expect(result.requests[0]!.url.searchParams.get('version')).toBe('2');
    expect(JSON.parse(result.out)).toMatchObject({ id: 'dem', version: 2, definition: { gates: { maxNodataShare: 0.2 } } });
  });

  it('creates without If-Match and replaces with the version --replaces names', async () => {
    const file = join(folder, 'dem.json');
    writeFileSync(file, JSON.stringify(definition));
    const created = await runFakeCli(['collection', 'put', 'dem', '--file', file], [route('PUT', '/api/collections/dem', () => json(201, view(1)))]);
    expect(created.exitCode, created.err).toBe(0);
    expect(created.requests[0]!.headers.get('if-match')).toBeNull();
    expect(created.requests[0]!.body).toEqual(definition);
    expect(created.out).toBe('Collection dem: version 1');
    const replaced = await runFakeCli(['collection', 'put', 'dem', '--file', file, '--replaces', '1'], [route('PUT', '/api/collections/dem', () => json(200, view(2)))]);
    expect(replaced.requests[0]!.headers.get('if-match')).toBe('"1"');
    expect(replaced.out).toBe('Collection dem: version 2');
  });

  it('shows the path at fault in a refused definition and a stale version, exit code 3', async () => {
    const file = join(folder, 'cycle.json');
    writeFileSync(file, JSON.stringify({ derivedFrom: { collection: 'b', product: 'slope' } }));
    const refused = await runFakeCli(['collection', 'put', 'a', '--file', file, '--json'], [route('PUT', '/api/collections/a', () => problem(400, 'Invalid collection definition', 'derivedFrom.collection: makes a cycle: a → b → a', ['derivedFrom.collection']))]);
    expect(refused.exitCode).toBe(3);
    expect(JSON.parse(refused.out).error).toMatchObject({ kind: 'api', status: 400, fields: ['derivedFrom.collection'] });
    const stale = await runFakeCli(['collection', 'put', 'a', '--file', file, '--replaces', '1'], [route('PUT', '/api/collections/a', () => problem(412, 'Definition changed', 'The current version is 2; read it again and re-apply your change'))]);
    expect(stale.exitCode).toBe(3);
    expect(stale.err).toContain('The current version is 2');
  });

  it('refuses a file that is not a JSON object before any request', async () => {
    const file = join(folder, 'list.json');
    writeFileSync(file, '[1]');
    const result = await runFakeCli(['collection', 'put', 'a', '--file', file]);
    expect(result.exitCode).toBe(2);
    expect(result.requests).toEqual([]);
    const missing = await runFakeCli(['collection', 'put', 'a', '--file', join(folder, 'missing.json')]);
    expect(missing.exitCode).toBe(2);
  });
});

describe('raster-ingest job, approve and reject of a quarantined job', () => {
  const quarantined = (decision: { decision: 'approve' | 'reject'; id: string; status: string } | null, status = 'Quarantined') => ({
    ...sampleJob('ingest-q', 'Completed', { done: 1, failed: 0, total: 1, stage: 'quarantined' }),
    status,
    stage: status === 'Quarantined' ? 'quarantined' : 'rejected',
    definitionVersion: 3,
    quarantine: { definitionVersion: 3, violations: [{ rule: 'crs.family', measured: 'projected', limit: 'geographic', message: 'the CRS is projected, the gate wants geographic' }], decision },
  });

  it('shows the rule, the measured value and what to do', async () => {
    const result = await runFakeCli(['job', 'ingest-q'], [route('GET', '/api/jobs/ingest-q', () => json(200, quarantined(null)))]);
    expect(result.exitCode, result.err).toBe(0);
    expect(result.out).toContain('collection  demo (definition version 3)');
    expect(result.out).toContain('crs.family: the CRS is projected, the gate wants geographic (measured projected, allowed geographic)');
    expect(result.out).toContain('raster-ingest approve ingest-q');
  });

  it('approves, and rejects with --watch until the decision has run', async () => {
    const approved = await runFakeCli(['approve', 'ingest-q'], [route('POST', '/api/jobs/ingest-q/approve', () => json(202, { id: 'ingest-q-decision', jobId: 'ingest-q', decision: 'approve' }))]);
    expect(approved.exitCode, approved.err).toBe(0);
    expect(approved.out).toContain('approval started (ingest-q-decision)');
    let reads = 0;
    const rejected = await runFakeCli(
      ['reject', 'ingest-q', '--watch'],
      [
        route('POST', '/api/jobs/ingest-q/reject', () => json(202, { id: 'ingest-q-decision', jobId: 'ingest-q', decision: 'reject' })),
        route('GET', '/api/jobs/ingest-q', () => json(200, ++reads < 2 ? quarantined({ decision: 'reject', id: 'ingest-q-decision', status: 'Running' }) : quarantined({ decision: 'reject', id: 'ingest-q-decision', status: 'Completed' }, 'Rejected'))),
      ],
    );
    expect(rejected.exitCode, rejected.err).toBe(0);
    expect(reads).toBe(2);
    expect(rejected.out).toBe('Job ingest-q: rejected; the job is Rejected (ingest-q-decision, Completed)');
  });

  it('reports a job decided already with exit code 3', async () => {
    const result = await runFakeCli(['approve', 'ingest-q'], [route('POST', '/api/jobs/ingest-q/approve', () => problem(409, 'Already decided', 'The job was rejected already'))]);
    expect(result.exitCode).toBe(3);
    expect(result.err).toContain('The job was rejected already');
  });
});
