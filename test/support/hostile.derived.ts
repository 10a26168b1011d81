/**
 * Issue 24, part 3: hostile derived products. A derivation is made from a source item the app
 * published, but the definition that asks for it and the item it reads are both input: a DEM of
 * many bands, a normalized difference naming bands the source lacks, a reprojection to a CRS PROJ
 * does not know or to an absurd resolution, a source item id that climbs out of its folder, and a
 * source item whose STAC document points its assets at a URL or another container. Each ends as
 * a permanent failure naming what is wrong (never `INTERNAL`, never a path or stack), and nothing
 * outside the app's `cogs` container is read. `test/integration/derived.products.test.ts` runs
 * them through `createDerivedItem` on Azurite and GDAL.
 */
import type { Derivation } from '../../src/pipeline/contracts.js';
import type { FailureCode } from '../../src/pipeline/failure.js';

/** The source COG the case puts at the item's place in the `cogs` container. */
export type HostileDerivedSource =
  /** The suite's single-band Float32 DEM (UTM 33N), tiled as a job makes it. */
  | { kind: 'dem' }
  /** The suite's 3-band RGB (Byte, UTM 33N). */
  | { kind: 'rgb' }
  /** A small GeoTIFF of this many Byte bands. */
  | { kind: 'bands'; count: number; dataType?: 'Byte' | 'CInt16' }
  /** Not a GeoTIFF at the COG's place: a VRT naming a sentinel file, or a PNG. */
  | { kind: 'vrt-naming-sentinel' }
  | { kind: 'png' };

export interface HostileDerivedCase {
  name: string;
  category: 'band count' | 'bands named' | 'target CRS' | 'target size' | 'item id' | 'item assets' | 'source COG';
  attack: string;
  source: HostileDerivedSource;
  derivation: Omit<Derivation, 'collection'>;
  /** Replaces the source item id (default: the item the test published). */
  itemId?: string;
  /** The expected failure; absent: the derived item is made, from the app's own COG. */
  expected?: { code: FailureCode; message: RegExp };
  /** `url` / `container`: the source item's STAC document is rewritten to point its assets there first. */
  tamperAssets?: 'url' | 'other-container' | 'missing-cog';
}

