/**
 * What a batch ingests: a manifest's entries and the filters, parsed and checked. No storage here
 * (the bytes come in as a stream): unit-tested without it. Entries are untrusted like any request
 * field: each is checked as a source path (`parseSourcePath`) by the caller.
 *
 * A manifest is read once per batch, streamed through csv-parse (quoted fields may hold commas and
 * newlines), within limits on its bytes, its entries and the length of each; beyond them it is
 * refused with `INPUT_LIMIT`, and a manifest that cannot be read with `INVALID_INPUT`, saying where.
 */
import { Readable, pipeline } from 'node:stream';
import { CsvError, parse, type Options as CsvOptions } from 'csv-parse';
import { boundText } from '../pipeline/bounded.text.js';
import { FailureError, type Failure } from '../pipeline/failure.js';
import { compileGlob } from './glob.js';

export const manifestLimits = {
  /** Bytes read (100,000 entries of ~100 characters, with room). */
  maxBytes: 32 * 1024 * 1024,
  /** Entries (sources) in one manifest. */
  maxEntries: 200_000,
  /**
   * Characters in one entry. A source path has at most 1,088 (a 63-character container, "/", a
   * 1,024-character blob name); longer entries up to this are reported as naming no blob.
   */
  maxEntryLength: 4096,
  /** Characters in one CSV record, all its fields (csv-parse's guard against an unclosed quote). */
  maxRecordLength: 64 * 1024,
} as const;

export type ManifestLimits = { [K in keyof typeof manifestLimits]: number };

export type ManifestParse = { ok: true; entries: string[] } | { ok: false; failure: Failure };

/** Columns (CSV header) or fields (JSON objects) that name a source, in this order. */
const sourceFields = ['source', 'path', 'blob', 'href'];

/** How far the format is looked for: the first line that is neither blank nor a comment. */
const maxPeekBytes = 1024 * 1024;

type ManifestFormat = 'json' | 'csv' | 'list';

/** A manifest's bytes as they arrive (a blob's download stream, or chunks in memory). */
export type ByteSource = AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>;

/** Refuses the manifest: thrown inside the reader, returned as `{ok: false}`. */
class ManifestRefusal extends Error {
  constructor(readonly failure: Failure) {
    super(failure.message);
  }
}

const refuse = (code: 'INVALID_INPUT' | 'INPUT_LIMIT', message: string): ManifestRefusal => new ManifestRefusal({ code, message });

/** The stream's bytes, refused once they pass `maxBytes` (whatever the blob's size said). */
async function* boundedBytes(source: ByteSource, maxBytes: number): AsyncGenerator<Buffer> {
  let total = 0;
  for await (const chunk of source) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    total += bytes.byteLength;
    if (total > maxBytes) throw refuse('INPUT_LIMIT', `the manifest is over the limit of ${maxBytes} bytes; split it into several`);
    yield bytes;
  }
}

/**
 * The format, from the name and the start of the text (`undefined`: read on). JSON: a `.json`
 * name or a `[` first; CSV: a `.csv` name or a comma in the first line that is not blank or a
 * comment; else a plain list, one source a line.
 */
function detectFormat(head: string, name: string, complete: boolean): ManifestFormat | undefined {
  const lower = name.toLowerCase();
  const text = head.replace(/^\uFEFF/, '');
  if (lower.endsWith('.json') || text.trimStart().startsWith('[')) return 'json';
  if (lower.endsWith('.csv')) return 'csv';
  let start = 0;
  for (;;) {
    const end = text.indexOf('\n', start);
    if (end < 0 && !complete && head.length < maxPeekBytes) return undefined;
    const line = (end < 0 ? text.slice(start) : text.slice(start, end)).trim();
    if (line !== '' && !line.startsWith('#')) return line.includes(',') ? 'csv' : 'list';
    if (end < 0) return 'list';
    start = end + 1;
  }
}

function entryOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value.trim();
  if (typeof value === 'object' && value !== null) {
    const fields = new Map<string, unknown>(Object.entries(value));
    for (const key of sourceFields) {
      const field = fields.get(key);
      if (typeof field === 'string') return field.trim();
    }
  }
  return undefined;
}

class EntryList {
  readonly entries: string[] = [];

  constructor(private readonly limits: ManifestLimits) {}

  /** Adds a non-empty entry; `where` says where it stands, for a refusal. */
  add(entry: string, where: string): void {
    if (entry === '' || entry.startsWith('#')) return;
    if (entry.length > this.limits.maxEntryLength) throw refuse('INPUT_LIMIT', `${where} is ${entry.length} characters long; a manifest entry may have at most ${this.limits.maxEntryLength}`);
    if (this.entries.length >= this.limits.maxEntries) throw refuse('INPUT_LIMIT', `the manifest lists more than ${this.limits.maxEntries} sources; split it into several`);
    this.entries.push(entry);
  }
}

async function readJson(chunks: AsyncIterable<Buffer>, limits: ManifestLimits): Promise<string[]> {
  const parts: Buffer[] = [];
  for await (const chunk of chunks) parts.push(chunk);
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.concat(parts).toString('utf8').replace(/^\uFEFF/, ''));
  } catch {
    throw refuse('INVALID_INPUT', 'the manifest is not valid JSON; use a JSON array of "<container>/<blob>" strings, a CSV or one source a line');
  }
  if (!Array.isArray(parsed)) throw refuse('INVALID_INPUT', 'a JSON manifest must be an array of sources');
  if (parsed.length > limits.maxEntries) throw refuse('INPUT_LIMIT', `the manifest lists ${parsed.length} sources; at most ${limits.maxEntries}, split it into several`);
  const list = new EntryList(limits);
  for (const [index, value] of parsed.entries()) {
    const entry = entryOf(value);
    if (!entry) throw refuse('INVALID_INPUT', `entry ${index + 1} of the manifest names no source (a string, or an object with "source")`);
    list.add(entry, `entry ${index + 1}`);
  }
  return list.entries;
}

/** Why csv-parse stopped, in words (its own message quotes the input). */
function describeCsvError(error: CsvError): ManifestRefusal {
  const line = typeof error['lines'] === 'number' ? ` near line ${error['lines']}` : '';
  switch (error.code) {
    case 'CSV_MAX_RECORD_SIZE':
      return refuse('INPUT_LIMIT', `a record of the manifest${line} is longer than ${manifestLimits.maxRecordLength} characters (an unclosed quote?)`);
    case 'CSV_QUOTE_NOT_CLOSED':
      return refuse('INVALID_INPUT', `the manifest is not valid CSV: a quoted field${line} is never closed`);
    default:
      return refuse('INVALID_INPUT', `the manifest is not valid CSV${line} (${error.code})`);
  }
}

async function readRecords(chunks: AsyncIterable<Buffer>, format: 'csv' | 'list', limits: ManifestLimits): Promise<string[]> {
  const options: CsvOptions = {
    bom: true,
    comment: '#',
    comment_no_infix: true,
    skip_empty_lines: true,
    relax_column_count: true,
    relax_quotes: true,
    trim: true,
    max_record_size: limits.maxRecordLength,
    // A plain list has no fields or quotes: a line is one source, whatever it holds (NUL is never in a blob name).
    ...(format === 'list' ? { quote: false, delimiter: '\u0000' } : {}),
  };
  const parser = parse(options);
  let failure: unknown;
  pipeline(Readable.from(chunks), parser, (error) => {
    failure ??= error;
  });
  const list = new EntryList(limits);
  let column: number | undefined = format === 'list' ? 0 : undefined;
  try {
    for await (const record of parser as AsyncIterable<string[]>) {
      const where = `entry ${list.entries.length + 1}`;
      if (format === 'list') {
        list.add(record.join('\u0000'), where);
        continue;
      }
      if (column === undefined) {
        // A header names the source column; without one the first column is the source.
        const header = record.map((cell) => cell.toLowerCase());
        column = header.findIndex((cell) => sourceFields.includes(cell));
        if (column >= 0) continue;
        column = 0;
      }
      list.add(record[column] ?? '', where);
    }
  } catch (error) {
    throw error instanceof CsvError ? describeCsvError(error) : error;
  }
  if (failure instanceof ManifestRefusal) throw failure;
  if (list.entries.length === 0) throw refuse('INVALID_INPUT', format === 'csv' ? 'the CSV manifest lists no sources' : 'the manifest is empty');
  return list.entries;
}

