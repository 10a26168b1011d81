export async function seedCollection(_store: unknown, _collection: string, _count: number, _file: string): Promise<{ seconds: number }> {
  throw new Error('not yet');
}
