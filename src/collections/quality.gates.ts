/**
 * A collection's quality gates, checked against what a job measured of its source: validation's
 * header facts (CRS, data types, bands), the upload's size, the tiles' WGS84 footprints and the
 * nodata share of their COGs (from the band statistics each COG was made with). Pure: the
 * `checkQualityGates` activity gathers the measurements, this decides. Each violation names its
 * rule, the measured value and the limit, for the job view and the operator who decides.
 */
import type { GateRule, QualityGates } from './definition.schema.js';

export type { GateRule } from './definition.schema.js';

export interface GateViolation {
  rule: GateRule;
  /** What the source has, as a person reads it (`EPSG:4326`, `0.62`, `[3.1, 50.2, 7.4, 53.6]`). */
  measured: string;
  /** What the gate allows. */
  limit: string;
  message: string;
}

/** What a job measured of its source, as far as the gates need it. */
export interface GateMeasurements {
  /** `EPSG:<code>` of the source's CRS (or the one assumed), or `null` without an authority code. */
  crsCode: string | null;
  /** From the CRS's WKT2: `geographic`, `projected`, or `null` for anything else (or none). */
  crsFamily: 'geographic' | 'projected' | null;
  dataTypes: string[];
  bandCount: number;
  sizeBytes: number;
  /** WGS84 `[west, south, east, north]` around every tile; west > east when it crosses the antimeridian; `null` without tiles. */
  footprint: [number, number, number, number] | null;
  /** Share (0-1) of nodata pixels over every tile and band, weighted by tile size; `null` when not measured (no statistics). */
  nodataShare: number | null;
}

/** The family of a CRS from its WKT2 keyword: `GEOGCRS`/`GEOGRAPHICCRS` and `PROJCRS`/`PROJECTEDCRS` (a compound CRS reads as its horizontal part). */
export function crsFamilyOf(wkt2: string | null | undefined): 'geographic' | 'projected' | null {
  if (!wkt2) return null;
  const keyword = /^\s*(?:COMPOUNDCRS\s*\[\s*"[^"]*"\s*,\s*)?([A-Z]+)\s*\[/.exec(wkt2)?.[1];
  if (keyword === 'GEOGCRS' || keyword === 'GEOGRAPHICCRS' || keyword === 'GEODCRS' || keyword === 'GEODETICCRS') return 'geographic';
  if (keyword === 'PROJCRS' || keyword === 'PROJECTEDCRS') return 'projected';
  return null;
}

/** The box around tile boxes; `null` without any. Boxes crossing the antimeridian keep west > east (and then lie inside no gate area). */
export function footprintOf(boxes: ReadonlyArray<readonly [number, number, number, number]>): [number, number, number, number] | null {
  if (boxes.length === 0) return null;
  const crossing = boxes.some(([west, , east]) => west > east);
  const west = Math.min(...boxes.map((box) => box[0]));
  const east = Math.max(...boxes.map((box) => box[2]));
  const south = Math.min(...boxes.map((box) => box[1]));
  const north = Math.max(...boxes.map((box) => box[3]));
  return crossing ? [Math.max(...boxes.map((box) => box[0])), south, Math.min(...boxes.map((box) => box[2])), north] : [west, south, east, north];
}

/** Whether any gate is set (a collection with none runs as before). */
export function hasGates(gates: QualityGates | undefined): gates is QualityGates {
  return gates !== undefined && Object.values(gates).some((value) => value !== undefined);
}

const round = (value: number, digits = 4): number => Math.round(value * 10 ** digits) / 10 ** digits;
const box = (value: readonly number[]): string => `[${value.map((part) => round(part, 6)).join(', ')}]`;

/** Every gate the measurements fail, in the definition's order. */
export function evaluateGates(gates: QualityGates, measured: GateMeasurements): GateViolation[] {
  const violations: GateViolation[] = [];
  const fail = (rule: GateRule, shown: string, limit: string, message: string): void => {
    violations.push({ rule, measured: shown, limit, message });
  };
  if (gates.maxNodataShare !== undefined) {
    if (measured.nodataShare === null) fail('maxNodataShare', 'unknown', `≤ ${gates.maxNodataShare}`, 'the nodata share could not be measured (the COGs carry no band statistics)');
    else if (measured.nodataShare > gates.maxNodataShare) fail('maxNodataShare', String(round(measured.nodataShare)), `≤ ${gates.maxNodataShare}`, `${round(measured.nodataShare * 100, 2)}% of the pixels are nodata, over the gate's ${round(gates.maxNodataShare * 100, 2)}%`);
  }
  if (gates.crs?.epsg) {
    const allowed = gates.crs.epsg.map((code) => `EPSG:${code}`);
    if (!measured.crsCode || !allowed.includes(measured.crsCode)) fail('crs.epsg', measured.crsCode ?? 'no EPSG code', allowed.join(', '), `the CRS ${measured.crsCode ?? '(without an EPSG code)'} is not one the gate allows`);
  }
  if (gates.crs?.family && measured.crsFamily !== gates.crs.family) {
    fail('crs.family', measured.crsFamily ?? 'neither', gates.crs.family, `the CRS is ${measured.crsFamily ?? 'neither geographic nor projected'}, the gate wants ${gates.crs.family}`);
  }
  if (gates.dataTypes) {
    const refused = [...new Set(measured.dataTypes.filter((type) => !gates.dataTypes!.includes(type as never)))];
    if (refused.length) fail('dataTypes', refused.join(', '), gates.dataTypes.join(', '), `data type ${refused.join(', ')} is not one the gate allows`);
  }
  if (gates.bandCounts && !gates.bandCounts.includes(measured.bandCount)) {
    fail('bandCounts', String(measured.bandCount), gates.bandCounts.join(', '), `${measured.bandCount} band${measured.bandCount === 1 ? '' : 's'}, the gate allows ${gates.bandCounts.join(' or ')}`);
  }
  if (gates.maxBytes !== undefined && measured.sizeBytes > gates.maxBytes) {
    fail('maxBytes', String(measured.sizeBytes), `≤ ${gates.maxBytes}`, `the upload is ${measured.sizeBytes.toLocaleString('en-US')} bytes, over the gate's ${gates.maxBytes.toLocaleString('en-US')}`);
  }
  if (gates.footprintWithin) {
    const [west, south, east, north] = gates.footprintWithin;
    const footprint = measured.footprint;
    const inside = footprint !== null && footprint[0] <= footprint[2] && footprint[0] >= west && footprint[2] <= east && footprint[1] >= south && footprint[3] <= north;
    if (!inside) fail('footprintWithin', footprint ? box(footprint) : 'none', box(gates.footprintWithin), `the footprint ${footprint ? box(footprint) : '(none)'} is not inside the gate's area ${box(gates.footprintWithin)}`);
  }
  return violations;
}
