/** Azure writes an append block of at most 4 MiB; a longer append takes several. */
const maxAppendBlockBytes = 4 * 1024 * 1024;

/**
 * An instance's history blob as its one writer, the HistoryWriter, keeps track of it: its length
 * and block count (append blobs take at most 50,000 blocks), the chain that keeps the instance's
 * writes in order, and which incoming events are already stored in it as incoming lines. Others
 * read it (`isStored`, `settled`); the HistoryWriter and the commit it runs change it.
 */
export class HistoryBlob {
  private length = 0;
  private blocks = 0;
  private chain: Promise<unknown> = Promise.resolve();
  /** Keys of pending events already written to the blob as incoming lines. */
  private readonly storedKeys = new Set<string>();

  get byteLength(): number {
    return this.length;
  }

  get blockCount(): number {
    return this.blocks;
  }

  /** Runs `write` after every write queued before it (also after one that failed). */
  enqueue<T>(write: () => Promise<T>): Promise<T> {
    const result = this.chain.then(write, write);
    this.chain = result.catch(() => undefined);
    return result;
  }

  /** Resolves once every write queued so far has ended. */
  settled(): Promise<unknown> {
    return this.chain;
  }

  /** Counts an append of `text` that made the blob `newLength` bytes long. */
  appended(newLength: number, text: string): void {
    this.length = newLength;
    this.blocks += Math.max(1, Math.ceil(Buffer.byteLength(text) / maxAppendBlockBytes));
  }

  /** The blob as found (loaded, or written anew): its length and block count. */
  reset(length: number, blocks: number): void {
    this.length = length;
    this.blocks = blocks;
  }

  isStored(key: string): boolean {
    return this.storedKeys.has(key);
  }

  markStored(key: string): void {
    this.storedKeys.add(key);
  }

  /** An episode consumed the event: its line is referenced from the episode now. */
  forget(key: string): void {
    this.storedKeys.delete(key);
  }
}
