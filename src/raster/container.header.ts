/**
 * What an upload's own header declares, read from its bytes before GDAL (or PROJ) sees the file:
 * the raster's size and sample layout, the bytes that back its pixels, and the raw text of every
 * place a CRS can come from. Validation judges these first: a CRS that names a file is refused
 * before anything parses it (`crs.references.ts`), and a size the bytes cannot back is refused
 * before anything plans tiles for it (`declared.size.ts`).
 *
 * Readers exist for the formats that may be opened (`source.format.ts`): TIFF/BigTIFF, netCDF
 * classic, JPEG 2000 (JP2), Erdas Imagine (HFA), HDF5 and netCDF-4 (`hdf5.header.ts`) and GTX. Each is bounded: a header that asks for more than a few MiB of reading is refused.
 * No GDAL here: bytes come through `ByteSource`.
 */
import type { Failure } from '../pipeline/failure.js';
import { BoundedReader, HeaderError, formatBytes, freeTextAttributes, invalid, isCfAxis, overLimit, type ByteSource } from './header.reading.js';
import { isCfLonLatArray, readHdf5Structure, type Hdf5Array } from './hdf5.header.js';
import type { SourceDriver } from './source.format.js';

export { formatBytes, type ByteSource } from './header.reading.js';

/** Raw text of one place a CRS can come from, e.g. `GeoAsciiParams` or `crs#spatial_ref`. */
export interface CrsText {
  where: string;
  text: string;
}

/** One block of pixels as the header places it: where its bytes are, and how many pixel bytes it decodes to. */
export interface DeclaredRaster {
  width: number;
  height: number;
  bands: number;
  bytesPerSample: number;
  /** Pixel bytes once decoded: width × height × bands × bytes per sample. */
  declaredBytes: number;
  /** Bytes the header says back the pixels (blocks with data; sparse blocks count 0). */
  storedBytes: number;
  /** Blocks whose offset and byte count are both 0 (GDAL's SPARSE_OK): read back as nodata. */
  sparseBlocks: number;
  totalBlocks: number;
  /** The largest block once decoded, in bytes (a whole strip or tile is decoded to read any pixel of it). */
  largestBlockBytes: number;
  /** Whether blocks are compressed (uncompressed blocks are read in part). */
  compressed: boolean;
  /** HDF5: decoded bytes per stored byte of the most compressed chunk of at least 1 MiB decoded (a decompression bomb shows here). */
  largestBlockExpansion?: number;
}

export interface ContainerHeader {
  driver: SourceDriver;
  /**
   * The raster GDAL would open (TIFF: the first image; netCDF: each gridded variable).
   * `cfLonLat`: a netCDF variable on CF longitude and latitude coordinates without a grid_mapping.
   */
  rasters: Array<DeclaredRaster & { name: string; cfLonLat?: boolean }>;
  crsTexts: CrsText[];
  /** HDF5: the GDAL driver that reads it (netCDF for netCDF-4 and CF files with dimension scales). */
  opensWith?: 'netCDF' | 'HDF5';
  /** HDF5: every other dataset (coordinates, 1-D arrays), held to the same declared-size policies. */
  otherArrays?: Array<DeclaredRaster & { name: string }>;
}

export type HeaderVerdict = { ok: true; header: ContainerHeader } | { ok: false; failure: Failure };

