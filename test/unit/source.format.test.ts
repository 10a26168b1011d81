import { describe, expect, it } from 'vitest';
import { identifySourceFormat } from '../../src/raster/source.format.js';

const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values);
const text = (value: string): Uint8Array => new TextEncoder().encode(value);

const hdf5AtUserBlock = new Uint8Array(1100);
hdf5AtUserBlock.set([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a], 512);

function gtxHead(rows = 721, columns = 1440, latStep = 0.25): Uint8Array {
  const head = Buffer.alloc(40);
  head.writeDoubleBE(-90, 0);
  head.writeDoubleBE(-180, 8);
  head.writeDoubleBE(latStep, 16);
  head.writeDoubleBE(0.25, 24);
  head.writeInt32BE(rows, 32);
  head.writeInt32BE(columns, 36);
  return new Uint8Array(head);
}

describe('source format allowlist (decided from the first bytes, before GDAL sees the file)', () => {
  it.each([
    ['classic TIFF, little-endian', bytes(0x49, 0x49, 0x2a, 0x00, 8, 0, 0, 0), 'GTiff'],
    ['classic TIFF, big-endian', bytes(0x4d, 0x4d, 0x00, 0x2a, 0, 0, 0, 8), 'GTiff'],
    ['BigTIFF', bytes(0x49, 0x49, 0x2b, 0x00, 8, 0, 0, 0), 'GTiff'],
    ['netCDF classic', bytes(0x43, 0x44, 0x46, 0x01, 0, 0, 0, 0), 'netCDF'],
    ['netCDF 64-bit offset', bytes(0x43, 0x44, 0x46, 0x02, 0, 0, 0, 0), 'netCDF'],
    ['Erdas Imagine', text('EHFA_HEADER_TAG\0\x14\0\0\0'), 'HFA'],
    ['JPEG 2000 (JP2)', bytes(0x00, 0x00, 0x00, 0x0c, 0x6a, 0x50, 0x20, 0x20, 0x0d, 0x0a, 0x87, 0x0a), 'JP2OpenJPEG'],
    ['netCDF-4 / HDF5', bytes(0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a), 'HDF5'],
    ['HDF5 behind a 512-byte user block (the user block is judged with the structure)', hdf5AtUserBlock, 'HDF5'],
    ['a GTX grid (a plausible header; its size is checked against the file later)', gtxHead(), 'GTX'],
  ])('opens %s with one driver', (_kind, head, driver) => {
    expect(identifySourceFormat(head)).toEqual({ ok: true, driver });
  });

  it('recognises a GTX grid only when its header fills the file exactly (float32 or float64), when the size is known', () => {
    expect(identifySourceFormat(gtxHead(721, 1440), 40 + 721 * 1440 * 4)).toEqual({ ok: true, driver: 'GTX' });
    expect(identifySourceFormat(gtxHead(721, 1440), 40 + 721 * 1440 * 8)).toEqual({ ok: true, driver: 'GTX' });
    // Raw bytes (an ENVI .dat) that happen to read as a plausible header: refused as no format, saying why.
    const verdict = identifySourceFormat(gtxHead(721, 1440), 4096);
    expect(verdict).toMatchObject({ ok: false, failure: { code: 'UNSUPPORTED_FORMAT', message: expect.stringMatching(/GTX grid header, they declare 721×1440 samples, which its 4096 bytes do not hold.*GeoTIFF/) } });
  });

  it.each([
    ['a VRT', text('<VRTDataset rasterXSize="1" rasterYSize="1"><VRTRasterBand band="1"><SimpleSource><SourceFilename>/etc/passwd</SourceFilename></SimpleSource></VRTRasterBand></VRTDataset>'), /^VRT files cannot be ingested.*upload the raster itself/],
    ['a VRT after an XML declaration, a comment and a BOM', text('\uFEFF  <?xml version="1.0"?>\n<!-- hi -->\n<VRTDataset>'), /^VRT files/],
    ['a UTF-16 VRT', Uint8Array.from([0xff, 0xfe, ...Array.from('<VRTDataset>').flatMap((c) => [c.charCodeAt(0), 0])]), /^VRT files/],
    ['a WMS description', text('<GDAL_WMS><Service name="WMS"><ServerUrl>http://127.0.0.1:9/</ServerUrl></Service></GDAL_WMS>'), /WMS service descriptions/],
    ['a WMTS description', text('<GDAL_WMTS><GetCapabilitiesUrl>http://x</GetCapabilitiesUrl></GDAL_WMTS>'), /WMTS service descriptions/],
    ['a PAM sidecar', text('<PAMDataset><SRS>EPSG:4326</SRS></PAMDataset>'), /sidecar/],
    ['other XML', text('<svg/>'), /XML documents/],
    ['a MEM dataset string', text('MEM:::DATAPOINTER=0x0,PIXELS=1,LINES=1'), /dataset names and virtual file paths/],
    ['a /vsicurl/ path', text('/vsicurl/http://169.254.169.254/metadata'), /dataset names and virtual file paths/],
    ['a netCDF subdataset name', text('NETCDF:"/etc/passwd":x'), /dataset names and virtual file paths/],
    ['an ENVI header', text('ENVI\ndescription = {x}\nsamples = 1'), /ENVI files cannot be ingested.*gdal_translate -of COG scene\.dat scene\.tif/],
    ['a STAC item collection (GDAL STACIT)', text('{"type":"FeatureCollection","features":[]}'), /JSON documents \(STAC items/],
    ['an ASCII grid', text('ncols 10\nnrows 10\nxllcorner 0'), /ASCII grids \(AAIGrid\).*\.prj sidecar.*gdal_translate -of COG scene\.asc scene\.tif/],
    ['a PDS label', text('PDS_VERSION_ID = PDS3\r\n^IMAGE = ("../../etc/passwd", 1)'), /PDS labels/],
    ['4 KiB of zeros (an HDF5 user block longer than any library writes)', new Uint8Array(4096), /not a GeoTIFF, netCDF, HDF5/],
    ['a GTX-like header whose steps are zero', gtxHead(721, 1440, 0), /not a GeoTIFF, netCDF, HDF5, JPEG 2000, Erdas Imagine or GTX/],
    ['a GTX-like header with negative rows', gtxHead(-1), /not a GeoTIFF/],
    ['HDF4', bytes(0x0e, 0x03, 0x13, 0x01), /HDF4/],
    ['a zip', bytes(0x50, 0x4b, 0x03, 0x04), /archives \(zip\)/],
    ['a gzip', bytes(0x1f, 0x8b, 0x08), /gzip/],
    ['a PNG', bytes(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a), /PNG images/],
    ['a JPEG', bytes(0xff, 0xd8, 0xff, 0xe0), /JPEG images/],
    ['a raw JPEG 2000 codestream (no georeferencing)', bytes(0xff, 0x4f, 0xff, 0x51, 0, 0x2f), /raw JPEG 2000 codestreams/],
    ['a GeoPackage', text('SQLite format 3\u0000'), /SQLite containers/],
    ['an empty head', new Uint8Array(0), /not a GeoTIFF, netCDF, HDF5, JPEG 2000, Erdas Imagine or GTX/],
    ['random text', text('hello world'), /not a GeoTIFF, netCDF, HDF5, JPEG 2000, Erdas Imagine or GTX/],
  ])('refuses %s, saying what to upload instead', (_kind, head, reason) => {
    const verdict = identifySourceFormat(head);
    expect(verdict.ok).toBe(false);
    if (verdict.ok) return;
    expect(verdict.failure.code).toBe('UNSUPPORTED_FORMAT');
    expect(verdict.failure.message).toMatch(reason);
    expect(verdict.failure.message).not.toContain('/etc/passwd');
  });
});
