/**
 * An upload's bytes, wherever GDAL would read them: a local copy, or ranged reads of the signed
 * URL behind `/vsicurl/`. Used to sniff the format and read headers before GDAL opens anything.
 */
import { open, readFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { FailureError } from '../pipeline/failure.js';
import type { ByteSource } from './container.header.js';
import { parseInPlacePath } from './in.place.path.js';

/**
 * GETs a byte range with Node's own HTTP client: `fetch` (undici) compiles WebAssembly, whose
 * address-space reservations the inspecting process's memory limit does not allow.
 */
function getRange(url: string, offset: number, length: number, headers: Record<string, string>): Promise<{ status: number; body: Buffer; total?: number }> {
  const client = url.startsWith('https:') ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const request = client(url, { headers: { ...headers, Range: `bytes=${offset}-${offset + length - 1}` } }, (response) => {
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

/** The size of the blob behind an in-place path, from the answer to a read of its first byte (with the path's pin). */
export async function remoteSize(path: string): Promise<number> {
  const inPlace = parseInPlacePath(path);
  if (!inPlace) throw new Error('remoteSize needs an in-place path');
  const headers = inPlace.headerFile ? readHeaderFile(await readFile(inPlace.headerFile, 'utf8')) : {};
  let answer: { status: number; total?: number };
  try {
    answer = await getRange(inPlace.url, 0, 1, headers);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new FailureError({ code: 'TRANSIENT_STORAGE', message: `storage could not be reached${typeof code === 'string' ? ` (${code})` : ''} to read the source; the job retries on its own` });
  }
  if (answer.status === 412) throw new FailureError({ code: 'SOURCE_CHANGED', message: 'it was replaced after this job was submitted; the new upload is a job of its own' });
  if ((answer.status !== 206 && answer.status !== 200) || answer.total === undefined) {
    throw new FailureError({ code: 'TRANSIENT_STORAGE', message: `storage answered HTTP ${answer.status} to a read of the source; retrying later may succeed` });
  }
  return answer.total;
}

/** The bytes of `path`: a local file, or ranged GETs of the signed URL behind `/vsicurl/`. */
export async function openByteSource(path: string, size: number): Promise<ByteSource & { close(): Promise<void> }> {
  const inPlace = parseInPlacePath(path);
  if (inPlace) {
    const { url } = inPlace;
    // The pin GDAL's reads carry (If-Match: the ETag the job was submitted with) is carried here too.
    const headers = inPlace.headerFile ? readHeaderFile(await readFile(inPlace.headerFile, 'utf8')) : {};
    return {
      size,
      async read(offset, length) {
        if (length === 0) return new Uint8Array(0);
        let answer: { status: number; body: Buffer };
        try {
          answer = await getRange(url, offset, length, headers);
        } catch (error) {
          const code = (error as { code?: unknown }).code;
          throw new FailureError({ code: 'TRANSIENT_STORAGE', message: `storage could not be reached${typeof code === 'string' ? ` (${code})` : ''} to read the source; the job retries on its own` });
        }
        if (answer.status === 412) throw new FailureError({ code: 'SOURCE_CHANGED', message: 'it was replaced after this job was submitted; the new upload is a job of its own' });
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

/** `Name: value` lines (GDAL's header_file format). */
function readHeaderFile(text: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
  }
  return headers;
}
