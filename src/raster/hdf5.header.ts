/**
 * HDF5 (and so netCDF-4) read from raw bytes before libhdf5, libnetcdf or GDAL see the file.
 *
 * HDF5 can point outside itself: external links (another file, by path), external raw storage
 * (a dataset whose bytes live in another file), virtual datasets (mapped from other files),
 * filters loaded as plugins, multi-file drivers named in the superblock, and attributes holding
 * URLs or CRS text that name files. libhdf5 follows an external link as soon as anyone traverses
 * it, and GDAL's drivers traverse every group to list subdatasets. So the whole object tree is
 * walked here first — superblock, object headers and their continuation blocks, old-style groups
 * (v1 B-trees, symbol nodes, local heaps), new-style groups (link messages, and dense links in a
 * fractal heap indexed by a v2 B-tree), attributes (compact and dense), datatypes, dataspaces,
 * layouts, filter pipelines and chunk indexes — and a file that uses any of those references is
 * refused, naming what, never its value. Declared sizes are checked against stored bytes chunk
 * by chunk. Everything is bounded: bytes read (`maxHeaderBytes`), objects, depth, messages, links,
 * chunks, and every loop is guarded. No GDAL here: bytes come through `ByteSource`.
 */
import { boundText } from '../pipeline/bounded.text.js';
import { BoundedReader, formatBytes, freeTextAttributes, invalid, isCfAxis, overLimit, type ByteSource } from './header.reading.js';

/** The HDF5 signature; the superblock starts at 0 or after a user block of 512, 1024, 2048… bytes. */
export const hdf5Signature = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a] as const;
/** Where the superblock is looked for (libhdf5 searches further; a larger user block is refused by `source.format.ts`). */
export const hdf5SuperblockOffsets = [0, 512, 1024, 2048] as const;

/** Filters libhdf5 applies without a plugin: deflate, shuffle, Fletcher-32, szip (Debian's libhdf5 has libaec), N-bit, scale-offset. */
const allowedFilters = new Set([1, 2, 3, 4, 5, 6]);

/** Bounds on a structure no real file comes near (netCDF-4 files of CMIP6 hold a few hundred objects). */
export const hdf5Limits = {
  objects: 10_000,
  depth: 32,
  messagesPerObject: 4096,
  continuationsPerObject: 256,
  links: 100_000,
  attributesPerObject: 10_000,
  chunks: 2_000_000,
  softLinkHops: 16,
  /** Text of one attribute (values beyond it are not CRS text GDAL would read whole). */
  attributeTextBytes: 1024 * 1024,
  /** One global heap collection (variable-length strings, dimension lists). */
  globalHeapBytes: 4 * 1024 * 1024,
  /** One local heap (names of an old-style group). */
  localHeapBytes: 16 * 1024 * 1024,
  rank: 32,
};

/** A dataset's declared size, stored bytes and chunks, as `declared.size.ts` judges them. */
export interface Hdf5Array {
  /** Its path in the file, bounded and stripped of control characters. */
  path: string;
  dims: number[];
  bytesPerSample: number;
  /** Numeric (integer or floating point) samples: what GDAL reads as pixels. */
  numeric: boolean;
  declaredBytes: number;
  storedBytes: number;
  totalBlocks: number;
  sparseBlocks: number;
  largestBlockBytes: number;
  /** Decoded bytes per stored byte of its most compressed chunk of at least 1 MiB decoded (0: none). */
  largestChunkExpansion: number;
  compressed: boolean;
  texts: Map<string, string>;
  /** netCDF-4 dimensions: the object header address of each dimension's scale (DIMENSION_LIST). */
  dimensionScales: Array<number | null>;
  address: number;
}

export interface Hdf5Structure {
  /** The GDAL driver that reads it as its writer meant: netCDF for netCDF-4 (and CF files with dimension scales), HDF5 otherwise. */
  opensWith: 'netCDF' | 'HDF5';
  arrays: Hdf5Array[];
  crsTexts: Array<{ where: string; text: string }>;
}

const undefinedAddress = -1;

/** A printable, bounded name for messages: names come from the upload. */
function shown(name: string): string {
  return boundText(name.replace(/[^\x20-\x7e]/g, '?'), 80);
}

const conversionHint = 'convert it to a GeoTIFF (for example `gdal_translate -of COG in.nc out.tif`) or netCDF classic (`nccopy -k classic in.nc out.nc`) and upload that';

/** A refusal of something the file does (not a corruption): says what, and what to convert to. */
function refuse(message: string, hint = conversionHint): never {
  invalid(`${message}; ${hint}`);
}

/** Reads little-endian fields of a block already read. */
class Cursor {
  constructor(
    readonly view: DataView,
    public position: number,
    private readonly offsetSize: number,
    private readonly lengthSize: number,
  ) {}

  private need(length: number): void {
    if (this.position + length > this.view.byteLength) invalid('its HDF5 structure is malformed (a field runs past its block); the file is corrupt — upload it again');
  }

  u8(): number {
    this.need(1);
    return this.view.getUint8(this.position++);
  }

  u16(): number {
    this.need(2);
    const value = this.view.getUint16(this.position, true);
    this.position += 2;
    return value;
  }

  u32(): number {
    this.need(4);
    const value = this.view.getUint32(this.position, true);
    this.position += 4;
    return value;
  }

  /** An unsigned integer of `size` bytes; all ones is `undefinedAddress` (HDF5's "undefined"). */
  uint(size: number): number {
    this.need(size);
    let value = 0n;
    let allOnes = true;
    for (let i = size - 1; i >= 0; i--) {
      const byte = this.view.getUint8(this.position + i);
      if (byte !== 0xff) allOnes = false;
      value = (value << 8n) | BigInt(byte);
    }
    this.position += size;
    if (allOnes && size > 0) return undefinedAddress;
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) overLimit('its HDF5 structure holds a size or address past 2^53');
    return Number(value);
  }

  offset(): number {
    return this.uint(this.offsetSize);
  }

  length(): number {
    return this.uint(this.lengthSize);
  }

  skip(length: number): void {
    this.need(length);
    this.position += length;
  }

  bytes(length: number): Uint8Array {
    this.need(length);
    const out = new Uint8Array(this.view.buffer, this.view.byteOffset + this.position, length);
    this.position += length;
    return out;
  }

  signature(): string {
    return String.fromCharCode(...this.bytes(4));
  }

  get remaining(): number {
    return this.view.byteLength - this.position;
  }
}

function sub(view: DataView, offset: number, length: number): DataView {
  if (offset < 0 || length < 0 || offset + length > view.byteLength) invalid('its HDF5 structure is malformed (a field runs past its block); the file is corrupt — upload it again');
  return new DataView(view.buffer, view.byteOffset + offset, length);
}

function text(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return new TextDecoder('utf-8', { fatal: false }).decode(end >= 0 ? bytes.subarray(0, end) : bytes);
}

/** Bytes to encode `value` (HDF5's H5VM_limit_enc_size). */
function limitEncodedSize(value: number): number {
  return Math.floor(Math.log2(Math.max(1, value)) / 8) + 1;
}

interface Message {
  type: number;
  flags: number;
  data: DataView;
}

interface Datatype {
  typeClass: number;
  size: number;
  /** Class bit field (string padding, vlen kind…). */
  bits: number;
  /** Variable-length: the base type. */
  base?: Datatype;
}

interface Dataspace {
  dims: number[];
  count: number;
}

interface Link {
  name: string;
  kind: 'hard' | 'soft' | 'external' | 'user-defined';
  address?: number;
  target?: string;
}

interface Attribute {
  name: string;
  datatype: Datatype;
  dataspace: Dataspace;
  data: DataView;
}

const messageType = {
  dataspace: 0x01,
  linkInfo: 0x02,
  datatype: 0x03,
  fillValueOld: 0x04,
  fillValue: 0x05,
  link: 0x06,
  externalFiles: 0x07,
  layout: 0x08,
  filterPipeline: 0x0b,
  attribute: 0x0c,
  continuation: 0x10,
  symbolTable: 0x11,
  sharedMessageTable: 0x0f,
  driverInfo: 0x14,
  attributeInfo: 0x15,
} as const;

