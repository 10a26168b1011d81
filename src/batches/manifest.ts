/**
 * What a batch ingests: a manifest's entries and the filters, parsed and checked. Pure: unit-tested
 * without storage. Entries are untrusted like any request field: each is checked as a source path
 * (`parseSourcePath`) by the caller.
 */
import { FailureError } from '../pipeline/failure.js';
import { compileGlob } from './glob.js';

/** Largest manifest read (100,000 entries of ~100 characters, with room). */
export const maxManifestBytes = 32 * 1024 * 1024;

export type ManifestParse = { ok: true; entries: string[] } | { ok: false; problem: string };

function entryOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value.trim();
  if (typeof value === 'object' && value !== null) {
    const fields = new Map<string, unknown>(Object.entries(value));
    for (const key of ['source', 'path', 'blob', 'href']) {
      const field = fields.get(key);
      if (typeof field === 'string') return field.trim();
    }
  }
  return undefined;
}

/** A CSV line's first field, or its `source`/`path`/`blob` column; quotes as RFC 4180 has them. */
function splitCsvLine(line: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const char = line[i]!;
    if (quoted) {
      if (char === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (char === '"') quoted = false;
      else field += char;
    } else if (char === '"') quoted = true;
    else if (char === ',') {
      fields.push(field);
      field = '';
    } else field += char;
  }
  fields.push(field);
  return fields.map((value) => value.trim());
}

/**
 * A manifest as text: a JSON array (of `"<container>/<blob>"` strings or objects with a
 * `source`/`path`/`blob`/`href` field), a CSV whose header names one of those columns (else its
 * first column), or a plain list, one source a line (`#` comments and blank lines skipped).
 */
export function parseManifest(text: string, name: string): ManifestParse {
  const trimmed = text.replace(/^\uFEFF/, '').trim();
  if (trimmed === '') return { ok: false, problem: 'the manifest is empty' };
  if (trimmed.startsWith('[') || name.toLowerCase().endsWith('.json')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch {
      return { ok: false, problem: 'the manifest is not valid JSON; use a JSON array of "<container>/<blob>" strings, a CSV or one source a line' };
    }
    if (!Array.isArray(parsed)) return { ok: false, problem: 'a JSON manifest must be an array of sources' };
    const entries = parsed.map(entryOf);
    const bad = entries.findIndex((entry) => !entry);
    if (bad >= 0) return { ok: false, problem: `entry ${bad + 1} of the manifest names no source (a string, or an object with "source")` };
    return { ok: true, entries: entries.filter((entry): entry is string => !!entry) };
  }
  const lines = trimmed.split(/\r?\n/).filter((line) => line.trim() !== '' && !line.trim().startsWith('#'));
  if (name.toLowerCase().endsWith('.csv') || lines[0]?.includes(',')) {
    const header = splitCsvLine(lines[0] ?? '').map((column) => column.toLowerCase());
    const column = header.findIndex((value) => ['source', 'path', 'blob', 'href'].includes(value));
    const rows = column >= 0 ? lines.slice(1) : lines;
    const entries = rows.map((line) => splitCsvLine(line)[Math.max(column, 0)] ?? '').filter((entry) => entry !== '');
    return entries.length ? { ok: true, entries } : { ok: false, problem: 'the CSV manifest lists no sources' };
  }
  return { ok: true, entries: lines.map((line) => line.trim()) };
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