export const hostileDerivedCases: readonly HostileDerivedCase[] = [
  // --- band count ----------------------------------------------------------------------------
  { name: 'hillshade-of-rgb', category: 'band count', attack: 'a hillshade of a 3-band image', source: { kind: 'rgb' }, derivation: { product: 'hillshade' }, expected: { code: 'INVALID_INPUT', message: /one-band DEM; the source item has 3 bands/ } },
  { name: 'slope-of-300-bands', category: 'band count', attack: 'a slope of a 300-band raster (counted, not read band by band)', source: { kind: 'bands', count: 300 }, derivation: { product: 'slope' }, expected: { code: 'INVALID_INPUT', message: /one-band DEM; the source item has 300 bands/ } },
  { name: 'ndi-of-2000-bands', category: 'band count', attack: 'a normalized difference of bands 1 and 2 of a 2,000-band raster (only the two are read)', source: { kind: 'bands', count: 2000 }, derivation: { product: 'normalized-difference', bands: [1, 2000] } },
  { name: 'hillshade-of-complex', category: 'band count', attack: 'a hillshade of complex samples', source: { kind: 'bands', count: 1, dataType: 'CInt16' }, derivation: { product: 'hillshade' }, expected: { code: 'INVALID_INPUT', message: /needs real elevations/ } },
  // --- bands named ---------------------------------------------------------------------------
  { name: 'ndi-band-5-of-3', category: 'bands named', attack: 'a normalized difference of bands 1 and 5 of a 3-band source', source: { kind: 'rgb' }, derivation: { product: 'normalized-difference', bands: [1, 5] }, expected: { code: 'INVALID_INPUT', message: /names band 5, and the source item has 3 bands/ } },
  { name: 'ndi-band-65535', category: 'bands named', attack: 'a normalized difference of bands 65535 and 2 of a one-band DEM', source: { kind: 'dem' }, derivation: { product: 'normalized-difference', bands: [65_535, 2] }, expected: { code: 'INVALID_INPUT', message: /names band 65535 and 2, and the source item has 1 band$/ } },
  { name: 'ndi-same-band', category: 'bands named', attack: 'a normalized difference of band 2 with itself', source: { kind: 'rgb' }, derivation: { product: 'normalized-difference', bands: [2, 2] }, expected: { code: 'INVALID_INPUT', message: /the same band twice/ } },
  // --- target CRS ----------------------------------------------------------------------------
  { name: 'reproject-epsg-999999', category: 'target CRS', attack: 'a reprojection to EPSG:999999, a code no registry has', source: { kind: 'dem' }, derivation: { product: 'reproject', targetCrs: 'EPSG:999999' }, expected: { code: 'INVALID_INPUT', message: /EPSG:999999 is not a CRS this service's PROJ database knows/ } },
  { name: 'reproject-epsg-1024', category: 'target CRS', attack: 'a reprojection to EPSG:1024, the first code of the range, unassigned', source: { kind: 'dem' }, derivation: { product: 'reproject', targetCrs: 'EPSG:1024' }, expected: { code: 'INVALID_INPUT', message: /EPSG:1024 is not a CRS/ } },
  { name: 'reproject-to-datum', category: 'target CRS', attack: 'a reprojection to EPSG:6326, a datum code, not a CRS', source: { kind: 'dem' }, derivation: { product: 'reproject', targetCrs: 'EPSG:6326' }, expected: { code: 'INVALID_INPUT', message: /EPSG:6326 is not a CRS/ } },
  { name: 'reproject-crs-is-a-path', category: 'target CRS', attack: 'a targetCrs of "/etc/passwd" (PROJ reads a file name as a CRS definition) that skipped the schema', source: { kind: 'dem' }, derivation: { product: 'reproject', targetCrs: '/etc/passwd' }, expected: { code: 'INVALID_INPUT', message: /must be an EPSG code/ } },
  { name: 'reproject-crs-is-proj-string', category: 'target CRS', attack: 'a targetCrs "+proj=longlat +nadgrids=@http://…" naming a grid on the network', source: { kind: 'dem' }, derivation: { product: 'reproject', targetCrs: '+proj=longlat +nadgrids=@http://127.0.0.1:9/reproject-crs-is-proj-string.gsb' }, expected: { code: 'INVALID_INPUT', message: /must be an EPSG code/ } },
  { name: 'reproject-negative-resolution', category: 'target size', attack: 'a resolution of -0.001 that skipped the schema (negative × negative pixels is a positive count)', source: { kind: 'dem' }, derivation: { product: 'reproject', targetCrs: 'EPSG:4326', resolution: -0.001 }, expected: { code: 'INVALID_INPUT', message: /must be a positive number/ } },
  // --- target size ---------------------------------------------------------------------------
  { name: 'reproject-nanometre-pixels', category: 'target size', attack: 'a reprojection to 1e-9 degree pixels (an output of 10^19 pixels)', source: { kind: 'dem' }, derivation: { product: 'reproject', targetCrs: 'EPSG:4326', resolution: 1e-9 }, expected: { code: 'INPUT_LIMIT', message: /over the limit of/ } },
  { name: 'reproject-millimetre-pixels', category: 'target size', attack: 'a reprojection to 1 mm pixels in UTM', source: { kind: 'dem' }, derivation: { product: 'reproject', targetCrs: 'EPSG:32633', resolution: 0.001 }, expected: { code: 'INPUT_LIMIT', message: /choose a coarser derivedFrom.resolution/ } },
  // --- item id -------------------------------------------------------------------------------
  { name: 'item-id-climbs', category: 'item id', attack: 'a source item id "../../uploads/x" (a blob name outside the version folder)', source: { kind: 'dem' }, derivation: { product: 'hillshade' }, itemId: '../../uploads/x', expected: { code: 'INVALID_INPUT', message: /is not an item id this app makes/ } },
  { name: 'item-id-url', category: 'item id', attack: 'a source item id that is a URL', source: { kind: 'dem' }, derivation: { product: 'slope' }, itemId: 'http://169.254.169.254/latest', expected: { code: 'INVALID_INPUT', message: /is not an item id this app makes/ } },
  { name: 'item-id-dots', category: 'item id', attack: 'a source item id with ".." inside', source: { kind: 'dem' }, derivation: { product: 'slope' }, itemId: 'a..b', expected: { code: 'INVALID_INPUT', message: /is not an item id this app makes/ } },
  // --- item assets ---------------------------------------------------------------------------
  { name: 'assets-point-at-url', category: 'item assets', attack: "the source item's data asset rewritten to a URL (the canary)", source: { kind: 'dem' }, derivation: { product: 'hillshade' }, tamperAssets: 'url' },
  { name: 'assets-point-at-uploads', category: 'item assets', attack: "the source item's data asset rewritten to a sentinel blob in the uploads container", source: { kind: 'dem' }, derivation: { product: 'slope' }, tamperAssets: 'other-container' },
  {
    name: 'assets-elsewhere-cog-gone',
    category: 'item assets',
    attack: "the source COG deleted and the item's asset pointing at a sentinel in another container: nothing else is read in its place",
    source: { kind: 'dem' },
    derivation: { product: 'hillshade' },
    tamperAssets: 'missing-cog',
    expected: { code: 'SOURCE_MISSING', message: /is gone/ },
  },
  // --- source COG ----------------------------------------------------------------------------
  { name: 'cog-is-vrt', category: 'source COG', attack: "a VRT at the COG's place naming a sentinel file outside the cogs container", source: { kind: 'vrt-naming-sentinel' }, derivation: { product: 'hillshade' }, expected: { code: 'INVALID_INPUT', message: /is not a GeoTIFF/ } },
  { name: 'cog-is-png', category: 'source COG', attack: "a PNG at the COG's place", source: { kind: 'png' }, derivation: { product: 'reproject', targetCrs: 'EPSG:4326' }, expected: { code: 'INVALID_INPUT', message: /is not a GeoTIFF/ } },
];
