/**
 * Shared setup for the activity integration tests: a BlobStore on the run's Azurite, the real
 * activity dependencies with a private scratch folder, and helpers to upload fixtures.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { BlobServiceClient } from '@azure/storage-blob';
import gdal from 'gdal-async';
import { afterAll, beforeAll, expect, inject } from 'vitest';
import { createActivityDependencies, type ActivityDependencies } from '../../src/activities/activity.dependencies.js';
import { containers, readIngestSettings } from '../../src/config.js';
import { deriveOutputLocation } from '../../src/jobs/job.id.js';
import { JobIndex } from '../../src/jobs/job.index.js';
import { RetiredOutputs } from '../../src/jobs/retired.outputs.js';
import type { OutputLocation, SourceBlob, VersionOrder } from '../../src/pipeline/contracts.js';
import { ingestOptionsSchema, type IngestOptions } from '../../src/pipeline/options.js';
import { collectionMosaicBlob } from '../../src/stac/catalog.layout.js';
import type { BlobStore } from '../../src/storage/blob.store.js';
import { AzureBlobStore } from '../../src/storage/azure.blob.store.js';
import { createFixtureDir, type FixtureDir } from '../support/fixtures.js';

export interface ActivityHarness {
  store: BlobStore;
  deps: ActivityDependencies;
  /** A per-file prefix so tests sharing one Azurite never see each other's blobs. */
  runId: string;
  upload(localPath: string, name?: string, container?: string): Promise<SourceBlob>;
  /** The output names and version order a submission would give a job of `source`. */
  job(source: SourceBlob, collection: string, options?: { options?: IngestOptions; tileSize?: number; jobStarted?: string }): { outputs: OutputLocation; order: VersionOrder };
  close(): void;
}

export function createActivityHarness(settings: Partial<ReturnType<typeof readIngestSettings>> = {}): ActivityHarness {
  const store = new AzureBlobStore(BlobServiceClient.fromConnectionString(inject('storageConnectionString')));
  const scratch = mkdtempSync(join(tmpdir(), 'activity-scratch-'));
  const jobs = JobIndex.fromEnvironment({ AzureWebJobsStorage: inject('storageConnectionString') });
  const retired = RetiredOutputs.fromEnvironment({ AzureWebJobsStorage: inject('storageConnectionString') });
  const deps = createActivityDependencies({ store, jobs, retired, settings: { ...readIngestSettings({}), scratchDir: scratch, ...settings } });
  const runId = randomUUID().slice(0, 8);
  return {
    store,
    deps,
    runId,
    async upload(localPath, name, container = containers.uploads) {
      const ref = { container, name: `${runId}/${name ?? localPath.split('/').pop()!}` };
      await store.uploadFile(ref, localPath, 'image/tiff');
      const stat = await store.stat(ref);
      if (!stat) throw new Error(`uploaded ${ref.name} but cannot see it`);
      return { container: ref.container, name: ref.name, etag: stat.etag, size: stat.size, lastModified: (stat.lastModified ?? new Date(0)).toISOString() };
    },
    job(source, collection, job = {}) {
      const outputs = deriveOutputLocation({
        container: source.container,
        name: source.name,
        etag: source.etag,
        collection,
        options: job.options ?? ingestOptionsSchema.parse({}),
        tileSize: job.tileSize ?? 4096,
      });
      return { outputs, order: { sourceModified: source.lastModified, jobStarted: job.jobStarted ?? new Date().toISOString() } };
    },
    close() {
      deps.inspector.close();
      rmSync(scratch, { recursive: true, force: true });
    },
  };
}

export interface ActivityTestEnvironment {
  readonly harness: ActivityHarness;
  readonly fixtures: FixtureDir;
}

/**
 * Registers the hooks every activity test file needs — a harness on the shared Azurite and a
 * fixture folder, both cleaned up after the file — and returns them (available inside tests).
 */
export function useActivityHarness(fixturePrefix?: string): ActivityTestEnvironment {
  let harness: ActivityHarness | undefined;
  let fixtures: FixtureDir | undefined;
  beforeAll(() => {
    harness = createActivityHarness();
    fixtures = createFixtureDir(fixturePrefix);
  });
  afterAll(() => {
    harness?.close();
    fixtures?.remove();
  });
  const ready = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('useActivityHarness: used outside a test (before beforeAll ran)');
    return value;
  };
  return {
    get harness() {
      return ready(harness);
    },
    get fixtures() {
      return ready(fixtures);
    },
  };
}

/** Downloads a blob URL's blob to a temp file and returns the path. */
export async function downloadBlob(store: BlobStore, container: string, name: string, dir: string): Promise<string> {
  const path = join(dir, `${randomUUID()}-${name.split('/').pop()}`);
  await store.downloadToFile({ container, name }, path);
  return path;
}

/** Reads a whole band window as a typed array (values exactly as stored). */
export function readWindow(dataset: gdal.Dataset, band: number, x: number, y: number, width: number, height: number): gdal.TypedArray {
  return dataset.bands.get(band).pixels.read(x, y, width, height);
}

/** Pixel-exact equality that treats NaN as equal to NaN (nodata pixels in float rasters). */
export function samePixels(a: gdal.TypedArray, b: gdal.TypedArray): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x !== y && !(Number.isNaN(x) && Number.isNaN(y))) return false;
  }
  return true;
}

/** Downloads a group's mosaic VRT, the cell VRTs it names and their tiles into a local mirror (their paths are relative); `xml` is every VRT read. */
export async function mirrorMosaic(store: BlobStore, collection: string, group: string, into: string): Promise<{ path: string; xml: string }> {
  const texts: string[] = [];
  const mirror = async (name: string): Promise<string> => {
    const path = join(into, name);
    mkdirSync(dirname(path), { recursive: true });
    const ref = { container: containers.cogs, name: `${collection}/${name}` };
    await store.downloadToFile(ref, path);
    if (!name.endsWith('.vrt')) return path;
    const xml = (await store.readBytes(ref))!.toString('utf8');
    texts.push(xml);
    for (const source of new Set([...xml.matchAll(/<SourceFilename relativeToVRT="1">([^<]+)<\/SourceFilename>/g)].map((m) => m[1]!))) await mirror(source);
    return path;
  };
  const path = await mirror(collectionMosaicBlob(collection, group).name.slice(collection.length + 1));
  return { path, xml: texts.join('\n') };
}

/** Every pixel of every band of two rasters on the same grid; `tolerated` pixels per band may differ. */
export function expectSamePixels(actualPath: string, expectedPath: string, tolerated = 0): void {
  const actual = gdal.open(actualPath);
  const expected = gdal.open(expectedPath);
  try {
    expect(actual.geoTransform).toEqual(expected.geoTransform);
    expect([actual.rasterSize.x, actual.rasterSize.y]).toEqual([expected.rasterSize.x, expected.rasterSize.y]);
    const { x, y } = expected.rasterSize;
    for (let b = 1; b <= expected.bands.count(); b++) {
      const got = actual.bands.get(b).pixels.read(0, 0, x, y);
      const want = expected.bands.get(b).pixels.read(0, 0, x, y);
      if (tolerated === 0) expect(samePixels(got, want), `band ${b}`).toBe(true);
      else expect(got.filter((value, index) => value !== want[index]).length, `band ${b}: pixels that differ`).toBeLessThanOrEqual(tolerated);
    }
  } finally {
    actual.close();
    expected.close();
  }
}
