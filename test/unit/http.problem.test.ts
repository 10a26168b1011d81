import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { describeIssues, invalidRequest, issueFields } from '../../src/functions/http.problem.js';

const filter = z.object({ top: z.coerce.number().int().min(1).max(100).optional(), status: z.string().optional() }).strict();

function issuesOf(value: unknown) {
  const parsed = filter.safeParse(value);
  if (parsed.success) throw new Error('expected a refusal');
  return parsed.error.issues;
}

describe('400 answers for refused requests', () => {
  it('name unknown query keys as fields, not the root', () => {
    const issues = issuesOf({ limit: '5' });
    expect(issueFields(issues, 'query')).toEqual(['limit']);
    expect(describeIssues(issues, 'query')).toBe('query: unknown field "limit"');
    const answer = invalidRequest('Invalid filter', issues, 'query');
    expect(answer.status).toBe(400);
    expect(answer.jsonBody).toMatchObject({ title: 'Invalid filter', fields: ['limit'] });
  });

  it('bound unknown keys a caller chose: each cut with a hash, at most ten named', () => {
    const long = 'k'.repeat(5_000);
    const many = Object.fromEntries([long, ...Array.from({ length: 30 }, (_, i) => `x${i}`)].map((key) => [key, '1']));
    const issues = issuesOf(many);
    const fields = issueFields(issues, 'query');
    expect(fields).toHaveLength(11);
    expect(fields.every((field) => field.length <= 64)).toBe(true);
    expect(fields[0]).toMatch(/^k+…#[0-9a-f]+$/);
    expect(fields.at(-1)).toBe('(21 more)');
    expect(describeIssues(issues, 'query').length).toBeLessThan(1_000);
  });

  it('keep other issues at their path, and the body or query when there is none', () => {
    expect(issueFields(issuesOf({ top: '0' }), 'query')).toEqual(['top']);
    expect(describeIssues(issuesOf({ top: '0' }), 'query')).toMatch(/^top: /);
    const root = z.object({ a: z.string() }).safeParse('text');
    expect(root.success).toBe(false);
    if (!root.success) expect(issueFields(root.error.issues)).toEqual(['body']);
  });
});