class Hdf5Walker {
  private offsetSize = 8;
  private lengthSize = 8;
  private base = 0;
  private readonly visited = new Map<number, 'group' | 'other'>();
  private links = 0;
  private readonly globalHeaps = new Map<number, Map<number, { offset: number; size: number; view: DataView }>>();
  readonly arrays: Hdf5Array[] = [];
  readonly crsTexts: Array<{ where: string; text: string }> = [];
  /** Every path reached, and soft links to resolve once the tree is known. */
  private readonly paths = new Map<string, { soft?: string }>();
  private readonly softLinks: Array<{ group: string; path: string; target: string }> = [];
  private readonly rootTexts = new Map<string, string>();
  private scalesSeen = false;
  /** Objects named by object references (dimension scales beyond the first of a dimension). */
  private readonly referenced: number[] = [];

  constructor(
    private readonly reader: BoundedReader,
    private readonly size: number,
  ) {}

  private cursor(view: DataView, position = 0): Cursor {
    return new Cursor(view, position, this.offsetSize, this.lengthSize);
  }

  /** Reads `length` bytes at file address `address` (relative to the base address). */
  private async at(address: number, length: number, what: string): Promise<DataView> {
    if (address === undefinedAddress) invalid(`its HDF5 structure points ${what} at an undefined address; the file is corrupt — upload it again`);
    return this.reader.read(this.base + address, length, what);
  }

  private end(address: number, length: number): number {
    return this.base + address + length;
  }

  async walk(): Promise<Hdf5Structure> {
    const root = await this.readSuperblock();
    this.paths.set('/', {});
    await this.walkObject(root, '/', [], 0);
    // Dimension scales are found by address (object references), so one no group links to is
    // still opened by libnetcdf: it is held to the same rules.
    for (let i = 0; i < this.arrays.length; i++) {
      for (const address of this.arrays[i]!.dimensionScales) {
        if (address !== null && address !== undefinedAddress && !this.visited.has(address)) await this.walkObject(address, `/(a dimension scale of ${this.arrays[i]!.path})`, [], 1);
      }
    }
    for (let i = 0; i < this.referenced.length; i++) {
      const address = this.referenced[i]!;
      if (address !== undefinedAddress && !this.visited.has(address)) await this.walkObject(address, '/(a dimension scale)', [], 1);
    }
    this.resolveSoftLinks();
    const netcdf = this.rootTexts.has('_NCProperties') || this.scalesSeen;
    return { opensWith: netcdf ? 'netCDF' : 'HDF5', arrays: this.arrays, crsTexts: this.crsTexts };
  }

  private async readSuperblock(): Promise<number> {
    let start = -1;
    for (const offset of hdf5SuperblockOffsets) {
      if (offset + 8 > this.size) break;
      const head = await this.reader.read(offset, 8, 'the HDF5 signature');
      if (hdf5Signature.every((byte, i) => head.getUint8(i) === byte)) {
        start = offset;
        break;
      }
    }
    if (start < 0) invalid('it has no HDF5 superblock where one may be; the file is corrupt — upload it again');
    if (start > 0) {
      // A user block is free for any use: a second format hidden there (a polyglot) could be opened
      // by another reader. The libraries that write HDF5 leave it zeroed.
      const userBlock = await this.reader.read(0, start, 'the HDF5 user block');
      for (let i = 0; i < start; i++) {
        if (userBlock.getUint8(i) !== 0) refuse(`its ${start}-byte HDF5 user block holds data (it may be another file format in disguise)`);
      }
    }
    const head = await this.reader.read(start, Math.min(this.size - start, 96), 'the HDF5 superblock');
    const version = head.getUint8(8);
    let root: number;
    if (version === 0 || version === 1) {
      this.offsetSize = head.getUint8(13);
      this.lengthSize = head.getUint8(14);
      this.checkSizes();
      const fields = this.cursor(head, version === 0 ? 24 : 28);
      const base = fields.offset();
      fields.offset(); // free-space info (reserved)
      const eof = fields.offset();
      const driverInfo = fields.offset();
      this.checkBase(base, start, eof);
      if (driverInfo !== undefinedAddress) refuse('its HDF5 superblock names a file driver (split or multi-file HDF5 keeps its data in other files)');
      // The root group's symbol table entry: link name offset, then its object header address.
      fields.offset();
      root = fields.offset();
    } else if (version === 2 || version === 3) {
      this.offsetSize = head.getUint8(9);
      this.lengthSize = head.getUint8(10);
      this.checkSizes();
      const fields = this.cursor(head, 12);
      const base = fields.offset();
      const extension = fields.offset();
      const eof = fields.offset();
      root = fields.offset();
      this.checkBase(base, start, eof);
      if (extension !== undefinedAddress) {
        for (const message of await this.readObjectHeader(extension, 'the superblock extension')) {
          if (message.type === messageType.driverInfo) refuse('its HDF5 superblock names a file driver (split or multi-file HDF5 keeps its data in other files)');
          if (message.type === messageType.sharedMessageTable) refuse('it shares HDF5 object header messages between objects (a shared message table), which is not read');
        }
      }
    } else {
      invalid(`its HDF5 superblock has version ${version}, which is not read; the file is corrupt or from an HDF5 newer than 1.14 — upload it again`);
    }
    return root;
  }

  private checkSizes(): void {
    if (![2, 4, 8].includes(this.offsetSize) || ![2, 4, 8].includes(this.lengthSize)) invalid('its HDF5 superblock declares impossible address sizes; the file is corrupt — upload it again');
  }

  /** libhdf5 takes addresses relative to where it found the superblock, whatever base address it records (H5Fsuper.c). */
  private checkBase(_base: number, start: number, eof: number): void {
    this.base = start;
    if (eof !== undefinedAddress && eof > this.size) {
      invalid(`its HDF5 superblock says the file is ${formatBytes(eof)} but ${formatBytes(this.size)} were uploaded; the file is truncated — upload it again`);
    }
  }

  /** The messages of the object header at `address`, with its continuation blocks. */
  private async readObjectHeader(address: number, what: string): Promise<Message[]> {
    const messages: Message[] = [];
    const probe = await this.at(address, Math.min(16, this.size - this.base - address), `the object header of ${what}`);
    const blocks: Array<{ address: number; length: number }> = [];
    const seenBlocks = new Set<number>([address]);
    let creationOrder = false;
    let v2 = false;
    if (probe.byteLength >= 4 && probe.getUint32(0, true) === 0x5244484f /* OHDR */) {
      v2 = true;
      const head = await this.at(address, Math.min(48, this.size - this.base - address), `the object header of ${what}`);
      const cursor = this.cursor(head, 4);
      if (cursor.u8() !== 2) invalid(`the object header of ${what} has an unknown version; the file is corrupt — upload it again`);
      const flags = cursor.u8();
      creationOrder = (flags & 0x04) !== 0;
      if (flags & 0x20) cursor.skip(16);
      if (flags & 0x10) cursor.skip(4);
      const chunkSize = cursor.uint(1 << (flags & 0x03));
      const start = cursor.position;
      const chunk = await this.at(address + start, chunkSize, `the object header of ${what}`);
      this.parseMessages(chunk, true, creationOrder, messages, blocks, what);
    } else {
      if (probe.byteLength < 16 || probe.getUint8(0) !== 1) invalid(`the object header of ${what} is not one; the file is corrupt — upload it again`);
      const headerSize = probe.getUint32(8, true);
      const chunk = await this.at(address + 16, headerSize, `the object header of ${what}`);
      this.parseMessages(chunk, false, false, messages, blocks, what);
    }
    for (let i = 0; i < blocks.length; i++) {
      if (i >= hdf5Limits.continuationsPerObject) overLimit(`the object header of ${what} chains more than ${hdf5Limits.continuationsPerObject} continuation blocks`);
      const block = blocks[i]!;
      if (seenBlocks.has(block.address)) invalid(`the object header of ${what} continues into itself (a loop); the file is corrupt — upload it again`);
      seenBlocks.add(block.address);
      const chunk = await this.at(block.address, block.length, `a continuation of the object header of ${what}`);
      if (v2) {
        if (chunk.byteLength < 8 || chunk.getUint32(0, true) !== 0x4b48434f /* OCHK */) invalid(`a continuation of the object header of ${what} has no signature; the file is corrupt — upload it again`);
        this.parseMessages(sub(chunk, 4, chunk.byteLength - 8), true, creationOrder, messages, blocks, what);
      } else {
        this.parseMessages(chunk, false, false, messages, blocks, what);
      }
    }
    return messages;
  }

