/**
 * A GeoTIFF writer for the hostile corpus: classic little-endian TIFF written tag by tag, so a
 * case controls what GDAL's writer would never produce — GeoKeys and citations of any content
 * (an "ESRI PE String" naming files), blocks that declare more than they hold (missing, shared or
 * zero-length), one block as large as the image. Test support only; the app never imports it.
 *
 * Layout: header, one IFD with its out-of-line values, then the blocks. Offsets are 32-bit, so
 * files stay under 4 GiB (corpus files are kilobytes to a few megabytes).
 */
import { writeFileSync } from 'node:fs';

/** TIFF field types this writer uses. */
const fieldTypes = { ascii: 2, short: 3, long: 4, double: 12 } as const;
type FieldType = keyof typeof fieldTypes;
const fieldSizes: Readonly<Record<FieldType, number>> = { ascii: 1, short: 2, long: 4, double: 8 };

export interface TiffField {
  tag: number;
  type: FieldType;
  /** Numbers, or text for `ascii` (a NUL is appended). */
  values: number[] | string;
}

/** Tags by name, as the TIFF 6 and GeoTIFF 1.1 specifications number them. */
export const tiffTags = {
  imageWidth: 256,
  imageLength: 257,
  bitsPerSample: 258,
  compression: 259,
  photometric: 262,
  imageDescription: 270,
  stripOffsets: 273,
  samplesPerPixel: 277,
  rowsPerStrip: 278,
  stripByteCounts: 279,
  planarConfig: 284,
  dateTime: 306,
  predictor: 317,
  tileWidth: 322,
  tileLength: 323,
  tileOffsets: 324,
  tileByteCounts: 325,
  sampleFormat: 339,
  modelPixelScale: 33550,
  modelTiepoint: 33922,
  geoKeyDirectory: 34735,
  geoDoubleParams: 34736,
  geoAsciiParams: 34737,
  gdalMetadata: 42112,
  gdalNodata: 42113,
} as const;

/** GeoKey ids (GeoTIFF 1.1, OGC 19-008r4). */
export const geoKeys = {
  modelType: 1024,
  rasterType: 1025,
  citation: 1026,
  geographicType: 2048,
  geogCitation: 2049,
  geogAngularUnits: 2054,
  projectedType: 3072,
  pcsCitation: 3073,
  projLinearUnits: 3076,
} as const;

/** `GTModelTypeGeoKey` values; 32767 is "user-defined", which GDAL reads as "look at the citation". */
export const modelTypes = { projected: 1, geographic: 2, geocentric: 3, userDefined: 32767 } as const;

/** A GeoKey: a SHORT value, or text kept in GeoAsciiParams. */
export type GeoKeyValue = number | string;

export interface GeoTiffSpec {
  width: number;
  height: number;
  /** 8, 16, 32 or 64 bits a sample; default 8. */
  bitsPerSample?: number;
  /** 1 unsigned integer, 2 signed, 3 IEEE float; default 1. */
  sampleFormat?: 1 | 2 | 3;
  /** 1 none, 8 DEFLATE (zlib); default 1. */
  compression?: 1 | 8;
  /**
   * How the image is cut into blocks: strips of `rowsPerStrip` rows, or `tile` × `tile` tiles.
   * Default: one strip holding the whole image.
   */
  layout?: { strips: number } | { tile: number };
  /**
   * The stored bytes of block `index`, as they are in the file (already compressed); `null` = a
   * block the file does not hold (offset 0 and byte count 0, GDAL's sparse block). The same Buffer
   * returned for several blocks is written once and shared.
   */
  block: (index: number) => Buffer | null;
  /** Upper-left corner and pixel size: `[x0, dx, y0, dy]` with dy positive going down. */
  georeferencing?: { origin: [number, number]; pixelSize: [number, number] };
  /** GeoKeys in any order (written sorted, as the specification requires). */
  geoKeys?: Record<number, GeoKeyValue>;
  /** More fields (DateTime, GDAL_METADATA, ...). */
  extraFields?: TiffField[];
}

/** The number of blocks of a layout. */
export function blockCount(spec: Pick<GeoTiffSpec, 'width' | 'height' | 'layout'>): number {
  const layout = spec.layout ?? { strips: spec.height };
  if ('tile' in layout) return Math.ceil(spec.width / layout.tile) * Math.ceil(spec.height / layout.tile);
  return Math.ceil(spec.height / layout.strips);
}

function geoKeyFields(keys: Record<number, GeoKeyValue>): TiffField[] {
  const entries = Object.entries(keys)
    .map(([id, value]) => [Number(id), value] as const)
    .sort((a, b) => a[0] - b[0]);
  let ascii = '';
  const directory = [1, 1, 0, entries.length];
  for (const [id, value] of entries) {
    if (typeof value === 'number') {
      directory.push(id, 0, 1, value);
    } else {
      // Each text ends with '|' in GeoAsciiParams; its count includes the '|'.
      directory.push(id, tiffTags.geoAsciiParams, value.length + 1, ascii.length);
      ascii += `${value}|`;
    }
  }
  const fields: TiffField[] = [{ tag: tiffTags.geoKeyDirectory, type: 'short', values: directory }];
  if (ascii) fields.push({ tag: tiffTags.geoAsciiParams, type: 'ascii', values: ascii });
  return fields;
}

