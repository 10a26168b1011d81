/**
 * Names from uploads shown in a batch's missing entries and messages: a manifest entry holding an
 * ESC sequence reached the operator's terminal as is through `raster-ingest batch <id>` (it cleared
 * the screen and set the window title; found by probing), and a bidi override reversed what a name shows.
 */
import { describe, expect, it } from 'vitest';
import { shownName } from '../../src/batches/manifest.js';

describe('shownName', () => {
  it.each([
    ['an ESC sequence and a bell', 'incoming/esc\u001b[2J\u001b]0;pwned\u0007.tif', 'incoming/esc\\u{1b}[2J\\u{1b}]0;pwned\\u{7}.tif'],
    ['a tab and a newline', 'a\tb\nc.tif', 'a\\u{9}b\\u{a}c.tif'],
    ['a C1 control', 'a\u009bb.tif', 'a\\u{9b}b.tif'],
    ['a right-to-left override', 'x\u202Efit.png', 'x\\u{202e}fit.png'],
    ['an isolate', 'x\u2067y', 'x\\u{2067}y'],
  ])('writes %s as escapes', (_name, raw, shown) => {
    expect(shownName(raw)).toBe(shown);
  });

  it('keeps printable names, unicode included, as they are', () => {
    expect(shownName('uploads/ünïcödé-日本語-🙂.tif')).toBe('uploads/ünïcödé-日本語-🙂.tif');
  });

  it('stays within its bound when escapes lengthen a long name', () => {
    const shown = shownName(`uploads/${'\u001b'.repeat(1000)}.tif`);
    expect(shown.length).toBeLessThanOrEqual(200);
    expect(shown).not.toMatch(/[\u0000-\u001f]/);
  });
});