/** Reads the header of `bytes` as `driver` would, or says why it cannot be ingested. */
export async function readContainerHeader(bytes: ByteSource, driver: SourceDriver): Promise<HeaderVerdict> {
  try {
    const readers: Record<SourceDriver, (source: ByteSource) => Promise<ContainerHeader>> = {
      GTiff: readTiffHeader,
      netCDF: readNetcdfClassicHeader,
      JP2OpenJPEG: readJp2Header,
      HFA: readHfaHeader,
      HDF5: readHdf5Header,
      GTX: readGtxHeader,
    };
    const header = await readers[driver](bytes);
    return { ok: true, header };
  } catch (error) {
    if (error instanceof HeaderError) return { ok: false, failure: error.failure };
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------
// TIFF / BigTIFF
// ---------------------------------------------------------------------------------------------

const tiffTypeSizes: Readonly<Record<number, number>> = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4, 16: 8, 17: 8, 18: 8 };

const tag = {
  imageWidth: 256,
  imageLength: 257,
  bitsPerSample: 258,
  compression: 259,
  stripOffsets: 273,
  samplesPerPixel: 277,
  rowsPerStrip: 278,
  stripByteCounts: 279,
  planarConfig: 284,
  tileWidth: 322,
  tileLength: 323,
  tileOffsets: 324,
  tileByteCounts: 325,
  geoAsciiParams: 34737,
} as const;

/** More entries than any real first IFD carries (GDAL writes about 20). */
const maxIfdEntries = 4096;

interface TiffEntry {
  type: number;
  count: number;
  /** Where the values are: inside the entry or at an offset. */
  valueOffset: number;
}

/** Image directories GDAL reads: the image, its overviews and masks (real files have a handful). */
const maxTiffDirectories = 64;

async function readTiffHeader(source: ByteSource, options: { georeferencingOnly?: boolean } = {}): Promise<ContainerHeader> {
  const reader = new BoundedReader(source);
  if (source.size < 8) invalid('it is too short to be a TIFF; the file is probably truncated — upload it again');
  const head = await reader.read(0, Math.min(16, source.size), 'the TIFF header');
  const little = head.getUint8(0) === 0x49;
  const big = head.getUint16(2, little) === 43;
  if (big && source.size < 16) invalid('it is too short to be a BigTIFF; the file is probably truncated — upload it again');
  // Every directory in the chain, not only the first: GDAL reads overviews and masks from the others
  // (and the COG driver may reuse a source's overviews), so each is held to the same policies.
  const rasters: ContainerHeader['rasters'] = [];
  let crsTexts: CrsText[] = [];
  const seen = new Set<number>();
  for (let offset = big ? Number(head.getBigUint64(8, little)) : head.getUint32(4, little); offset !== 0; ) {
    if (seen.has(offset)) invalid('its image directories loop back on themselves; the file is corrupt — upload it again');
    seen.add(offset);
    if (seen.size > maxTiffDirectories) overLimit(`it chains more than ${maxTiffDirectories} image directories`);
    const first = seen.size === 1;
    const directory = await readTiffDirectory(reader, source, offset, little, big, first ? 'the image' : `image directory ${seen.size} (an overview or mask)`, first && options.georeferencingOnly === true);
    if (first) crsTexts = directory.crsTexts;
    if (directory.raster) rasters.push(directory.raster);
    if (options.georeferencingOnly) break;
    offset = directory.next;
  }
  return { driver: 'GTiff', rasters, crsTexts };
}

async function readTiffDirectory(
  reader: BoundedReader,
  source: ByteSource,
  ifdOffset: number,
  little: boolean,
  big: boolean,
  name: string,
  georeferencingOnly: boolean,
): Promise<{ raster: (DeclaredRaster & { name: string }) | null; crsTexts: CrsText[]; next: number }> {
  const entrySize = big ? 20 : 12;
  const countView = await reader.read(ifdOffset, big ? 8 : 2, name);
  const entryCount = big ? Number(countView.getBigUint64(0, little)) : countView.getUint16(0, little);
  if (entryCount === 0) invalid(`${name} of it is empty; the file is corrupt — upload it again`);
  if (entryCount > maxIfdEntries) overLimit(`${name} of it has ${entryCount} entries, more than the ${maxIfdEntries} any raster needs`);
  const entriesStart = ifdOffset + (big ? 8 : 2);
  const entries = await reader.read(entriesStart, entryCount * entrySize, name);
  const nextView = await reader.read(entriesStart + entryCount * entrySize, big ? 8 : 4, `the link after ${name}`);
  const next = big ? Number(nextView.getBigUint64(0, little)) : nextView.getUint32(0, little);
  const byTag = new Map<number, TiffEntry>();
  for (let i = 0; i < entryCount; i++) {
    const at = i * entrySize;
    const id = entries.getUint16(at, little);
    const type = entries.getUint16(at + 2, little);
    const count = big ? Number(entries.getBigUint64(at + 4, little)) : entries.getUint32(at + 4, little);
    const size = (tiffTypeSizes[type] ?? 1) * count;
    const inline = size <= (big ? 8 : 4);
    const valueOffset = inline ? entriesStart + at + (big ? 12 : 8) : big ? Number(entries.getBigUint64(at + 12, little)) : entries.getUint32(at + 8, little);
    byTag.set(id, { type, count, valueOffset });
  }

  const numbers = async (id: number, what: string): Promise<number[]> => {
    const entry = byTag.get(id);
    if (!entry) return [];
    const size = tiffTypeSizes[entry.type];
    if (size === undefined || ![1, 3, 4, 16].includes(entry.type)) invalid(`its TIFF tag ${id} (${what}) has an unexpected type ${entry.type}; the file is corrupt — upload it again`);
    const view = await reader.read(entry.valueOffset, entry.count * size, what);
    const values: number[] = new Array<number>(entry.count);
    for (let i = 0; i < entry.count; i++) {
      values[i] = size === 1 ? view.getUint8(i) : size === 2 ? view.getUint16(i * 2, little) : size === 4 ? view.getUint32(i * 4, little) : Number(view.getBigUint64(i * 8, little));
    }
    return values;
  };
  const one = async (id: number, what: string, fallback?: number): Promise<number> => {
    const values = await numbers(id, what);
    const value = values[0] ?? fallback;
    if (value === undefined) invalid(`it has no ${what} (TIFF tag ${id}); the file is corrupt — upload it again`);
    return value;
  };

  const crsTexts: CrsText[] = [];
  const ascii = byTag.get(tag.geoAsciiParams);
  if (ascii) {
    const view = await reader.read(ascii.valueOffset, ascii.count, 'GeoTIFF ASCII parameters');
    crsTexts.push({ where: 'GeoTIFF ASCII parameters (citations)', text: new TextDecoder('latin1').decode(new Uint8Array(view.buffer, view.byteOffset, view.byteLength)) });
  }
  if (georeferencingOnly) return { raster: null, crsTexts, next };

  const width = await one(tag.imageWidth, 'image width');
  const height = await one(tag.imageLength, 'image height');
  const bands = await one(tag.samplesPerPixel, 'samples per pixel', 1);
  const bits = await numbers(tag.bitsPerSample, 'bits per sample');
  const bitsPerSample = Math.max(1, ...(bits.length > 0 ? bits : [1]));
  const bytesPerSample = Math.max(1, Math.ceil(bitsPerSample / 8));
  const compressed = (await one(tag.compression, 'compression', 1)) !== 1;
  const planar = (await one(tag.planarConfig, 'planar configuration', 1)) === 2;
  if (width === 0 || height === 0 || bands === 0) invalid(`its header declares an empty raster (${width}×${height}, ${bands} bands); the file is corrupt — upload it again`);

  const tiled = byTag.has(tag.tileOffsets);
  const blockWidth = tiled ? await one(tag.tileWidth, 'tile width') : width;
  const blockHeight = tiled ? await one(tag.tileLength, 'tile length') : Math.min(height, await one(tag.rowsPerStrip, 'rows per strip', height));
  if (blockWidth === 0 || blockHeight === 0) invalid('its header declares blocks of zero size; the file is corrupt — upload it again');
  const offsets = await numbers(tiled ? tag.tileOffsets : tag.stripOffsets, tiled ? 'tile offsets' : 'strip offsets');
  const byteCounts = await numbers(tiled ? tag.tileByteCounts : tag.stripByteCounts, tiled ? 'tile byte counts' : 'strip byte counts');
  const blocksPerPlane = Math.ceil(width / blockWidth) * Math.ceil(height / blockHeight);
  const expectedBlocks = blocksPerPlane * (planar ? bands : 1);
  if (offsets.length < expectedBlocks || byteCounts.length < expectedBlocks) {
    invalid(`${name} lists ${Math.min(offsets.length, byteCounts.length)} blocks where its ${width}×${height} pixels need ${expectedBlocks}; the file is corrupt — upload it again`);
  }
  let storedBytes = 0;
  let sparseBlocks = 0;
  for (let i = 0; i < expectedBlocks; i++) {
    const offset = offsets[i]!;
    const count = byteCounts[i]!;
    if (offset === 0 && count === 0) {
      sparseBlocks++;
      continue;
    }
    if (offset + count > source.size) {
      invalid(`block ${i} of ${name} lies past the end of the file (bytes ${offset}–${offset + count} of ${source.size}); the file is probably truncated — upload it again`);
    }
    storedBytes += count;
  }
  const samplesPerBlockPixel = planar ? 1 : bands;
  const largestBlockBytes = blockWidth * blockHeight * samplesPerBlockPixel * bytesPerSample;

  return {
    raster: {
      name,
      width,
      height,
      bands,
      bytesPerSample,
      declaredBytes: width * height * bands * bytesPerSample,
      storedBytes,
      sparseBlocks,
      totalBlocks: expectedBlocks,
      largestBlockBytes,
      compressed,
    },
    crsTexts,
    next,
  };
}

// ---------------------------------------------------------------------------------------------
// netCDF classic (CDF-1), 64-bit offset (CDF-2), 64-bit data (CDF-5)
// ---------------------------------------------------------------------------------------------

const ncTag = { dimension: 0x0a, variable: 0x0b, attribute: 0x0c } as const;
const ncTypeSizes: Readonly<Record<number, number>> = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 4, 6: 8, 7: 1, 8: 2, 9: 4, 10: 8, 11: 8 };
const ncChar = 2;
/** netCDF's own limits (NC_MAX_DIMS, NC_MAX_VARS are larger in recent libraries; these bound a crafted header). */
const maxNcDimensions = 1024;
const maxNcVariables = 8192;
const maxNcAttributes = 8192;
const maxNcNameLength = 1024;

