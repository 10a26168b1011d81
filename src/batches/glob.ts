/**
 * Batch `include` globs, compiled to a regular expression that RE2 evaluates (re2js: linear in the
 * name's length whatever the pattern). A backtracking engine took 19.5 s on a 24-character name
 * for `{a,{a,{a,a*}*}*}*b`-style nesting, holding the event loop; picomatch's own expressions need
 * lookarounds RE2 cannot run, so the translation is ours. Pure: unit-tested without storage.
 *
 * The syntax users had with picomatch (`dot: true`): `*` (within one path segment), `**` as a whole
 * segment (any number of segments), `?`, character classes (`[a-z]`, `[!a]`, `[^a]`,
 * `[[:digit:]]`), braces (`*.{tif,nc}`, nested, `{a..e}`), extglobs `@(a|b)`, `?(a)`, `*(a)`,
 * `+(a)`, `\` escapes and one leading `!` that negates the whole glob. Not supported (refused,
 * with the reason): `!(...)` inside a glob, which RE2 cannot express. Limits on length, wildcards,
 * alternatives, nesting and the compiled program keep every glob cheap on a 1,024-character name.
 */
import { RE2JS } from 're2js';

export const globLimits = {
  /** Characters in a glob. */
  maxLength: 500,
  /** `*`, `**`, `*(…)` and `+(…)`: each repeats, so each multiplies the automaton's states. */
  maxStars: 32,
  /** Alternatives over all braces and extglobs (`{a,b}` has 2). */
  maxAlternatives: 64,
  /** Braces and extglobs inside each other. */
  maxDepth: 4,
  /** RE2's compiled program, instructions (a rough measure of the cost per character matched). */
  maxProgramSize: 3000,
} as const;

export type GlobLimits = { [K in keyof typeof globLimits]: number };

export type CompiledGlob = { ok: true; matches: (name: string) => boolean; pattern: string } | { ok: false; problem: string };

class GlobProblem extends Error {}

/** `**\/`: any number of whole segments (none included). */
const globstarSegments = '(?:[^/]*/)*';

const posixClasses = new Set(['alnum', 'alpha', 'ascii', 'blank', 'cntrl', 'digit', 'graph', 'lower', 'print', 'punct', 'space', 'upper', 'word', 'xdigit']);

/** One character (a code point), as RE2 reads it literally wherever it stands, in a class or out of one. */
function literal(char: string): string {
  return /^[A-Za-z0-9_/]$/.test(char) ? char : `\\x{${char.codePointAt(0)!.toString(16)}}`;
}

const extglobOperators = new Set(['@', '?', '*', '+', '!']);

/**
 * Where each structural opener closes: braces and extglob parentheses nest; `\` escapes and
 * character classes are skipped. An opener without its closer stays a literal character. One pass.
 */
function findClosers(glob: string): Map<number, number> {
  const closers = new Map<number, number>();
  const open: Array<{ at: number; char: '{' | '(' }> = [];
  /** Where the last unescaped extglob operator stood: a "(" right after it opens an extglob. */
  let operatorAt = -1;
  for (let i = 0; i < glob.length; i++) {
    const char = glob[i]!;
    if (char === '\\') i++;
    else if (char === '[') {
      const end = classEnd(glob, i);
      if (end > 0) i = end;
    } else if (extglobOperators.has(char)) operatorAt = i;
    else if (char === '{') open.push({ at: i, char });
    else if (char === '(' && operatorAt === i - 1) open.push({ at: i, char });
    else if ((char === '}' || char === ')') && open.at(-1)?.char === (char === '}' ? '{' : '(')) closers.set(open.pop()!.at, i);
  }
  return closers;
}

/** The index of the `]` closing the class opened at `start`, or -1 (then `[` is a literal). */
function classEnd(glob: string, start: number): number {
  let i = start + 1;
  if (glob[i] === '!' || glob[i] === '^') i++;
  if (glob[i] === ']') i++;
  for (; i < glob.length; i++) {
    const char = glob[i]!;
    if (char === '\\') i++;
    else if (char === '[' && glob[i + 1] === ':') {
      const close = glob.indexOf(':]', i + 2);
      if (close > 0) i = close + 1;
    } else if (char === ']') return i;
  }
  return -1;
}

interface Budget {
  stars: number;
  alternatives: number;
}

class GlobTranslator {
  private readonly closers: Map<number, number>;
  private readonly budget: Budget = { stars: 0, alternatives: 0 };

  constructor(
    private readonly glob: string,
    private readonly limits: GlobLimits,
  ) {
    this.closers = findClosers(glob);
  }

