/**
 * Continuation tokens no list ever gave, for the token checks (test/unit/continuation.token.test.ts)
 * and the HTTP answers to them (test/e2e/untrusted.batch.e2e.test.ts).
 */
import { randomBytes } from 'node:crypto';

export const base64url = (text: string): string => Buffer.from(text, 'utf8').toString('base64url');
/** What the Table SDK's byPage gives: base64 of its JSON. */
export const tableToken = (value: unknown): string => Buffer.from(JSON.stringify(value), 'utf8').toString('base64');

/** Garbage that no list ever gave, for both kinds of token. */
export const garbageTokens: ReadonlyArray<readonly [string, string]> = [
  ['random bytes, base64url', randomBytes(48).toString('base64url')],
  ['random bytes as text', randomBytes(48).toString('latin1')],
  ['huge', 'A'.repeat(4000)],
  ['one character', 'A'],
  ['control characters', 'abc\u0000\r\nSet-Cookie: x=1'],
  ['non-ASCII', 'äöü€😀'],
  ['base64 padding and symbols', 'eyJh+/=='],
  ['JSON, not encoded', '{"nextPartitionKey":"job"}'],
  ['base64url of an array', base64url('[1,2,3]')],
  ['base64url of a string', base64url('"job"')],
  ['base64url of the wrong object', base64url('{"a":1}')],
  ['base64url of broken JSON', base64url('{"nextPartitionKey":')],
  ['base64url of a table token with a CR/LF key', base64url(tableToken({ nextPartitionKey: 'job', nextRowKey: 'a\r\nb' }))],
  ['base64url of a table token with extra keys', base64url(tableToken({ nextPartitionKey: 'job', nextRowKey: 'x', admin: true }))],
  ['base64url of a table token whose key is a number', base64url(tableToken({ nextPartitionKey: 7 }))],
  ['base64url of a wrapper with a control character', base64url(JSON.stringify({ instances: 'a\nb' }))],
  ['base64url of a wrapper that is not a string', base64url(JSON.stringify({ instances: { $ne: null } }))],
  ['base64url of invalid UTF-8', Buffer.from([0x7b, 0xff, 0xfe, 0x7d]).toString('base64url')],
];