function encodeFieldValues(field: TiffField): Buffer {
  if (typeof field.values === 'string') return Buffer.concat([Buffer.from(field.values, 'latin1'), Buffer.from([0])]);
  const size = fieldSizes[field.type];
  const buffer = Buffer.alloc(field.values.length * size);
  field.values.forEach((value, i) => {
    if (field.type === 'short') buffer.writeUInt16LE(value, i * size);
    else if (field.type === 'long') buffer.writeUInt32LE(value, i * size);
    else buffer.writeDoubleLE(value, i * size);
  });
  return buffer;
}

function encodeIfd(fields: TiffField[], ifdOffset: number): Buffer {
  const ifdSize = 2 + fields.length * 12 + 4;
  let outOfLine = ifdOffset + ifdSize;
  const ifd = Buffer.alloc(ifdSize);
  const extra: Buffer[] = [];
  ifd.writeUInt16LE(fields.length, 0);
  fields.forEach((field, i) => {
    const entry = 2 + i * 12;
    const values = encodeFieldValues(field);
    const valueCount = typeof field.values === 'string' ? values.length : field.values.length;
    ifd.writeUInt16LE(field.tag, entry);
    ifd.writeUInt16LE(fieldTypes[field.type], entry + 2);
    ifd.writeUInt32LE(valueCount, entry + 4);
    if (values.length <= 4) {
      values.copy(ifd, entry + 8);
    } else {
      ifd.writeUInt32LE(outOfLine, entry + 8);
      extra.push(values);
      outOfLine += values.length;
      if (outOfLine % 2) {
        extra.push(Buffer.alloc(1));
        outOfLine++;
      }
    }
  });
  ifd.writeUInt32LE(0, ifdSize - 4); // no next IFD
  return Buffer.concat([ifd, ...extra]);
}

/**
 * The bytes of a one-image GeoTIFF: header, IFD (with its out-of-line values), then the blocks,
 * so that cutting the file anywhere after the IFD leaves a readable header whose blocks run past
 * the end (a truncated upload).
 */
export function encodeGeoTiff(spec: GeoTiffSpec): Buffer {
  const layout = spec.layout ?? { strips: spec.height };
  const count = blockCount(spec);
  const bits = spec.bitsPerSample ?? 8;
  const blocks = Array.from({ length: count }, (_, i) => spec.block(i));
  const fieldsFor = (offsets: number[], byteCounts: number[]): TiffField[] =>
    [
      { tag: tiffTags.imageWidth, type: 'long' as const, values: [spec.width] },
      { tag: tiffTags.imageLength, type: 'long' as const, values: [spec.height] },
      { tag: tiffTags.bitsPerSample, type: 'short' as const, values: [bits] },
      { tag: tiffTags.compression, type: 'short' as const, values: [spec.compression ?? 1] },
      { tag: tiffTags.photometric, type: 'short' as const, values: [1] },
      { tag: tiffTags.samplesPerPixel, type: 'short' as const, values: [1] },
      { tag: tiffTags.planarConfig, type: 'short' as const, values: [1] },
      { tag: tiffTags.sampleFormat, type: 'short' as const, values: [spec.sampleFormat ?? 1] },
      ...('tile' in layout
        ? [
            { tag: tiffTags.tileWidth, type: 'long' as const, values: [layout.tile] },
            { tag: tiffTags.tileLength, type: 'long' as const, values: [layout.tile] },
            { tag: tiffTags.tileOffsets, type: 'long' as const, values: offsets },
            { tag: tiffTags.tileByteCounts, type: 'long' as const, values: byteCounts },
          ]
        : [
            { tag: tiffTags.rowsPerStrip, type: 'long' as const, values: [layout.strips] },
            { tag: tiffTags.stripOffsets, type: 'long' as const, values: offsets },
            { tag: tiffTags.stripByteCounts, type: 'long' as const, values: byteCounts },
          ]),
      ...(spec.georeferencing
        ? [
            { tag: tiffTags.modelPixelScale, type: 'double' as const, values: [spec.georeferencing.pixelSize[0], spec.georeferencing.pixelSize[1], 0] },
            { tag: tiffTags.modelTiepoint, type: 'double' as const, values: [0, 0, 0, spec.georeferencing.origin[0], spec.georeferencing.origin[1], 0] },
          ]
        : []),
      ...(spec.geoKeys ? geoKeyFields(spec.geoKeys) : []),
      ...(spec.extraFields ?? []),
    ].sort((a, b) => a.tag - b.tag);

  // The IFD's length depends on how many offsets there are, not on their values.
  const zeros = blocks.map(() => 0);
  const dataStart = 8 + encodeIfd(fieldsFor(zeros, zeros), 8).length;
  // Blocks after the IFD; a Buffer used for several blocks is written once.
  const chunks: Buffer[] = [];
  const written = new Map<Buffer, number>();
  const offsets: number[] = [];
  const byteCounts: number[] = [];
  let at = dataStart;
  for (const bytes of blocks) {
    if (bytes === null || bytes.length === 0) {
      offsets.push(0);
      byteCounts.push(0);
      continue;
    }
    let offset = written.get(bytes);
    if (offset === undefined) {
      offset = at;
      written.set(bytes, offset);
      chunks.push(bytes);
      at += bytes.length;
    }
    offsets.push(offset);
    byteCounts.push(bytes.length);
  }
  const header = Buffer.alloc(8);
  header.write('II', 0, 'latin1');
  header.writeUInt16LE(42, 2);
  header.writeUInt32LE(8, 4);
  return Buffer.concat([header, encodeIfd(fieldsFor(offsets, byteCounts), 8), ...chunks]);
}