  translate(): string {
    const { regex } = this.sequence(0, this.glob.length, 0, true);
    return regex;
  }

  private star(count = 1): void {
    this.budget.stars += count;
    if (this.budget.stars > this.limits.maxStars) throw new GlobProblem(`it has more than ${this.limits.maxStars} wildcards ("*", "**", "*(…)", "+(…)")`);
  }

  private alternatives(count: number): void {
    this.budget.alternatives += count;
    if (this.budget.alternatives > this.limits.maxAlternatives) throw new GlobProblem(`it has more than ${this.limits.maxAlternatives} alternatives in braces and extglobs`);
  }

  /** The glob between `start` and `end` (exclusive) as a regular expression; `segmentStart`: a path segment begins at `start`. */
  private sequence(start: number, end: number, depth: number, segmentStart: boolean): { regex: string } {
    const glob = this.glob;
    let regex = '';
    let atSegmentStart = segmentStart;
    /** What the regex ends with: `**\/` segments (a second one right after adds nothing), or anything else. */
    let last: 'star' | 'globstar' | 'other' = 'other';
    for (let i = start; i < end; ) {
      const char = glob[i]!;
      const closer = this.closers.get(i + 1);
      if (extglobOperators.has(char) && glob[i + 1] === '(' && closer !== undefined && closer < end) {
        regex += this.extglob(char, i + 2, closer, depth + 1);
        i = closer + 1;
        atSegmentStart = false;
        last = 'other';
        continue;
      }
      if (char === '*') {
        let run = i;
        while (run < end && glob[run] === '*') run++;
        const double = run - i >= 2;
        const segmentEnds = run === end || glob[run] === '/';
        if (double && atSegmentStart && segmentEnds) {
          if (run < end) {
            // `**/`: any number of whole segments, none included.
            if (last !== 'globstar') {
              this.star();
              regex += globstarSegments;
            }
            i = run + 1;
            last = 'globstar';
            continue;
          }
          // `**` ending the glob: everything below. After a "/" that "/" is optional too, so `a/**` matches `a`.
          if (last === 'globstar') regex = regex.slice(0, -globstarSegments.length);
          else this.star();
          regex = regex.endsWith('/') ? `${regex.slice(0, -1)}(?:/.*)?` : `${regex}.*`;
          i = run;
          last = 'globstar';
          continue;
        }
        this.star();
        regex += '[^/]*';
        i = run;
        atSegmentStart = false;
        last = 'star';
        continue;
      }
      last = 'other';
      if (char === '?') {
        regex += '[^/]';
        i++;
      } else if (char === '[') {
        const close = classEnd(glob, i);
        if (close < 0 || close >= end) {
          regex += literal('[');
          i++;
        } else {
          regex += this.characterClass(i, close);
          i = close + 1;
        }
      } else if (char === '{' && this.closers.has(i) && this.closers.get(i)! < end) {
        const close = this.closers.get(i)!;
        regex += this.braces(i + 1, close, depth + 1, atSegmentStart);
        i = close + 1;
      } else if (char === '\\') {
        const next = glob.codePointAt(i + 1);
        const escaped = next === undefined ? '\\' : String.fromCodePoint(next);
        regex += literal(escaped);
        i += 1 + (next === undefined ? 0 : escaped.length);
      } else {
        const point = String.fromCodePoint(glob.codePointAt(i)!);
        regex += literal(point);
        i += point.length;
      }
      atSegmentStart = char === '/';
    }
    return { regex };
  }

  /** The alternatives between the top-level commas of `{…}` (or a character range `{a..e}`, or a literal brace when there is no comma). */
  private braces(start: number, end: number, depth: number, segmentStart: boolean): string {
    const range = /^([A-Za-z0-9])\.\.([A-Za-z0-9])$/.exec(this.glob.slice(start, end));
    if (range) {
      const [low, high] = [range[1]!, range[2]!].sort();
      return `[${literal(low!)}-${literal(high!)}]`;
    }
    const parts = this.splitTopLevel(start, end, ',');
    if (parts.length === 1) {
      // `{a}`: no alternatives, so the braces are literal characters (as picomatch has them).
      return `${literal('{')}${this.sequence(start, end, depth, false).regex}${literal('}')}`;
    }
    if (depth > this.limits.maxDepth) throw new GlobProblem(`its braces and extglobs nest more than ${this.limits.maxDepth} deep`);
    this.alternatives(parts.length);
    return `(?:${parts.map(([from, to]) => this.sequence(from, to, depth, segmentStart).regex).join('|')})`;
  }

