/**
 * A netCDF classic writer for the hostile corpus: the file format written byte by byte (the
 * specification is short: https://docs.unidata.ucar.edu/netcdf-c/current/file_format_specifications.html),
 * so a case can say exactly what it declares and what bytes it holds — dimensions far larger than
 * the data behind them, variables with no data at all, data cut in half, attributes carrying any
 * text. No library would write those on purpose. Test support only; nothing here is imported by
 * the app.
 */
import { writeFileSync } from 'node:fs';

export type NetcdfType = 'byte' | 'char' | 'short' | 'int' | 'float' | 'double';

const typeCodes: Readonly<Record<NetcdfType, number>> = { byte: 1, char: 2, short: 3, int: 4, float: 5, double: 6 };
const typeSizes: Readonly<Record<NetcdfType, number>> = { byte: 1, char: 1, short: 2, int: 4, float: 4, double: 8 };

/** An attribute: text is NC_CHAR, a number or numbers NC_DOUBLE, unless typed explicitly. */
export type NetcdfAttributeValue = string | number | number[] | { type: Exclude<NetcdfType, 'char'>; values: number[] };

export interface NetcdfVariable {
  name: string;
  /** Dimension names, slowest varying first (`['time', 'y', 'x']`). */
  dimensions: string[];
  type: Exclude<NetcdfType, 'char'>;
  attributes?: Record<string, NetcdfAttributeValue>;
  /** The value at a flat index (row-major over `dimensions`); omitted = the variable's bytes are not written. */
  value?: (index: number) => number;
}

export interface NetcdfClassicFile {
  /** Fixed-size dimensions in order (no record dimension). */
  dimensions: Array<[name: string, length: number]>;
  attributes?: Record<string, NetcdfAttributeValue>;
  variables: NetcdfVariable[];
}

export interface NetcdfEncodeOptions {
  /** 1 = classic (32-bit offsets), 2 = 64-bit offset. Default 2 when any variable is over 2 GiB, else 1. */
  version?: 1 | 2;
  /** Keep only this many bytes of the file (a truncated upload). */
  truncateTo?: number;
}

class ByteWriter {
  private chunks: Buffer[] = [];
  length = 0;

  push(buffer: Buffer): void {
    this.chunks.push(buffer);
    this.length += buffer.length;
  }

  int32(value: number): void {
    const buffer = Buffer.alloc(4);
    buffer.writeInt32BE(value);
    this.push(buffer);
  }

  uint32(value: number): void {
    const buffer = Buffer.alloc(4);
    buffer.writeUInt32BE(value);
    this.push(buffer);
  }

  offset(value: number, version: 1 | 2): void {
    if (version === 1) return this.uint32(value);
    const buffer = Buffer.alloc(8);
    buffer.writeBigUInt64BE(BigInt(value));
    this.push(buffer);
  }

  padded(bytes: Buffer): void {
    this.push(bytes);
    const pad = (4 - (bytes.length % 4)) % 4;
    if (pad) this.push(Buffer.alloc(pad));
  }

