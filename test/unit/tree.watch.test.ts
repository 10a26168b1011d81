import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { watchTree } from '../support/tree.watch.js';

const roots: string[] = [];
afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

describe('watchTree', () => {
  it('sees names created in nested folders, and survives folders deleted as soon as they appear', async () => {
    const root = mkdtempSync(join(tmpdir(), 'tree-watch-'));
    roots.push(root);
    const watch = watchTree(root);
    try {
      for (let i = 0; i < 50; i++) {
        const folder = join(root, 'processes', `p${i}`, 'tile');
        mkdirSync(folder, { recursive: true });
        writeFileSync(join(folder, 'part.tif'), 'x');
        rmSync(join(root, 'processes', `p${i}`), { recursive: true, force: true });
      }
      mkdirSync(join(root, 'kept', 'sources'), { recursive: true });
      await vi.waitFor(() => expect(watch.created).toContain(join('kept', 'sources')));
      expect(watch.created).toContain('processes');
    } finally {
      watch.close();
    }
  });
});
