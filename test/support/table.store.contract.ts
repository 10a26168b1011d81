/**
 * The `TableStore` contract, as tests: run against every implementation (the in-memory twin in
 * test/unit, the Azure one on Azurite in test/integration), so the twin cannot drift from what
 * Table Storage does.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { StoreError, type StoredRow, type TableContinuation, type TableQuery, type TableStore, type TableValue } from '../../src/storage/table.store.js';

function isStoreError(kind: StoreError['kind']): (error: unknown) => boolean {
  return (error) => error instanceof StoreError && error.kind === kind;
}

async function all(rows: AsyncIterable<StoredRow>): Promise<StoredRow[]> {
  const read: StoredRow[] = [];
  for await (const row of rows) read.push(row);
  return read;
}

const keysOf = (rows: readonly StoredRow[]): string[] => rows.map((row) => `${row.partitionKey}/${row.rowKey}`);

/** `createStore` gets a table name of its own per test, so runs sharing one Azurite never meet. */
export function describeTableStoreContract(name: string, createStore: (table: string) => TableStore): void {
  describe(`TableStore contract: ${name}`, () => {
    const store = (): TableStore => createStore(`contract${randomUUID().replaceAll('-', '').slice(0, 16)}`);

    it('answers a missing row with nothing, and deleting one is not an error', async () => {
      const table = store();
      expect(await table.get('p', 'missing')).toBeUndefined();
      await table.delete('p', 'missing');
      expect(await all(table.query({ partitionKey: 'p' }))).toEqual([]);
      expect(await table.queryPage({}, 10)).toEqual({ rows: [], continuation: undefined });
    });

    it('keeps text, integers, fractions and flags, with a new ETag per write; merge keeps other columns, replace drops them', async () => {
      const table = store();
      const first = await table.upsert({ partitionKey: 'p', rowKey: 'r', values: { text: "o'brien | ✓", count: 7, ratio: 0.25, flag: true, empty: '' } }, 'replace');
      expect(first.etag).not.toBe('');
      expect(await table.get('p', 'r')).toEqual({ partitionKey: 'p', rowKey: 'r', etag: first.etag, values: { text: "o'brien | ✓", count: 7, ratio: 0.25, flag: true, empty: '' } });
      const merged = await table.upsert({ partitionKey: 'p', rowKey: 'r', values: { count: 8 } }, 'merge');
      expect(merged.etag).not.toBe(first.etag);
      expect((await table.get('p', 'r'))?.values).toEqual({ text: "o'brien | ✓", count: 8, ratio: 0.25, flag: true, empty: '' });
      const replaced = await table.upsert({ partitionKey: 'p', rowKey: 'r', values: { count: 9 } }, 'replace');
      expect(await table.get('p', 'r')).toEqual({ partitionKey: 'p', rowKey: 'r', etag: replaced.etag, values: { count: 9 } });
      await table.delete('p', 'r');
      expect(await table.get('p', 'r')).toBeUndefined();
    });

    it('writes a transaction all or none: an insert over a row is a conflict, a replace of a changed row a failed precondition', async () => {
      const table = store();
      await table.transact([
        { kind: 'insert', row: { partitionKey: 'c', rowKey: 'current', values: { version: 1 } } },
        { kind: 'insert', row: { partitionKey: 'c', rowKey: 'v1', values: { version: 1 } } },
      ]);
      const current = await table.get('c', 'current');
      expect(current?.values).toEqual({ version: 1 });

      // The second insert finds v1: neither write happens.
      await expect(
        table.transact([
          { kind: 'replace', row: { partitionKey: 'c', rowKey: 'current', values: { version: 2 } }, ifMatch: current!.etag },
          { kind: 'insert', row: { partitionKey: 'c', rowKey: 'v1', values: { version: 2 } } },
        ]),
      ).rejects.toSatisfy(isStoreError('conflict'));
      expect(await table.get('c', 'current')).toEqual(current);

      await table.transact([
        { kind: 'replace', row: { partitionKey: 'c', rowKey: 'current', values: { version: 2 } }, ifMatch: current!.etag },
        { kind: 'insert', row: { partitionKey: 'c', rowKey: 'v2', values: { version: 2 } } },
      ]);
      // A writer still holding the first ETag lost the race.
      await expect(
        table.transact([
          { kind: 'replace', row: { partitionKey: 'c', rowKey: 'current', values: { version: 3 } }, ifMatch: current!.etag },
          { kind: 'insert', row: { partitionKey: 'c', rowKey: 'v3', values: { version: 3 } } },
        ]),
      ).rejects.toSatisfy(isStoreError('precondition'));
      expect((await table.get('c', 'current'))?.values).toEqual({ version: 2 });
      expect(await table.get('c', 'v3')).toBeUndefined();
      expect(keysOf(await all(table.query({ partitionKey: 'c' })))).toEqual(['c/current', 'c/v1', 'c/v2']);
      // A row deleted since it was read is gone, not changed.
      await expect(table.transact([{ kind: 'replace', row: { partitionKey: 'c', rowKey: 'gone', values: {} }, ifMatch: current!.etag }])).rejects.toSatisfy(isStoreError('not-found'));
    });

    it('merges rows in a transaction into whatever is there, as a merge upsert does', async () => {
      const table = store();
      await table.upsert({ partitionKey: 'm', rowKey: 'ended', values: { status: 'Completed', tilesDone: 1 } }, 'replace');
      await table.transact([
        { kind: 'merge', row: { partitionKey: 'm', rowKey: 'ended', values: { batch: 'b' } } },
        { kind: 'merge', row: { partitionKey: 'm', rowKey: 'new', values: { status: 'Pending' } } },
      ]);
      expect((await table.get('m', 'ended'))?.values).toEqual({ status: 'Completed', tilesDone: 1, batch: 'b' });
      expect((await table.get('m', 'new'))?.values).toEqual({ status: 'Pending' });
    });

    it('lists in key order, partition by partition, and by partition alone', async () => {
      const table = store();
      for (const [partitionKey, rowKey] of [['b', '2'], ['a', 'z'], ['b', '10'], ['a', 'A'], ['b', '1']] as const) {
        await table.upsert({ partitionKey, rowKey, values: { n: 1 } }, 'replace');
      }
      expect(keysOf(await all(table.query({})))).toEqual(['a/A', 'a/z', 'b/1', 'b/10', 'b/2']);
      expect(keysOf(await all(table.query({ partitionKey: 'b' })))).toEqual(['b/1', 'b/10', 'b/2']);
    });

    it('filters on columns and keys: comparisons of text and flags, all of, any of; a missing column matches nothing', async () => {
      const table = store();
      const rows: Array<{ rowKey: string; values: Record<string, TableValue> }> = [
        { rowKey: '1', values: { status: 'Running', source: 'uploads/scene-1.tif', size: 5, flagged: true, owner: "o'brien" } },
        { rowKey: '2', values: { status: 'Failed', source: 'uploads/scene-2.tif', size: 50, flagged: false } },
        { rowKey: '3', values: { status: 'Pending', source: 'uploads/scenf.tif', size: 500 } },
        { rowKey: '4', values: { status: 'Completed', source: 'incoming/scene.tif', size: 5.5, owner: 'x' } },
      ];
      for (const row of rows) await table.upsert({ partitionKey: 'job', ...row }, 'replace');
      await table.upsert({ partitionKey: 'other', rowKey: '1', values: { status: 'Running' } }, 'replace');
      const keys = async (query: TableQuery): Promise<string[]> => (await all(table.query({ partitionKey: 'job', ...query }))).map((row) => row.rowKey);

      expect(await keys({ where: { column: 'status', is: 'eq', value: 'Running' } })).toEqual(['1']);
      expect(await keys({ where: { column: 'owner', is: 'eq', value: "o'brien" } })).toEqual(['1']);
      expect(await keys({ where: { column: 'status', is: 'ne', value: 'Running' } })).toEqual(['2', '3', '4']);
      expect(await keys({ where: { allOf: [{ column: 'source', is: 'ge', value: 'uploads/scene' }, { column: 'source', is: 'lt', value: 'uploads/scenf' }] } })).toEqual(['1', '2']);
      expect(await keys({ where: { column: 'flagged', is: 'eq', value: true } })).toEqual(['1']);
      expect(await keys({ where: { column: 'RowKey', is: 'lt', value: '3' } })).toEqual(['1', '2']);
      expect(await keys({ where: { anyOf: [{ column: 'status', is: 'eq', value: 'Pending' }, { column: 'status', is: 'eq', value: 'Failed' }] } })).toEqual(['2', '3']);
      expect(
        await keys({
          where: {
            allOf: [
              { anyOf: [{ column: 'status', is: 'eq', value: 'Running' }, { column: 'status', is: 'eq', value: 'Completed' }] },
              { column: 'owner', is: 'ne', value: 'nobody' },
              { column: 'RowKey', is: 'ge', value: '2' },
            ],
          },
        }),
      ).toEqual(['4']);
      expect(await keys({ where: { column: 'missing', is: 'eq', value: true } })).toEqual([]);
      // Another type never matches: a number is not the text of it, nor text a flag.
      expect(await keys({ where: { column: 'size', is: 'eq', value: '5' } })).toEqual([]);
      expect(await keys({ where: { column: 'status', is: 'eq', value: true } })).toEqual([]);
      expect(await keys({ where: { column: 'flagged', is: 'eq', value: 'true' } })).toEqual([]);
      // Across partitions, by row key.
      expect(keysOf(await all(table.query({ where: { column: 'RowKey', is: 'eq', value: '1' } })))).toEqual(['job/1', 'other/1']);
      // Only the columns selected, with the keys and ETag.
      const [selected] = await all(table.query({ partitionKey: 'job', where: { column: 'RowKey', is: 'eq', value: '1' }, select: ['status', 'absent'] }));
      expect(selected).toMatchObject({ partitionKey: 'job', rowKey: '1', values: { status: 'Running' } });
      expect(selected!.etag).not.toBe('');
    });

    it('pages with continuations: every matching row once, in order, at most a page at a time', async () => {
      const table = store();
      for (let index = 0; index < 7; index++) await table.upsert({ partitionKey: 'job', rowKey: `k${index}`, values: { even: index % 2 === 0 } }, 'replace');
      const pages = async (query: TableQuery, size: number, from?: TableContinuation): Promise<string[]> => {
        const keys: string[] = [];
        let continuation = from;
        let first = true;
        while (first || continuation) {
          first = false;
          const page = await table.queryPage(query, size, continuation);
          expect(page.rows.length).toBeLessThanOrEqual(size);
          keys.push(...page.rows.map((row) => row.rowKey));
          continuation = page.continuation;
        }
        return keys;
      };
      const firstPage = await table.queryPage({ partitionKey: 'job' }, 3);
      expect(firstPage.rows.map((row) => row.rowKey)).toEqual(['k0', 'k1', 'k2']);
      expect(firstPage.continuation).toEqual({ nextPartitionKey: expect.any(String), nextRowKey: expect.any(String) });
      expect(await pages({ partitionKey: 'job' }, 100, firstPage.continuation)).toEqual(['k3', 'k4', 'k5', 'k6']);
      expect(await pages({ partitionKey: 'job' }, 3)).toEqual(['k0', 'k1', 'k2', 'k3', 'k4', 'k5', 'k6']);
      expect(await pages({ partitionKey: 'job', where: { column: 'even', is: 'eq', value: true } }, 2)).toEqual(['k0', 'k2', 'k4', 'k6']);
    });
  });
}
