import { RestError } from '@azure/storage-blob';
import { describe, expect, it } from 'vitest';
import { classifyError, isFinalFailure } from '../../src/activities/failure.classify.js';
import { FailureError, failureFrom, redactLocalPaths, summarizeFailures, type Failure } from '../../src/pipeline/failure.js';
import { StacApiUnavailableError } from '../../src/stac/stac.api.client.js';
import { StoreError } from '../../src/storage/store.error.js';

describe('failures as data', () => {
  it('travel through an error message (as Durable carries them) and come back whole', () => {
    const failure: Failure = { code: 'OUTPUT_CONFLICT', message: 'its item id x is taken — «ünïcode» and "quotes"' };
    const reason = new FailureError(failure).message;
    expect(reason.startsWith(failure.message)).toBe(true);
    // The SDK appends the stack to the reason it hands the orchestrator.
    expect(failureFrom(new Error(`${reason} \n    at x (/home/site/wwwroot/dist/a.js:1:1)`))).toEqual(failure);
    expect(failureFrom(new FailureError(failure))).toEqual(failure);
  });

  it('show nothing of an error that carries no failure', () => {
    const failure = failureFrom(new Error('ENOENT: /home/site/secrets/key.pem \n at stack'));
    expect(failure.code).toBe('INTERNAL');
    expect(failure.message).not.toMatch(/secrets|ENOENT|stack/);
    expect(failureFrom(new Error('[[failure:not-base64-json!]]')).code).toBe('INTERNAL');
    expect(failureFrom(new Error(`x ${'[[failure:'}${btoa('{"code":"NOPE","message":"m"}')}]]`)).code).toBe('INTERNAL');
  });

  it('are capped for the 16 KB custom status, with a count', () => {
    const many = Array.from({ length: 5000 }, (_, i): Failure => ({ code: 'INTERNAL', message: `failure ${i} ${'x'.repeat(2000)}` }));
    const { shown, total } = summarizeFailures(many);
    expect(total).toBe(5000);
    expect(JSON.stringify(shown).length).toBeLessThan(12 * 1024);
  });

  it('redact local paths from third-party messages', () => {
    expect(redactLocalPaths('/tmp/raster-ingest/sources/ab12.source: not recognized', [['/tmp/raster-ingest/sources/ab12.source', 'uploads/x.tif']])).toBe('uploads/x.tif: not recognized');
    expect(redactLocalPaths('cannot open /etc/passwd or /home/site/wwwroot/x.js')).toBe('cannot open <path> or <path>');
    expect(redactLocalPaths('EPSG:4326, uploads/a/b.tif and https://example.org/a/b stay')).toBe('EPSG:4326, uploads/a/b.tif and https://example.org/a/b stay');
  });
});

describe('classifying what an activity threw (by type, status and code, never by message)', () => {
  const rest = (statusCode: number | undefined, code?: string): RestError => new RestError('some message with https://acct.blob.core.windows.net/x?sig=secret', { ...(statusCode ? { statusCode } : {}), ...(code ? { code } : {}) });

  it.each([
    [rest(503, 'ServerBusy'), 'TRANSIENT_STORAGE', false],
    [rest(429), 'TRANSIENT_STORAGE', false],
    [rest(undefined, 'REQUEST_SEND_ERROR'), 'TRANSIENT_STORAGE', false],
    [rest(412, 'LeaseIdMissing'), 'STORAGE_REFUSED', false],
    [rest(403, 'AuthorizationPermissionMismatch'), 'STORAGE_REFUSED', false],
    [Object.assign(new Error('disk'), { code: 'ENOSPC' }), 'DISK_FULL', false],
    [Object.assign(new Error('mem'), { code: 'ENOMEM' }), 'OUT_OF_MEMORY', false],
    [Object.assign(new Error('t'), { code: 'ETIMEDOUT' }), 'TIMEOUT', false],
    [new TypeError('x is undefined'), 'INTERNAL', false],
    [new FailureError({ code: 'INVALID_INPUT', message: 'bad' }), 'INVALID_INPUT', true],
    [new FailureError({ code: 'OUTPUT_CONFLICT', message: 'taken' }), 'OUTPUT_CONFLICT', true],
    [new StacApiUnavailableError('PUT', 'https://stac.example/collections/c?sig=secret', 5, '503: busy'), 'STAC_API_UNAVAILABLE', true],
    [new StoreError('throttled', 'slow down'), 'TRANSIENT_STORAGE', false],
    [new StoreError('not-found', 'gone', { status: 404, code: 'BlobNotFound' }), 'STORAGE_REFUSED', false],
  ])('%s → %s', (error, code, final) => {
    const failure = classifyError(error);
    expect(failure.code).toBe(code);
    expect(isFinalFailure(failure)).toBe(final);
    expect(failure.message).not.toMatch(/sig=|https?:\/\//);
  });

  it('names the storage error code, not the request', () => {
    expect(classifyError(rest(412, 'LeaseIdMissing')).message).toBe('storage refused the request with HTTP 412 (LeaseIdMissing)');
  });
});
