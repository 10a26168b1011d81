/**
 * Which variable names the app handles. A variable is opened through a GDAL dataset name of our
 * own (`NETCDF:"<local path>":<variable>`), so its name must not be able to change what that name
 * says: no quotes, colons, backslashes, spaces or control characters, no `.`/`..` steps. Real
 * netCDF names (CF, CMIP, ERA5, Copernicus Marine) are letters, digits and `_`, sometimes `.`,
 * `-`, `@` or `+`; netCDF-4 groups add `/`. Pure: the orchestrators import the option schema.
 */

/** Longer names are refused (a name becomes part of item ids and statuses). */
export const maxVariableNameLength = 128;

/** One segment starts with a letter, digit or `_`; `/` separates netCDF-4 groups (a leading one allowed). */
export const variableNamePattern = /^\/?[\p{L}\p{N}_][\p{L}\p{N}_.@+-]*(?:\/[\p{L}\p{N}_][\p{L}\p{N}_.@+-]*)*$/u;

export function isSafeVariableName(name: string): boolean {
  return name.length <= maxVariableNameLength && variableNamePattern.test(name);
}

/** Longest variable part of an item id. */
const maxKeyLength = 24;

/**
 * The part of item ids that names a variable: lower case letters, digits and `_` only (item ids
 * use `-` between their parts, so a key never contains one and ids cannot run into each other).
 * Not unique on its own: `T` and `t` give `t`; see `assignVariableKeys`.
 */
export function slugifyVariableName(name: string): string {
  const slug = name
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, maxKeyLength)
    .replace(/_+$/, '');
  return slug || 'var';
}

/**
 * Keys for `names` (in order), unique within the source: a slug shared by several names gets
 * `_` and a short hash of the exact name (`hash` is given, as this module stays pure).
 */
export function assignVariableKeys(names: readonly string[], hash: (name: string) => string): string[] {
  const slugs = names.map(slugifyVariableName);
  const counts = new Map<string, number>();
  for (const slug of slugs) counts.set(slug, (counts.get(slug) ?? 0) + 1);
  const keys = slugs.map((slug, index) => ((counts.get(slug) ?? 0) > 1 ? `${slug}_${hash(names[index]!).slice(0, 8)}` : slug));
  // A clash left (a name spelled like another's slug and hash) would let two variables share items.
  if (new Set(keys).size !== keys.length) throw new Error('two variables of the source would share item ids');
  return keys;
}