  private parseMessages(chunk: DataView, v2: boolean, creationOrder: boolean, out: Message[], blocks: Array<{ address: number; length: number }>, what: string): void {
    const cursor = this.cursor(chunk);
    const headerSize = v2 ? 4 + (creationOrder ? 2 : 0) : 8;
    while (cursor.remaining >= headerSize) {
      if (out.length >= hdf5Limits.messagesPerObject) overLimit(`the object header of ${what} holds more than ${hdf5Limits.messagesPerObject} messages`);
      const type = v2 ? cursor.u8() : cursor.u16();
      const size = cursor.u16();
      const flags = cursor.u8();
      if (v2) {
        if (creationOrder) cursor.skip(2);
      } else {
        cursor.skip(3);
      }
      if (size > cursor.remaining) invalid(`a message in the object header of ${what} runs past its block; the file is corrupt — upload it again`);
      const data = sub(chunk, cursor.position, size);
      cursor.skip(size);
      if (type === 0) continue; // NIL: padding
      if (type === messageType.continuation) {
        const fields = this.cursor(data);
        blocks.push({ address: fields.offset(), length: fields.length() });
        continue;
      }
      out.push({ type, flags, data });
    }
  }

  /** A message stored in another object header (a committed datatype), or a refusal for one in the shared message heap. */
  private async sharedMessage(data: DataView, type: number, what: string): Promise<DataView> {
    const cursor = this.cursor(data);
    const version = cursor.u8();
    const kind = cursor.u8();
    if (version === 1) cursor.skip(6);
    if (version === 3 && kind !== 2) refuse(`${what} keeps a message in HDF5's shared message heap, which is not read`);
    const address = cursor.offset();
    const messages = await this.readObjectHeader(address, `a committed datatype of ${what}`);
    const found = messages.find((message) => message.type === type && (message.flags & 0x02) === 0);
    if (!found) invalid(`${what} shares a message that is not where it points; the file is corrupt — upload it again`);
    return found.data;
  }

  private parseDatatype(data: DataView, what: string, depth = 0): Datatype {
    if (depth > 8) invalid(`the datatype of ${what} nests too deeply; the file is corrupt — upload it again`);
    const cursor = this.cursor(data);
    const classAndVersion = cursor.u8();
    const bits = cursor.u8() | (cursor.u8() << 8) | (cursor.u8() << 16);
    const size = cursor.u32();
    const typeClass = classAndVersion & 0x0f;
    const datatype: Datatype = { typeClass, size, bits };
    if (typeClass === 9) datatype.base = this.parseDatatype(sub(data, 8, data.byteLength - 8), what, depth + 1);
    return datatype;
  }

  private parseDataspace(data: DataView, what: string): Dataspace {
    const cursor = this.cursor(data);
    const version = cursor.u8();
    const rank = cursor.u8();
    cursor.u8(); // flags (maximum dimensions follow; not needed)
    let isNull = false;
    if (version === 1) cursor.skip(5);
    else if (version === 2) isNull = cursor.u8() === 2;
    else invalid(`the dataspace of ${what} has an unknown version; the file is corrupt — upload it again`);
    if (rank > hdf5Limits.rank) invalid(`its HDF5 ${what} has ${rank} dimensions, more than HDF5 allows; the file is corrupt — upload it again`);
    const dims: number[] = [];
    let count = 1;
    for (let i = 0; i < rank; i++) {
      const dim = cursor.length();
      if (dim === undefinedAddress) overLimit(`its HDF5 ${what} declares a dimension of 2^64 elements`);
      dims.push(dim);
      count *= dim;
    }
    if (!Number.isSafeInteger(count)) overLimit(`its HDF5 ${what} declares ${dims.join('×')} elements, past 2^53`);
    return { dims, count: isNull ? 0 : count };
  }

  private async parseAttribute(data: DataView, owner: string): Promise<Attribute> {
    const cursor = this.cursor(data);
    const version = cursor.u8();
    const flags = version === 1 ? (cursor.u8(), 0) : cursor.u8();
    const nameSize = cursor.u16();
    const datatypeSize = cursor.u16();
    const dataspaceSize = cursor.u16();
    if (version === 3) cursor.u8(); // name encoding
    if (version < 1 || version > 3) invalid(`an attribute of ${owner} has an unknown version; the file is corrupt — upload it again`);
    const pad = (n: number): number => (version === 1 ? Math.ceil(n / 8) * 8 : n);
    const name = text(cursor.bytes(nameSize));
    cursor.skip(pad(nameSize) - nameSize);
    const what = `attribute ${shown(name)} of ${owner}`;
    let datatypeView = sub(data, cursor.position, datatypeSize);
    cursor.skip(pad(datatypeSize));
    if (flags & 0x01) datatypeView = await this.sharedMessage(datatypeView, messageType.datatype, what);
    const dataspaceView = sub(data, cursor.position, dataspaceSize);
    cursor.skip(Math.min(pad(dataspaceSize), cursor.remaining));
    if (flags & 0x02) refuse(`${what} shares its dataspace through HDF5's shared messages, which are not read`);
    return { name, datatype: this.parseDatatype(datatypeView, what), dataspace: this.parseDataspace(dataspaceView, what), data: sub(data, cursor.position, cursor.remaining) };
  }

  private async globalHeapObject(collection: number, index: number, what: string): Promise<DataView> {
    let objects = this.globalHeaps.get(collection);
    if (!objects) {
      const head = await this.at(collection, 8 + this.lengthSize, `the global heap of ${what}`);
      const cursor = this.cursor(head);
      if (cursor.signature() !== 'GCOL') invalid(`${what} points into a global heap that is not one; the file is corrupt — upload it again`);
      cursor.skip(4);
      const size = cursor.length();
      if (size > hdf5Limits.globalHeapBytes) overLimit(`${what} lives in a global heap of ${formatBytes(size)}, over the ${formatBytes(hdf5Limits.globalHeapBytes)} read`);
      const view = await this.at(collection, size, `the global heap of ${what}`);
      objects = new Map();
      const objectsCursor = this.cursor(view, 8 + this.lengthSize);
      while (objectsCursor.remaining >= 8 + this.lengthSize) {
        const id = objectsCursor.u16();
        objectsCursor.skip(6);
        const objectSize = objectsCursor.length();
        if (id === 0) break; // free space
        if (objectSize > objectsCursor.remaining) invalid(`the global heap of ${what} runs past its end; the file is corrupt — upload it again`);
        objects.set(id, { offset: objectsCursor.position, size: objectSize, view });
        objectsCursor.skip(Math.min(objectsCursor.remaining, Math.ceil(objectSize / 8) * 8));
      }
      this.globalHeaps.set(collection, objects);
    }
    const found = objects.get(index);
    if (!found) invalid(`${what} points at a global heap object that does not exist; the file is corrupt — upload it again`);
    return sub(found.view, found.offset, found.size);
  }