export function writeGeoTiff(path: string, spec: GeoTiffSpec): string {
  writeFileSync(path, encodeGeoTiff(spec));
  return path;
}

/** What a TIFF's first IFD says, read back: for the corpus's own checks that a file is what it claims. */
export interface TiffSummary {
  width: number;
  height: number;
  blocks: Array<{ offset: number; byteCount: number }>;
  geoAsciiParams: string | undefined;
  geoKeys: Map<number, number | string>;
  ascii: Map<number, string>;
}

/** Reads the first IFD of a classic or BigTIFF file (little- or big-endian). */
export function readTiffSummary(bytes: Buffer): TiffSummary {
  const little = bytes.toString('latin1', 0, 2) === 'II';
  const u16 = (at: number): number => (little ? bytes.readUInt16LE(at) : bytes.readUInt16BE(at));
  const u32 = (at: number): number => (little ? bytes.readUInt32LE(at) : bytes.readUInt32BE(at));
  const u64 = (at: number): number => Number(little ? bytes.readBigUInt64LE(at) : bytes.readBigUInt64BE(at));
  const big = u16(2) === 43;
  const sizes: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 16: 8, 17: 8 };
  const ifd = big ? u64(8) : u32(4);
  const count = big ? u64(ifd) : u16(ifd);
  const entrySize = big ? 20 : 12;
  const first = ifd + (big ? 8 : 2);
  const numbers = new Map<number, number[]>();
  const ascii = new Map<number, string>();
  for (let i = 0; i < count; i++) {
    const entry = first + i * entrySize;
    const tag = u16(entry);
    const type = u16(entry + 2);
    const n = big ? u64(entry + 4) : u32(entry + 4);
    const size = (sizes[type] ?? 1) * n;
    const inline = big ? size <= 8 : size <= 4;
    const valueAt = inline ? entry + (big ? 12 : 8) : big ? u64(entry + 12) : u32(entry + 8);
    if (type === 2) {
      ascii.set(tag, bytes.toString('latin1', valueAt, valueAt + n).replace(/\0+$/, ''));
      continue;
    }
    const values: number[] = [];
    for (let k = 0; k < n && k < 2_000_000; k++) {
      const at = valueAt + k * (sizes[type] ?? 1);
      if (type === 3) values.push(u16(at));
      else if (type === 4) values.push(u32(at));
      else if (type === 16) values.push(u64(at));
      else if (type === 12) values.push(little ? bytes.readDoubleLE(at) : bytes.readDoubleBE(at));
    }
    numbers.set(tag, values);
  }
  const offsets = numbers.get(tiffTags.tileOffsets) ?? numbers.get(tiffTags.stripOffsets) ?? [];
  const counts = numbers.get(tiffTags.tileByteCounts) ?? numbers.get(tiffTags.stripByteCounts) ?? [];
  const geoAsciiParams = ascii.get(tiffTags.geoAsciiParams);
  const geoKeyValues = new Map<number, number | string>();
  const directory = numbers.get(tiffTags.geoKeyDirectory) ?? [];
  for (let k = 4; k + 3 < directory.length; k += 4) {
    const [id, location, n, value] = directory.slice(k, k + 4) as [number, number, number, number];
    if (location === 0) geoKeyValues.set(id, value);
    else if (location === tiffTags.geoAsciiParams && geoAsciiParams !== undefined) geoKeyValues.set(id, geoAsciiParams.slice(value, value + n).replace(/\|$/, ''));
  }
  return {
    width: numbers.get(tiffTags.imageWidth)?.[0] ?? 0,
    height: numbers.get(tiffTags.imageLength)?.[0] ?? 0,
    blocks: offsets.map((offset, i) => ({ offset, byteCount: counts[i] ?? 0 })),
    geoAsciiParams,
    geoKeys: geoKeyValues,
    ascii,
  };
}
