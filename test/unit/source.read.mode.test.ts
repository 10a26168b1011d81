import { describe, expect, it } from 'vitest';
import { inspectionReadMode, tileReadMode, wholeDownloadMaxBytes } from '../../src/activities/source.cache.js';
import type { SourceBlob } from '../../src/pipeline/contracts.js';

const sourceOf = (size: number): SourceBlob => ({ container: 'uploads', name: 'a.tif', etag: '"0x1"', size, lastModified: new Date(0).toISOString() });

describe('how validation and the mosaic read a source', () => {
  it('downloads a small source whole when tiles read local copies anyway', () => {
    expect(inspectionReadMode(sourceOf(100_000), 'copy')).toBe('copy');
    expect(inspectionReadMode(sourceOf(wholeDownloadMaxBytes), 'copy')).toBe('copy');
  });

  it('reads a larger source in place: headers and a few blocks, not the whole file', () => {
    expect(inspectionReadMode(sourceOf(wholeDownloadMaxBytes + 1), 'copy')).toBe('in-place');
  });

  it('never copies when tiles read in place (the operator chose no local copies)', () => {
    expect(inspectionReadMode(sourceOf(100_000), 'in-place')).toBe('in-place');
  });
});

describe('how tiles read a source (INGEST_SOURCE_READ, INGEST_SCRATCH_MAX_MB)', () => {
  const gib = 1024 ** 3;
  const workerCap = 6 * gib; // infra: three quarters of a 2-vCPU replica's 8 GiB

  it('auto copies a source of at most half the scratch cap, and reads a larger one in place', () => {
    expect(tileReadMode(sourceOf(3 * gib), 'auto', workerCap)).toBe('copy');
    expect(tileReadMode(sourceOf(3 * gib + 1), 'auto', workerCap)).toBe('in-place');
    // A source larger than the whole disk: in place, never a copy that could not fit.
    expect(tileReadMode(sourceOf(40 * gib), 'auto', workerCap)).toBe('in-place');
    expect(tileReadMode(sourceOf(600 * 1024), 'auto', 1024 * 1024)).toBe('in-place');
  });

  it('copy and in-place are the operator\'s choice, whatever the size', () => {
    expect(tileReadMode(sourceOf(40 * gib), 'copy', workerCap)).toBe('copy');
    expect(tileReadMode(sourceOf(1000), 'in-place', workerCap)).toBe('in-place');
  });

  it('validation downloads a small source whole only when its tiles will read a copy', () => {
    expect(inspectionReadMode(sourceOf(100_000), tileReadMode(sourceOf(100_000), 'auto', workerCap))).toBe('copy');
    expect(inspectionReadMode(sourceOf(100_000), tileReadMode(sourceOf(100_000), 'auto', 100_000))).toBe('in-place');
  });
});
