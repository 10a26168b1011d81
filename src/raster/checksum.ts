/** File size and SHA-256 multihash of a file, streamed so large COGs do not sit in memory. */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** Multihash prefix for SHA-256: code 0x12, digest length 0x20 (32 bytes). */
const sha256MultihashPrefix = '1220';

/** The lowercase hex multihash of a SHA-256 digest given as hex, as `file:checksum` wants it. */
export function toSha256Multihash(sha256Hex: string): string {
  if (!/^[0-9a-fA-F]{64}$/.test(sha256Hex)) throw new Error(`Not a SHA-256 hex digest: "${sha256Hex}"`);
  return sha256MultihashPrefix + sha256Hex.toLowerCase();
}

export async function hashFile(path: string): Promise<{ size: number; checksum: string }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    const bytes = chunk as Buffer;
    size += bytes.length;
    hash.update(bytes);
  }
  return { size, checksum: toSha256Multihash(hash.digest('hex')) };
}
