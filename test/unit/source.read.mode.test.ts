import { describe, expect, it } from 'vitest';
import { inspectionReadMode, wholeDownloadMaxBytes } from '../../src/activities/source.cache.js';
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
