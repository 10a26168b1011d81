/**
 * Issue 18, class D: request fields and batch selections. Globs that send a backtracking regular
 * expression engine into minutes of work on ordinary names; continuation tokens that are not ones
 * the API gave; prefixes and manifests full of names at Azure's length limit, which once failed
 * whole batches (their custom status passed the 16 KB limit); CSV manifests with quoted newlines;
 * the dashboard's source maps. Whatever the request, the host keeps answering.
 */
import { writeFileSync } from 'node:fs';
import { writeRgbUint8 } from './fixtures.js';
import type { CorpusContext } from './hostile.corpus.js';
import type { BatchCase, Expectation } from './hostile.cases.js';

/** Deterministic bytes (a linear congruential sequence), so a case's request is the same on every run. */
function pseudoRandomBytes(count: number, seed: number): Buffer {
  const bytes = Buffer.alloc(count);
  let state = seed >>> 0;
  for (let i = 0; i < count; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    bytes[i] = state >>> 24;
  }
  return bytes;
}

/** Every byte as `%XX`: bytes that are not UTF-8 reach the server as they are. */
function percentEncoded(bytes: Buffer): string {
  return [...bytes].map((byte) => `%${byte.toString(16).padStart(2, '0').toUpperCase()}`).join('');
}

const base64url = (text: string | Buffer): string => Buffer.from(text).toString('base64url');

/** Continuation tokens that no list ever handed out, each as it goes on the query string. */
export const garbageTokens: ReadonlyArray<{ name: string; query: string; what: string }> = [
  { name: 'random-bytes', query: percentEncoded(pseudoRandomBytes(48, 18)), what: '48 random bytes, percent-encoded (not UTF-8)' },
  { name: 'random-base64url', query: base64url(pseudoRandomBytes(96, 19)), what: 'random bytes as base64url: shaped like a token, decodes to junk' },
  { name: '10kb', query: 'A'.repeat(10_000), what: '10,000 characters' },
  { name: 'base64-truncated-json', query: base64url(Buffer.from('{"nextPartitionKey":"job', 'utf8').toString('base64')), what: 'base64url of base64 of JSON cut short' },
  {
    name: 'base64-wrong-json',
    query: base64url(Buffer.from(JSON.stringify({ nextPartitionKey: { $gt: '' }, nextRowKey: [1, 2] })).toString('base64')),
    what: 'base64url of base64 of JSON of the wrong shape (objects where strings go)',
  },
  { name: 'base64-json-array', query: base64url('[1,"x",null]'), what: 'base64url of a JSON array' },
  { name: 'control-characters', query: encodeURIComponent('\u0001\u0002\u001b[31m\r\n'), what: 'control characters and an escape sequence' },
  { name: 'nul', query: '%00', what: 'a NUL byte (%00)' },
  { name: 'nul-inside', query: `${base64url('abc')}%00${base64url('def')}`, what: 'a NUL inside base64url' },
];

/** Globs that run for minutes in a backtracking engine on names like the ones `globBlobNames` lists (each checked with picomatch 4). */
export const explosiveGlobs: ReadonlyArray<{ name: string; glob: string; what: string }> = [
  { name: 'nested-braces', glob: '{a,{a,{a,a*}*}*}*b', what: 'nested brace alternations with stars (the issue: 19.5 s at 24 characters)' },
  { name: 'extglob-alternation', glob: '+(a|aa)*b', what: 'an extglob alternation that overlaps itself, then a star' },
  { name: 'nested-extglob', glob: '+(+(a|aa))b', what: 'a nested extglob of overlapping alternatives' },
  { name: 'extglob-star', glob: '*(a|a|a)*b', what: 'an extglob star of identical alternatives' },
  { name: 'globstar-50', glob: `${'**/'.repeat(50)}x`, what: '`**/` fifty times, then x' },
  { name: 'question-star-40', glob: `${'?*'.repeat(40)}b`, what: '`?*` forty times, then b' },
  { name: 'star-a-500', glob: `${'*a'.repeat(30)}{b,${'c'.repeat(436)}}`, what: 'a 500-character glob: `*a` thirty times, then an alternation' },
];

/** Names that make those globs backtrack: long runs of `a`, and a path 60 folders deep. */
export const globBlobNames: readonly string[] = ['a'.repeat(44), 'a'.repeat(56), `${'a/'.repeat(60)}a`, `${'a'.repeat(40)}.tif`];

