/**
 * How a COG's values become grey levels or colours on the map, pure (no OpenLayers): per band,
 * the 2nd and 98th percentiles of its valid values (nodata, NaN and infinities left out), read
 * from the COG's coarsest overview, are drawn black and white. 8-bit RGB is drawn as it is.
 */

/** Value range drawn from black to white (or from none to full colour, per channel). */
export interface BandRange {
  low: number;
  high: number;
}

export interface Stretch {
  /** `rgb`: the first three bands as red, green and blue; `grey`: the first band alone. */
  mode: 'rgb' | 'grey';
  ranges: BandRange[];
}

export const lowPercentile = 0.02;
export const highPercentile = 0.98;

/** The value at quantile `q` (0..1) of sorted values, by the nearest rank. */
function quantile(sorted: Float64Array, q: number): number {
  const index = Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))));
  return sorted[index]!;
}

/**
 * Each band's 2–98 % range, from pixel-interleaved samples (`bandCount` values per pixel, the
 * last of them an alpha band when `alphaBand` is set: 0 marks nodata). A band with no valid value
 * gets `null`; a constant band a range of one around its value.
 */
export function percentileRanges(data: ArrayLike<number>, bandCount: number, alphaBand?: number): Array<BandRange | null> {
  const dataBands = alphaBand === undefined ? bandCount : bandCount - 1;
  const pixels = Math.floor(data.length / bandCount);
  const ranges: Array<BandRange | null> = [];
  for (let band = 0; band < dataBands; band++) {
    const values = new Float64Array(pixels);
    let count = 0;
    for (let pixel = 0; pixel < pixels; pixel++) {
      if (alphaBand !== undefined && data[pixel * bandCount + alphaBand] === 0) continue;
      const value = data[pixel * bandCount + band]!;
      if (Number.isFinite(value)) values[count++] = value;
    }
    if (count === 0) {
      ranges.push(null);
      continue;
    }
    const sorted = values.subarray(0, count).sort();
    const low = quantile(sorted, lowPercentile);
    const high = quantile(sorted, highPercentile);
    ranges.push(high > low ? { low, high } : { low: low - 0.5, high: low + 0.5 });
  }
  return ranges;
}

/** Whole numbers within 0–255 in every sampled value of these bands: 8-bit imagery. */
function isEightBit(data: ArrayLike<number>, bandCount: number, bands: number, alphaBand?: number): boolean {
  for (let i = 0; i < data.length; i++) {
    const band = i % bandCount;
    if (band >= bands || band === alphaBand) continue;
    const value = data[i]!;
    if (alphaBand !== undefined && data[i - band + alphaBand] === 0) continue;
    if (!Number.isInteger(value) || value < 0 || value > 255) return false;
  }
  return true;
}

/**
 * The stretch of a COG from samples of it: three bands or more are red, green and blue (8-bit
 * ones as they are, others each stretched 2–98 %); one or two bands are grey, the first
 * stretched 2–98 %. `null` when no sampled value is valid.
 */
export function chooseStretch(data: ArrayLike<number>, bandCount: number, alphaBand?: number): Stretch | null {
  const dataBands = alphaBand === undefined ? bandCount : bandCount - 1;
  const ranges = percentileRanges(data, bandCount, alphaBand);
  if (dataBands >= 3) {
    if (isEightBit(data, bandCount, 3, alphaBand)) return { mode: 'rgb', ranges: [0, 1, 2].map(() => ({ low: 0, high: 255 })) };
    const rgb = ranges.slice(0, 3);
    if (rgb.every((range): range is BandRange => range !== null)) return { mode: 'rgb', ranges: rgb };
  }
  const first = ranges[0];
  return first ? { mode: 'grey', ranges: [first] } : null;
}

/** A channel 0–255 from band `band` (1-based) stretched over `range`, as an OpenLayers WebGL expression. */
function channel(band: number, { low, high }: BandRange): unknown[] {
  return ['*', 255, ['clamp', ['/', ['-', ['band', band], low], high - low], 0, 1]];
}

/**
 * The WebGL tile layer's `color` expression for raw (not normalized) values: the stretch, and
 * full transparency where the alpha band (1-based, when there is one) says nodata.
 */
export function stretchColorExpression(stretch: Stretch, alphaBand?: number): unknown[] {
  const alpha = alphaBand === undefined ? 1 : ['/', ['band', alphaBand], 255];
  if (stretch.mode === 'rgb') return ['color', channel(1, stretch.ranges[0]!), channel(2, stretch.ranges[1]!), channel(3, stretch.ranges[2]!), alpha];
  const grey = channel(1, stretch.ranges[0]!);
  return ['color', grey, grey, grey, alpha];
}

/** `120.5–310.2` with as many digits as the range needs. */
export function formatRange({ low, high }: BandRange): string {
  const span = Math.abs(high - low);
  const digits = span >= 100 ? 0 : span >= 1 ? 1 : Math.min(6, Math.ceil(-Math.log10(span || 1)) + 2);
  return `${low.toFixed(digits)} – ${high.toFixed(digits)}`;
}
