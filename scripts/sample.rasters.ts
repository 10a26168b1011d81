/**
 * Sample rasters for the demo and the benchmark, generated with GDAL so no third-party data is
 * committed: a 3-band 8-bit image and a float32 DEM with nodata, both georeferenced.
 */
import gdal from 'gdal-async';

export interface SampleRaster {
  path: string;
  description: string;
}

function projectedUtm(zone: number): string {
  return gdal.SpatialReference.fromEPSG(32600 + zone).toWKT();
}

/** A 3-band RGB image (uint8) in UTM 33N with smooth colour fields, so overviews look right. */
export async function writeSampleImage(path: string, width = 3000, height = 2000): Promise<SampleRaster> {
  const dataset = await gdal.drivers.get('GTiff').createAsync(path, width, height, 3, gdal.GDT_Byte, ['COMPRESS=DEFLATE', 'TILED=YES']);
  dataset.srs = gdal.SpatialReference.fromWKT(projectedUtm(33));
  dataset.geoTransform = [400000, 5, 0, 5400000, 0, -5];
  const row = new Uint8Array(width * 64);
  for (let band = 1; band <= 3; band++) {
    const target = dataset.bands.get(band);
    target.colorInterpretation = ['Red', 'Green', 'Blue'][band - 1]!;
    for (let y0 = 0; y0 < height; y0 += 64) {
      const rows = Math.min(64, height - y0);
      for (let y = 0; y < rows; y++) {
        for (let x = 0; x < width; x++) {
          const fx = x / width;
          const fy = (y0 + y) / height;
          const ring = Math.sin(Math.hypot(fx - 0.5, fy - 0.5) * 40 + band);
          row[y * width + x] = Math.max(0, Math.min(255, Math.round(128 + 90 * ring * (band === 2 ? fy : fx) + 30 * band)));
        }
      }
      await target.pixels.writeAsync(0, y0, width, rows, row.subarray(0, width * rows));
    }
  }
  dataset.close();
  return { path, description: `RGB image, ${width}×${height}, uint8, EPSG:32633` };
}

/** A float32 DEM in UTM 32N with synthetic terrain and a nodata hole (lake) in one corner. */
export async function writeSampleDem(path: string, width = 5000, height = 4000, creationOptions: string[] = ['COMPRESS=DEFLATE', 'TILED=YES', 'PREDICTOR=3']): Promise<SampleRaster> {
  const nodata = -9999;
  const dataset = await gdal.drivers.get('GTiff').createAsync(path, width, height, 1, gdal.GDT_Float32, creationOptions);
  dataset.srs = gdal.SpatialReference.fromWKT(projectedUtm(32));
  dataset.geoTransform = [600000, 10, 0, 5200000, 0, -10];
  const band = dataset.bands.get(1);
  band.noDataValue = nodata;
  band.unitType = 'm';
  const stripRows = 128;
  const strip = new Float32Array(width * stripRows);
  for (let y0 = 0; y0 < height; y0 += stripRows) {
    const rows = Math.min(stripRows, height - y0);
    for (let y = 0; y < rows; y++) {
      const gy = y0 + y;
      for (let x = 0; x < width; x++) {
        const inLake = Math.hypot(x - width * 0.85, gy - height * 0.2) < Math.min(width, height) * 0.08;
        strip[y * width + x] = inLake
          ? nodata
          : 1500 + 600 * Math.sin(x / 310) * Math.cos(gy / 270) + 250 * Math.sin((x + gy) / 97) + gy * 0.05;
      }
    }
    await band.pixels.writeAsync(0, y0, width, rows, strip.subarray(0, width * rows));
  }
  dataset.close();
  return { path, description: `DEM, ${width}×${height}, float32, nodata ${nodata}, EPSG:32632` };
}