  private extglob(operator: string, start: number, end: number, depth: number): string {
    if (operator === '!') throw new GlobProblem('"!(…)" inside a glob is not supported; start the glob with "!" to exclude what it matches');
    if (depth > this.limits.maxDepth) throw new GlobProblem(`its braces and extglobs nest more than ${this.limits.maxDepth} deep`);
    const parts = this.splitTopLevel(start, end, '|');
    this.alternatives(parts.length);
    if (operator === '*' || operator === '+') this.star();
    const group = `(?:${parts.map(([from, to]) => this.sequence(from, to, depth, false).regex).join('|')})`;
    return operator === '@' ? group : `${group}${operator}`;
  }

  /** Ranges of `[start, end)` between the separators that are not inside a nested structure, a class or an escape. */
  private splitTopLevel(start: number, end: number, separator: ',' | '|'): Array<[number, number]> {
    const parts: Array<[number, number]> = [];
    let from = start;
    for (let i = start; i < end; i++) {
      const char = this.glob[i]!;
      const closer = this.closers.get(i);
      if (char === '\\') i++;
      else if (char === '[') {
        const close = classEnd(this.glob, i);
        if (close > 0 && close < end) i = close;
      } else if (closer !== undefined) i = closer;
      else if (char === separator) {
        parts.push([from, i]);
        from = i + 1;
      }
    }
    parts.push([from, end]);
    return parts;
  }

  /** `[…]` from `start` to its `]` at `end`: never matches "/" when negated, as a wildcard never does. */
  private characterClass(start: number, end: number): string {
    const glob = this.glob;
    let i = start + 1;
    const negated = glob[i] === '!' || glob[i] === '^';
    if (negated) i++;
    const members: string[] = [];
    let first = true;
    const member = (): string => {
      if (glob[i] === '\\' && i + 1 < end) i++;
      const point = String.fromCodePoint(glob.codePointAt(i)!);
      i += point.length;
      return point;
    };
    while (i < end) {
      if (glob[i] === '[' && glob[i + 1] === ':') {
        const close = glob.indexOf(':]', i + 2);
        if (close > 0 && close < end) {
          const name = glob.slice(i + 2, close);
          if (!posixClasses.has(name)) throw new GlobProblem(`"[:${name.slice(0, 20)}:]" is not a character class; use one of ${[...posixClasses].join(', ')}`);
          members.push(`[:${name}:]`);
          i = close + 2;
          first = false;
          continue;
        }
      }
      if (glob[i] === ']' && !first) break;
      first = false;
      const low = member();
      if (glob[i] === '-' && i + 1 < end) {
        i++;
        const high = member();
        if (low.codePointAt(0)! > high.codePointAt(0)!) throw new GlobProblem('a character range in [...] runs backwards (write "a-z", not "z-a")');
        members.push(`${literal(low)}-${literal(high)}`);
      } else members.push(literal(low));
    }
    return `[${negated ? '^/' : ''}${members.join('')}]`;
  }
}

/**
 * Compiles a glob, or says why it is refused (for a 400 naming `include`); the problem never
 * repeats the glob itself.
 */
export function compileGlob(glob: string, limits: GlobLimits = globLimits): CompiledGlob {
  if (glob.length === 0) return { ok: false, problem: 'the glob is empty' };
  if (glob.length > limits.maxLength) return { ok: false, problem: `the glob is ${glob.length} characters long; at most ${limits.maxLength}` };
  let body = glob;
  let negated = false;
  // A leading "!" negates the whole glob, unless it opens an extglob "!(…)".
  while (body.startsWith('!') && !(body[1] === '(' && findClosers(body).has(1))) {
    negated = !negated;
    body = body.slice(1);
  }
  if (body.startsWith('./')) body = body.slice(2);
  let pattern: string;
  try {
    pattern = new GlobTranslator(body, limits).translate();
  } catch (error) {
    if (error instanceof GlobProblem) return { ok: false, problem: error.message };
    throw error;
  }
  let compiled: RE2JS;
  try {
    compiled = RE2JS.compile(pattern);
  } catch {
    return { ok: false, problem: 'the glob could not be compiled; check its brackets and braces' };
  }
  if (compiled.programSize() > limits.maxProgramSize) return { ok: false, problem: 'the glob is too complex; use fewer wildcards, classes and alternatives' };
  return { ok: true, pattern, matches: negated ? (name) => !compiled.testExact(name) : (name) => compiled.testExact(name) };
}