interface NcVariable {
  name: string;
  dimensionIds: number[];
  type: number;
  begin: number;
  /** Its text attributes (units, standard_name, grid_mapping, …). */
  texts: Map<string, string>;
}

/** A cursor over a header read in growing chunks. */
class NcCursor {
  private view: DataView = new DataView(new ArrayBuffer(0));
  private start = 0;
  position = 0;

  constructor(
    private readonly reader: BoundedReader,
    private readonly wide: boolean,
  ) {}

  private async ensure(length: number): Promise<void> {
    if (this.position + length <= this.start + this.view.byteLength) return;
    const want = Math.max(length, 64 * 1024);
    const available = this.reader.size - this.position;
    if (available < length) invalid('it ends inside its own netCDF header; the file is probably truncated — upload it again');
    this.start = this.position;
    this.view = await this.reader.read(this.position, Math.min(want, available), 'the netCDF header');
  }

  async uint32(): Promise<number> {
    await this.ensure(4);
    const value = this.view.getUint32(this.position - this.start, false);
    this.position += 4;
    return value;
  }

  async uint64(): Promise<number> {
    await this.ensure(8);
    const value = this.view.getBigUint64(this.position - this.start, false);
    this.position += 8;
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) invalid('its netCDF header holds a size past 2^53; the file is corrupt — upload it again');
    return Number(value);
  }

  /** NON_NEG: 32 bits, or 64 in CDF-5. */
  async count(): Promise<number> {
    return this.wide ? this.uint64() : this.uint32();
  }

  async bytes(length: number): Promise<Uint8Array> {
    const padded = Math.ceil(length / 4) * 4;
    await this.ensure(padded);
    const at = this.position - this.start;
    const out = new Uint8Array(this.view.buffer, this.view.byteOffset + at, length);
    this.position += padded;
    return out;
  }

  async name(): Promise<string> {
    const length = await this.count();
    if (length > maxNcNameLength) overLimit(`its netCDF header has a name of ${length} characters, over the ${maxNcNameLength} allowed`);
    return new TextDecoder('utf-8', { fatal: false }).decode(await this.bytes(length));
  }
}

