/** A collection definition's parts in words, for the collections pages and the workflow graph. */
import type { CollectionDefinition } from '../src/api/contract.js';

/** One line per gate, as a person reads it. */
export function describeGates(gates: CollectionDefinition['gates']): string[] {
  const lines: string[] = [];
  if (gates.maxNodataShare !== undefined) lines.push(`nodata at most ${Math.round(gates.maxNodataShare * 1000) / 10}%`);
  if (gates.crs?.epsg) lines.push(`CRS one of ${gates.crs.epsg.map((code) => `EPSG:${code}`).join(', ')}`);
  if (gates.crs?.family) lines.push(`CRS ${gates.crs.family}`);
  if (gates.dataTypes) lines.push(`data type ${gates.dataTypes.join(' or ')}`);
  if (gates.bandCounts) lines.push(`${gates.bandCounts.join(' or ')} band${gates.bandCounts.length === 1 && gates.bandCounts[0] === 1 ? '' : 's'}`);
  if (gates.maxBytes !== undefined) lines.push(`at most ${gates.maxBytes.toLocaleString('en-US')} bytes`);
  if (gates.footprintWithin) lines.push(`footprint inside [${gates.footprintWithin.join(', ')}]`);
  return lines;
}
