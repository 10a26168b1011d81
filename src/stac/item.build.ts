/**
 * Builds the STAC item of one tile COG. Pure: everything comes from the measured `TileCog`. Values
 * that came from the upload are bounded again here (`metadata.bounds.ts`), so a tile measured by an
 * older version (stored in a history, or sent by an older worker) still makes a valid item.
 */
import type { BandInfo, BandStatistics, SourceBlob, TileCog, TileSlice } from '../pipeline/contracts.js';
import { boundText } from '../pipeline/bounded.text.js';
import { isWritableTimestamp } from '../raster/acquisition.time.js';
import { toStacDataType } from '../raster/data.type.js';
import { boundCrs, boundMeasuredBand, boundNotes, quoteValue } from '../raster/metadata.bounds.js';
import { toProjTransform } from '../raster/geo.transform.js';
import { sourceEtagProperty, sourceModifiedProperty, sourceProperty, sourcePathOf } from './source.record.js';
import { extensionSchemas, mediaTypes, stacVersion, type StacAsset, type StacBand, type StacItem, type StacLink } from './stac.types.js';

/** Absolute URLs of the blobs an item links to. */
export interface ItemUrls {
  item: string;
  collection: string;
  catalog: string;
  /** The item's parent: its source's catalog (the collection when absent). */
  parent?: string;
  /** The source blob the item was made from (`derived_from`). */
  source?: string;
  thumbnail?: string;
}

export interface BuildItemInput {
  collection: string;
  tile: TileCog;
  /**
   * The ingestion time (orchestration clock, so replays build the same item): `created`, and
   * `datetime` when the raster's metadata holds no acquisition time.
   */
  datetime: string;
  /** The source blob the tile was cut from: named in the item, and used to order versions of one source. */
  source: Pick<SourceBlob, 'container' | 'name' | 'etag' | 'lastModified'>;
  urls: ItemUrls;
  /** The software that made the item, by name (`processing:software`): the app's and GDAL's versions. */
  software?: Record<string, string>;
}

/** eo `common_name` for GDAL colour interpretations that have one. */
const commonNames: Readonly<Record<string, string>> = {
  Red: 'red',
  Green: 'green',
  Blue: 'blue',
};

/** Band field saying whether `statistics` were approximated (the Statistics Object itself has no place for it). */
export const statisticsApproximateProperty = 'raster-ingest:statistics_approximate';

function toStacStatistics(statistics: BandStatistics): Pick<StacBand, 'statistics' | typeof statisticsApproximateProperty> {
  const { approximate, ...values } = statistics;
  return { statistics: values, [statisticsApproximateProperty]: approximate };
}

export function buildStacBand(band: BandInfo & { statistics: BandStatistics | null }, index: number): StacBand {
  const stacBand: StacBand = { name: band.description || `b${index + 1}`, data_type: toStacDataType(band.gdalDataType) };
  if (band.nodata !== null) stacBand.nodata = band.nodata;
  if (band.unit) stacBand.unit = band.unit;
  // Packed values (CF scale_factor/add_offset): the COG keeps them, the item says how to unpack.
  if (typeof band.scale === 'number' && Number.isFinite(band.scale) && band.scale !== 1) stacBand['raster:scale'] = band.scale;
  if (typeof band.offset === 'number' && Number.isFinite(band.offset) && band.offset !== 0) stacBand['raster:offset'] = band.offset;
  if (band.statistics) Object.assign(stacBand, toStacStatistics(band.statistics));
  const commonName = commonNames[band.colorInterpretation];
  if (commonName) stacBand['eo:common_name'] = commonName;
  if (band.hasColorTable) stacBand.description = 'palette indices (the COG keeps the colour table)';
  return stacBand;
}

/** Where an item's `datetime` came from when the raster's metadata had no acquisition time. */
export const ingestionTimeSource = 'ingestion';

/** Item property naming where `datetime` came from: a metadata key, or `ingestion`. */
export const datetimeSourceProperty = 'raster-ingest:datetime_source';

/**
 * Item property listing the upload's metadata values that were left out of the item or its COG
 * (out of range, not a number, too long), one short sentence each; absent when there are none.
 */
export const notesProperty = 'raster-ingest:notes';

/**
 * `datetime` is the acquisition time from the raster's metadata (a range as
 * `start_datetime`/`end_datetime`, `datetime` then being its start), else the ingestion time;
 * `created` is always the ingestion time.
 */