async function readNcAttributes(cursor: NcCursor, owner: string, crsTexts: CrsText[]): Promise<Map<string, string>> {
  const texts = new Map<string, string>();
  const listTag = await cursor.uint32();
  const count = await cursor.count();
  if (listTag === 0 && count === 0) return texts;
  if (listTag !== ncTag.attribute) invalid(`its netCDF header is malformed (attributes of ${owner}); the file is corrupt — upload it again`);
  if (count > maxNcAttributes) overLimit(`its netCDF header gives ${owner} ${count} attributes, over the ${maxNcAttributes} allowed`);
  for (let i = 0; i < count; i++) {
    const name = await cursor.name();
    const type = await cursor.uint32();
    const size = ncTypeSizes[type];
    if (size === undefined) invalid(`attribute ${name} of ${owner} has an unknown netCDF type ${type}; the file is corrupt — upload it again`);
    const values = await cursor.count();
    const raw = await cursor.bytes(values * size);
    if (type === ncChar) {
      const text = new TextDecoder('utf-8', { fatal: false }).decode(raw).replace(/\0+$/, '');
      texts.set(name, text);
      if (!freeTextAttributes.has(name.toLowerCase())) crsTexts.push({ where: `${owner} attribute ${name}`, text });
    }
  }
  return texts;
}

async function readNetcdfClassicHeader(source: ByteSource): Promise<ContainerHeader> {
  const reader = new BoundedReader(source);
  const magic = await reader.read(0, 4, 'the netCDF signature');
  const version = magic.getUint8(3);
  const wide = version === 5;
  const cursor = new NcCursor(reader, wide);
  cursor.position = 4;
  const streaming = !wide && (await peekStreaming(reader));
  let records = streaming ? 0 : await cursor.count();
  if (streaming) cursor.position += 4;

  // Dimensions.
  const dimensions: Array<{ name: string; length: number }> = [];
  {
    const listTag = await cursor.uint32();
    const count = await cursor.count();
    if (!(listTag === 0 && count === 0)) {
      if (listTag !== ncTag.dimension) invalid('its netCDF header is malformed (dimensions); the file is corrupt — upload it again');
      if (count > maxNcDimensions) overLimit(`its netCDF header declares ${count} dimensions, over the ${maxNcDimensions} allowed`);
      for (let i = 0; i < count; i++) dimensions.push({ name: await cursor.name(), length: await cursor.count() });
    }
  }
  const crsTexts: CrsText[] = [];
  await readNcAttributes(cursor, 'the file', crsTexts);

  // Variables.
  const variables: NcVariable[] = [];
  {
    const listTag = await cursor.uint32();
    const count = await cursor.count();
    if (!(listTag === 0 && count === 0)) {
      if (listTag !== ncTag.variable) invalid('its netCDF header is malformed (variables); the file is corrupt — upload it again');
      if (count > maxNcVariables) overLimit(`its netCDF header declares ${count} variables, over the ${maxNcVariables} allowed`);
      for (let i = 0; i < count; i++) {
        const name = await cursor.name();
        const rank = await cursor.count();
        if (rank > maxNcDimensions) overLimit(`variable ${name} has ${rank} dimensions, over the ${maxNcDimensions} allowed`);
        const dimensionIds: number[] = [];
        for (let d = 0; d < rank; d++) {
          const id = await cursor.count();
          if (id >= dimensions.length) invalid(`variable ${name} names dimension ${id}, which the file does not declare; the file is corrupt — upload it again`);
          dimensionIds.push(id);
        }
        const texts = await readNcAttributes(cursor, `variable ${name}`, crsTexts);
        const type = await cursor.uint32();
        if (ncTypeSizes[type] === undefined) invalid(`variable ${name} has an unknown netCDF type ${type}; the file is corrupt — upload it again`);
        await cursor.count(); // vsize: recomputed below (it saturates for variables over 4 GiB)
        const begin = version === 1 ? await cursor.uint32() : await cursor.uint64();
        variables.push({ name, dimensionIds, type, begin, texts });
      }
    }
  }

  const isRecordDimension = (id: number): boolean => dimensions[id]!.length === 0;
  const isRecordVariable = (variable: NcVariable): boolean => variable.dimensionIds.length > 0 && isRecordDimension(variable.dimensionIds[0]!);
  // Bytes of one record (record variables) or of the whole variable (others), padded as written.
  const sliceBytes = (variable: NcVariable): number => {
    const dims = isRecordVariable(variable) ? variable.dimensionIds.slice(1) : variable.dimensionIds;
    return dims.reduce((product, id) => product * dimensions[id]!.length, ncTypeSizes[variable.type]!);
  };
  const recordVariables = variables.filter(isRecordVariable);
  const padded = (bytes: number): number => Math.ceil(bytes / 4) * 4;
  // One record variable alone is not padded (netCDF's special case).
  const recordBytes = recordVariables.length === 1 ? sliceBytes(recordVariables[0]!) : recordVariables.reduce((sum, variable) => sum + padded(sliceBytes(variable)), 0);
  if (streaming && recordVariables.length > 0 && recordBytes > 0) {
    const recordsStart = Math.min(...recordVariables.map((variable) => variable.begin));
    records = Math.max(0, Math.floor((source.size - recordsStart) / recordBytes));
  }

  const rasters: ContainerHeader['rasters'] = [];
  for (const variable of variables) {
    const slice = sliceBytes(variable);
    // The last byte the variable's data needs, with every record written.
    const end = isRecordVariable(variable) ? (records === 0 ? variable.begin : variable.begin + (records - 1) * recordBytes + slice) : variable.begin + slice;
    const holds = Math.max(0, source.size - variable.begin);
    if (!Number.isSafeInteger(end) || end > source.size) {
      invalid(
        `its variable ${variable.name} declares ${formatBytes(isRecordVariable(variable) ? slice * records : slice)} of data but the file holds ${formatBytes(Math.min(holds, source.size))} from where that data starts; ` +
          'the file is truncated or has no data written — upload it again',
      );
    }
    // Gridded variables (two dimensions or more) are what GDAL opens as rasters.
    const spatial = variable.dimensionIds.slice(-2);
    if (spatial.length < 2) continue;
    const [yId, xId] = spatial as [number, number];
    const height = isRecordDimension(yId) ? records : dimensions[yId]!.length;
    const width = isRecordDimension(xId) ? records : dimensions[xId]!.length;
    const others = variable.dimensionIds.slice(0, -2).reduce((product, id) => product * (isRecordDimension(id) ? records : dimensions[id]!.length), 1);
    const bytesPerSample = ncTypeSizes[variable.type]!;
    const declaredBytes = width * height * others * bytesPerSample;
    // CF: coordinate variables share their dimension's name; degrees east and north make longitude and latitude.
    const coordinate = (id: number): NcVariable | undefined => variables.find((candidate) => candidate.name === dimensions[id]!.name && candidate.dimensionIds.length === 1);
    const cfLonLat = !variable.texts.has('grid_mapping') && isCfAxis(coordinate(xId)?.texts, 'longitude') && isCfAxis(coordinate(yId)?.texts, 'latitude');
    rasters.push({
      cfLonLat,
      name: `variable ${variable.name}`,
      width,
      height,
      bands: others,
      bytesPerSample,
      declaredBytes,
      storedBytes: declaredBytes,
      sparseBlocks: 0,
      totalBlocks: 1,
      largestBlockBytes: width * bytesPerSample,
      compressed: false,
    });
  }
  return { driver: 'netCDF', rasters, crsTexts };
}

