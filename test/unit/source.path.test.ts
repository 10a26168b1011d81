import { describe, expect, it } from 'vitest';
import { findBlobNameProblem, isContainerName, parseSourcePath } from '../../src/pipeline/source.path.js';

const allowed = ['uploads', 'incoming'];

describe('source paths (untrusted)', () => {
  it('accepts a plain blob in an allowed container, keeping its exact name', () => {
    expect(parseSourcePath('uploads/2024/Scene A (final).TIF', allowed)).toEqual({ ok: true, source: { container: 'uploads', name: '2024/Scene A (final).TIF' } });
    expect(parseSourcePath('incoming/x.tif', allowed)).toEqual({ ok: true, source: { container: 'incoming', name: 'x.tif' } });
  });

  it.each([
    ['a container not allowed', 'stac/catalog.json', /"stac" is not a source container; jobs may read only from "uploads", "incoming"/],
    ['the host\'s own container', 'azure-webjobs-hosts/locks/x', /"azure-webjobs-hosts" is not a source container/],
    ['no container', 'x.tif', /must be "<container>\/<blob path>"/],
    ['a leading slash', '/uploads/x.tif', /must be "<container>\/<blob path>"/],
    ['an invalid container name, not echoed', 'UP<script>/x.tif', /^the container is not a source container/],
    ['parent segments', 'uploads/../../etc/passwd', /"\." or "\.\." segment/],
    ['a dot segment', 'uploads/./x.tif', /"\." or "\.\." segment/],
    ['an empty segment', 'uploads/a//b.tif', /empty segment/],
    ['a leading slash in the blob', 'uploads//x.tif', /starts with "\/"/],
    ['a trailing slash', 'uploads/folder/', /ends with/],
    ['a NUL character', 'uploads/x\u0000.tif', /control characters/],
    ['a newline', 'uploads/x\n.tif', /control characters/],
    ['DEL', 'uploads/x\u007f.tif', /control characters/],
    ['a backslash', 'uploads/..\\..\\x.tif', /backslash/],
    ['an empty blob path', 'uploads/', /empty/],
    ['a blob path past Azure\'s length limit', `uploads/${'a'.repeat(1025)}`, /1025 characters long; Azure allows at most 1024/],
    ['too many segments', `uploads/${Array.from({ length: 255 }, () => 'a').join('/')}`, /255 segments; Azure allows at most 254/],
  ])('refuses %s', (_what, path, problem) => {
    const result = parseSourcePath(path, allowed);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problem).toMatch(problem);
  });

  it('knows Azure container names', () => {
    expect(isContainerName('uploads')).toBe(true);
    expect(isContainerName('a-b-1')).toBe(true);
    for (const bad of ['ab', 'Uploads', 'a--b', '-ab', 'ab-', 'a'.repeat(64), 'a_b']) expect(isContainerName(bad)).toBe(false);
    expect(findBlobNameProblem('a/b/c.tif')).toBeNull();
  });
});
