import { describe, expect, it } from 'vitest';
import { readIngestSettings, readSourceContainers, readStacApiSettings, readWorkerSettings } from '../../src/config.js';

describe('settings', () => {
  it('use documented defaults and reject values that are not positive integers', () => {
    expect(readIngestSettings({})).toEqual({
      maxDimension: 200_000,
      tileSize: 4096,
      scratchDir: undefined,
      sourceContainers: ['uploads'],
      sourceRead: 'auto',
      scratchMaxBytes: 16 * 1024 ** 3,
      assumeCfLonLat: true,
      inspection: { timeoutSeconds: 60, memoryMb: 2048, maxTilesPerJob: 2500, maxExpansionRatio: 2000 },
    });
    expect(readIngestSettings({ INGEST_INSPECT_TIMEOUT_SECONDS: '5', INGEST_MAX_TILES_PER_JOB: '10' }).inspection).toMatchObject({ timeoutSeconds: 5, maxTilesPerJob: 10 });
    expect(() => readIngestSettings({ INGEST_INSPECT_MEMORY_MB: '512' })).toThrow(/INGEST_INSPECT_MEMORY_MB must be at least 1024/);
    expect(readIngestSettings({ INGEST_ASSUME_CF_LONLAT: 'false' }).assumeCfLonLat).toBe(false);
    expect(() => readIngestSettings({ INGEST_ASSUME_CF_LONLAT: 'maybe' })).toThrow(/INGEST_ASSUME_CF_LONLAT must be true or false/);
    expect(readIngestSettings({ INGEST_TILE_SIZE: '1024', INGEST_SCRATCH_DIR: '/scratch' })).toMatchObject({ tileSize: 1024, scratchDir: '/scratch' });
    expect(() => readIngestSettings({ INGEST_TILE_SIZE: 'big' })).toThrow(/INGEST_TILE_SIZE must be a positive integer, got "big"/);
  });

  it('how tiles read sources: auto by default, within a scratch cap in MB; the worker\'s dispatch permits', () => {
    expect(readIngestSettings({ INGEST_SOURCE_READ: 'copy', INGEST_SCRATCH_MAX_MB: '6144' })).toMatchObject({ sourceRead: 'copy', scratchMaxBytes: 6 * 1024 ** 3 });
    expect(readIngestSettings({ INGEST_SOURCE_READ: ' in-place ' }).sourceRead).toBe('in-place');
    expect(() => readIngestSettings({ INGEST_SOURCE_READ: 'stream' })).toThrow(/INGEST_SOURCE_READ must be "auto", "copy" or "in-place", got "stream"/);
    expect(() => readIngestSettings({ INGEST_SCRATCH_MAX_MB: '0' })).toThrow(/INGEST_SCRATCH_MAX_MB must be a positive integer/);
    expect(readWorkerSettings({}).dispatchPermits).toBe(20);
    expect(readWorkerSettings({ INGEST_WORKER_DISPATCH_PERMITS: '3' }).dispatchPermits).toBe(3);
    expect(() => readWorkerSettings({ INGEST_WORKER_DISPATCH_PERMITS: '-1' })).toThrow(/INGEST_WORKER_DISPATCH_PERMITS must be a positive integer/);
  });

  it('publish to a STAC API only when STAC_API_URL is set, and name a bad URL', () => {
    expect(readStacApiSettings({})).toBeUndefined();
    expect(readStacApiSettings({ STAC_API_URL: 'https://geo.example/stac', STAC_API_SCOPE: 'api://x/.default', STAC_API_VERSION: ' ' })).toEqual({
      url: 'https://geo.example/stac',
      scope: 'api://x/.default',
    });
    expect(() => readStacApiSettings({ STAC_API_URL: 'not a url' })).toThrow(/STAC_API_URL must be a URL/);
  });

  it('source containers: a comma list of valid names, never the app\'s own or the host\'s containers', () => {
    expect(readSourceContainers({ INGEST_SOURCE_CONTAINERS: ' uploads, incoming ,uploads' })).toEqual(['uploads', 'incoming']);
    expect(() => readSourceContainers({ INGEST_SOURCE_CONTAINERS: 'Uploads' })).toThrow(/not a valid container name/);
    expect(() => readSourceContainers({ INGEST_SOURCE_CONTAINERS: 'uploads,cogs' })).toThrow(/cannot be a source/);
    expect(() => readSourceContainers({ INGEST_SOURCE_CONTAINERS: 'azure-webjobs-hosts' })).toThrow(/cannot be a source/);
    expect(() => readSourceContainers({ INGEST_SOURCE_CONTAINERS: ' , ' })).toThrow(/names no container/);
  });
});