  /** The text of a string attribute (fixed or variable length), or `null` for other types. */
  private async attributeText(attribute: Attribute, what: string): Promise<string | null> {
    const { datatype, dataspace, data } = attribute;
    const values: string[] = [];
    let total = 0;
    const count = Math.min(dataspace.count, 4096);
    if (datatype.typeClass === 3) {
      for (let i = 0; i < count && (i + 1) * datatype.size <= data.byteLength && total < hdf5Limits.attributeTextBytes; i++) {
        const value = text(new Uint8Array(data.buffer, data.byteOffset + i * datatype.size, Math.min(datatype.size, hdf5Limits.attributeTextBytes)));
        values.push(value);
        total += value.length;
      }
      return values.join(', ');
    }
    if (datatype.typeClass === 9 && (datatype.bits & 0x0f) === 1) {
      const cursor = this.cursor(data);
      for (let i = 0; i < count && cursor.remaining >= 8 + this.offsetSize && total < hdf5Limits.attributeTextBytes; i++) {
        const length = cursor.u32();
        const collection = cursor.offset();
        const index = cursor.u32();
        if (length === 0 || collection === undefinedAddress) {
          values.push('');
          continue;
        }
        const object = await this.globalHeapObject(collection, index, what);
        const value = text(new Uint8Array(object.buffer, object.byteOffset, Math.min(object.byteLength, length, hdf5Limits.attributeTextBytes)));
        values.push(value);
        total += value.length;
      }
      return values.join(', ');
    }
    return null;
  }

  /** netCDF-4's DIMENSION_LIST: per dimension, the object header addresses of its scales. */
  private async dimensionList(attribute: Attribute, what: string): Promise<Array<number | null>> {
    const { datatype, dataspace, data } = attribute;
    if (datatype.typeClass !== 9 || datatype.base?.typeClass !== 7) return [];
    const cursor = this.cursor(data);
    const out: Array<number | null> = [];
    for (let i = 0; i < Math.min(dataspace.count, hdf5Limits.rank) && cursor.remaining >= 8 + this.offsetSize; i++) {
      const length = cursor.u32();
      const collection = cursor.offset();
      const index = cursor.u32();
      if (length === 0 || collection === undefinedAddress) {
        out.push(null);
        continue;
      }
      const object = await this.globalHeapObject(collection, index, what);
      const references = this.cursor(object);
      out.push(object.byteLength >= this.offsetSize ? references.offset() : null);
      // Every scale of the dimension, not only the first, is opened by address: each is walked.
      for (let r = 1; r < Math.min(length, 1024) && references.remaining >= this.offsetSize; r++) this.referenced.push(references.offset());
    }
    return out;
  }

  private async walkObject(address: number, path: string, ancestors: number[], depth: number): Promise<void> {
    if (ancestors.includes(address)) refuse(`its HDF5 group ${shown(path)} links back to a group that contains it (a cycle)`);
    if (depth > hdf5Limits.depth) overLimit(`its HDF5 groups nest more than ${hdf5Limits.depth} deep`);
    if (this.visited.has(address)) return; // a second hard link to an object already read
    if (this.visited.size >= hdf5Limits.objects) overLimit(`it holds more than ${hdf5Limits.objects.toLocaleString('en-US')} HDF5 objects`);
    this.visited.set(address, 'other');
    const what = path === '/' ? '/' : shown(path);
    const messages = await this.readObjectHeader(address, what);
    const of = (type: number): Message[] => messages.filter((message) => message.type === type);

    // Attributes: in the header, and dense (fractal heap + v2 B-tree) when there are many.
    const attributes: Attribute[] = [];
    for (const message of of(messageType.attribute)) attributes.push(await this.parseAttribute(message.data, what));
    for (const info of of(messageType.attributeInfo)) {
      const cursor = this.cursor(info.data);
      cursor.u8();
      const flags = cursor.u8();
      if (flags & 0x01) cursor.skip(2);
      const heap = cursor.offset();
      const names = cursor.offset();
      if (heap !== undefinedAddress && names !== undefinedAddress) {
        await this.walkDenseStorage(heap, names, 8, `attributes of ${what}`, async (object) => {
          if (attributes.length >= hdf5Limits.attributesPerObject) overLimit(`${what} has more than ${hdf5Limits.attributesPerObject} attributes`);
          attributes.push(await this.parseAttribute(object, what));
        });
      }
    }
    const owner = path === '/' ? 'the file' : `${messages.some((m) => m.type === messageType.layout) ? 'variable' : 'group'} ${shown(path.replace(/^\//, ''))}`;
    const texts = new Map<string, string>();
    let dimensionScales: Array<number | null> = [];
    for (const attribute of attributes) {
      const where = `${owner} attribute ${shown(attribute.name)}`;
      if (attribute.name === 'DIMENSION_LIST') {
        dimensionScales = await this.dimensionList(attribute, where);
        this.scalesSeen = true;
        continue;
      }
      if (attribute.name === 'REFERENCE_LIST') continue;
      const value = await this.attributeText(attribute, where);
      if (value === null) continue;
      texts.set(attribute.name, value);
      if (path === '/') this.rootTexts.set(attribute.name, value);
      if (attribute.name === 'CLASS' && value === 'DIMENSION_SCALE') this.scalesSeen = true;
      judgeAttributeText(attribute.name, value, where, this.crsTexts);
    }

    if (of(messageType.externalFiles).length > 0) refuse(`its HDF5 dataset ${what} keeps its data in other files (external storage)`);
    const layout = of(messageType.layout)[0];
    if (layout) {
      await this.readDataset(address, what, messages, layout, texts, dimensionScales);
      return;
    }
    const isGroup = of(messageType.symbolTable).length > 0 || of(messageType.linkInfo).length > 0 || of(messageType.link).length > 0 || path === '/';
    if (!isGroup) return; // a committed datatype
    this.visited.set(address, 'group');
    const links: Link[] = [];
    const addLink = (link: Link): void => {
      if (++this.links > hdf5Limits.links) overLimit(`it holds more than ${hdf5Limits.links.toLocaleString('en-US')} HDF5 links`);
      links.push(link);
    };
    for (const message of of(messageType.link)) addLink(this.parseLink(message.data, what));
    for (const info of of(messageType.linkInfo)) {
      const cursor = this.cursor(info.data);
      cursor.u8();
      const flags = cursor.u8();
      if (flags & 0x01) cursor.skip(8);
      const heap = cursor.offset();
      const names = cursor.offset();
      if (heap !== undefinedAddress && names !== undefinedAddress) {
        await this.walkDenseStorage(heap, names, 5, `links of ${what}`, async (object) => addLink(this.parseLink(object, what)));
      }
    }
    for (const table of of(messageType.symbolTable)) {
      const cursor = this.cursor(table.data);
      const btree = cursor.offset();
      const heap = cursor.offset();
      await this.readSymbolTable(btree, heap, what, addLink);
    }
    for (const link of links) {
      const childPath = `${path === '/' ? '' : path}/${link.name}`;
      if (link.kind === 'external') refuse(`its HDF5 group ${what} holds an external link (${shown(link.name)}) to another file`);
      if (link.kind === 'user-defined') refuse(`its HDF5 group ${what} holds a user-defined link (${shown(link.name)}), which a plugin would resolve`);
      if (link.kind === 'soft') {
        this.paths.set(childPath, { soft: link.target! });
        this.softLinks.push({ group: path, path: childPath, target: link.target! });
        continue;
      }
      this.paths.set(childPath, {});
      await this.walkObject(link.address!, childPath, [...ancestors, address], depth + 1);
    }
  }

