/**
 * An upload's bytes, wherever GDAL would read them: a local copy, or ranged reads of the signed
 * URL behind `/vsicurl/`. Used to sniff the format and read headers before GDAL opens anything.
 */
import { open } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { FailureError } from '../pipeline/failure.js';
import type { ByteSource } from './container.header.js';

const inPlacePrefix = '/vsicurl/';

/**
 * GETs a byte range with Node's own HTTP client: `fetch` (undici) compiles WebAssembly, whose
 * address-space reservations the inspecting process's memory limit does not allow.
 */
function getRange(url: string, offset: number, length: number): Promise<{ status: number; body: Buffer; total?: number }> {
  const client = url.startsWith('https:') ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const request = client(url, { headers: { Range: `bytes=${offset}-${offset + length - 1}` } }, (response) => {
      const chunks: Buffer[] = [];
      let received = 0;
      response.on('data', (chunk: Buffer) => {
        // A server that ignores Range sends the whole blob: keep only what was asked for.
        if (received < offset + length) chunks.push(chunk);
        received += chunk.length;
        if (response.statusCode === 200 && received >= offset + length) response.destroy();
      });
      const range = /\/(\d+)$/.exec(response.headers['content-range'] ?? '');
      const total = range ? Number(range[1]) : response.statusCode === 200 ? Number(response.headers['content-length']) : undefined;
      const done = (): void => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks), ...(total !== undefined && Number.isSafeInteger(total) ? { total } : {}) });
      response.on('end', done);
      response.on('close', done);
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end();
  });
}

/** The size of the blob behind a `/vsicurl/` path, from the answer to a read of its first byte. */
export async function remoteSize(path: string): Promise<number> {
  let answer: { status: number; total?: number };
  try {
    answer = await getRange(path.slice(inPlacePrefix.length), 0, 1);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new FailureError({ code: 'TRANSIENT_STORAGE', message: `storage could not be reached${typeof code === 'string' ? ` (${code})` : ''} to read the source; the job retries on its own` });
  }
  if ((answer.status !== 206 && answer.status !== 200) || answer.total === undefined) {
    throw new FailureError({ code: 'TRANSIENT_STORAGE', message: `storage answered HTTP ${answer.status} to a read of the source; retrying later may succeed` });
  }
  return answer.total;
}

/** The bytes of `path`: a local file, or ranged GETs of the signed URL behind `/vsicurl/`. */
export async function openByteSource(path: string, size: number): Promise<ByteSource & { close(): Promise<void> }> {
  if (path.startsWith(inPlacePrefix)) {
    const url = path.slice(inPlacePrefix.length);
    return {
      size,
      async read(offset, length) {
        if (length === 0) return new Uint8Array(0);
        let answer: { status: number; body: Buffer };
        try {
          answer = await getRange(url, offset, length);
        } catch (error) {
          const code = (error as { code?: unknown }).code;
          throw new FailureError({ code: 'TRANSIENT_STORAGE', message: `storage could not be reached${typeof code === 'string' ? ` (${code})` : ''} to read the source; the job retries on its own` });
        }
        if (answer.status !== 206 && answer.status !== 200) {
          throw new FailureError({ code: 'TRANSIENT_STORAGE', message: `storage answered HTTP ${answer.status} to a read of the source; retrying later may succeed` });
        }
        const bytes = new Uint8Array(answer.body.buffer, answer.body.byteOffset, answer.body.byteLength);
        return answer.status === 200 ? bytes.subarray(offset, offset + length) : bytes.subarray(0, length);
      },
      async close() {},
    };
  }
  const file = await open(path, 'r');
  const { size: onDisk } = await file.stat();
  return {
    size: onDisk,
    async read(offset, length) {
      const { buffer, bytesRead } = await file.read(Buffer.alloc(length), 0, length, offset);
      return new Uint8Array(buffer.buffer, buffer.byteOffset, bytesRead);
    },
    close: () => file.close(),
  };
}