  name(text: string): void {
    const bytes = Buffer.from(text, 'utf8');
    this.int32(bytes.length);
    this.padded(bytes);
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

function encodeValues(type: Exclude<NetcdfType, 'char'>, values: ArrayLike<number>): Buffer {
  const buffer = Buffer.alloc(values.length * typeSizes[type]);
  for (let i = 0; i < values.length; i++) {
    const value = values[i]!;
    const at = i * typeSizes[type];
    if (type === 'byte') buffer.writeInt8(value, at);
    else if (type === 'short') buffer.writeInt16BE(value, at);
    else if (type === 'int') buffer.writeInt32BE(value, at);
    else if (type === 'float') buffer.writeFloatBE(value, at);
    else buffer.writeDoubleBE(value, at);
  }
  return buffer;
}

function writeAttributes(out: ByteWriter, attributes: Record<string, NetcdfAttributeValue> | undefined): void {
  const entries = Object.entries(attributes ?? {});
  if (entries.length === 0) {
    out.int32(0); // ABSENT
    out.int32(0);
    return;
  }
  out.int32(0x0c); // NC_ATTRIBUTE
  out.int32(entries.length);
  for (const [name, value] of entries) {
    out.name(name);
    if (typeof value === 'string') {
      const bytes = Buffer.from(value, 'utf8');
      out.int32(typeCodes.char);
      out.int32(bytes.length);
      out.padded(bytes);
      continue;
    }
    const typed = typeof value === 'number' ? { type: 'double' as const, values: [value] } : Array.isArray(value) ? { type: 'double' as const, values: value } : value;
    out.int32(typeCodes[typed.type]);
    out.int32(typed.values.length);
    out.padded(encodeValues(typed.type, typed.values));
  }
}

function elementCount(file: NetcdfClassicFile, variable: NetcdfVariable): number {
  const lengths = new Map(file.dimensions);
  return variable.dimensions.reduce((product, name) => {
    const length = lengths.get(name);
    if (length === undefined) throw new Error(`variable ${variable.name} names an unknown dimension ${name}`);
    return product * length;
  }, 1);
}

/** Bytes of the header alone (data starts right after it). */
function encodeHeader(file: NetcdfClassicFile, version: 1 | 2, begins: number[]): Buffer {
  const out = new ByteWriter();
  out.push(Buffer.from([0x43, 0x44, 0x46, version]));
  out.int32(0); // numrecs: no record dimension
  if (file.dimensions.length === 0) {
    out.int32(0);
    out.int32(0);
  } else {
    out.int32(0x0a); // NC_DIMENSION
    out.int32(file.dimensions.length);
    for (const [name, length] of file.dimensions) {
      out.name(name);
      out.int32(length);
    }
  }
  writeAttributes(out, file.attributes);
  if (file.variables.length === 0) {
    out.int32(0);
    out.int32(0);
  } else {
    out.int32(0x0b); // NC_VARIABLE
    out.int32(file.variables.length);
    const dimensionIds = new Map(file.dimensions.map(([name], index) => [name, index]));
    file.variables.forEach((variable, index) => {
      out.name(variable.name);
      out.int32(variable.dimensions.length);
      for (const name of variable.dimensions) out.int32(dimensionIds.get(name)!);
      writeAttributes(out, variable.attributes);
      out.int32(typeCodes[variable.type]);
      const bytes = elementCount(file, variable) * typeSizes[variable.type];
      const vsize = bytes + ((4 - (bytes % 4)) % 4);
      // The format's rule for a variable too large for 32 bits: vsize 2^32 - 1 (the last variable only).
      out.uint32(vsize > 0xfffffffc ? 0xffffffff : vsize);
      out.offset(begins[index]!, version);
    });
  }
  return out.toBuffer();
}

/**
 * The bytes of a netCDF classic file. Variables are laid out one after another after the header,
 * each at the offset the header declares, whether or not its data is written: a variable without
 * `value` (or any after it) is simply not there.
 */
export function encodeNetcdfClassic(file: NetcdfClassicFile, options: NetcdfEncodeOptions = {}): Buffer {
  const sizes = file.variables.map((variable) => {
    const bytes = elementCount(file, variable) * typeSizes[variable.type];
    return bytes + ((4 - (bytes % 4)) % 4);
  });
  const version = options.version ?? (sizes.some((size) => size > 2 ** 31) ? 2 : 1);
  // The header's size does not depend on the offsets' values, only on their width.
  const headerLength = encodeHeader(file, version, sizes.map(() => 0)).length;
  const begins: number[] = [];
  let at = headerLength;
  for (const size of sizes) {
    begins.push(at);
    at += size;
  }
  const parts = [encodeHeader(file, version, begins)];
  for (const [index, variable] of file.variables.entries()) {
    if (!variable.value) break; // header-only from here: the declared bytes are missing
    const count = elementCount(file, variable);
    if (count > 64 * 1024 * 1024) throw new Error(`variable ${variable.name}: ${count} values is more than a corpus file should hold`);
    const values = new Float64Array(count);
    for (let i = 0; i < count; i++) values[i] = variable.value(i);
    const data = encodeValues(variable.type, values);
    parts.push(data, Buffer.alloc(sizes[index]! - data.length));
  }
  const whole = Buffer.concat(parts);
  return options.truncateTo === undefined ? whole : whole.subarray(0, options.truncateTo);
}

export function writeNetcdfClassic(path: string, file: NetcdfClassicFile, options: NetcdfEncodeOptions = {}): string {
  writeFileSync(path, encodeNetcdfClassic(file, options));
  return path;
}

/** A GDAL GeoTransform attribute value (`"x0 dx 0 y0 0 dy"`), as GDAL's netCDF driver writes and reads it on the grid mapping variable. */
export function geoTransformAttribute(transform: readonly number[]): string {
  return transform.map((value) => String(value)).join(' ');
}
