/** GDAL data types and nodata values as STAC writes them. Pure. */
import type { BandInfo } from '../pipeline/contracts.js';

const stacDataTypes: Readonly<Record<string, string>> = {
  Byte: 'uint8',
  Int8: 'int8',
  UInt16: 'uint16',
  Int16: 'int16',
  UInt32: 'uint32',
  Int32: 'int32',
  UInt64: 'uint64',
  Int64: 'int64',
  Float32: 'float32',
  Float64: 'float64',
  CInt16: 'cint16',
  CInt32: 'cint32',
  CFloat32: 'cfloat32',
  CFloat64: 'cfloat64',
};

/** Whether a GDAL data type has a STAC `data_type` name (`Unknown`, or a type newer than this table, has none). */
export function hasStacDataType(gdalDataType: string): boolean {
  return Object.hasOwn(stacDataTypes, gdalDataType);
}

/** The STAC `data_type` name of a GDAL data type, e.g. `Byte` → `uint8`. */
export function toStacDataType(gdalDataType: string): string {
  const name = hasStacDataType(gdalDataType) ? stacDataTypes[gdalDataType] : undefined;
  if (!name) throw new Error(`GDAL data type "${gdalDataType}" has no STAC data_type name`);
  return name;
}

export function isFloatDataType(gdalDataType: string): boolean {
  return gdalDataType === 'Float32' || gdalDataType === 'Float64' || gdalDataType === 'CFloat32' || gdalDataType === 'CFloat64';
}

export function isComplexDataType(gdalDataType: string): boolean {
  return /^C(Int|Float)\d+$/.test(gdalDataType);
}

/** A GDAL nodata value as STAC/JSON can carry it (JSON has no NaN or Infinity). */
export function toNodata(value: number | null | undefined): BandInfo['nodata'] {
  if (value === null || value === undefined) return null;
  if (Number.isNaN(value)) return 'nan';
  if (value === Infinity) return 'inf';
  if (value === -Infinity) return '-inf';
  return value;
}

/** The nodata value as a GDAL command-line argument (`-a_nodata`). */
export function nodataArgument(value: BandInfo['nodata']): string {
  return value === null ? 'none' : String(value);
}

/** Bytes one sample of a GDAL data type takes uncompressed (complex types: both parts). */
export function bytesPerSample(gdalDataType: string): number {
  const bits = /(\d+)$/.exec(gdalDataType)?.[1];
  if (gdalDataType === 'Byte' || gdalDataType === 'Int8') return 1;
  if (!bits) throw new Error(`GDAL data type "${gdalDataType}" has no known sample size`);
  return (Number(bits) / 8) * (isComplexDataType(gdalDataType) ? 2 : 1);
}
