/**
 * Which GDAL driver may read an upload, decided from its first bytes before GDAL sees it.
 *
 * Uploads are untrusted. Many GDAL formats can make GDAL read other files or fetch URLs: VRT
 * and its relatives, XML service descriptions (WMS, WMTS, ...), archives, multi-file formats,
 * HDF5 external links (netCDF-4 is HDF5). So a source is opened only with one driver, picked
 * here from an allowlist of formats whose references are read from raw bytes and refused before
 * GDAL opens them (`container.header.ts`): GeoTIFF, netCDF classic, JPEG 2000 (JP2), Erdas
 * Imagine (HFA, without spill or dependent files), HDF5 and netCDF-4 (without external links,
 * external storage, virtual datasets or filter plugins: `hdf5.header.ts`) and GTX geoid grids.
 * Formats that need a sidecar (ENVI's .hdr, AAIGrid's .prj) and everything else are refused with
 * a reason a person can act on. Pure: tested without GDAL.
 */
import type { Failure } from '../pipeline/failure.js';
import { gtxHeaderBytes, parseGtxHeader } from './container.header.js';
import { hdf5Signature, hdf5SuperblockOffsets } from './hdf5.header.js';

/** The GDAL drivers a source may be opened with. */
export type SourceDriver = 'GTiff' | 'netCDF' | 'JP2OpenJPEG' | 'HFA' | 'HDF5' | 'GTX';

export type SourceFormatVerdict = { ok: true; driver: SourceDriver } | { ok: false; failure: Failure };

/** Bytes to read from the start of a file for `identifySourceFormat`. */
export const formatSniffBytes = 4096;

const convertHint = 'upload the raster itself as a GeoTIFF (for example `gdal_translate -of COG in out.tif`), netCDF or JPEG 2000 (JP2)';

function refuse(message: string): SourceFormatVerdict {
  return { ok: false, failure: { code: 'UNSUPPORTED_FORMAT', message } };
}

function startsWith(bytes: Uint8Array, signature: readonly number[], offset = 0): boolean {
  if (bytes.length < offset + signature.length) return false;
  return signature.every((byte, i) => bytes[offset + i] === byte);
}

const tiffSignatures = [
  [0x49, 0x49, 0x2a, 0x00], // II*\0 classic, little-endian
  [0x4d, 0x4d, 0x00, 0x2a], // MM\0* classic, big-endian
  [0x49, 0x49, 0x2b, 0x00], // BigTIFF, little-endian
  [0x4d, 0x4d, 0x00, 0x2b], // BigTIFF, big-endian
] as const;

/** Named refusals for formats people do upload, by signature. */
const knownRefusals: ReadonlyArray<{ signature: readonly number[]; offset?: number; message: string }> = [
  { signature: [0x0e, 0x03, 0x13, 0x01], message: `HDF4 files cannot be ingested; ${convertHint}` },
  { signature: [0x50, 0x4b, 0x03, 0x04], message: `archives (zip) cannot be ingested: ${convertHint}` },
  { signature: [0x1f, 0x8b], message: `compressed archives (gzip) cannot be ingested: ${convertHint}` },
  { signature: [0x75, 0x73, 0x74, 0x61, 0x72], offset: 257, message: `archives (tar) cannot be ingested: ${convertHint}` },
  { signature: [0x37, 0x7a, 0xbc, 0xaf], message: `archives (7z) cannot be ingested: ${convertHint}` },
  { signature: [0x89, 0x50, 0x4e, 0x47], message: `PNG images cannot be ingested (they carry no georeferencing of their own); ${convertHint}` },
  { signature: [0xff, 0xd8, 0xff], message: `JPEG images cannot be ingested (they carry no georeferencing of their own); ${convertHint}` },
  { signature: [0xff, 0x4f, 0xff, 0x51], message: `raw JPEG 2000 codestreams (.j2k, .j2c) cannot be ingested: they carry no georeferencing; upload the JP2 file (with its GeoJP2 or GML box), or ${convertHint}` },
  { signature: [0x47, 0x49, 0x46, 0x38], message: `GIF images cannot be ingested; ${convertHint}` },
  { signature: [0x53, 0x51, 0x4c, 0x69, 0x74, 0x65], message: `SQLite containers (GeoPackage, MBTiles, Rasterlite) cannot be ingested; ${convertHint}` },
];

