/**
 * What every raw header reader shares (`container.header.ts`, `hdf5.header.ts`): reads counted
 * against one budget, refusals that carry their failure, and CF's reading of coordinates.
 */
import type { Failure } from '../pipeline/failure.js';

/** Random access to an upload's bytes (a local copy, or ranged reads of the blob). */
export interface ByteSource {
  /** Total bytes of the upload. */
  readonly size: number;
  /** Up to `length` bytes from `offset`; fewer only at the end of the file. */
  read(offset: number, length: number): Promise<Uint8Array>;
}

/** At most this many bytes of header (IFDs, tag arrays, netCDF header, HDF5 structure) are read. */
export const maxHeaderBytes = 64 * 1024 * 1024;
/** And in at most this many reads (each may be a ranged request to storage). */
export const maxHeaderReads = 250_000;

/** A refusal found while reading a header: carries its failure up to `readContainerHeader`. */
export class HeaderError extends Error {
  constructor(readonly failure: Failure) {
    super(failure.message);
  }
}

export function invalid(message: string): never {
  throw new HeaderError({ code: 'INVALID_INPUT', message });
}

export function overLimit(message: string): never {
  throw new HeaderError({ code: 'INPUT_LIMIT', message });
}

/** Counts header bytes read so a crafted header cannot make us read the whole file in tiny pieces. */
export class BoundedReader {
  private budget = maxHeaderBytes;
  private reads = 0;
  constructor(private readonly source: ByteSource) {}

  get size(): number {
    return this.source.size;
  }

  async read(offset: number, length: number, what: string): Promise<DataView> {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > this.source.size) {
      invalid(`its header places ${what} at byte ${offset}, past the end of the ${this.source.size}-byte file; the file is probably truncated or corrupt — upload it again`);
    }
    this.budget -= length;
    if (this.budget < 0) overLimit(`its header is larger than ${maxHeaderBytes / 1024 / 1024} MiB; it cannot be ingested as it is`);
    if (++this.reads > maxHeaderReads) overLimit(`its header is spread over more than ${maxHeaderReads.toLocaleString('en-US')} pieces; it cannot be ingested as it is`);
    const chunk = await this.source.read(offset, length);
    if (chunk.length < length) invalid(`it ends inside its own header (${what}); the file is probably truncated — upload it again`);
    return new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  }
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 ** 4) return `${(bytes / 1024 ** 4).toFixed(1)} TiB`;
  if (bytes >= 1024 ** 3) return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
  if (bytes >= 1024 ** 2) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} bytes`;
}

/**
 * Attributes of free text that may quote a command line (e.g. `history` holding a gdalwarp call
 * with `+nadgrids=`) or a web page: GDAL never reads a CRS or a location from them, so they are
 * not CRS text.
 */
export const freeTextAttributes = new Set([
  'history', 'comment', 'title', 'summary', 'references', 'source', 'institution', 'description', 'long_name', 'standard_name', 'units', 'calendar', 'axis',
  'positive', 'conventions', 'license', 'acknowledgement', 'acknowledgment', 'keywords', 'project', 'creator_name', 'creator_email', 'creator_url',
  'publisher_name', 'publisher_email', 'publisher_url', 'date_created', 'date_modified', 'time_coverage_start', 'time_coverage_end', 'product_version', 'platform', 'instrument',
]);

/** CF's spellings of longitude and latitude units (CF conventions, 4.1 and 4.2). */
const longitudeUnits = new Set(['degrees_east', 'degree_east', 'degree_e', 'degrees_e', 'degreee', 'degreese']);
const latitudeUnits = new Set(['degrees_north', 'degree_north', 'degree_n', 'degrees_n', 'degreen', 'degreesn']);

/** Whether a coordinate variable's text attributes make it CF longitude or latitude. */
export function isCfAxis(texts: ReadonlyMap<string, string> | undefined, axis: 'longitude' | 'latitude'): boolean {
  if (!texts) return false;
  const units = axis === 'longitude' ? longitudeUnits : latitudeUnits;
  return units.has((texts.get('units') ?? '').trim().toLowerCase()) || (texts.get('standard_name') ?? '').trim().toLowerCase() === axis;
}
