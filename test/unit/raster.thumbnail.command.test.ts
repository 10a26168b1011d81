import { describe, expect, it } from 'vitest';
import { buildThumbnailTranslateArgs, stretchRange, thumbnailSize } from '../../src/raster/thumbnail.command.js';

const stats = { minimum: 0, maximum: 1000, mean: 400, stddev: 100, valid_percent: 90, approximate: false };
const band = (gdalDataType: string, colorInterpretation: string, hasColorTable = false) => ({ gdalDataType, colorInterpretation, hasColorTable, statistics: stats });

describe('thumbnail arguments', () => {
  it('keeps the aspect ratio within 256 pixels and never upsamples', () => {
    expect(thumbnailSize(4096, 2048)).toEqual([256, 128]);
    expect(thumbnailSize(100, 60)).toEqual([100, 60]);
    expect(thumbnailSize(10000, 3)).toEqual([256, 1]);
  });

  it('stretches to mean ± 2σ inside the data range', () => {
    expect(stretchRange(stats)).toEqual([200, 600]);
    expect(stretchRange({ ...stats, minimum: 5, maximum: 5, mean: 5, stddev: 0 })).toEqual([5, 6]);
    expect(stretchRange(null)).toEqual([0, 1]);
  });

  it('shows 8-bit RGB as is with nodata transparent', () => {
    const args = buildThumbnailTranslateArgs([band('Byte', 'Red'), band('Byte', 'Green'), band('Byte', 'Blue')], 512, 512);
    expect(args.join(' ')).toBe('-of PNG -outsize 256 256 -r average -ot Byte -b 1 -b 2 -b 3 -b mask');
  });

  it('stretches a float band', () => {
    const args = buildThumbnailTranslateArgs([band('Float32', 'Gray')], 300, 200);
    expect(args.join(' ')).toBe('-of PNG -outsize 256 171 -r average -ot Byte -b 1 -scale_1 200 600 0 255 -b mask');
  });

  it('expands a palette with nearest resampling', () => {
    expect(buildThumbnailTranslateArgs([band('Byte', 'Palette', true)], 100, 100).join(' ')).toBe('-of PNG -outsize 100 100 -r nearest -b 1 -expand rgba');
  });
});
