/**
 * The one place query text is written: filters built as data compile to OData in
 * src/storage/azure.table.store.ts. Values from requests (a collection, a batch, a source prefix)
 * stay literals whatever they hold; a column name is never taken from a request, and one that is
 * not a plain name is refused rather than written.
 */
import { describe, expect, it } from 'vitest';
import { odataFilter } from '../../src/storage/azure.table.store.js';

describe('table filters as OData', () => {
  it('writes comparisons, all of and any of, a partition first', () => {
    expect(odataFilter({})).toBeUndefined();
    expect(odataFilter({ partitionKey: 'job' })).toBe("PartitionKey eq 'job'");
    expect(odataFilter({ where: { column: 'flag', is: 'eq', value: true } })).toBe('flag eq true');
    expect(
      odataFilter({
        partitionKey: 'job',
        where: { allOf: [{ column: 'RowKey', is: 'lt', value: 'k' }, { anyOf: [{ column: 'status', is: 'eq', value: 'A' }, { column: 'status', is: 'ne', value: 'B' }] }] },
      }),
    ).toBe("PartitionKey eq 'job' and RowKey lt 'k' and (status eq 'A' or status ne 'B')");
  });

  it.each([
    ['a quote that would end the literal', "x' or PartitionKey ne '", "collection eq 'x'' or PartitionKey ne '''"],
    ['two quotes', "''", "collection eq ''''''"],
    ['a closing parenthesis and keywords', "x') or (true", "collection eq 'x'') or (true'"],
    ['control characters and non-ASCII', 'a\r\n\u0000ä😀', "collection eq 'a\r\n\u0000ä😀'"],
  ])('keeps %s inside the literal', (_name, value, expected) => {
    expect(odataFilter({ where: { column: 'collection', is: 'eq', value } })).toBe(expected);
  });

  it.each([['status eq true or x'], ['a b'], ["o'brien"], [''], ['1column'], ['a'.repeat(256)]])('refuses %j as a column name', (column) => {
    expect(() => odataFilter({ where: { column, is: 'eq', value: 'x' } })).toThrow(/is not a column name/);
  });
});