  private parseLink(data: DataView, what: string): Link {
    const cursor = this.cursor(data);
    if (cursor.u8() !== 1) invalid(`a link in ${what} has an unknown version; the file is corrupt — upload it again`);
    const flags = cursor.u8();
    const type = flags & 0x08 ? cursor.u8() : 0;
    if (flags & 0x04) cursor.skip(8);
    if (flags & 0x10) cursor.u8();
    const nameLength = cursor.uint(1 << (flags & 0x03));
    if (nameLength === 0 || nameLength > 64 * 1024) invalid(`a link in ${what} has an impossible name; the file is corrupt — upload it again`);
    const name = new TextDecoder('utf-8', { fatal: false }).decode(cursor.bytes(nameLength));
    if (type === 0) return { name, kind: 'hard', address: cursor.offset() };
    if (type === 1) {
      const length = cursor.u16();
      return { name, kind: 'soft', target: new TextDecoder('utf-8', { fatal: false }).decode(cursor.bytes(length)) };
    }
    return { name, kind: type === 64 ? 'external' : 'user-defined' };
  }

  private async readLocalHeap(address: number, what: string): Promise<DataView> {
    const head = await this.at(address, 8 + 2 * this.lengthSize + this.offsetSize, `the name heap of ${what}`);
    const cursor = this.cursor(head);
    if (cursor.signature() !== 'HEAP') invalid(`the name heap of ${what} is not one; the file is corrupt — upload it again`);
    cursor.skip(4);
    const size = cursor.length();
    cursor.length();
    const data = cursor.offset();
    if (size > hdf5Limits.localHeapBytes) overLimit(`the name heap of ${what} is ${formatBytes(size)}, over the ${formatBytes(hdf5Limits.localHeapBytes)} read`);
    return this.at(data, size, `the name heap of ${what}`);
  }

  /** An old-style group: a v1 B-tree of symbol table nodes, names in a local heap. */
  private async readSymbolTable(btree: number, heapAddress: number, what: string, addLink: (link: Link) => void): Promise<void> {
    const heap = await this.readLocalHeap(heapAddress, what);
    const nameAt = (offset: number): string => {
      if (offset >= heap.byteLength) invalid(`a name in ${what} lies outside its heap; the file is corrupt — upload it again`);
      return text(new Uint8Array(heap.buffer, heap.byteOffset + offset, Math.min(heap.byteLength - offset, 64 * 1024)));
    };
    const entrySize = 2 * this.offsetSize + 24;
    await this.walkV1BTree(btree, 0, this.lengthSize, what, async (child) => {
      const head = await this.at(child, 8, `a symbol node of ${what}`);
      if (head.getUint32(0, true) !== 0x444f4e53 /* SNOD */) invalid(`a symbol node of ${what} is not one; the file is corrupt — upload it again`);
      const count = head.getUint16(6, true);
      const entries = await this.at(child + 8, count * entrySize, `a symbol node of ${what}`);
      for (let i = 0; i < count; i++) {
        const cursor = this.cursor(entries, i * entrySize);
        const name = nameAt(cursor.offset());
        const objectAddress = cursor.offset();
        const cacheType = cursor.u32();
        cursor.skip(4);
        if (cacheType === 2) {
          // A soft link in an old-style group: its value is in the same heap.
          addLink({ name, kind: 'soft', target: nameAt(cursor.u32()) });
        } else {
          addLink({ name, kind: 'hard', address: objectAddress });
        }
      }
    });
  }

  /** Calls `onChild` with each leaf child of a v1 B-tree (type 0: groups, 1: chunks), with the key before it. */
  private async walkV1BTree(root: number, nodeType: number, keySize: number, what: string, onChild: (address: number, key: DataView) => Promise<void>): Promise<void> {
    const seen = new Set<number>();
    const pending: Array<{ address: number; level: number }> = [{ address: root, level: -1 }];
    while (pending.length > 0) {
      const { address, level: expectedLevel } = pending.pop()!;
      if (seen.has(address)) invalid(`the index of ${what} points at one of its nodes twice (a loop); the file is corrupt — upload it again`);
      seen.add(address);
      if (seen.size > hdf5Limits.chunks) overLimit(`the index of ${what} holds more than ${hdf5Limits.chunks.toLocaleString('en-US')} nodes`);
      const head = await this.at(address, 8 + 2 * this.offsetSize, `an index node of ${what}`);
      const cursor = this.cursor(head);
      if (cursor.signature() !== 'TREE' || cursor.u8() !== nodeType) invalid(`an index node of ${what} is not one; the file is corrupt — upload it again`);
      const level = cursor.u8();
      if (expectedLevel >= 0 && level !== expectedLevel) invalid(`the index of ${what} has nodes at the wrong level; the file is corrupt — upload it again`);
      const entries = cursor.u16();
      const body = await this.at(address + head.byteLength, entries * (keySize + this.offsetSize) + keySize, `an index node of ${what}`);
      for (let i = 0; i < entries; i++) {
        const key = sub(body, i * (keySize + this.offsetSize), keySize);
        const child = this.cursor(body, i * (keySize + this.offsetSize) + keySize).offset();
        if (level === 0) await onChild(child, key);
        else pending.push({ address: child, level: level - 1 });
      }
    }
  }

  /**
   * Dense links or attributes: each record of the name-index v2 B-tree (record type 5 for links,
   * 8 for attributes) holds a fractal heap ID; `onObject` gets the heap object (a link or attribute message).
   */
  private async walkDenseStorage(heapAddress: number, btreeAddress: number, recordType: number, what: string, onObject: (object: DataView) => Promise<void>): Promise<void> {
    const heap = await this.readFractalHeapHeader(heapAddress, what);
    await this.walkV2BTree(btreeAddress, recordType, what, async (record) => {
      const id = recordType === 5 ? sub(record, 4, record.byteLength - 4) : sub(record, 0, 8);
      await onObject(await this.fractalHeapObject(heap, id, what));
    });
  }

  private async readFractalHeapHeader(address: number, what: string): Promise<FractalHeap> {
    const view = await this.at(address, 22 + 12 * this.lengthSize + 3 * this.offsetSize + 8, `the heap of ${what}`);
    const cursor = this.cursor(view);
    if (cursor.signature() !== 'FRHP') invalid(`the heap of ${what} is not one; the file is corrupt — upload it again`);
    cursor.u8();
    const idLength = cursor.u16();
    const filterLength = cursor.u16();
    cursor.u8();
    const maxManaged = cursor.u32();
    cursor.length(); // next huge ID
    cursor.offset(); // huge objects' B-tree
    cursor.length(); // free space
    cursor.offset(); // free-space manager
    cursor.length(); // managed space
    cursor.length(); // allocated
    cursor.length(); // iterator offset
    cursor.length(); // managed objects
    cursor.length();
    cursor.length();
    cursor.length();
    cursor.length();
    const width = cursor.u16();
    const startBlock = cursor.length();
    const maxDirectBlock = cursor.length();
    const maxHeapBits = cursor.u16();
    cursor.u16(); // starting rows
    const root = cursor.offset();
    const rows = cursor.u16();
    if (filterLength > 0) refuse(`the heap of ${what} is compressed by I/O filters, which are not read`);
    if (width === 0 || width > 65_536 || startBlock === 0 || maxDirectBlock < startBlock || maxHeapBits === 0 || maxHeapBits > 64) invalid(`the heap of ${what} declares an impossible layout; the file is corrupt — upload it again`);
    const offsetBytes = Math.ceil(maxHeapBits / 8);
    const lengthBytes = Math.min(Math.floor((Math.floor(Math.log2(maxDirectBlock)) + 7) / 8), Math.floor((Math.floor(Math.log2(Math.max(1, maxManaged))) + 7) / 8));
    const maxDirectRows = Math.floor(Math.log2(maxDirectBlock)) - Math.floor(Math.log2(startBlock)) + 2;
    return { address, idLength, width, startBlock, maxDirectRows, offsetBytes, lengthBytes, root, rows, checksummed: (view.getUint8(9) & 0x02) !== 0 };
  }

