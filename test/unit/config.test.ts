import { describe, expect, it } from 'vitest';
import { readBlobTriggerSource, readIngestSettings, readStacApiSettings } from '../../src/config.js';

describe('settings', () => {
  it('use documented defaults and reject values that are not positive integers', () => {
    expect(readIngestSettings({})).toEqual({ maxDimension: 200_000, tileSize: 4096, scratchDir: undefined });
    expect(readIngestSettings({ INGEST_TILE_SIZE: '1024', INGEST_SCRATCH_DIR: '/scratch' })).toMatchObject({ tileSize: 1024, scratchDir: '/scratch' });
    expect(() => readIngestSettings({ INGEST_TILE_SIZE: 'big' })).toThrow(/INGEST_TILE_SIZE must be a positive integer, got "big"/);
  });

  it('choose the Event Grid blob trigger only when asked', () => {
    expect(readBlobTriggerSource({})).toBe('LogsAndContainerScan');
    expect(readBlobTriggerSource({ BLOB_TRIGGER_SOURCE: 'EventGrid' })).toBe('EventGrid');
  });

  it('publish to a STAC API only when STAC_API_URL is set, and name a bad URL', () => {
    expect(readStacApiSettings({})).toBeUndefined();
    expect(readStacApiSettings({ STAC_API_URL: 'https://geo.example/stac', STAC_API_SCOPE: 'api://x/.default', STAC_API_VERSION: ' ' })).toEqual({
      url: 'https://geo.example/stac',
      scope: 'api://x/.default',
    });
    expect(() => readStacApiSettings({ STAC_API_URL: 'not a url' })).toThrow(/STAC_API_URL must be a URL/);
  });
});
