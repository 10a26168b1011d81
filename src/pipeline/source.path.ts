/**
 * The source of a job, as an untrusted caller names it: `"<container>/<blob path>"`. Checked here,
 * once, before anything touches storage: the container must be one the service is allowed to
 * read, and the blob path must be a plain Azure blob name (no `..`, no empty or `.` segments, no
 * control characters, within Azure's limits), so it cannot address anything else.
 */

/** Azure's limits for blob names (https://learn.microsoft.com/rest/api/storageservices/naming-and-referencing-containers--blobs--and-metadata). */
export const blobNameLimits = { maxLength: 1024, maxSegments: 254 } as const;

/** Azure container names: 3-63 of a-z, 0-9 and single hyphens, starting and ending with a letter or digit. */
const containerNamePattern = /^(?=.{3,63}$)[a-z0-9]+(?:-[a-z0-9]+)*$/;

export function isContainerName(name: string): boolean {
  return containerNamePattern.test(name);
}

export interface SourcePath {
  container: string;
  name: string;
}

export type SourcePathResult = { ok: true; source: SourcePath } | { ok: false; problem: string };

// C0 and C1 control characters, DEL, and Unicode line/paragraph separators.
 
const controlCharacters = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** Why `name` is not an acceptable blob path, or `null`. */
export function findBlobNameProblem(name: string): string | null {
  if (name.length === 0) return 'the blob path is empty';
  if (name.length > blobNameLimits.maxLength) return `the blob path is ${name.length} characters long; Azure allows at most ${blobNameLimits.maxLength}`;
  if (controlCharacters.test(name)) return 'the blob path contains control characters';
  if (name.includes('\\')) return 'the blob path contains a backslash; use "/" between folders';
  if (name.startsWith('/')) return 'the blob path starts with "/"';
  if (name.endsWith('/') || name.endsWith('.')) return 'the blob path ends with "/" or "."';
  const segments = name.split('/');
  if (segments.length > blobNameLimits.maxSegments) return `the blob path has ${segments.length} segments; Azure allows at most ${blobNameLimits.maxSegments}`;
  if (segments.some((segment) => segment === '')) return 'the blob path has an empty segment ("//")';
  if (segments.some((segment) => segment === '.' || segment === '..')) return 'the blob path has a "." or ".." segment';
  return null;
}

/**
 * Parses and checks `"<container>/<blob path>"` against the containers jobs may read. The problem
 * is written for the person who sent the request.
 */
export function parseSourcePath(value: string, allowedContainers: readonly string[]): SourcePathResult {
  const slash = value.indexOf('/');
  if (slash <= 0) return { ok: false, problem: 'must be "<container>/<blob path>"' };
  const container = value.slice(0, slash);
  const name = value.slice(slash + 1);
  if (!allowedContainers.includes(container)) {
    const shown = isContainerName(container) ? `"${container}" is not` : 'the container is not';
    return { ok: false, problem: `${shown} a source container; jobs may read only from ${allowedContainers.map((c) => `"${c}"`).join(', ')}` };
  }
  const problem = findBlobNameProblem(name);
  return problem ? { ok: false, problem } : { ok: true, source: { container, name } };
}
