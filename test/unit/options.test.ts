import { describe, expect, it } from 'vitest';
import { submitJobSchema } from '../../src/pipeline/options.js';

describe('job request schema', () => {
  it('fills in documented defaults', () => {
    const parsed = submitJobSchema.parse({ source: 'uploads/a.tif' });
    expect(parsed.options).toEqual({ compression: 'DEFLATE', predictor: true, blockSize: 512 });
    expect(parsed.force).toBe(false);
  });

  it('names the field at fault', () => {
    const result = submitJobSchema.safeParse({ source: '', options: { blockSize: 100, colour: 'red' } });
    expect(result.success).toBe(false);
    const paths = result.error!.issues.map((issue) => issue.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['source', 'options']));
    expect(result.error!.issues.find((i) => i.path.join('.') === 'options')?.message).toMatch(/colour/);
  });

  it('rejects collection ids that are not path-safe', () => {
    expect(submitJobSchema.safeParse({ source: 'uploads/a.tif', collection: '../etc' }).success).toBe(false);
    expect(submitJobSchema.safeParse({ source: 'uploads/a.tif', collection: 'dems-2024' }).success).toBe(true);
  });
});
