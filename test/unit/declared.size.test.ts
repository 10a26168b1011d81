import { describe, expect, it } from 'vitest';
import type { ContainerHeader, DeclaredRaster } from '../../src/raster/container.header.js';
import { checkDeclaredSize, checkTileCount, defaultDeclaredSizeLimits } from '../../src/raster/declared.size.js';

const MiB = 1024 ** 2;

function tiff(raster: Partial<DeclaredRaster>): ContainerHeader {
  const base: DeclaredRaster = { width: 1000, height: 1000, bands: 1, bytesPerSample: 1, declaredBytes: 1e6, storedBytes: 1e6, sparseBlocks: 0, totalBlocks: 16, largestBlockBytes: 65536, compressed: true };
  const merged = { ...base, ...raster };
  return { driver: 'GTiff', rasters: [{ name: 'the image', ...merged, declaredBytes: raster.declaredBytes ?? merged.width * merged.height * merged.bands * merged.bytesPerSample }], crsTexts: [] };
}

describe('declared size against bytes present (per-format policy)', () => {
  it('takes small rasters whatever their ratio (up to the free bound)', () => {
    expect(checkDeclaredSize(tiff({ width: 8192, height: 8192, bytesPerSample: 4 }), 1000)).toBeNull();
  });

  it('takes compressed rasters within the ratio, sparse or not', () => {
    expect(checkDeclaredSize(tiff({ width: 40000, height: 40000, bytesPerSample: 4 }), 6400 * 1024 * 1024 / 2000 + 1)).toBeNull();
    expect(checkDeclaredSize(tiff({ width: 40000, height: 40000, sparseBlocks: 5000, totalBlocks: 6400 }), 1 * MiB)).toBeNull();
  });

  it.each([
    ['a sparse 200,000² GeoTIFF of a few MiB', { width: 200_000, height: 200_000, sparseBlocks: 611_524, totalBlocks: 611_524 }, 7 * MiB],
    ['a 100,000² float64 from 1 MiB', { width: 100_000, height: 100_000, bytesPerSample: 8 }, 1 * MiB],
    ['a 20,000² × 200 bands from 10 MiB', { width: 20_000, height: 20_000, bands: 200 }, 10 * MiB],
  ])('refuses %s (INPUT_LIMIT, naming the setting)', (_name, raster, bytes) => {
    const failure = checkDeclaredSize(tiff(raster), bytes);
    expect(failure?.code).toBe('INPUT_LIMIT');
    expect(failure?.message).toMatch(/bytes per stored byte.*INGEST_MAX_EXPANSION_RATIO/);
  });

  it('refuses a compressed block too large to decode, and takes the same block uncompressed', () => {
    const bomb = tiff({ width: 30_000, height: 30_000, largestBlockBytes: 900 * MiB, totalBlocks: 1 });
    expect(checkDeclaredSize(bomb, 900 * MiB)?.message).toMatch(/compressed blocks of 900\.0 MiB.*re-tile/);
    expect(checkDeclaredSize({ ...bomb, rasters: [{ ...bomb.rasters[0]!, compressed: false }] }, 900 * MiB)).toBeNull();
  });

  it('refuses an HDF5 chunk that decodes past the ratio (a bomb), whichever dataset holds it, and takes deflate-like ratios', () => {
    const grid = tiff({ width: 2048, height: 2048, bytesPerSample: 4, largestBlockBytes: 16 * MiB, largestBlockExpansion: 1032 });
    const hdf5 = (rasters: ContainerHeader['rasters'], otherArrays: ContainerHeader['otherArrays'] = []): ContainerHeader => ({ driver: 'HDF5', opensWith: 'netCDF', rasters, otherArrays, crsTexts: [] });
    expect(checkDeclaredSize(hdf5(grid.rasters), 20 * MiB)).toBeNull();
    const bomb = [{ ...grid.rasters[0]!, largestBlockExpansion: 250_000 }];
    expect(checkDeclaredSize(hdf5(bomb), 20 * MiB)).toMatchObject({ code: 'INPUT_LIMIT', message: expect.stringMatching(/250,000 bytes per stored byte.*INGEST_MAX_EXPANSION_RATIO.*decompression bomb/) });
    // A coordinate array is held to the same policies as the grid.
    expect(checkDeclaredSize(hdf5(grid.rasters, [{ ...bomb[0]!, name: 'variable lon' }]), 20 * MiB)?.message).toMatch(/^variable lon has a compressed chunk/);
    const unwritten = tiff({ width: 2 ** 24, height: 2 ** 24, bytesPerSample: 4, storedBytes: 0, sparseBlocks: 4096, totalBlocks: 4096 });
    expect(checkDeclaredSize(hdf5(unwritten.rasters), 20_000)?.message).toMatch(/bytes per stored byte/);
  });

  it('holds GTX to the header reader\'s exact size check alone', () => {
    const header: ContainerHeader = { driver: 'GTX', rasters: tiff({ width: 100_000, height: 100_000, compressed: false }).rasters, crsTexts: [] };
    expect(checkDeclaredSize(header, 1000)).toBeNull();
  });

  it('holds netCDF classic to its presence check alone (it stores every byte it declares)', () => {
    const header: ContainerHeader = { driver: 'netCDF', rasters: tiff({ width: 100_000, height: 100_000 }).rasters, crsTexts: [] };
    expect(checkDeclaredSize(header, 1000)).toBeNull();
  });

  it('follows the ratio setting', () => {
    const raster = tiff({ width: 60_000, height: 60_000 }); // 3.6 GB from 1 MiB: 3,433 per byte
    expect(checkDeclaredSize(raster, 1 * MiB, { ...defaultDeclaredSizeLimits, maxExpansionRatio: 2000 })).not.toBeNull();
    expect(checkDeclaredSize(raster, 1 * MiB, { ...defaultDeclaredSizeLimits, maxExpansionRatio: 5000 })).toBeNull();
  });
});

describe('tiles per job', () => {
  it('counts tiles before any plan and refuses over the cap', () => {
    expect(checkTileCount(200_000, 200_000, 4096, 2500)).toBeNull(); // 49 × 49 = 2,401
    const failure = checkTileCount(20_000, 20_000, 256, 2500); // 79 × 79 = 6,241
    expect(failure?.code).toBe('INPUT_LIMIT');
    expect(failure?.message).toMatch(/6,241 tiles.*2,500 tiles per job.*INGEST_MAX_TILES_PER_JOB/);
    expect(checkTileCount(200_000, 200_000, 256, 2500)?.message).toMatch(/611,524 tiles/);
  });
});
