import { describe, expect, it } from 'vitest';
import { terminalSafe } from '../../cli/cli.format.js';

describe('CLI output is safe for a terminal', () => {
  it('writes controls, C1 and bidi overrides from upload names as \\uXXXX, keeping newlines and tabs', () => {
    const name = 'esc\u001b[2J\u001b]0;pwned\u0007 csi\u009b31m rtl\u202egpj.tif cr\rline';
    const shown = terminalSafe(`Source\t${name}\nnext line`);
    expect(shown).toBe('Source\tesc\\u001b[2J\\u001b]0;pwned\\u0007 csi\\u009b31m rtl\\u202egpj.tif cr\\u000dline\nnext line');
    expect(shown).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
  });

  it('keeps JSON output parseable, with the names as they were', () => {
    const value = { source: 'uploads/a\u001b[31m\u009b\u202e.tif', note: 'ünïcode ✓' };
    const printed = terminalSafe(JSON.stringify(value, null, 2));
    expect(printed).not.toContain('\u009b');
    expect(JSON.parse(printed)).toEqual(value);
  });
});