function buildTimeProperties(tile: TileCog, ingestedAt: string, notes: string[]): Pick<StacItem['properties'], 'datetime' | 'created' | 'start_datetime' | 'end_datetime'> & Record<string, string> {
  let acquired = tile.acquired ?? null;
  if (acquired && !(isWritableTimestamp(acquired.start) && isWritableTimestamp(acquired.end) && Date.parse(acquired.start) <= Date.parse(acquired.end))) {
    notes.push(`datetime: ${quoteValue(String(acquired.source))} gave ${quoteValue(String(acquired.start))} to ${quoteValue(String(acquired.end))}, not a time span within the years 0001–9999; not used`);
    acquired = null;
  }
  if (!acquired) return { datetime: ingestedAt, created: ingestedAt, [datetimeSourceProperty]: ingestionTimeSource };
  return {
    datetime: acquired.start,
    ...(acquired.end !== acquired.start ? { start_datetime: acquired.start, end_datetime: acquired.end } : {}),
    created: ingestedAt,
    [datetimeSourceProperty]: acquired.source,
  };
}

/** The item's time as an interval: [datetime, datetime], or [start_datetime, end_datetime]. */
export function itemInterval(item: StacItem): [string, string] {
  const { datetime, start_datetime: start, end_datetime: end } = item.properties;
  return start && end ? [start, end] : [datetime, datetime];
}

/** `variable tas, time step 3 of ` for a tile of a variable; names are bounded (they come from the upload). */
function describeSlice(slice: TileSlice | undefined): string {
  if (!slice) return '';
  const step = slice.band === undefined ? '' : slice.stepLabel === 't' ? `, time step ${slice.band - 1}` : `, band ${slice.band}`;
  return `variable ${boundText(String(slice.variable), 128)}${step} of `;
}

/** Item properties naming the variable and step a tile holds (`raster-ingest:` fields, see docs/raster-output.md). */
export const variableProperty = 'raster-ingest:variable';
export const stepProperty = 'raster-ingest:step';

export function buildTileItem(input: BuildItemInput): StacItem {
  const { tile, urls } = input;
  const notes = [...(tile.notes ?? [])];
  const bands = tile.bands.map((band, index) => buildStacBand(boundMeasuredBand(band, index, notes), index));
  const usesEo = bands.some((band) => band['eo:common_name'] !== undefined);
  const usesRaster = bands.some((band) => band['raster:scale'] !== undefined || band['raster:offset'] !== undefined);
  const crs = boundCrs(tile.crs, notes);
  const properties: StacItem['properties'] = {
    ...buildTimeProperties(tile, input.datetime, notes),
    'proj:code': crs?.code ?? null,
    'proj:bbox': tile.nativeBbox,
    'proj:shape': [tile.height, tile.width],
    'proj:transform': toProjTransform(tile.geoTransform),
    [sourceProperty]: sourcePathOf(input.source),
    [sourceEtagProperty]: input.source.etag,
    [sourceModifiedProperty]: input.source.lastModified,
    ...(input.software ? { 'processing:software': input.software } : {}),
    ...(tile.window.slice ? { [variableProperty]: boundText(String(tile.window.slice.variable), 128) } : {}),
    ...(tile.window.slice?.band !== undefined ? { [stepProperty]: tile.window.slice.band - 1 } : {}),
  };
  // Without an authority code the CRS must travel in full (unless it was too long to carry: noted).
  if (crs && crs.code === null) {
    if (crs.wkt2) properties['proj:wkt2'] = crs.wkt2;
    if (crs.projjson) properties['proj:projjson'] = crs.projjson;
  }
  const boundedNotes = boundNotes(notes);
  if (boundedNotes.length > 0) properties[notesProperty] = boundedNotes;
  const data: StacAsset = {
    href: tile.blob.url,
    type: mediaTypes.cog,
    title: `Tile ${tile.window.row},${tile.window.col} of ${describeSlice(tile.window.slice)}${sourcePathOf(input.source)} (pixels ${tile.window.x},${tile.window.y} ${tile.window.width}×${tile.window.height})`,
    roles: ['data'],
    'file:size': tile.size,
    'file:checksum': tile.checksum,
    bands,
  };
  const assets: Record<string, StacAsset> = { data };
  if (urls.thumbnail) assets['thumbnail'] = { href: urls.thumbnail, type: mediaTypes.png, title: 'Thumbnail', roles: ['thumbnail'] };
  const links: StacLink[] = [
    { rel: 'self', href: urls.item, type: mediaTypes.geojson },
    { rel: 'root', href: urls.catalog, type: mediaTypes.json },
    { rel: 'parent', href: urls.parent ?? urls.collection, type: mediaTypes.json },
    { rel: 'collection', href: urls.collection, type: mediaTypes.json },
    ...(urls.source ? [{ rel: 'derived_from', href: urls.source, title: `Source raster ${sourcePathOf(input.source)}` }] : []),
  ];
  return {
    type: 'Feature',
    stac_version: stacVersion,
    stac_extensions: [extensionSchemas.projection, extensionSchemas.file, ...(usesEo ? [extensionSchemas.eo] : []), ...(usesRaster ? [extensionSchemas.raster] : []), ...(input.software ? [extensionSchemas.processing] : [])],
    id: tile.itemId,
    collection: input.collection,
    geometry: tile.geometry,
    bbox: tile.bbox,
    properties,
    links,
    assets,
  };
}
