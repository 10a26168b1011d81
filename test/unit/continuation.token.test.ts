/**
 * List tokens come back from callers: each is checked for the shape this API wrote before it
 * reaches the jobs index or the task hub (the HTTP answers are in test/e2e/untrusted.batch.e2e.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { decodeBatchesToken, decodeJobsToken, encodeBatchesToken, encodeJobsToken, InvalidContinuationTokenError } from '../../src/jobs/continuation.token.js';
import { base64url, garbageTokens, tableToken } from '../support/garbage.tokens.js';

function problemOf(decode: (token: string) => unknown, token: string): string {
  try {
    decode(token);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidContinuationTokenError);
    return (error as InvalidContinuationTokenError).problem;
  }
  throw new Error(`accepted ${JSON.stringify(token.slice(0, 60))}`);
}

describe('continuation tokens', () => {
  it('give back what they wrapped', () => {
    const jobs = { nextPartitionKey: 'job', nextRowKey: '8232999999999-ingest-0123456789abcdef0123456789abcdef' };
    expect(decodeJobsToken(encodeJobsToken(jobs))).toEqual(jobs);
    const partitionOnly = { nextPartitionKey: '1!4!am9i' };
    expect(decodeJobsToken(encodeJobsToken(partitionOnly))).toEqual(partitionOnly);
    // The form tokens always had (base64url of the Table SDK's token), so tokens given before still read.
    expect(encodeJobsToken(jobs)).toBe(base64url(tableToken(jobs)));
    expect(decodeJobsToken(base64url(tableToken(partitionOnly)))).toEqual(partitionOnly);
    // The task hub's own token is opaque (its form depends on the backend), spaces and quotes included.
    for (const hub of ['eyJuZXh0UGFydGl0aW9uS2V5IjoiYmF0Y2gtMSJ9', '{"NextPartitionKey":"1!8!YmF0Y2g-","NextRowKey":null}', 'batch-1 batch-2']) {
      expect(decodeBatchesToken(encodeBatchesToken(hub))).toBe(hub);
    }
  });

  it.each(garbageTokens)('refuses %s, without repeating it', (_name, token) => {
    for (const decode of [decodeJobsToken, decodeBatchesToken]) {
      const problem = problemOf(decode, token);
      expect(problem.length).toBeLessThan(120);
      if (token.length > 8) expect(problem).not.toContain(token.slice(0, 8));
    }
  });

  it('does not take one list’s token for the other’s', () => {
    const jobs = encodeJobsToken({ nextPartitionKey: 'job', nextRowKey: 'x' });
    expect(problemOf(decodeBatchesToken, jobs)).toMatch(/not a token this API gave/);
    expect(problemOf(decodeJobsToken, encodeBatchesToken('batch-1'))).toMatch(/not a token this API gave/);
  });
});