  private async fractalHeapObject(heap: FractalHeap, id: DataView, what: string): Promise<DataView> {
    const cursor = this.cursor(id);
    const first = cursor.u8();
    const kind = (first >> 4) & 0x03;
    if (kind === 2) {
      // Tiny: the object is inside the ID.
      const length = (first & 0x0f) + 1;
      return sub(id, 1, Math.min(length, id.byteLength - 1));
    }
    if (kind !== 0) refuse(`${what} holds a "huge" heap object, which is not read`);
    const offset = cursor.uint(heap.offsetBytes);
    const length = cursor.uint(heap.lengthBytes);
    const blockSize = (row: number): number => heap.startBlock * 2 ** Math.max(0, row - 1);
    let block = heap.root;
    let rows = heap.rows;
    let blockOffset = 0;
    for (let depth = 0; rows > 0; depth++) {
      if (depth > 16) invalid(`the heap of ${what} nests too deeply; the file is corrupt — upload it again`);
      // An indirect block: rows of direct blocks, then rows of indirect blocks, each entry one address.
      const prefix = 5 + this.offsetSize + heap.offsetBytes;
      let position = blockOffset;
      let found: { entry: number; row: number; start: number } | null = null;
      for (let row = 0; row < rows && !found; row++) {
        for (let column = 0; column < heap.width; column++) {
          const size = blockSize(row);
          if (offset < position + size) {
            found = { entry: row * heap.width + column, row, start: position };
            break;
          }
          position += size;
        }
      }
      if (!found) invalid(`${what} points outside its heap; the file is corrupt — upload it again`);
      const entry = await this.at(block + prefix + found.entry * this.offsetSize, this.offsetSize, `the heap of ${what}`);
      const child = this.cursor(entry).offset();
      if (child === undefinedAddress) invalid(`${what} points at an unallocated heap block; the file is corrupt — upload it again`);
      block = child;
      blockOffset = found.start;
      rows = found.row < heap.maxDirectRows ? 0 : Math.floor(Math.log2(blockSize(found.row))) - Math.floor(Math.log2(heap.startBlock * heap.width)) + 1;
    }
    const head = await this.at(block, 4, `the heap of ${what}`);
    if (head.getUint32(0, true) !== 0x42444846 /* FHDB */) invalid(`the heap of ${what} has a block that is not one; the file is corrupt — upload it again`);
    if (offset < blockOffset) invalid(`${what} points outside its heap block; the file is corrupt — upload it again`);
    return this.at(block + (offset - blockOffset), length, `an object in the heap of ${what}`);
  }

  /** Calls `onRecord` with each record of a v2 B-tree of `recordType`. */
  private async walkV2BTree(address: number, recordType: number, what: string, onRecord: (record: DataView) => Promise<void>): Promise<void> {
    const head = await this.at(address, 16 + this.offsetSize + this.lengthSize + 4, `the index of ${what}`);
    const cursor = this.cursor(head);
    if (cursor.signature() !== 'BTHD') invalid(`the index of ${what} is not one; the file is corrupt — upload it again`);
    cursor.u8();
    const type = cursor.u8();
    const nodeSize = cursor.u32();
    const recordSize = cursor.u16();
    const depth = cursor.u16();
    cursor.skip(2);
    const root = cursor.offset();
    const rootRecords = cursor.u16();
    if (type !== recordType || recordSize === 0 || nodeSize < 16 || depth > 16) invalid(`the index of ${what} declares an impossible layout; the file is corrupt — upload it again`);
    // Per depth: most records in a node, and the bytes of the record counts in its child pointers (H5B2hdr.c).
    const maxRecords: number[] = [Math.floor((nodeSize - 10) / recordSize)];
    const cumulative: number[] = [maxRecords[0]!];
    const cumulativeSize: number[] = [0];
    const leafCountSize = limitEncodedSize(maxRecords[0]!);
    const pointerSize = (d: number): number => this.offsetSize + leafCountSize + (d > 1 ? cumulativeSize[d - 1]! : 0);
    for (let d = 1; d <= depth; d++) {
      maxRecords.push(Math.floor((nodeSize - 10) / (recordSize + pointerSize(d))));
      cumulative.push((maxRecords[d]! + 1) * cumulative[d - 1]! + maxRecords[d]!);
      cumulativeSize.push(limitEncodedSize(cumulative[d]!));
    }
    let visited = 0;
    const visit = async (node: number, records: number, level: number): Promise<void> => {
      if (++visited > hdf5Limits.chunks) overLimit(`the index of ${what} holds more than ${hdf5Limits.chunks.toLocaleString('en-US')} nodes`);
      if (records > maxRecords[level]!) invalid(`a node of the index of ${what} holds more records than fit; the file is corrupt — upload it again`);
      const pointers = level > 0 ? (records + 1) * pointerSize(level) : 0;
      const view = await this.at(node, 6 + records * recordSize + pointers, `a node of the index of ${what}`);
      const signature = String.fromCharCode(view.getUint8(0), view.getUint8(1), view.getUint8(2), view.getUint8(3));
      if (signature !== (level > 0 ? 'BTIN' : 'BTLF')) invalid(`a node of the index of ${what} is not one; the file is corrupt — upload it again`);
      for (let i = 0; i < records; i++) await onRecord(sub(view, 6 + i * recordSize, recordSize));
      if (level === 0) return;
      const children = this.cursor(view, 6 + records * recordSize);
      for (let i = 0; i <= records; i++) {
        const child = children.offset();
        const childRecords = children.uint(leafCountSize);
        if (level > 1) children.uint(cumulativeSize[level - 1]!);
        await visit(child, childRecords, level - 1);
      }
    };
    if (root !== undefinedAddress && rootRecords > 0) await visit(root, rootRecords, depth);
  }