export function writeRequestCases(context: CorpusContext): void {
  const refusedToken: Expectation = { outcome: 'http-400', fields: ['continuationToken'] };
  for (const list of ['jobs', 'batches'] as const) {
    for (const token of garbageTokens) {
      context.addCase({
        kind: 'query',
        id: `token-${list}-${token.name}`,
        category: 'request (list)',
        attack: `GET /api/${list} with a continuation token of ${token.what} (the issue: 500)`,
        path: `/api/${list}?continuationToken=${token.query}`,
        expect: refusedToken,
      });
    }
  }
  for (const name of ['app.js.map', 'app.css.map']) {
    context.addCase({ kind: 'query', id: `dashboard-source-map-${name.replace(/\W+/g, '-')}`, category: 'request (dashboard)', attack: `GET /api/dashboard/${name}: a source map shipped with the dashboard`, path: `/api/dashboard/${name}`, expect: { outcome: 'http-404' } });
  }

  // --- Globs, on a host whose storage holds the names that make them backtrack --------------
  const globBlob = context.caseFile('batch-globs', 'blob.txt');
  writeFileSync(globBlob, 'not a raster\n');
  for (const { name, glob, what } of explosiveGlobs) {
    context.addCase({
      kind: 'batch',
      id: `glob-${name}`,
      category: 'request (batch include)',
      attack: `include ${what}, over names of 40-60 characters`,
      blobs: globBlobNames.map((blobName) => ({ container: 'incoming', name: blobName, localPath: globBlob })),
      body: { source: 'incoming/', include: glob, collection: 'hostile-globs' },
      expect: { outcome: 'refused-or-batch-ends', fields: ['include'] },
      host: 'globs',
    });
  }

  // --- Names at Azure's limit (1,024 characters) -------------------------------------------
  const good = (id: string, count: number): BatchCase['blobs'] =>
    Array.from({ length: count }, (_, i) => ({
      container: 'incoming' as const,
      name: `${context.folder}/${id}/good-${i}.tif`,
      localPath: writeRgbUint8(context.caseFile(id, ''), 64, 48, `good-${i}.tif`, { originX: 500_000 + i * 1_000 }),
    }));
  const junkText = context.caseFile('batch-long-names', 'junk.txt');
  writeFileSync(junkText, 'not a raster, under a very long name\n');
  const junkTiff = context.caseFile('batch-long-names', 'junk.tif');
  writeFileSync(junkTiff, Buffer.concat([Buffer.from([0x49, 0x49, 0x2a, 0x00, 0xff, 0xff, 0xff, 0x7f]), Buffer.alloc(64)]));
  const junkVrt = context.caseFile('batch-long-names', 'junk.vrt');
  writeFileSync(junkVrt, '<VRTDataset rasterXSize="1" rasterYSize="1"></VRTDataset>\n');
  const longPrefix = `${context.folder}/batch-long-names/`;
  const junk = Array.from({ length: 24 }, (_, i) => {
    const ext = ['.tif', '.txt', '.vrt'][i % 3]!;
    // Up to the limit: the prefix, a long stem, a counter that keeps each name distinct.
    const stem = `${String(i).padStart(2, '0')}-${'long-name-'.repeat(100)}`.slice(0, 1024 - longPrefix.length - ext.length);
    return { container: 'incoming' as const, name: `${longPrefix}${stem}${ext}`, localPath: [junkTiff, junkText, junkVrt][i % 3]! };
  });
  context.addCase({
    kind: 'batch',
    id: 'batch-long-names',
    category: 'request (batch)',
    attack: 'a prefix holding 24 junk files whose names are 1,024 characters long and 2 good rasters (the issue: the batch failed "unexpectedly", its status past 16 KB)',
    blobs: [...good('batch-long-names', 2), ...junk],
    body: { source: `incoming/${longPrefix}`, collection: 'hostile-batch-long' },
    expect: { outcome: 'batch-ends', doneAtLeast: 2, junkAtLeast: 24 },
  });

  const manifestGood = good('batch-manifest-long-missing', 1);
  const longMissing = Array.from({ length: 40 }, (_, i) => `incoming/${context.folder}/batch-manifest-long-missing/missing/${String(i).padStart(2, '0')}-${'m'.repeat(1024)}`.slice(0, 9 + 1024));
  const overLimit = Array.from({ length: 5 }, (_, i) => `incoming/${context.folder}/${i}-${'x'.repeat(3000)}.tif`);
  const manifestPath = context.caseFile('batch-manifest-long-missing', 'manifest.txt');
  writeFileSync(manifestPath, [...longMissing, ...overLimit, `incoming/${manifestGood[0]!.name}`].join('\n'));
  context.addCase({
    kind: 'batch',
    id: 'batch-manifest-long-missing',
    category: 'request (batch)',
    attack: 'a manifest of 40 missing entries at the blob-name limit, 5 entries of 3,000 characters and 1 good raster',
    blobs: [...manifestGood, { container: 'incoming', name: `${context.folder}/batch-manifest-long-missing/manifest.txt`, localPath: manifestPath }],
    body: { manifest: `incoming/${context.folder}/batch-manifest-long-missing/manifest.txt`, collection: 'hostile-batch-manifest' },
    expect: { outcome: 'batch-ends', counts: { done: 1, missing: 45 } },
  });

  // RFC 4180: a quoted field may hold newlines and commas; a line splitter sees extra rows.
  const noteGood = good('batch-csv-quoted-newline', 2);
  const csvPath = context.caseFile('batch-csv-quoted-newline', 'manifest.csv');
  writeFileSync(csvPath, `source,note\r\nincoming/${noteGood[0]!.name},"first line\nsecond line, with a comma"\r\n"incoming/${noteGood[1]!.name}","""quoted"", and\r\nmore"\r\n`);
  context.addCase({
    kind: 'batch',
    id: 'batch-csv-quoted-newline',
    category: 'request (batch manifest)',
    attack: 'a CSV manifest whose note column holds quoted newlines, commas and quotes: two rows, not four',
    blobs: [...noteGood, { container: 'incoming', name: `${context.folder}/batch-csv-quoted-newline/manifest.csv`, localPath: csvPath }],
    body: { manifest: `incoming/${context.folder}/batch-csv-quoted-newline/manifest.csv`, collection: 'hostile-batch-csv' },
    expect: { outcome: 'batch-ends', counts: { total: 2, done: 2, failed: 0, missing: 0 } },
  });
  const sourceGood = good('batch-csv-newline-in-source', 1);
  const csvSourcePath = context.caseFile('batch-csv-newline-in-source', 'manifest.csv');
  writeFileSync(csvSourcePath, `source\n"incoming/${context.folder}/batch-csv-newline-in-source/x\ny.tif"\nincoming/${sourceGood[0]!.name}\n`);
  context.addCase({
    kind: 'batch',
    id: 'batch-csv-newline-in-source',
    category: 'request (batch manifest)',
    attack: 'a CSV manifest whose source field is quoted and holds a newline: one entry, reported missing (a name with a control character), beside one good raster',
    blobs: [...sourceGood, { container: 'incoming', name: `${context.folder}/batch-csv-newline-in-source/manifest.csv`, localPath: csvSourcePath }],
    body: { manifest: `incoming/${context.folder}/batch-csv-newline-in-source/manifest.csv`, collection: 'hostile-batch-csv-source' },
    expect: { outcome: 'batch-ends', counts: { total: 1, done: 1, missing: 1 } },
  });

  // The same source listed again: once it started a second job whose entry failed INTERNAL; now it runs once.
  const repeated = good('batch-manifest-duplicates', 2);
  const repeatedPath = context.caseFile('batch-manifest-duplicates', 'manifest.txt');
  writeFileSync(repeatedPath, [repeated[0]!, repeated[0]!, repeated[1]!, repeated[0]!].map((blob) => `incoming/${blob.name}`).join('\n'));
  context.addCase({
    kind: 'batch',
    id: 'batch-manifest-duplicates',
    category: 'request (batch manifest)',
    attack: 'a manifest naming one raster three times beside another: one job each, the repeats skipped with a reason, never INTERNAL',
    blobs: [...repeated, { container: 'incoming', name: `${context.folder}/batch-manifest-duplicates/manifest.txt`, localPath: repeatedPath }],
    body: { manifest: `incoming/${context.folder}/batch-manifest-duplicates/manifest.txt`, collection: 'hostile-batch-duplicates' },
    expect: { outcome: 'batch-ends', counts: { done: 2, failed: 0 } },
  });

  // Terminal escapes and bidi overrides in names: listed as missing, shown escaped (a terminal
  // printing the batch must not clear its screen or retitle its window).
  const escapeGood = good('batch-manifest-terminal-escapes', 1);
  const escapePath = context.caseFile('batch-manifest-terminal-escapes', 'manifest.txt');
  const escaping = ['esc\u001b[2J\u001b]0;pwned\u0007.tif', 'bell\u0007\u0007.tif', 'rtl\u202egpj.tif', 'csi\u009b31m.tif'].map((name) => `incoming/${context.folder}/batch-manifest-terminal-escapes/${name}`);
  writeFileSync(escapePath, [...escaping, `incoming/${escapeGood[0]!.name}`].join('\n'));
  context.addCase({
    kind: 'batch',
    id: 'batch-manifest-terminal-escapes',
    category: 'request (batch manifest)',
    attack: 'a manifest whose missing entries carry ESC sequences (clear screen, set title), BEL, a C1 CSI and a right-to-left override, beside one good raster',
    blobs: [...escapeGood, { container: 'incoming', name: `${context.folder}/batch-manifest-terminal-escapes/manifest.txt`, localPath: escapePath }],
    body: { manifest: `incoming/${context.folder}/batch-manifest-terminal-escapes/manifest.txt`, collection: 'hostile-batch-escapes' },
    expect: { outcome: 'batch-ends', counts: { done: 1, missing: 4 } },
  });
}