/** Text formats, matched on the first word of the document (XML root or header keyword). */
const textRefusals: ReadonlyArray<{ pattern: RegExp; message: string }> = [
  { pattern: /^<VRTDataset\b/, message: 'VRT files cannot be ingested: a VRT points at other files or URLs; upload the raster itself' },
  { pattern: /^<OGRVRTDataSource\b/, message: 'VRT files cannot be ingested: a VRT points at other files or URLs; upload the raster itself' },
  { pattern: /^<GDAL_WMS\b|^<WMS_Capabilities\b|^<WMT_MS_Capabilities\b/, message: 'WMS service descriptions cannot be ingested: they make the service fetch from the network; upload the raster itself' },
  { pattern: /^<GDAL_WMTS\b|^<Capabilities\b/, message: 'WMTS service descriptions cannot be ingested: they make the service fetch from the network; upload the raster itself' },
  { pattern: /^<PAMDataset\b/, message: 'GDAL .aux.xml sidecar files cannot be ingested; upload the raster itself' },
  { pattern: /^</, message: `XML documents cannot be ingested: ${convertHint}` },
  { pattern: /^ENVI\b/, message: 'ENVI files cannot be ingested: their data and header are two files; convert them to a GeoTIFF with the header beside the data (`gdal_translate -of COG scene.dat scene.tif`) and upload that' },
  { pattern: /^[{[]/, message: 'JSON documents (STAC items and collections, GeoJSON, tile matrices) cannot be ingested: they point at other files or URLs; upload the raster itself as a GeoTIFF' },
  { pattern: /^ncols\b/i, message: 'ASCII grids (AAIGrid) cannot be ingested: their CRS lives in a .prj sidecar file; convert it to a GeoTIFF with the .prj beside it (`gdal_translate -of COG scene.asc scene.tif`, or `-a_srs EPSG:<code>` when there is no .prj) and upload that' },
  { pattern: /^(?:PDS_VERSION_ID|ODL_VERSION_ID)\b/, message: 'PDS labels cannot be ingested: they point at other files; upload the raster itself as a GeoTIFF' },
  { pattern: /^(?:MEM|NETCDF|HDF5|HDF4_SDS|GTIFF_DIR|VRT|GPKG|PG|WMS|WCS|DAAS|EEDAI|PLMOSAIC|SENTINEL2|RASTERLITE|ECW_ZIP|JP2OpenJPEG):|^\/vsi[a-z0-9_]+\//i, message: 'GDAL dataset names and virtual file paths are not rasters; upload the raster itself as a GeoTIFF' },
];

function leadingText(bytes: Uint8Array): string {
  // A UTF-8 or UTF-16 byte order mark and leading whitespace do not change what a text format is.
  let text = new TextDecoder('utf-8', { fatal: false }).decode(bytes.subarray(0, 512));
  if (bytes[0] === 0xff && bytes[1] === 0xfe) text = new TextDecoder('utf-16le').decode(bytes.subarray(2, 512));
  if (bytes[0] === 0xfe && bytes[1] === 0xff) text = new TextDecoder('utf-16be').decode(bytes.subarray(2, 512));
  return text.replace(/^\uFEFF/, '').replace(/^\s+/, '').replace(/^<\?xml[^>]*\?>\s*/, '').replace(/^(?:<!--[\s\S]*?-->\s*)+/, '');
}

/**
 * Decides from the first bytes of a file (at least 512; `formatSniffBytes` recommended) which
 * driver may open it. `size`, the file's size in bytes, is what tells a GTX grid (no signature)
 * from other bytes that happen to read as a plausible header: given, the header's grid must fill
 * the file exactly. Validation always gives it; a tile reopening a validated source need not.
 */
export function identifySourceFormat(head: Uint8Array, size?: number): SourceFormatVerdict {
  if (tiffSignatures.some((signature) => startsWith(head, signature))) return { ok: true, driver: 'GTiff' };
  // netCDF classic (CDF-1), 64-bit offset (CDF-2) and 64-bit data (CDF-5): self-contained formats.
  if (startsWith(head, [0x43, 0x44, 0x46]) && [0x01, 0x02, 0x05].includes(head[3] ?? -1)) return { ok: true, driver: 'netCDF' };
  // JP2: the signature box, then a file type box; its GML and XML boxes are checked before GDAL opens it.
  if (startsWith(head, [0x00, 0x00, 0x00, 0x0c, 0x6a, 0x50, 0x20, 0x20, 0x0d, 0x0a, 0x87, 0x0a])) return { ok: true, driver: 'JP2OpenJPEG' };
  // Erdas Imagine: its spill and dependent-file nodes are refused before GDAL opens it.
  if (startsWith(head, Array.from('EHFA_HEADER_TAG\0', (char) => char.charCodeAt(0)))) return { ok: true, driver: 'HFA' };
  // HDF5 (and so netCDF-4) may start at 0 or after a user block of 512, 1024, 2048... bytes: its
  // whole structure is walked before GDAL opens it (external links, storage and plugins refused).
  for (const offset of hdf5SuperblockOffsets) if (startsWith(head, hdf5Signature, offset)) return { ok: true, driver: 'HDF5' };
  for (const refusal of knownRefusals) if (startsWith(head, refusal.signature, refusal.offset)) return refuse(refusal.message);
  const text = leadingText(head);
  for (const refusal of textRefusals) if (refusal.pattern.test(text)) return refuse(refusal.message);
  // GTX has no signature: a header of a plausible grid whose samples fill the file exactly.
  const gtx = parseGtxHeader(head);
  if (gtx && (size === undefined || [4, 8].some((bytes) => gtxHeaderBytes + gtx.rows * gtx.columns * bytes === size))) return { ok: true, driver: 'GTX' };
  const asGtx = gtx ? ` (read as a GTX grid header, they declare ${gtx.rows}×${gtx.columns} samples, which its ${size} bytes do not hold)` : '';
  return refuse(`it is not a GeoTIFF, netCDF, HDF5, JPEG 2000, Erdas Imagine or GTX file (its first bytes match none of them${asGtx}); ${convertHint}`);
}