  private async readDataset(address: number, what: string, messages: Message[], layoutMessage: Message, texts: Map<string, string>, dimensionScales: Array<number | null>): Promise<void> {
    const find = async (type: number): Promise<DataView | null> => {
      const message = messages.find((candidate) => candidate.type === type);
      if (!message) return null;
      return message.flags & 0x02 ? this.sharedMessage(message.data, type, what) : message.data;
    };
    const dataspaceView = await find(messageType.dataspace);
    const datatypeView = await find(messageType.datatype);
    if (!dataspaceView || !datatypeView) invalid(`the HDF5 dataset ${what} has no dataspace or datatype; the file is corrupt — upload it again`);
    const dataspace = this.parseDataspace(dataspaceView, what);
    const datatype = this.parseDatatype(datatypeView, what);
    // Variable-length elements hold heap references (16 bytes in memory each).
    const elementSize = datatype.typeClass === 9 ? 16 : datatype.size;
    if (elementSize === 0) invalid(`the HDF5 dataset ${what} has elements of 0 bytes; the file is corrupt — upload it again`);
    const declaredBytes = dataspace.count * elementSize;
    if (!Number.isSafeInteger(declaredBytes)) overLimit(`the HDF5 dataset ${what} declares ${dataspace.dims.join('×')} elements of ${elementSize} bytes, past 2^53 bytes`);

    const filters = (await find(messageType.filterPipeline)) ? this.parseFilters((await find(messageType.filterPipeline))!, what) : [];
    const layout = this.cursor(layoutMessage.data);
    const version = layout.u8();
    let storedBytes = 0;
    let totalBlocks = 1;
    let sparseBlocks = 0;
    let largestBlockBytes = (dataspace.dims.at(-1) ?? 1) * elementSize;
    let largestChunkExpansion = 0;
    const checkExtent = (start: number, length: number, part: string): void => {
      if (this.end(start, length) > this.size || !Number.isSafeInteger(this.end(start, length))) {
        invalid(`${part} of the HDF5 dataset ${what} lies past the end of the file; the file is truncated — upload it again`);
      }
    };
    let layoutClass: number;
    let chunkDims: number[] = [];
    let chunkIndex: { type: number; address: number; filteredSize?: number } | null = null;
    if (version === 1 || version === 2) {
      const rank = layout.u8();
      layoutClass = layout.u8();
      layout.skip(5);
      const dataAddress = layoutClass !== 0 ? layout.offset() : undefinedAddress;
      const dims: number[] = [];
      for (let i = 0; i < rank; i++) dims.push(layout.u32());
      if (layoutClass === 1 && dataAddress !== undefinedAddress) {
        storedBytes = declaredBytes;
        checkExtent(dataAddress, declaredBytes, 'the data');
      } else if (layoutClass === 2) {
        chunkDims = dims;
        chunkIndex = { type: 0, address: dataAddress };
      } else if (layoutClass === 0) {
        storedBytes = declaredBytes;
      }
    } else if (version === 3 || version === 4) {
      layoutClass = layout.u8();
      if (layoutClass === 0) {
        const size = layout.u16();
        if (size < declaredBytes) invalid(`the HDF5 dataset ${what} declares ${formatBytes(declaredBytes)} but holds ${formatBytes(size)}; the file is corrupt — upload it again`);
        storedBytes = size;
      } else if (layoutClass === 1) {
        const dataAddress = layout.offset();
        const size = layout.length();
        if (dataAddress !== undefinedAddress) {
          checkExtent(dataAddress, size, 'the data');
          if (size < declaredBytes) invalid(`the HDF5 dataset ${what} declares ${formatBytes(declaredBytes)} but stores ${formatBytes(size)}; the file is truncated or corrupt — upload it again`);
          storedBytes = size;
        }
      } else if (layoutClass === 2 && version === 3) {
        const rank = layout.u8();
        const indexAddress = layout.offset();
        for (let i = 0; i < rank; i++) chunkDims.push(layout.u32());
        chunkIndex = { type: 0, address: indexAddress };
      } else if (layoutClass === 2) {
        const flags = layout.u8();
        const rank = layout.u8();
        const encoded = layout.u8();
        for (let i = 0; i < rank; i++) chunkDims.push(layout.uint(encoded));
        const indexType = layout.u8();
        let filteredSize: number | undefined;
        if (indexType === 1 && flags & 0x02) {
          filteredSize = layout.length();
          layout.u32();
        } else if (indexType === 3) layout.skip(1);
        else if (indexType === 4) layout.skip(5);
        else if (indexType === 5) layout.skip(6);
        chunkIndex = { type: indexType, address: layout.offset(), ...(filteredSize !== undefined ? { filteredSize } : {}) };
      } else if (layoutClass === 3) {
        refuse(`its HDF5 dataset ${what} is a virtual dataset (its data is mapped from other datasets or files)`);
      } else {
        invalid(`the HDF5 dataset ${what} has an unknown storage layout; the file is corrupt — upload it again`);
      }
    } else {
      invalid(`the HDF5 dataset ${what} has an unknown layout version; the file is corrupt — upload it again`);
    }

    if (chunkIndex) {
      // Chunk dimensions end with the element size.
      const spatial = chunkDims.slice(0, -1);
      if (spatial.length !== dataspace.dims.length || spatial.some((d) => d === 0)) invalid(`the HDF5 dataset ${what} has chunks that do not match its dimensions; the file is corrupt — upload it again`);
      const chunkBytes = spatial.reduce((product, d) => product * d, elementSize);
      if (!Number.isSafeInteger(chunkBytes)) overLimit(`the HDF5 dataset ${what} declares chunks past 2^53 bytes`);
      largestBlockBytes = chunkBytes;
      totalBlocks = dataspace.dims.reduce((product, d, i) => product * Math.ceil(d / spatial[i]!), 1);
      let written = 0;
      const onChunk = (chunkAddress: number, size: number, filterMask: number): void => {
        if (++written > hdf5Limits.chunks) overLimit(`the HDF5 dataset ${what} has more than ${hdf5Limits.chunks.toLocaleString('en-US')} chunks`);
        if (chunkAddress === undefinedAddress) return;
        if (size < 0) size = chunkBytes;
        checkExtent(chunkAddress, size, `a chunk`);
        storedBytes += size;
        const filtered = filters.some((_, i) => (filterMask & (1 << i)) === 0);
        if (!filtered && size < chunkBytes) invalid(`a chunk of the HDF5 dataset ${what} stores ${formatBytes(size)} of its ${formatBytes(chunkBytes)}; the file is corrupt — upload it again`);
        if (filtered && chunkBytes >= 1024 * 1024) largestChunkExpansion = Math.max(largestChunkExpansion, chunkBytes / Math.max(1, size));
      };
      if (chunkIndex.address === undefinedAddress) {
        // No chunk written: every value is the fill value.
      } else if (chunkIndex.type === 0) {
        const keySize = 8 + 8 * chunkDims.length;
        await this.walkV1BTree(chunkIndex.address, 1, keySize, `the chunks of ${what}`, async (child, key) => onChunk(child, key.getUint32(0, true), key.getUint32(4, true)));
      } else if (chunkIndex.type === 1) {
        onChunk(chunkIndex.address, chunkIndex.filteredSize ?? chunkBytes, 0);
      } else if (chunkIndex.type === 3 && (await this.walkFixedArray(chunkIndex.address, what, onChunk))) {
        // Every chunk seen.
      } else if (chunkIndex.type === 2) {
        if (filters.length > 0) invalid(`the HDF5 dataset ${what} has filtered chunks under an implicit index; the file is corrupt — upload it again`);
        storedBytes = totalBlocks * chunkBytes;
        checkExtent(chunkIndex.address, storedBytes, 'the chunks');
      } else {
        refuse(
          `its HDF5 dataset ${what} indexes its chunks with ${['', '', '', 'a fixed array', 'an extensible array', 'a version 2 B-tree'][chunkIndex.type] ?? 'an unknown index'} (HDF5 1.10's format), which is not read`,
          'rewrite it in the HDF5 1.8 format (`h5repack --high=1 in.h5 out.h5`), or convert it to a GeoTIFF (`gdal_translate -of COG in.h5 out.tif`), and upload that',
        );
      }
      sparseBlocks = Math.max(0, totalBlocks - written);
    }

    this.arrays.push({
      path: shown(what),
      dims: dataspace.dims,
      bytesPerSample: elementSize,
      numeric: datatype.typeClass === 0 || datatype.typeClass === 1,
      declaredBytes,
      storedBytes,
      totalBlocks,
      sparseBlocks,
      largestBlockBytes,
      largestChunkExpansion,
      compressed: filters.length > 0,
      texts,
      dimensionScales,
      address,
    });
  }

  /**
   * A fixed-array chunk index (HDF5 1.10, fixed-size chunked datasets): the chunks' addresses (and
   * sizes and filter masks when filtered) in one data block, in pages of 2^pageBits entries when
   * there are more (a bitmap says which pages were ever written).
   */
  private async walkFixedArray(address: number, what: string, onChunk: (address: number, size: number, filterMask: number) => void): Promise<boolean> {
    const head = await this.at(address, 8 + this.lengthSize + this.offsetSize + 4, `the chunk index of ${what}`);
    const cursor = this.cursor(head);
    if (cursor.signature() !== 'FAHD') invalid(`the chunk index of ${what} is not one; the file is corrupt — upload it again`);
    cursor.u8();
    const client = cursor.u8();
    const entrySize = cursor.u8();
    const pageBits = cursor.u8();
    const count = cursor.length();
    const block = cursor.offset();
    if (count > hdf5Limits.chunks) overLimit(`the HDF5 dataset ${what} has more than ${hdf5Limits.chunks.toLocaleString('en-US')} chunks`);
    const filtered = client === 1;
    if (entrySize < this.offsetSize + (filtered ? 5 : 0) || pageBits > 32) invalid(`the chunk index of ${what} declares impossible entries; the file is corrupt — upload it again`);
    if (block === undefinedAddress) return true;
    const prefix = 6 + this.offsetSize;
    const pageSize = 2 ** pageBits;
    const paged = count > pageSize;
    const pages = Math.ceil(count / pageSize);
    const bitmapBytes = paged ? Math.ceil(pages / 8) : 0;
    const head2 = await this.at(block, prefix + bitmapBytes, `the chunk index of ${what}`);
    if (head2.getUint32(0, true) !== 0x42444146 /* FADB */) invalid(`the chunk index of ${what} has a block that is not one; the file is corrupt — upload it again`);
    const onEntry = (entry: Cursor): void => {
      const chunk = entry.offset();
      if (!filtered) return onChunk(chunk, -1, 0);
      const size = entry.uint(entrySize - this.offsetSize - 4);
      onChunk(chunk, size, entry.u32());
    };
    if (!paged) {
      const data = await this.at(block + prefix, count * entrySize, `the chunk index of ${what}`);
      for (let i = 0; i < count; i++) onEntry(this.cursor(data, i * entrySize));
      return true;
    }
    // Pages follow the header's checksum, each with a checksum of its own.
    let pageAt = block + prefix + bitmapBytes + 4;
    for (let page = 0; page < pages; page++) {
      const entries = Math.min(pageSize, count - page * pageSize);
      const written = (head2.getUint8(prefix + (page >> 3)) & (0x80 >> (page & 7))) !== 0;
      if (written) {
        const data = await this.at(pageAt, entries * entrySize, `the chunk index of ${what}`);
        for (let i = 0; i < entries; i++) onEntry(this.cursor(data, i * entrySize));
      }
      pageAt += entries * entrySize + 4;
    }
    return true;
  }

