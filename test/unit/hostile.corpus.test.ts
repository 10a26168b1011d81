/** The hostile corpus itself: enough cases, every category, every file written, ids usable as blob folders. */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateHostileCorpus, sentinelPixelValue, type FileCase, type HostileCorpus, type RequestCase } from '../support/hostile.corpus.js';

let corpus: HostileCorpus;
const canaryUrl = 'http://127.0.0.1:9';

beforeAll(() => {
  corpus = generateHostileCorpus({ canaryUrl });
});

afterAll(() => corpus?.remove());

describe('hostile corpus', () => {
  it('has at least 30 cases with unique ids and the categories of issue 8', () => {
    expect(corpus.cases.length).toBeGreaterThanOrEqual(30);
    const ids = corpus.cases.map((entry) => entry.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^[a-z0-9][a-z0-9-]*$/);
    const categories = new Set(corpus.cases.map((entry) => entry.category));
    for (const category of ['VRT, local file', 'VRT, network', 'VRT, virtual file system', 'VRT, disguised', 'GDAL XML service', 'dataset string', 'archive', 'HDF5 / netCDF-4', 'format not allowed', 'sidecar', 'request']) {
      expect(categories).toContain(category);
    }
  });

  it('writes every file of every file case, source first, into the corpus folder', () => {
    const fileCases = corpus.cases.filter((entry): entry is FileCase => entry.kind === 'file');
    expect(fileCases.length).toBeGreaterThanOrEqual(30);
    for (const fileCase of fileCases) {
      expect(fileCase.source.endsWith(`/${fileCase.id}/${fileCase.files[0]!.blobName}`)).toBe(true);
      for (const file of fileCase.files) {
        expect(file.localPath.startsWith(corpus.root), file.localPath).toBe(true);
        expect(existsSync(file.localPath), file.localPath).toBe(true);
        expect(statSync(file.localPath).size, file.localPath).toBeGreaterThan(0);
      }
    }
    // A few uploads go through the upload trigger.
    expect(fileCases.filter((entry) => entry.container === 'uploads').length).toBeGreaterThanOrEqual(2);
  });

  it('points network cases at the canary under their own id and local-file cases at the sentinel', () => {
    const text = (id: string): string => {
      const fileCase = corpus.cases.find((entry): entry is FileCase => entry.kind === 'file' && entry.id === id)!;
      return readFileSync(fileCase.files[0]!.localPath, 'utf8');
    };
    for (const id of ['vrt-http-source', 'vrt-vsicurl-canary', 'wms-canary', 'wmts-canary', 'wms-tms-canary', 'stacit-canary']) {
      expect(text(id)).toContain(`${canaryUrl}/${id}/`);
    }
    // Each case reaches for a sentinel of its own, so an open of it names the case.
    for (const id of ['vrt-simple-sentinel', 'vrt-disguised-as-tif', 'vrt-warped-sentinel', 'vrt-pansharpened', 'vrt-nested', 'vrt-vsizip-sentinel', 'pds-detached-label']) {
      const folder = corpus.sentinel.folderOf(id);
      expect(folder.startsWith(corpus.sentinel.root)).toBe(true);
      expect(existsSync(join(folder, 'sentinel.tif')), id).toBe(true);
      expect(text(id)).toContain(folder.replace(/^\/+/, ''));
    }
    expect(text('vrt-raw-etc-passwd')).toContain('/etc/passwd');
    expect(String(sentinelPixelValue)).toBe('13371337');
  });

  it('gives every request case a body and a 4xx expectation', () => {
    const requestCases = corpus.cases.filter((entry): entry is RequestCase => entry.kind === 'request');
    expect(requestCases.length).toBeGreaterThanOrEqual(20);
    for (const requestCase of requestCases) {
      expect(requestCase.body.length).toBeGreaterThan(0);
      expect(['http-400', 'http-404']).toContain(requestCase.expect.outcome);
    }
  });
});