// ---------------------------------------------------------------------------------------------
// JPEG 2000 (JP2 boxes around a codestream)
// ---------------------------------------------------------------------------------------------

/** Boxes that hold other boxes (ISO/IEC 15444-1 and -2, GMLJP2's association boxes). */
const jp2SuperBoxes = new Set(['jp2h', 'res ', 'uinf', 'asoc', 'jpch', 'jplh', 'cgrp', 'ftbl', 'comp']);
/** GeoJP2: a degenerate GeoTIFF inside a UUID box. */
const geoJp2Uuid = 'b14bf8bd083d4b43a5ae8cd7d5a6ce03';
/** More boxes than any real JP2 holds (GDAL writes about ten). */
const maxJp2Boxes = 1024;
/** XML boxes are read whole to be checked: GML boxes of real files are a few kB. */
const maxJp2XmlBytes = 1024 * 1024;

/**
 * What an XML or GML box may not do: link to a document outside the file (`xlink:href` to anything
 * but `gmljp2://` inside the file or a `#` fragment), include one (XInclude), or declare entities.
 */
function findXmlReference(xml: string): string | null {
  if (/<!ENTITY|<!DOCTYPE[^>]*\[/i.test(xml)) return 'declares XML entities';
  if (/<(?:\w+:)?include\b[^>]*\bhref\s*=/i.test(xml)) return 'includes another document (XInclude)';
  for (const match of xml.matchAll(/\b(?:xlink:)?href\s*=\s*(["'])(.*?)\1/gis)) {
    const target = match[2]!.trim();
    if (!/^gmljp2:\/\//i.test(target) && !target.startsWith('#')) return 'links to another document (xlink:href)';
  }
  if (/\bschemaLocation\s*=\s*["'][^"']*(?:file:|\/vsi)/i.test(xml)) return 'points its schema at a local file';
  return null;
}

interface Jp2Box {
  type: string;
  /** Where the box's content starts, and its length. */
  contentOffset: number;
  contentLength: number;
}

async function readJp2Boxes(reader: BoundedReader, start: number, end: number, depth: number, out: Jp2Box[]): Promise<void> {
  let offset = start;
  while (offset + 8 <= end) {
    if (out.length >= maxJp2Boxes) overLimit(`it holds more than ${maxJp2Boxes} JPEG 2000 boxes`);
    const head = await reader.read(offset, 8, 'a JPEG 2000 box header');
    let length = head.getUint32(0, false);
    const type = String.fromCharCode(head.getUint8(4), head.getUint8(5), head.getUint8(6), head.getUint8(7));
    let headerLength = 8;
    if (length === 1) {
      const extended = await reader.read(offset + 8, 8, 'a JPEG 2000 box length');
      const value = extended.getBigUint64(0, false);
      if (value > BigInt(Number.MAX_SAFE_INTEGER)) invalid('a JPEG 2000 box declares a length past 2^53; the file is corrupt — upload it again');
      length = Number(value);
      headerLength = 16;
    } else if (length === 0) {
      length = end - offset;
    }
    if (length < headerLength || offset + length > end) invalid(`its JPEG 2000 box "${type.replace(/[^\x20-\x7e]/g, '?')}" runs past the end of the file; the file is probably truncated — upload it again`);
    out.push({ type, contentOffset: offset + headerLength, contentLength: length - headerLength });
    if (jp2SuperBoxes.has(type) && depth < 8) await readJp2Boxes(reader, offset + headerLength, offset + length, depth + 1, out);
    offset += length;
  }
}

async function readJp2Header(source: ByteSource): Promise<ContainerHeader> {
  const reader = new BoundedReader(source);
  const boxes: Jp2Box[] = [];
  await readJp2Boxes(reader, 0, source.size, 0, boxes);
  const crsTexts: CrsText[] = [];
  for (const box of boxes) {
    if (box.type === 'xml ') {
      if (box.contentLength > maxJp2XmlBytes) overLimit(`it holds an XML box of ${formatBytes(box.contentLength)}, over the ${formatBytes(maxJp2XmlBytes)} allowed`);
      const view = await reader.read(box.contentOffset, box.contentLength, 'a JPEG 2000 XML box');
      const xml = new TextDecoder('utf-8', { fatal: false }).decode(new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
      const reference = findXmlReference(xml);
      if (reference) {
        throw new HeaderError({ code: 'INVALID_INPUT', message: `its GML or XML box ${reference}; a JP2 must describe itself — write it again without external references (for example \`gdal_translate -of JP2OpenJPEG -co GMLJP2=NO -co GeoJP2=YES in out.jp2\`) and upload that` });
      }
      crsTexts.push({ where: 'a JPEG 2000 GML/XML box', text: xml });
    } else if (box.type === 'uuid' && box.contentLength > 16) {
      const id = await reader.read(box.contentOffset, 16, 'a JPEG 2000 UUID box');
      const hex = Array.from(new Uint8Array(id.buffer, id.byteOffset, 16), (byte) => byte.toString(16).padStart(2, '0')).join('');
      if (hex === geoJp2Uuid) {
        const embedded: ByteSource = { size: box.contentLength - 16, read: (offset, length) => source.read(box.contentOffset + 16 + offset, Math.min(length, box.contentLength - 16 - offset)) };
        const geoTiff = await readTiffHeader(embedded, { georeferencingOnly: true });
        crsTexts.push(...geoTiff.crsTexts.map((text) => ({ ...text, where: `the GeoJP2 box's ${text.where}` })));
      }
    }
  }
  const codestream = boxes.find((box) => box.type === 'jp2c');
  if (!codestream) invalid('it has no JPEG 2000 codestream box; the file is corrupt — upload it again');
  // SOC, then the SIZ marker segment: image and tile sizes, and each component's depth.
  const siz = await reader.read(codestream.contentOffset, Math.min(codestream.contentLength, 42), 'the JPEG 2000 codestream header');
  if (siz.byteLength < 42 || siz.getUint16(0, false) !== 0xff4f || siz.getUint16(2, false) !== 0xff51) invalid('its JPEG 2000 codestream does not start with SOC and SIZ markers; the file is corrupt — upload it again');
  const width = siz.getUint32(8, false) - siz.getUint32(16, false);
  const height = siz.getUint32(12, false) - siz.getUint32(20, false);
  const tileWidth = Math.min(width, siz.getUint32(24, false));
  const tileHeight = Math.min(height, siz.getUint32(28, false));
  const components = siz.getUint16(40, false);
  if (width <= 0 || height <= 0 || components === 0 || tileWidth <= 0 || tileHeight <= 0) invalid(`its JPEG 2000 codestream declares an empty image (${width}×${height}, ${components} components); the file is corrupt — upload it again`);
  const depths = await reader.read(codestream.contentOffset + 42, Math.min(components * 3, codestream.contentLength - 42), 'the JPEG 2000 component depths');
  let bytesPerSample = 1;
  for (let c = 0; c < Math.min(components, Math.floor(depths.byteLength / 3)); c++) bytesPerSample = Math.max(bytesPerSample, Math.ceil(((depths.getUint8(c * 3) & 0x7f) + 1) / 8));
  return {
    driver: 'JP2OpenJPEG',
    rasters: [
      {
        name: 'the image',
        width,
        height,
        bands: components,
        bytesPerSample,
        declaredBytes: width * height * components * bytesPerSample,
        storedBytes: codestream.contentLength,
        sparseBlocks: 0,
        totalBlocks: Math.ceil(width / tileWidth) * Math.ceil(height / tileHeight),
        // A JPEG 2000 tile is decoded whole to read any pixel of it.
        largestBlockBytes: tileWidth * tileHeight * components * bytesPerSample,
        compressed: true,
      },
    ],
    crsTexts,
  };
}

// ---------------------------------------------------------------------------------------------
// Erdas Imagine (HFA): a tree of typed nodes
// ---------------------------------------------------------------------------------------------

/** Nodes that make GDAL open another file: spill files (.ige) and dependent files (.rrd, a base .img). */
const hfaExternalTypes = new Set(['ImgExternalRaster', 'Eimg_DependentFile', 'Eimg_DependentLayerName']);
const hfaExternalNames = new Set(['ExternalRasterDMS', 'DependentFile', 'DependentLayerName']);
/** HFA pixel types (Eimg_Layer's pixelType enum) in bits per sample. */
const hfaPixelBits = [1, 2, 4, 8, 8, 16, 16, 32, 32, 32, 64, 64, 128];
/** More nodes than any real .img holds (a few hundred for a multi-band file with statistics). */
const maxHfaNodes = 65_536;
/** Node data read to look for CRS text: projection and datum nodes are small. */
const maxHfaNodeText = 64 * 1024;

async function readHfaHeader(source: ByteSource): Promise<ContainerHeader> {
  const reader = new BoundedReader(source);
  const head = await reader.read(0, 20, 'the HFA header');
  const fileStruct = head.getUint32(16, true);
  const file = await reader.read(fileStruct, 18, 'the HFA file record');
  const root = file.getUint32(8, true);
  const rasters: ContainerHeader['rasters'] = [];
  const crsTexts: CrsText[] = [];
  const seen = new Set<number>();
  const pending: number[] = [root];
  while (pending.length > 0) {
    const at = pending.pop()!;
    if (at === 0 || seen.has(at)) continue;
    seen.add(at);
    if (seen.size > maxHfaNodes) overLimit(`its Erdas Imagine node tree has more than ${maxHfaNodes.toLocaleString('en-US')} nodes`);
    const entry = await reader.read(at, 124, 'an Erdas Imagine node');
    const next = entry.getUint32(0, true);
    const child = entry.getUint32(12, true);
    const data = entry.getUint32(16, true);
    const dataSize = entry.getInt32(20, true);
    const text = (offset: number, length: number): string => {
      const bytes = new Uint8Array(entry.buffer, entry.byteOffset + offset, length);
      const end = bytes.indexOf(0);
      return new TextDecoder('latin1').decode(end >= 0 ? bytes.subarray(0, end) : bytes);
    };
    const name = text(24, 64);
    const type = text(88, 32);
    if (hfaExternalTypes.has(type) || hfaExternalNames.has(name)) {
      throw new HeaderError({
        code: 'UNSUPPORTED_FORMAT',
        message: `it is an Erdas Imagine file whose pixels or overviews live in another file (its "${name.replace(/[^\w .-]/g, '?').slice(0, 40)}" node names a spill or dependent file), which was not uploaded and may not be read; convert it to a GeoTIFF (for example \`gdal_translate -of COG in.img out.tif\`) and upload that`,
      });
    }
    if (type === 'Eimg_Layer' && data > 0 && dataSize >= 20) {
      const layer = await reader.read(data, 20, 'an Erdas Imagine layer');
      const width = layer.getInt32(0, true);
      const height = layer.getInt32(4, true);
      const bits = hfaPixelBits[layer.getUint16(10, true)];
      const blockWidth = layer.getInt32(12, true);
      const blockHeight = layer.getInt32(16, true);
      if (bits === undefined || width <= 0 || height <= 0 || blockWidth <= 0 || blockHeight <= 0) invalid(`its Erdas Imagine layer ${name.slice(0, 40)} declares an impossible size or pixel type; the file is corrupt — upload it again`);
      const bytesPerSample = Math.max(1, Math.ceil(bits / 8));
      rasters.push({
        name: `layer ${name.slice(0, 40)}`,
        width,
        height,
        bands: 1,
        bytesPerSample,
        declaredBytes: width * height * bytesPerSample,
        storedBytes: source.size,
        sparseBlocks: 0,
        totalBlocks: Math.ceil(width / blockWidth) * Math.ceil(height / blockHeight),
        largestBlockBytes: Math.min(width, blockWidth) * Math.min(height, blockHeight) * bytesPerSample,
        // Erdas blocks may be run-length compressed.
        compressed: true,
      });
    } else if (data > 0 && dataSize > 0 && /proj|datum|map|coord|spheroid/i.test(`${type} ${name}`)) {
      const view = await reader.read(data, Math.min(dataSize, maxHfaNodeText), 'an Erdas Imagine projection node');
      crsTexts.push({ where: `its Erdas Imagine node ${name.slice(0, 40)}`, text: new TextDecoder('latin1').decode(new Uint8Array(view.buffer, view.byteOffset, view.byteLength)) });
    }
    pending.push(next, child);
  }
  if (rasters.length === 0) invalid('its Erdas Imagine file holds no raster layer; the file is corrupt — upload it again');
  // Bands of one image are layers of the same size: the declared size is theirs together.
  const [first] = rasters;
  const declaredBytes = rasters.reduce((sum, raster) => sum + raster.declaredBytes, 0);
  return { driver: 'HFA', rasters: [{ ...first!, name: 'the image', bands: rasters.length, declaredBytes, bytesPerSample: Math.max(...rasters.map((raster) => raster.bytesPerSample)) }], crsTexts };
}

/** CDF-1/2 headers written while streaming say 0xFFFFFFFF records. */
async function peekStreaming(reader: BoundedReader): Promise<boolean> {
  return (await reader.read(4, 4, 'the netCDF record count')).getUint32(0, false) === 0xffffffff;
}

// ---------------------------------------------------------------------------------------------
// HDF5 and netCDF-4 (the structure walk is `hdf5.header.ts`)
// ---------------------------------------------------------------------------------------------

function declaredArray(array: Hdf5Array, name: string): DeclaredRaster & { name: string } {
  const [height = 1, width = 1] = array.dims.slice(-2);
  const others = array.dims.slice(0, -2).reduce((product, d) => product * d, 1);
  return {
    name,
    width: array.dims.length >= 2 ? width : array.dims[0] ?? 1,
    height: array.dims.length >= 2 ? height : 1,
    bands: others,
    bytesPerSample: array.bytesPerSample,
    declaredBytes: array.declaredBytes,
    storedBytes: array.storedBytes,
    sparseBlocks: array.sparseBlocks,
    totalBlocks: array.totalBlocks,
    largestBlockBytes: array.largestBlockBytes,
    compressed: array.compressed,
    largestBlockExpansion: array.largestChunkExpansion,
  };
}

async function readHdf5Header(source: ByteSource): Promise<ContainerHeader> {
  const structure = await readHdf5Structure(source);
  const netcdf = structure.opensWith === 'netCDF';
  const nameOf = (array: Hdf5Array): string => (netcdf ? `variable ${array.path.replace(/^\//, '')}` : `dataset ${array.path}`);
  // Gridded numeric datasets (two dimensions or more) are what GDAL opens as rasters.
  const gridded = structure.arrays.filter((array) => array.numeric && array.dims.length >= 2);
  return {
    driver: 'HDF5',
    opensWith: structure.opensWith,
    rasters: gridded.map((array) => ({ ...declaredArray(array, nameOf(array)), cfLonLat: netcdf && isCfLonLatArray(array, structure.arrays) })),
    otherArrays: structure.arrays.filter((array) => !gridded.includes(array)).map((array) => declaredArray(array, nameOf(array))),
    crsTexts: structure.crsTexts,
  };
}

// ---------------------------------------------------------------------------------------------
// GTX (NOAA vertical datum grid): a 40-byte big-endian header, then rows × columns of samples
// ---------------------------------------------------------------------------------------------

export const gtxHeaderBytes = 40;

/** The GTX header's fields, or `null` when the bytes cannot be one (used to recognise the format too). */
export function parseGtxHeader(head: Uint8Array): { south: number; west: number; latStep: number; lonStep: number; rows: number; columns: number } | null {
  if (head.length < gtxHeaderBytes) return null;
  const view = new DataView(head.buffer, head.byteOffset, gtxHeaderBytes);
  const south = view.getFloat64(0, false);
  const west = view.getFloat64(8, false);
  const latStep = view.getFloat64(16, false);
  const lonStep = view.getFloat64(24, false);
  const rows = view.getInt32(32, false);
  const columns = view.getInt32(36, false);
  const plausible =
    Number.isFinite(south) && Number.isFinite(west) && south >= -90 && south <= 90 && west >= -360 && west <= 360 &&
    latStep > 0 && latStep <= 180 && lonStep > 0 && lonStep <= 360 && rows > 0 && columns > 0;
  return plausible ? { south, west, latStep, lonStep, rows, columns } : null;
}

async function readGtxHeader(source: ByteSource): Promise<ContainerHeader> {
  const reader = new BoundedReader(source);
  if (source.size < gtxHeaderBytes) invalid('it is too short to be a GTX grid; the file is probably truncated — upload it again');
  const head = await reader.read(0, gtxHeaderBytes, 'the GTX header');
  const header = parseGtxHeader(new Uint8Array(head.buffer, head.byteOffset, gtxHeaderBytes));
  if (!header) invalid('its GTX header declares an impossible grid; the file is corrupt — upload it again');
  const samples = header.rows * header.columns;
  // GDAL reads float32 samples, or float64 when the file is exactly that size.
  const bytesPerSample = source.size === gtxHeaderBytes + samples * 8 ? 8 : 4;
  const declaredBytes = samples * bytesPerSample;
  if (gtxHeaderBytes + declaredBytes !== source.size) {
    invalid(
      `its GTX header declares ${header.rows}×${header.columns} samples (${formatBytes(gtxHeaderBytes + samples * 4)} as float32) but the file is ${formatBytes(source.size)}; ` +
        'the file is truncated or its header is wrong — upload it again',
    );
  }
  return {
    driver: 'GTX',
    rasters: [
      {
        name: 'the grid',
        width: header.columns,
        height: header.rows,
        bands: 1,
        bytesPerSample,
        declaredBytes,
        storedBytes: declaredBytes,
        sparseBlocks: 0,
        totalBlocks: 1,
        largestBlockBytes: header.columns * bytesPerSample,
        compressed: false,
      },
    ],
    crsTexts: [],
  };
}
