/**
 * Quality gates with quarantine (issue 24, step 2) through the local host: uploads to a gated
 * collection that fail a gate end `Quarantined` (not waiting) with the rule and the measured
 * value, their COGs made but nothing of them in the collection; an approval publishes the kept
 * outputs (the job ends `Completed`, its items in the collection), a rejection deletes them (the
 * job ends `Rejected`, its COGs gone). A job is decided once; a job that was not quarantined is
 * not decided at all. Measured: a projected CRS against a geographic-only gate, and the nodata
 * share of a DEM (its 50×50 nodata corner in 600×500 pixels: 0.83%) against a 0.5% gate.
 */
import { describe, expect, it, vi } from 'vitest';
import { JobsClient } from '../../cli/jobs.client.js';
import type { JobView } from '../../cli/jobs.api.js';
import { collectionBlob } from '../../src/stac/catalog.layout.js';
import { writeInt16Dem, writeRgbUint8 } from '../support/fixtures.js';
import { jobOfUpload, useHostOnOwnAzurite, waitForJob } from '../support/local.host.js';

const env = useHostOnOwnAzurite('quarantine', { INGEST_SOURCE_CONTAINERS: 'uploads,incoming' });
const client = () => new JobsClient({ baseUrl: env.host.baseUrl });

async function post(path: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${env.host.baseUrl}${path}`, { method: 'POST' });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

/** Reads the job until its decision has run. */
async function waitForDecision(id: string, status: 'Completed' | 'Rejected'): Promise<JobView> {
  return vi.waitFor(
    async () => {
      const view = await client().getJob(id);
      if (view.quarantine?.decision?.status !== 'Completed') throw new Error(`decision of ${id}: ${JSON.stringify(view.quarantine?.decision)}`);
      expect(view.status).toBe(status);
      return view;
    },
    { timeout: 120_000, interval: 500 },
  );
}

const cogRef = (cogUrl: string) => {
  const [container, ...name] = new URL(cogUrl).pathname.split('/').filter(Boolean).slice(1);
  return { container: container!, name: name.map(decodeURIComponent).join('/') };
};

describe('quality gates and quarantine', () => {
  it('quarantines a source that fails a gate, keeps its outputs unpublished, and publishes them on approval', async () => {
    const put = await fetch(`${env.host.baseUrl}/api/collections/gated`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ sources: [{ container: 'uploads', prefix: 'gated/' }], gates: { crs: { family: 'geographic' }, maxNodataShare: 0.005 } }),
    });
    expect(put.status).toBe(201);

    await env.store.uploadFile({ container: 'uploads', name: 'gated/utm.tif' }, writeRgbUint8(env.fixtures.path, 300, 200, 'utm.tif'), 'image/tiff');
    const job = await waitForJob(env.host.baseUrl, (await jobOfUpload(env.host.baseUrl, 'uploads/gated/utm.tif')).id);
    expect(job.status, JSON.stringify(job.errors)).toBe('Quarantined');
    expect(job.stage).toBe('quarantined');
    expect(job.quarantine).toMatchObject({ definitionVersion: 1, decision: null, violations: [{ rule: 'crs.family', measured: 'projected', limit: 'geographic' }] });
    // Its COGs exist; the collection has nothing of it.
    const tiles = job.output && 'tiles' in job.output ? job.output.tiles : [];
    expect(tiles.length).toBeGreaterThan(0);
    for (const tile of tiles) expect(await env.store.stat(cogRef(tile.cogUrl))).toBeDefined();
    expect(await env.store.stat(collectionBlob('gated'))).toBeUndefined();
    expect((await client().listJobs({ collection: 'gated', status: ['Quarantined'] })).jobs.map((listed) => listed.id)).toContain(job.id);

    const approved = await post(`/api/jobs/${job.id}/approve`);
    expect(approved.status, JSON.stringify(approved.json)).toBe(202);
    expect(approved.json).toMatchObject({ jobId: job.id, decision: 'approve', id: `${job.id}-decision` });
    const published = await waitForDecision(job.id, 'Completed');
    expect(published.stage).toBe('completed');
    const collection = await env.store.readJson<{ id: string }>(collectionBlob('gated'));
    expect(collection?.value.id).toBe('gated');

    // Decided once; the other decision is refused too.
    const again = await post(`/api/jobs/${job.id}/reject`);
    expect(again.status).toBe(409);
    expect(again.json).toMatchObject({ outcome: 'decided', decision: 'approve' });
  }, 300_000);

  it('measures the nodata share, and deletes the kept outputs on rejection', async () => {
    await env.store.uploadFile({ container: 'uploads', name: 'gated/dem.tif' }, writeInt16Dem(env.fixtures.path), 'image/tiff');
    const job = await waitForJob(env.host.baseUrl, (await jobOfUpload(env.host.baseUrl, 'uploads/gated/dem.tif')).id);
    expect(job.status, JSON.stringify(job.errors)).toBe('Quarantined');
    const violation = job.quarantine?.violations.find((candidate) => candidate.rule === 'maxNodataShare');
    expect(violation, JSON.stringify(job.quarantine)).toBeDefined();
    expect(Number(violation!.measured)).toBeCloseTo(2500 / 300_000, 3);
    expect(job.quarantine?.violations.map((candidate) => candidate.rule)).toEqual(['maxNodataShare']);

    const tiles = job.output && 'tiles' in job.output ? job.output.tiles : [];
    expect((await post(`/api/jobs/${job.id}/reject`)).status).toBe(202);
    const rejected = await waitForDecision(job.id, 'Rejected');
    expect(rejected.stage).toBe('rejected');
    for (const tile of tiles) expect(await env.store.stat(cogRef(tile.cogUrl)), tile.cogUrl).toBeUndefined();
    expect((await client().listJobs({ collection: 'gated', status: ['Rejected'] })).jobs.map((listed) => listed.id)).toContain(job.id);
  }, 300_000);

  it('does not decide a job that was not quarantined, nor an unknown one', async () => {
    await env.store.uploadFile({ container: 'uploads', name: 'plain/scene.tif' }, writeRgbUint8(env.fixtures.path, 120, 80, 'plain.tif'), 'image/tiff');
    const job = await waitForJob(env.host.baseUrl, (await jobOfUpload(env.host.baseUrl, 'uploads/plain/scene.tif')).id);
    expect(job.status).toBe('Completed');
    expect(job.quarantine).toBeNull();
    const refused = await post(`/api/jobs/${job.id}/approve`);
    expect(refused.status).toBe(409);
    expect(refused.json).toMatchObject({ outcome: 'not-quarantined' });
    expect((await post('/api/jobs/ingest-nope/approve')).status).toBe(404);
    expect((await post('/api/jobs/..%2F..%2Fetc/reject')).status).toBe(404);
  }, 200_000);
});
