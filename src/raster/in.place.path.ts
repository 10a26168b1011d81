/**
 * GDAL paths of a source read in place: `/vsicurl/<signed URL>`, or, pinned to the version the job
 * was submitted with, `/vsicurl?header_file=<file>&url=<signed URL>` whose header file holds
 * `If-Match: <ETag>`. GDAL sends that header with every request of the path (its HEAD and each
 * range), so once the blob is replaced storage answers 412 and nothing of the new bytes is read:
 * a tile never mixes versions, nor reads bytes validation never saw (GDAL ≥ 2.3, `header_file`).
 */

/** The GDAL path of `url` with every request pinned by the header file at `headerFile`. */
export function pinnedInPlacePath(url: string, headerFile: string): string {
  return `/vsicurl?header_file=${encodeURIComponent(headerFile)}&url=${encodeURIComponent(url)}`;
}

/** The header file's text for `etag`; refuses anything that could add a header of its own. */
export function ifMatchHeader(etag: string): string {
  if (/[\r\n]/.test(etag) || etag.trim() === '') throw new Error('an ETag must be one non-empty line');
  const quoted = etag.startsWith('"') || etag.startsWith('W/"') ? etag : `"${etag}"`;
  return `If-Match: ${quoted}\r\n`;
}

export interface InPlaceRead {
  url: string;
  /** The file of headers every request carries (the pin), when the path has one. */
  headerFile?: string;
}

/** What a GDAL path reads in place, or `undefined` for a local file. */
export function parseInPlacePath(path: string): InPlaceRead | undefined {
  if (path.startsWith('/vsicurl/')) return { url: path.slice('/vsicurl/'.length) };
  if (!path.startsWith('/vsicurl?')) return undefined;
  const options = new URLSearchParams(path.slice('/vsicurl?'.length));
  const url = options.get('url');
  if (!url) return undefined;
  const headerFile = options.get('header_file');
  return { url, ...(headerFile ? { headerFile } : {}) };
}