  private parseFilters(data: DataView, what: string): number[] {
    const cursor = this.cursor(data);
    const version = cursor.u8();
    const count = cursor.u8();
    if (version === 1) cursor.skip(6);
    if (count > 32) invalid(`the HDF5 dataset ${what} declares ${count} filters; the file is corrupt — upload it again`);
    const ids: number[] = [];
    for (let i = 0; i < count; i++) {
      const id = cursor.u16();
      const nameLength = version === 1 || id >= 256 ? cursor.u16() : 0;
      cursor.u16(); // flags
      const values = cursor.u16();
      if (version === 1) cursor.skip(Math.ceil(nameLength / 8) * 8);
      else cursor.skip(nameLength);
      cursor.skip(values * 4);
      if (version === 1 && values % 2 === 1) cursor.skip(4);
      if (!allowedFilters.has(id)) {
        refuse(
          `its HDF5 dataset ${what} is encoded with filter ${id}${id >= 256 ? ' (a plugin)' : ''}; only deflate, shuffle, Fletcher-32, szip, N-bit and scale-offset are read`,
          're-encode it with deflate (`nccopy -d 4 in.nc out.nc`, or `h5repack -f GZIP=4 in.h5 out.h5`) or convert it to a GeoTIFF (`gdal_translate -of COG in.nc out.tif`), and upload that',
        );
      }
      ids.push(id);
    }
    return ids;
  }

  /** Soft links must land on an object of the file, in a bounded number of hops. */
  private resolveSoftLinks(): void {
    const normalize = (from: string, target: string): string => {
      const parts = (target.startsWith('/') ? target : `${from}/${target}`).split('/').filter((part) => part !== '' && part !== '.');
      return `/${parts.join('/')}`;
    };
    const resolve = (path: string, hops: number): void => {
      if (hops > hdf5Limits.softLinkHops) refuse(`its HDF5 soft links loop, or chain more than ${hdf5Limits.softLinkHops} deep`);
      let current = '';
      for (const part of path.split('/').filter((p) => p !== '')) {
        current = `${current}/${part}`;
        const entry = this.paths.get(current);
        if (!entry) refuse(`its HDF5 soft link points at an object the file does not hold (a dangling link)`);
        if (entry.soft !== undefined) {
          const parent = current.slice(0, current.lastIndexOf('/')) || '/';
          resolve(normalize(parent, entry.soft), hops + 1);
        }
      }
    };
    for (const link of this.softLinks) resolve(normalize(link.group, link.target), 1);
  }
}

interface FractalHeap {
  address: number;
  idLength: number;
  width: number;
  startBlock: number;
  maxDirectRows: number;
  offsetBytes: number;
  lengthBytes: number;
  root: number;
  rows: number;
  checksummed: boolean;
}

/** Attribute names that hold links, addresses or prose (ACDD's `*_url`, `references`…), which nothing reads as a CRS or a location. */
const proseAttribute = /url|uri|link|href|doi|reference|website|homepage|email/i;

/** A URL, a GDAL virtual path or a dataset name that GDAL, libnetcdf (DAP) or libhdf5 could open. */
const followableValue = /^\s*(?:[a-z][a-z0-9+.-]*:\/\/|file:|dods:|dap4:|(?:NETCDF|HDF5|HDF4_SDS|HDF4_EOS|GTIFF_DIR|VRT|MEM):)|\/vsi[a-z0-9_]+\//i;

/**
 * Sorts one string attribute: prose is left alone, a value GDAL or libnetcdf could follow is
 * refused, anything else is CRS text to be vetted (`crs.references.ts`).
 */
function judgeAttributeText(name: string, value: string, where: string, crsTexts: Array<{ where: string; text: string }>): void {
  const lower = name.toLowerCase();
  if (freeTextAttributes.has(lower) || proseAttribute.test(lower) || name.startsWith('_Netcdf4') || name === '_NCProperties' || name === 'CLASS' || name === 'NAME') return;
  if (followableValue.test(value)) refuse(`its ${where} is a URL or a path (GDAL or libnetcdf could follow it)`);
  crsTexts.push({ where, text: value });
}

/**
 * HDF5 metadata is many small pieces near each other: read in aligned 64 KiB blocks (a few dozen
 * kept), so a walk over a blob read in place costs a few requests, not one per object header.
 */
export function blockCachedSource(source: ByteSource, blockBytes = 64 * 1024, keptBlocks = 64): ByteSource {
  const blocks = new Map<number, Promise<Uint8Array>>();
  const block = (index: number): Promise<Uint8Array> => {
    let found = blocks.get(index);
    if (found) {
      blocks.delete(index);
    } else {
      found = source.read(index * blockBytes, Math.min(blockBytes, source.size - index * blockBytes));
      if (blocks.size >= keptBlocks) blocks.delete(blocks.keys().next().value!);
    }
    blocks.set(index, found);
    return found;
  };
  return {
    size: source.size,
    async read(offset, length) {
      if (length > blockBytes) return source.read(offset, length);
      const end = Math.min(offset + length, source.size);
      const parts: Uint8Array[] = [];
      for (let index = Math.floor(offset / blockBytes); index * blockBytes < end; index++) {
        const bytes = await block(index);
        const start = Math.max(0, offset - index * blockBytes);
        parts.push(bytes.subarray(start, Math.min(bytes.length, end - index * blockBytes)));
      }
      if (parts.length === 1) return parts[0]!;
      const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
      let at = 0;
      for (const part of parts) {
        out.set(part, at);
        at += part.length;
      }
      return out;
    },
  };
}

/** Walks an HDF5 file's structure; refusals throw `HeaderError` (see `readContainerHeader`). */
export async function readHdf5Structure(source: ByteSource): Promise<Hdf5Structure> {
  const reader = new BoundedReader(blockCachedSource(source));
  try {
    return await new Hdf5Walker(reader, source.size).walk();
  } catch (error) {
    // A field read past the block that holds it: what a corrupt structure does to a DataView.
    if (error instanceof RangeError && /offset|bounds|length/i.test(error.message)) invalid('its HDF5 structure is malformed; the file is corrupt — upload it again');
    throw error;
  }
}

/** Whether an array's scale texts make its last two dimensions CF longitude and latitude (and it names no grid_mapping). */
export function isCfLonLatArray(array: Hdf5Array, arrays: readonly Hdf5Array[]): boolean {
  if (array.texts.has('grid_mapping') || array.dimensionScales.length < 2) return false;
  const scale = (address: number | null | undefined): Hdf5Array | undefined => (address == null ? undefined : arrays.find((candidate) => candidate.address === address));
  return isCfAxis(scale(array.dimensionScales.at(-1))?.texts, 'longitude') && isCfAxis(scale(array.dimensionScales.at(-2))?.texts, 'latitude');
}

