/**
 * Records every name created anywhere under a folder while a test runs. Node 20's
 * `watch(dir, { recursive: true })` on Linux rescans new folders in JavaScript and throws an
 * uncaught ENOENT when a folder disappears between its event and the rescan (a scratch folder
 * deleted right after use does exactly that), so this watches each folder on its own and treats a
 * vanished folder as nothing to watch.
 */
import { readdirSync, statSync, watch, type FSWatcher } from 'node:fs';
import { join, relative } from 'node:path';

export interface TreeWatch {
  /** Paths relative to the root, in the order they were seen (a name may repeat). */
  readonly created: string[];
  close(): void;
}

export function watchTree(root: string): TreeWatch {
  const created: string[] = [];
  const watchers = new Map<string, FSWatcher>();

  const seen = (path: string): void => {
    created.push(relative(root, path));
    if (isFolder(path)) add(path);
  };

  const add = (folder: string): void => {
    if (watchers.has(folder)) return;
    let watcher: FSWatcher;
    try {
      watcher = watch(folder, (_event, name) => {
        if (name) seen(join(folder, String(name)));
      });
    } catch {
      return; // gone before it could be watched
    }
    watcher.on('error', () => {
      watcher.close();
      watchers.delete(folder);
    });
    watchers.set(folder, watcher);
    // Whatever was created before the watch started.
    for (const name of listFolder(folder)) seen(join(folder, name));
  };

  add(root);
  return {
    created,
    close() {
      for (const watcher of watchers.values()) watcher.close();
      watchers.clear();
    },
  };
}

function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function listFolder(folder: string): string[] {
  try {
    return readdirSync(folder);
  } catch {
    return [];
  }
}
