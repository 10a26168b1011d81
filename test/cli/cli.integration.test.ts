/**
 * The built CLI (`node dist/cli/main.js`) against a running local host on its own Azurite:
 * a local file uploaded and watched to its end; the job list, one job and its tiles as JSON; a
 * job whose tiles fail through a realistic fault (leases on their item blobs) found by a bulk
 * dry-run retry that starts nothing, then retried tile-wise once the fault clears; error answers
 * shown with their problem detail and exit codes (as JSON with --json); `upload`, whose job the
 * upload trigger starts, followed by `upload --watch` and by `job <id> --watch`; option and
 * container errors caught before anything is uploaded; the bin run as a command.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { jobViewSchema, tileEntrySchema } from '../../cli/jobs.api.js';
import { startAzurite, type RunningAzurite } from '../../host/azurite.js';
import { deriveSourceKey } from '../../src/jobs/job.id.js';
import { createFixtureDir, writeRgbUint8, type FixtureDir } from '../support/fixtures.js';
import { freePort, projectRoot, startLocalHost, type LocalHost } from '../support/local.host.js';

const cliEntry = join(projectRoot, 'dist', 'cli', 'main.js');

let azurite: RunningAzurite;
let azuriteDir: string;
let host: LocalHost;
let blobs: BlobServiceClient;
let fixtures: FixtureDir;

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI as a user would, pointed at the test host through RASTER_INGEST_URL; `asCommand`: the bin itself, as a linked `raster-ingest` runs it. */
function raster(args: string[], asCommand = false): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      asCommand ? cliEntry : process.execPath,
      asCommand ? args : [cliEntry, ...args],
      { env: { ...process.env, RASTER_INGEST_URL: host.baseUrl, AzureWebJobsStorage: azurite.connectionString }, timeout: 180_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

function parseJson<T>(schema: z.ZodType<T>, result: CliResult): T {
  expect(result.stderr.includes('error:'), result.stderr).toBe(false);
  return schema.parse(JSON.parse(result.stdout));
}

const submitted = z.looseObject({ source: z.string(), submitted: z.looseObject({ id: z.string() }), job: jobViewSchema.nullable() });

beforeAll(async () => {
  if (!existsSync(cliEntry)) throw new Error(`${cliEntry} is missing: run "npm run build" first`);
  azuriteDir = mkdtempSync(join(tmpdir(), 'cli-azurite-'));
  azurite = await startAzurite({ location: azuriteDir });
  blobs = BlobServiceClient.fromConnectionString(azurite.connectionString);
  host = await startLocalHost({ storageConnectionString: azurite.connectionString, env: { INGEST_SOURCE_CONTAINERS: 'uploads,incoming' } });
  fixtures = createFixtureDir('cli-');
});

afterAll(async () => {
  await host?.stop();
  await azurite?.stop();
  fixtures?.remove();
  if (azuriteDir) rmSync(azuriteDir, { recursive: true, force: true });
});

describe('raster-ingest against a running local host', () => {
  let jobId = '';
  let tileTotal = 0;
  let opsJobId = '';
  const opsCollection = 'cli-ops';
  const opsName = 'cli/ops/scene.tif';
  // 600×500 in 256-pixel tiles: 3 columns, 2 rows; two of their STAC item blobs are leased away.
  const opsSourceKey = deriveSourceKey('incoming', opsName);
  const leasedItems = [`${opsSourceKey}-r0-c1`, `${opsSourceKey}-r1-c2`];
  const leaseIds = new Map<string, string>();

  it('uploads a local file, submits it and watches it to Completed', async () => {
    const path = writeRgbUint8(fixtures.path, 600, 400, 'cli-rgb.tif');
    const result = await raster(['submit', path, '--container', 'incoming', '--name', 'cli/cli-rgb.tif', '--collection', 'cli', '--option', 'tileSize=256', '--option', 'blockSize=256', '--watch']);
    expect(result.code, result.stderr).toBe(0);
    // Not a terminal: progress as one line per change on stderr, the outcome on stdout.
    expect(result.stderr).toContain('Uploaded');
    expect(result.stderr).toMatch(/cli-rgb\.tif: completed, tiles 6\/6 done/);
    expect(result.stdout).toMatch(/incoming\/cli\/cli-rgb\.tif started job \(attempt 1\) ingest-/);
    expect(result.stdout).toContain('status      Completed (completed)');
    jobId = /started job \(attempt 1\) (ingest-\S+)/.exec(result.stdout)![1]!;
    tileTotal = 6; // 600×400 in tiles of 256: 3 × 2
  });

  it('lists the job, shows it and its tiles as JSON', async () => {
    expect(jobId).not.toBe('');
    const listed = parseJson(z.looseObject({ jobs: z.array(jobViewSchema), continuationToken: z.string().nullable() }), await raster(['jobs', '--collection', 'cli', '--since', '1h', '--json']));
    expect(listed.jobs.map((job) => job.id)).toEqual([jobId]);

    const view = parseJson(jobViewSchema, await raster(['job', jobId, '--json']));
    expect(view).toMatchObject({ id: jobId, status: 'Completed', collection: 'cli', tiles: { done: tileTotal, failed: 0, total: tileTotal } });

    const ledger = parseJson(z.looseObject({ jobId: z.string(), tiles: z.array(tileEntrySchema) }), await raster(['tiles', jobId, '--json']));
    expect(ledger.tiles).toHaveLength(tileTotal);
    expect(ledger.tiles.map((tile) => tile.index)).toEqual([...Array(tileTotal).keys()]);
    for (const tile of ledger.tiles) {
      expect(tile).toMatchObject({ state: 'done', error: null });
      expect(tile.attempts).toBeGreaterThanOrEqual(1);
      expect(tile.bbox).not.toBeNull();
      expect(tile.cogUrl).toMatch(/\/cogs\/cli\//);
    }
    // The text table has a header and one row per tile.
    const table = await raster(['tiles', jobId]);
    expect(table.stdout.trim().split('\n')).toHaveLength(tileTotal + 1);
  });

  it('exits 1 when tiles fail (leases held on their item blobs), lists them, and a dry-run bulk retry starts nothing', async () => {
    for (const itemId of leasedItems) {
      const blob = blobs.getContainerClient('stac').getBlockBlobClient(`${opsCollection}/${itemId}/${itemId}.json`);
      await blobs.getContainerClient('stac').createIfNotExists();
      await blob.upload('{}', 2);
      leaseIds.set(itemId, (await blob.getBlobLeaseClient().acquireLease(-1)).leaseId!);
    }
    const path = writeRgbUint8(fixtures.path, 600, 500, 'cli-ops.tif');
    const failed = await raster(['submit', path, '--container', 'incoming', '--name', opsName, '--collection', opsCollection, '--option', 'tileSize=256', '--option', 'blockSize=128', '--watch', '--json']);
    expect(failed.code, failed.stderr).toBe(1);
    const { job } = submitted.parse(JSON.parse(failed.stdout));
    expect(job).toMatchObject({ status: 'Failed', tiles: { done: 4, failed: 2, total: 6 }, output: { partial: true } });
    opsJobId = job!.id;

    const failedTiles = parseJson(z.looseObject({ tiles: z.array(tileEntrySchema) }), await raster(['tiles', opsJobId, '--state', 'failed', '--json']));
    expect(failedTiles.tiles.map((tile) => [tile.itemId, tile.error?.code])).toEqual(leasedItems.map((itemId) => [itemId, 'STORAGE_REFUSED']));

    const dryRun = parseJson(
      z.looseObject({ dryRun: z.literal(true), jobs: z.array(z.looseObject({ id: z.string(), errorCodes: z.array(z.string()), retriedAs: z.string().nullable() })) }),
      await raster(['retry', '--failed', '--since', '1h', '--collection', opsCollection, '--dry-run', '--json']),
    );
    expect(dryRun.jobs).toEqual([expect.objectContaining({ id: opsJobId, errorCodes: ['STORAGE_REFUSED'], retriedAs: null })]);
    // Nothing was started: the collection still has the one failed job.
    const after = parseJson(z.looseObject({ jobs: z.array(jobViewSchema) }), await raster(['jobs', '--collection', opsCollection, '--json']));
    expect(after.jobs.map((entry) => [entry.id, entry.status])).toEqual([[opsJobId, 'Failed']]);
    const text = await raster(['retry', '--failed', '--since', '1h', '--collection', opsCollection, '--dry-run']);
    expect(text.stdout).toContain('1 job would be retried (dry run: nothing was started).');
  });

  it('retries only the failed tiles once the fault clears, and watches the new attempt to Completed', async () => {
    expect(opsJobId).not.toBe('');
    for (const [itemId, leaseId] of leaseIds) {
      await blobs.getContainerClient('stac').getBlockBlobClient(`${opsCollection}/${itemId}/${itemId}.json`).getBlobLeaseClient(leaseId).releaseLease();
    }
    const result = await raster(['retry', opsJobId, '--watch']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`Retrying 2 failed tiles of ${opsJobId} as ${opsJobId}-a2; 4 done tiles kept as they are`);
    expect(result.stdout).toContain('status      Completed (completed)');
    expect(result.stdout).toContain(`attempt     2 (after ${opsJobId})`);
  });

  it('uploads to uploads/ by default: the upload trigger and the submission are the same job', async () => {
    const path = writeRgbUint8(fixtures.path, 300, 200, 'cli-dropped.tif');
    const result = await raster(['submit', path, '--name', 'cli/cli-dropped.tif', '--watch', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const { job } = submitted.parse(JSON.parse(result.stdout));
    expect(job).toMatchObject({ status: 'Completed', source: 'uploads/cli/cli-dropped.tif', collection: 'rasters' });
    const listed = parseJson(z.looseObject({ jobs: z.array(jobViewSchema) }), await raster(['jobs', '--collection', 'rasters', '--json']));
    expect(listed.jobs.filter((entry) => entry.source === 'uploads/cli/cli-dropped.tif').map((entry) => entry.id)).toEqual([job!.id]);
  });

  it('shows an error answer with its problem detail and exit code 3', async () => {
    const unknown = await raster(['job', 'ingest-00000000000000000000000000000000']);
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toMatch(/^error: GET \/api\/jobs\/ingest-0+ answered 404 Job not found\n {2}No job has id/);
    // A completed job has nothing to retry.
    const completed = await raster(['retry', jobId]);
    expect(completed.code, completed.stdout).toBe(3);
    expect(completed.stderr).toMatch(/answered 409/);
  });

  it('prints an error as a JSON object with --json, and exits non-zero', async () => {
    const result = await raster(['job', 'nonexistent', '--json']);
    expect(result.code).toBe(3);
    expect(JSON.parse(result.stdout)).toMatchObject({ error: { kind: 'api', status: 404, title: 'Job not found', exitCode: 3 } });
  });

  it('refuses options and containers the service would refuse before uploading anything: no orphan blob', async () => {
    const path = writeRgbUint8(fixtures.path, 300, 200, 'cli-refused.tif');
    const small = await raster(['submit', path, '--container', 'incoming', '--name', 'cli/refused-tilesize.tif', '--option', 'tileSize=100']);
    expect(small.code, small.stderr).toBe(2);
    expect(small.stderr).toContain('tileSize=100');
    expect(await blobs.getContainerClient('incoming').getBlobClient('cli/refused-tilesize.tif').exists()).toBe(false);
    // This host reads uploads and incoming only (INGEST_SOURCE_CONTAINERS).
    const elsewhere = await raster(['submit', path, '--container', 'elsewhere', '--name', 'cli/refused.tif', '--collection', 'cli']);
    expect(elsewhere.code, elsewhere.stderr).toBe(3);
    expect(elsewhere.stderr).toMatch(/answered 400/);
    expect(await blobs.getContainerClient('elsewhere').getBlobClient('cli/refused.tif').exists()).toBe(false);
  });

  it('uploads without submitting: --watch finds the job the upload trigger started and follows it to Completed', async () => {
    const path = writeRgbUint8(fixtures.path, 300, 200, 'cli-upload.tif');
    const result = await raster(['upload', path, '--name', 'cli/upload-watched.tif', '--watch', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const printed = z.looseObject({ source: z.string(), uploaded: z.literal(true), job: jobViewSchema }).parse(JSON.parse(result.stdout));
    expect(printed.job).toMatchObject({ status: 'Completed', source: 'uploads/cli/upload-watched.tif', collection: 'rasters' });
    expect(result.stderr).toMatch(/upload-watched\.tif: completed, tiles 1\/1 done/);
  });

  it('follows a job started by an upload with job <id> --watch', async () => {
    const path = writeRgbUint8(fixtures.path, 600, 400, 'cli-upload-2.tif');
    const uploaded = await raster(['upload', path, '--name', 'cli/upload-then-watch.tif']);
    expect(uploaded.code, uploaded.stderr).toBe(0);
    expect(uploaded.stdout).toContain('the upload trigger starts its job');
    let id = '';
    await expect
      .poll(async () => {
        const listed = parseJson(z.looseObject({ jobs: z.array(jobViewSchema) }), await raster(['jobs', '--source', 'uploads/cli/upload-then-watch.tif', '--json']));
        id = listed.jobs[0]?.id ?? '';
        return id;
      }, { timeout: 60_000, interval: 500 })
      .not.toBe('');
    const watched = await raster(['job', id, '--watch']);
    expect(watched.code, watched.stderr).toBe(0);
    expect(watched.stderr).toMatch(new RegExp(`${id}: completed, tiles 1/1 done`));
    expect(watched.stdout).toContain('status      Completed (completed)');
  });

  it('runs as a command after the build (the bin keeps its execute bit) and prints its version', async () => {
    const { version } = JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as { version: string };
    const result = await raster(['--version'], true);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.trim()).toBe(version);
  });

  it('says storage could not be reached when an upload finds no storage, naming what to check', async () => {
    const closed = await freePort();
    const connection = `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${Buffer.from('k').toString('base64')};BlobEndpoint=http://127.0.0.1:${closed}/devstoreaccount1;`;
    const file = join(mkdtempSync(join(tmpdir(), 'cli-upload-')), 'scene.tif');
    writeFileSync(file, 'II*\0');
    const result = await raster(['submit', file, '--connection-string', connection]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/uploading to uploads\/scene\.tif failed: storage could not be reached \(ECONNREFUSED\): check --connection-string/);
    expect(result.stderr).not.toContain('StoreError');
  });

  it('reports a service that is not there with exit code 4', async () => {
    // A port nothing listens on (fetch refuses well-known ports such as 9 outright).
    const closed = `http://127.0.0.1:${await freePort()}`;
    const result = await raster(['--url', closed, 'jobs']);
    expect(result.code).toBe(4);
    expect(result.stderr).toBe(`error: cannot reach ${closed}: ECONNREFUSED\n`);
  });
});