/**
 * A manifest's entries, read from its bytes as they stream in: a JSON array (of
 * `"<container>/<blob>"` strings or objects with a `source`/`path`/`blob`/`href` field), a CSV
 * whose header names one of those columns (else its first column is the source), or a plain list,
 * one source a line. Blank lines and lines starting with `#` are skipped.
 */
export async function readManifest(source: ByteSource, name: string, limits: ManifestLimits = manifestLimits): Promise<ManifestParse> {
  const bytes = boundedBytes(source, limits.maxBytes);
  try {
    // Enough of the start to tell the format; those chunks are then read again, with the rest.
    const head: Buffer[] = [];
    let format: ManifestFormat | undefined;
    let done = false;
    while (format === undefined) {
      const next = await bytes.next();
      done = next.done === true;
      if (!done) head.push(next.value as Buffer);
      format = detectFormat(Buffer.concat(head).toString('utf8'), name, done);
    }
    if (head.every((chunk) => chunk.toString('utf8').trim() === '') && done) throw refuse('INVALID_INPUT', 'the manifest is empty');
    async function* all(): AsyncGenerator<Buffer> {
      yield* head;
      if (!done) yield* bytes;
    }
    const entries = format === 'json' ? await readJson(all(), limits) : await readRecords(all(), format, limits);
    return { ok: true, entries };
  } catch (error) {
    if (error instanceof ManifestRefusal) return { ok: false, failure: error.failure };
    throw error;
  } finally {
    await bytes.return(undefined);
  }
}

/** A manifest held in memory (tests, small uploads). */
export function parseManifest(text: string, name: string, limits: ManifestLimits = manifestLimits): Promise<ManifestParse> {
  return readManifest([Buffer.from(text, 'utf8')], name, limits);
}

/**
 * Control characters and bidirectional overrides, which a terminal or a page would act on (an ESC
 * sequence clears the operator's screen or retitles it; U+202E before `fit.png` shows it as `gnp.tif`).
 */
const unprintable = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** How an upload-derived name appears in a message: unprintable characters written as `\u{…}`, cut to a bound, with a hash of the whole. */
export function shownName(name: string): string {
  const printable = name.replace(unprintable, (char) => `\\u{${char.codePointAt(0)!.toString(16)}}`);
  return boundText(printable, 200);
}

/**
 * Blob names a batch takes: matching the `include` glob (when given; RE2, linear in the name) and
 * modified since `since`. A glob the submission would refuse now (a batch submitted before the
 * limits) fails the batch with `INVALID_INPUT`, saying why.
 */
export function createSourceFilter(filters: { include?: string; since?: string }): (name: string, lastModified: Date | undefined) => boolean {
  const glob = filters.include ? compileGlob(filters.include) : undefined;
  if (glob && !glob.ok) throw new FailureError({ code: 'INVALID_INPUT', message: `include: ${glob.problem}` });
  const matches = glob?.ok ? glob.matches : () => true;
  const since = filters.since ? Date.parse(filters.since) : undefined;
  return (name, lastModified) => matches(name) && (since === undefined || (lastModified !== undefined && lastModified.getTime() >= since));
}
