/**
 * Batch `include` globs on RE2: the syntax users had with picomatch, answers (not times) for
 * patterns that blew up a backtracking engine, and the limits that refuse a glob as a 400 on
 * `include`.
 */
import picomatch from 'picomatch';
import { describe, expect, it } from 'vitest';
import { createSourceFilter } from '../../src/batches/manifest.js';
import { compileGlob, globLimits } from '../../src/batches/glob.js';
import { FailureError } from '../../src/pipeline/failure.js';
import { submitBatchSchema } from '../../src/pipeline/options.js';

function matcher(glob: string): (name: string) => boolean {
  const compiled = compileGlob(glob);
  if (!compiled.ok) throw new Error(`refused ${glob}: ${compiled.problem}`);
  return compiled.matches;
}

function refusal(glob: string): string {
  const compiled = compileGlob(glob);
  if (compiled.ok) throw new Error(`accepted ${glob} as ${compiled.pattern}`);
  return compiled.problem;
}

describe('include globs', () => {
  // picomatch (dot: true) was the engine before: the same answers on the same syntax. Names never
  // end in "/" (Azure blob names cannot), and `[!a]` is compared by itself below.
  const globs = [
    '**/*.tif',
    '*.{tif,nc}',
    '*.{tif,{nc,h5}}',
    'scenes/**/*.{tif,TIF}',
    'a?c',
    '[a-c]x',
    '[^a]x',
    '[]a]',
    '[[:alpha:]]x',
    'dir/[0-9][0-9]/*.tif',
    '{a..c}x',
    '{a}',
    '{}',
    'a{,b}c',
    'a/**',
    'a/**/**',
    '**',
    '*',
    '**/x/**/*.nc',
    '**/b/**',
    './a.tif',
    '[a-c',
    'a[]b',
    'a*',
    '**a',
    'a**/b',
    'x/**b',
    '*(a|b)',
    '+(a|b).tif',
    '?(a).tif',
    '@(a|b)',
    '*(a|aa)*b',
    '!*.tif',
    'a\\*b',
    '*.TIF',
    '**/**/**/*.tif',
    'x/*/y',
  ];
  const names = [
    'a.tif', 'x/a.tif', 'x/y/a.tif', 'a.nc', 'a.h5', 'a.TIF', 'abc', 'a/c', 'bx', 'ax', '.x/y', 'x/y.nc', 'a/x/b/c/y.nc', 'a', 'a/b/c', 'ac', 'abbc', '[a-c', 'a[]b',
    ']x', ']', 'ab', 'a/b', 'xa', 'x/a', 'ax/b', 'x/ab', 'x/y/ab', 'abab', 'ab.tif', '.tif', 'a*b', 'axb', '{a}', '{}', 'scenes/q/r.TIF', 'x/q/y', 'dir/12/a.tif',
    'dir/1a/a.tif', 'aaab', 'b/x', 'b/b', 'b', '.hidden', 'é/ü.tif',
  ];

  it.each(globs)('answers %j as picomatch did', (glob) => {
    const ours = matcher(glob);
    const theirs = picomatch(glob, { dot: true });
    expect(names.filter((name) => ours(name))).toEqual(names.filter((name) => theirs(name)));
  });

  it('reads [!…] as "none of these" and never matches "/" with a negated class or a wildcard', () => {
    expect(['bx', 'ax', '/x', '-x'].filter(matcher('[!a]x'))).toEqual(['bx', '-x']);
    expect(matcher('[^a]x')('/x')).toBe(false);
    expect(matcher('?')('/')).toBe(false);
    expect(matcher('a*b')('a/b')).toBe(false);
  });

  it('answers the patterns that stalled a backtracking engine, on long names', () => {
    const as = (n: number) => 'a'.repeat(n);
    // The issue's pattern: 19.5 s on 24 characters with picomatch's regular expression.
    const nested = matcher('{a,{a,{a,a*}*}*}*b');
    expect(nested(as(24))).toBe(false);
    expect(nested(as(1023))).toBe(false);
    expect(nested(`${as(1023)}b`)).toBe(true);
    expect(nested(`${as(500)}/b`)).toBe(false);

    const extglob = matcher('*(a|aa)*b');
    expect(extglob(as(1024))).toBe(false);
    expect(extglob(`${as(1023)}b`)).toBe(true);
    const nestedExtglob = matcher('+(a|aa|aaa)+(a|aa)*(a|b)*c');
    expect(nestedExtglob(as(1024))).toBe(false);
    expect(nestedExtglob(`${as(1000)}bbc`)).toBe(true);

    // A globstar repeated a hundred times is one globstar.
    const globstars = matcher(`${'**/'.repeat(100)}*.tif`);
    expect(globstars(`${'a/'.repeat(500)}b.tif`)).toBe(true);
    expect(globstars(`${'a/'.repeat(500)}b.tiff`)).toBe(false);

    // 32 wildcards (the limit), none of which can end the match.
    const stars = matcher(`${'*a'.repeat(32)}b`);
    expect(stars(as(1024))).toBe(false);
    expect(stars(`${as(1023)}b`)).toBe(true);

    // Globs of 500 characters (the limit).
    const questionMarks = matcher(`${'?'.repeat(globLimits.maxLength - 1)}*`);
    expect(questionMarks(as(1024))).toBe(true);
    expect(questionMarks(as(498))).toBe(false);
    const classes = matcher(`${'[[:alpha:]][[:alnum:]]'.repeat(22)}*.tif`.padEnd(globLimits.maxLength, '?'));
    expect(classes('ab'.repeat(512))).toBe(false);
    expect(classes(`${'ab'.repeat(300)}.tif${'x'.repeat(11)}`)).toBe(true);
    expect(classes(`${'ab'.repeat(300)}.tif${'x'.repeat(10)}`)).toBe(false);
    const negatedClasses = matcher('*[!a]*[!b]*[!c]*[!d]*[!e]*[!f]*[!g]*[!h]*[!i]*[!j]*[!k]*[!l]*[!m]*[!n]*[!o]*[!p]*z');
    expect(negatedClasses('ab'.repeat(512))).toBe(false);
    expect(negatedClasses(`${'ab'.repeat(511)}zz`)).toBe(true);

    // Characters outside the BMP are one character to "?".
    expect(matcher('😀?*')('😀😀'.repeat(300))).toBe(true);
  });

  it('refuses globs beyond its limits, saying which, without repeating the glob', () => {
    expect(refusal('a'.repeat(globLimits.maxLength + 1))).toMatch(/501 characters long; at most 500/);
    expect(refusal(`${'*a'.repeat(33)}b`)).toMatch(/more than 32 wildcards/);
    expect(refusal(`{${Array.from({ length: 65 }, (_, i) => `a${i}`).join(',')}}`)).toMatch(/more than 64 alternatives/);
    expect(refusal('{a,{b,{c,{d,{e,f}}}}}')).toMatch(/nest more than 4 deep/);
    expect(refusal('@(a|@(b|@(c|@(d|@(e|f)))))')).toMatch(/nest more than 4 deep/);
    expect(refusal('!(a).tif')).toMatch(/"!\(…\)" inside a glob is not supported/);
    expect(refusal('[[:nothing:]]')).toMatch(/is not a character class/);
    expect(refusal('[z-a]')).toMatch(/runs backwards/);
    expect(refusal('')).toMatch(/empty/);
    for (const glob of ['a'.repeat(501), `${'*x'.repeat(40)}`]) expect(refusal(glob)).not.toContain('xxxxx');
  });

  it('is refused at submission as a 400 on "include", and fails a batch submitted before the limits', () => {
    const parsed = submitBatchSchema.safeParse({ source: 'uploads/scenes/', include: `${'*a'.repeat(40)}b` });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((issue) => issue.path.join('.'))).toEqual(['include']);
    expect(submitBatchSchema.safeParse({ source: 'uploads/scenes/', include: '{a,{a,{a,a*}*}*}*b' }).success).toBe(true);
    expect(() => createSourceFilter({ include: '!(a)' })).toThrow(FailureError);
    try {
      createSourceFilter({ include: '!(a)' });
    } catch (error) {
      expect((error as FailureError).failure).toMatchObject({ code: 'INVALID_INPUT', message: expect.stringMatching(/^include: /) });
    }
  });
});
