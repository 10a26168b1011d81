/**
 * The job's map (OpenLayers): an offline base layer of country outlines (world-atlas), the tiles'
 * bboxes coloured by state, their PNG thumbnails, and the selected tile's COG itself, read from
 * the blob by geotiff.js with HTTP range requests (`ol/source/GeoTIFF` on `cogHref`) and drawn
 * with a 2–98 % stretch of its values, nodata transparent.
 *
 * Longitudes past 180° are kept, not wrapped: tiles across the antimeridian and 0–360° grids are
 * drawn as continuous rectangles (web/map.geometry.ts), and COGs and thumbnails in lon/lat are
 * read in a lon/lat projection that allows them (`lonLatAnyWorld`).
 */
import { html } from 'htm/preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import Feature from 'ol/Feature.js';
import OlMap from 'ol/Map.js';
import TileState from 'ol/TileState.js';
import View from 'ol/View.js';
import { defaults as defaultControls, ScaleLine } from 'ol/control.js';
import { createEmpty, extend, isEmpty, type Extent } from 'ol/extent.js';
import TopoJSON from 'ol/format/TopoJSON.js';
import MultiPolygon from 'ol/geom/MultiPolygon.js';
import Polygon, { fromExtent } from 'ol/geom/Polygon.js';
import ImageLayer from 'ol/layer/Image.js';
import VectorLayer from 'ol/layer/Vector.js';
import WebGLTileLayer from 'ol/layer/WebGLTile.js';
import { addCoordinateTransforms, addEquivalentProjections, addProjection, get as getProjection, getTransform, transformExtent, type ProjectionLike } from 'ol/proj.js';
import Projection from 'ol/proj/Projection.js';
import GeoTIFF from 'ol/source/GeoTIFF.js';
import Static from 'ol/source/ImageStatic.js';
import VectorSource from 'ol/source/Vector.js';
import { Fill, Stroke, Style, Text } from 'ol/style.js';
import type DataTile from 'ol/DataTile.js';
import type ImageWrapper from 'ol/Image.js';
import { apiUrl, authHeaders, fetchObjectUrl } from './api.client.js';
import type { TileEntry } from '../src/api/contract.js';
import { chooseStretch, formatRange, stretchColorExpression, type Stretch } from './cog.stretch.js';
import { placeBboxes, splitAtAntimeridian, type Bbox, type Ring } from './map.geometry.js';
import { tileStateLabel } from './tile.format.js';

const stateColours: Record<string, string> = {
  pending: '#6b7280',
  queued: '#6b7280',
  running: '#b45309',
  'creating-cog': '#b45309',
  registering: '#7c3aed',
  done: '#15803d',
  failed: '#b91c1c',
};

/** Half the width of one world in Web Mercator metres. */
const halfWorld = 20037508.342789244;
const earthRadius = 6378137;

/**
 * The map's projection: Web Mercator over three worlds side by side (-540°…540°), so that what
 * runs past ±180° (a 0–360° grid, a tile across the antimeridian) is drawn where it is, in one
 * piece: EPSG:3857 stops at ±180°, and OpenLayers cuts COGs and images at a projection's edge.
 * Its coordinates are EPSG:3857's, so the two are equivalent.
 */
const mapProjection = new Projection({
  code: 'raster-ingest:mercator',
  units: 'm',
  extent: [-3 * halfWorld, -halfWorld, 3 * halfWorld, halfWorld],
  worldExtent: [-540, -85, 540, 85],
  getPointResolution: (resolution, point) => resolution / Math.cosh(point[1]! / earthRadius),
});
/** Lon/lat whose longitudes may run past ±180°, for COGs and thumbnails in lon/lat. */
const lonLatAnyWorld = new Projection({ code: 'raster-ingest:lonlat', units: 'degrees', extent: [-540, -90, 540, 90] });
addProjection(mapProjection);
addProjection(lonLatAnyWorld);
addEquivalentProjections([getProjection('EPSG:3857')!, mapProjection]);
{
  // EPSG:4326 ↔ EPSG:3857 is linear in x, so these hold past ±180° too (toLonLat would wrap).
  const forward = getTransform('EPSG:4326', 'EPSG:3857')!;
  const inverse = getTransform('EPSG:3857', 'EPSG:4326')!;
  for (const lonLat of ['EPSG:4326', lonLatAnyWorld]) addCoordinateTransforms(lonLat, mapProjection, (coordinate) => forward(coordinate), (coordinate) => inverse(coordinate));
  addCoordinateTransforms(lonLatAnyWorld, 'EPSG:3857', (coordinate) => forward(coordinate), (coordinate) => inverse(coordinate));
}

/** Sampled tiles of the coarsest overview, at most: the stretch needs a picture of the values, not all of them. */
const maxSampledTiles = 4;

type CogStatus =
  | { state: 'none' }
  | { state: 'loading'; itemId: string }
  | { state: 'drawn'; itemId: string; stretch: Stretch }
  | { state: 'not-drawn'; itemId: string; reason: string };

function footprintStyle(feature: Feature, selectedId: string | null): Style {
  const state = String(feature.get('state'));
  const selected = feature.get('itemId') === selectedId;
  return new Style({
    stroke: new Stroke({ color: stateColours[state] ?? '#111827', width: selected ? 4 : 2, lineDash: state === 'done' ? undefined : [6, 4] }),
    fill: new Fill({ color: state === 'failed' ? 'rgba(185, 28, 28, 0.18)' : 'rgba(0, 0, 0, 0)' }),
    text: new Text({ text: selected ? tileStateLabel(state) : '', font: 'bold 12px system-ui, sans-serif', fill: new Fill({ color: '#111827' }), stroke: new Stroke({ color: '#fff', width: 3 }) }),
  });
}

/** Loads an <img> for OpenLayers through fetch, so the function key goes in a header. */
function keyedImageLoad(image: ImageWrapper, src: string): void {
  const element = image.getImage();
  if (!(element instanceof HTMLImageElement)) return;
  fetchObjectUrl(src)
    .then((url) => {
      element.addEventListener('load', () => URL.revokeObjectURL(url), { once: true });
      element.src = url;
    })
    .catch(() => element.dispatchEvent(new Event('error')));
}

/** Web Mercator stops short of the poles. */
const maxLatitude = 85.0511287798;

/** Web Mercator extent of a placed (continuous) lon/lat bbox, cut at Web Mercator's latitude limit; empty when it is degenerate. */
function toMapExtent([west, south, east, north]: Bbox): Extent {
  const extent = transformExtent([west, Math.max(south, -maxLatitude), east, Math.min(north, maxLatitude)], 'EPSG:4326', 'EPSG:3857');
  return extent.every(Number.isFinite) && extent[2] > extent[0] && extent[3] > extent[1] ? extent : createEmpty();
}

/**
 * Where a tile's thumbnail goes, given the CRS of the job's COGs: a lon/lat or Web Mercator
 * picture fills its bbox exactly; a picture in another CRS only roughly, which is close enough
 * for a small tile away from the poles and wrong otherwise (a polar tile's picture is not a
 * lon/lat rectangle): those are not drawn on the map (the tile's details show them).
 */
function thumbnailPlacement(crs: string | null, bbox: Bbox): { projection: ProjectionLike; extent: Extent } | null {
  if (crs === 'EPSG:3857') {
    const extent = toMapExtent(bbox);
    return isEmpty(extent) ? null : { projection: 'EPSG:3857', extent };
  }
  if (crs === 'EPSG:4326') return { projection: lonLatAnyWorld, extent: bbox };
  const small = bbox[2] - bbox[0] <= 10 && bbox[3] - bbox[1] <= 10 && Math.max(Math.abs(bbox[1]), Math.abs(bbox[3])) <= 75;
  return crs && small ? { projection: lonLatAnyWorld, extent: bbox } : null;
}

/** The countries as Web Mercator polygons, none of them crossing the map from one edge to the other. */
function readCountries(topology: unknown): Feature[] {
  // `countries` only: the topology also holds `land`, the same outlines merged.
  const features = new TopoJSON({ layers: ['countries'] }).readFeatures(topology);
  return features.flatMap((feature) => {
    const geometry = feature.getGeometry();
    const polygons = geometry instanceof MultiPolygon ? geometry.getCoordinates() : geometry instanceof Polygon ? [geometry.getCoordinates()] : [];
    if (polygons.length === 0) return [];
    const pieces = polygons.flatMap((polygon) => splitAtAntimeridian(polygon as Ring[]));
    const repaired = new MultiPolygon(pieces);
    repaired.transform('EPSG:4326', 'EPSG:3857');
    // One copy per world of the map.
    return [-1, 0, 1].map((world) => {
      const copy = repaired.clone();
      copy.translate(world * 2 * halfWorld, 0);
      return new Feature({ geometry: copy, name: feature.get('name') });
    });
  });
}

function loadDataTile(tile: DataTile): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = (): void => {
      const state = tile.getState();
      if (state === TileState.LOADED) resolve();
      else if (state === TileState.ERROR || state === TileState.EMPTY) reject(new Error('a tile of the COG could not be read'));
    };
    tile.addEventListener('change', check);
    tile.load();
    check();
  });
}

/** The stretch of a COG (raw values), from the tiles of its coarsest overview. */
async function sampleStretch(source: GeoTIFF): Promise<Stretch | null> {
  const grid = source.getTileGrid();
  if (!grid) return null;
  const z = grid.getMinZoom();
  const range = grid.getFullTileRange(z);
  if (!range) return null;
  const samples: number[] = [];
  let taken = 0;
  for (let x = range.minX; x <= range.maxX && taken < maxSampledTiles; x++) {
    for (let y = range.minY; y <= range.maxY && taken < maxSampledTiles; y++, taken++) {
      const tile = source.getTile(z, x, y, 1);
      if (!tile) continue;
      await loadDataTile(tile);
      const data = tile.getData();
      if (data && ArrayBuffer.isView(data) && !(data instanceof DataView)) for (const value of data as ArrayLike<number> & Iterable<number>) samples.push(value);
    }
  }
  return chooseStretch(samples, source.bandCount, source.hasAlpha ? source.bandCount - 1 : undefined);
}

function projectionCode(projection: ProjectionLike | undefined): string | null {
  if (!projection) return null;
  return typeof projection === 'string' ? projection : projection.getCode();
}

export function JobMap({ tiles, selected, onSelect }: { tiles: TileEntry[]; selected: TileEntry | null; onSelect: (tile: TileEntry) => void }) {
  const target = useRef<HTMLDivElement>(null);
  const mapRef = useRef<OlMap | null>(null);
  const footprints = useRef(new VectorSource());
  const thumbnailLayers = useRef(new Map<string, { placement: string; layer: ImageLayer<Static> }>());
  const cogLayer = useRef<{ href: string; layer: WebGLTileLayer | null } | null>(null);
  /** The view follows the tiles until the user pans or zooms it. */
  const userMoved = useRef(false);
  const fittedCount = useRef(0);
  const onSelectRef = useRef(onSelect);
  onSelectRef.current = onSelect;
  const tilesRef = useRef(tiles);
  tilesRef.current = tiles;
  const [baseLayer, setBaseLayer] = useState<'loading' | 'ready' | 'failed'>('loading');
  const [cog, setCog] = useState<CogStatus>({ state: 'none' });
  /** The CRS of the job's COGs (one for all its tiles), once a COG's header has been read. */
  const [crs, setCrs] = useState<string | null>(null);

  // The map, once.
  useEffect(() => {
    const countries = new VectorSource();
    const map = new OlMap({
      target: target.current!,
      controls: defaultControls({ attribution: false }).extend([new ScaleLine()]),
      layers: [
        new VectorLayer({ source: countries, style: new Style({ fill: new Fill({ color: '#f3f4f1' }), stroke: new Stroke({ color: '#9ca3af', width: 0.8 }) }) }),
        new VectorLayer({ source: footprints.current, zIndex: 20 }),
      ],
      // Only the centre stays within the three worlds: a tile at the top of the world is still fitted with room above it.
      view: new View({ projection: mapProjection, center: [0, 0], resolution: (2 * halfWorld) / 512, extent: mapProjection.getExtent(), constrainOnlyCenter: true }),
    });
    mapRef.current = map;
    const noteUserMove = (): void => {
      userMoved.current = true;
    };
    map.on('pointerdrag', noteUserMove);
    map.getViewport()?.addEventListener('wheel', noteUserMove, { passive: true });
    fetch(new URL('countries-110m.json', window.location.href))
      .then((response) => (response.ok ? response.json() : Promise.reject(new Error(String(response.status)))))
      .then((topology: unknown) => {
        countries.addFeatures(readCountries(topology));
        setBaseLayer('ready');
      })
      .catch(() => setBaseLayer('failed'));
    map.on('singleclick', (event) => {
      map.forEachFeatureAtPixel(event.pixel, (feature) => {
        const tile = tilesRef.current.find((candidate) => candidate.itemId === feature.get('itemId'));
        if (tile) onSelectRef.current(tile);
        return Boolean(tile);
      }, { layerFilter: (layer) => layer.getSource() === footprints.current });
    });
    return () => map.setTarget(undefined);
  }, []);

  // Bboxes and thumbnails follow the ledger.
  useEffect(() => {
    const map = mapRef.current;
    if (!map) return;
    const selectedId = selected?.itemId ?? null;
    const extent: Extent = createEmpty();
    const features: Feature[] = [];
    const placed = placeBboxes(tiles.map((tile) => tile.bbox));
    tiles.forEach((tile, i) => {
      const bbox = placed[i];
      if (!bbox) return;
      const box = toMapExtent(bbox);
      if (isEmpty(box)) return;
      extend(extent, box);
      const feature = new Feature({ geometry: fromExtent(box), itemId: tile.itemId, state: tile.state });
      feature.setStyle((f) => footprintStyle(f as Feature, selectedId));
      features.push(feature);
      const placement = tile.thumbnailHref ? thumbnailPlacement(crs, bbox) : null;
      const key = placement ? `${projectionCode(placement.projection)} ${placement.extent.join(',')}` : '';
      const shown = thumbnailLayers.current.get(tile.itemId);
      if (shown && shown.placement === key) return;
      if (shown) {
        map.removeLayer(shown.layer);
        thumbnailLayers.current.delete(tile.itemId);
      }
      if (!placement || !tile.thumbnailHref) return;
      const layer = new ImageLayer({
        source: new Static({ url: apiUrl(tile.thumbnailHref), imageExtent: placement.extent, projection: placement.projection, imageLoadFunction: keyedImageLoad }),
        opacity: 0.85,
        zIndex: 5,
      });
      thumbnailLayers.current.set(tile.itemId, { placement: key, layer });
      map.addLayer(layer);
    });
    footprints.current.clear(true);
    footprints.current.addFeatures(features);
    if (!userMoved.current && features.length !== fittedCount.current && !isEmpty(extent)) {
      fittedCount.current = features.length;
      map.getView().fit(extent, { padding: [30, 30, 30, 30], maxZoom: 16 });
    }
  }, [tiles, selected?.itemId, crs]);

  // One COG on the map, read from its blob with range requests: the selected tile's, or the first done one's.
  const cogTile = selected?.state === 'done' && selected.cogHref ? selected : tiles.find((tile) => tile.state === 'done' && tile.cogHref);
  const cogHref = cogTile?.cogHref ?? null;
  const cogItemId = cogTile?.itemId ?? '';
  useEffect(() => {
    const map = mapRef.current;
    if (!map) return;
    if (cogLayer.current && cogLayer.current.href !== cogHref) {
      const { layer } = cogLayer.current;
      if (layer) {
        map.removeLayer(layer);
        layer.dispose();
      }
      cogLayer.current = null;
    }
    if (!cogHref) {
      setCog({ state: 'none' });
      return;
    }
    if (cogLayer.current) return;
    const entry: { href: string; layer: WebGLTileLayer | null } = { href: cogHref, layer: null };
    cogLayer.current = entry;
    setCog({ state: 'loading', itemId: cogItemId });
    let current = true;
    const sourceOptions = { sources: [{ url: apiUrl(cogHref) }], sourceOptions: { headers: authHeaders() }, convertToRGB: 'auto' as const, normalize: false, wrapX: false };
    const notDrawn = (reason: string): void => {
      if (current) setCog({ state: 'not-drawn', itemId: cogItemId, reason });
    };
    const draw = async (): Promise<void> => {
      const header = new GeoTIFF(sourceOptions);
      const code = projectionCode((await header.getView()).projection);
      if (!current) return;
      setCrs(code);
      // Lon/lat COGs are read in a lon/lat that goes past ±180° (0–360° grids, tiles across the antimeridian).
      const source = code === 'EPSG:4326' ? new GeoTIFF({ ...sourceOptions, projection: lonLatAnyWorld }) : header;
      if (source !== header) await source.getView();
      // Without a projection library the bundle knows lon/lat and Web Mercator only.
      const projection = source.getProjection();
      if (!projection || !getTransform(projection, map.getView().getProjection())) {
        notDrawn(`its CRS ${code ?? 'unknown'} cannot be drawn on this map (the dashboard bundles EPSG:4326 and EPSG:3857 only)${code ? '; its thumbnail is in the tile’s details' : ''}`);
        return;
      }
      const stretch = await sampleStretch(source);
      if (!current) return;
      if (!stretch) {
        notDrawn('it has no valid pixel (all nodata)');
        return;
      }
      const layer = new WebGLTileLayer({ source, zIndex: 10, style: { color: stretchColorExpression(stretch, source.hasAlpha ? source.bandCount : undefined) as never } });
      entry.layer = layer;
      let drawn = false;
      source.on('tileloadend', () => {
        if (!current || drawn) return;
        drawn = true;
        setCog({ state: 'drawn', itemId: cogItemId, stretch });
      });
      source.on('tileloaderror', () => notDrawn('a part of it could not be read'));
      map.addLayer(layer);
    };
    draw().catch(() => notDrawn('it could not be read'));
    return () => {
      current = false;
    };
  }, [cogHref]);

  /** `hold`: the view stays there when more tiles are listed. */
  const fit = (extent: Extent | null, hold: boolean): void => {
    const map = mapRef.current;
    if (!map || !extent || isEmpty(extent)) return;
    if (hold) userMoved.current = true;
    map.getView().fit(extent, { padding: [30, 30, 30, 30], maxZoom: 16, duration: 250 });
  };
  const selectedBbox = selected ? placeBboxes(tiles.map((tile) => tile.bbox))[tiles.indexOf(selected)] : null;

  return html`
    <div class="map-wrap">
      <div ref=${target} class="map" role="img" aria-label="Map of the tiles' bounding boxes over country outlines"></div>
      <p class="map-notes">
        <button type="button" onClick=${() => fit(footprints.current.getExtent(), false)}>Zoom to tiles</button>
        ${selectedBbox ? html` <button type="button" onClick=${() => fit(toMapExtent(selectedBbox), true)}>Zoom to the selected tile</button>` : null}
        ${baseLayer === 'failed' ? ' Country outlines could not be loaded.' : ''}
        Outlines: each tile's bounding box, solid when done, dashed otherwise, red for failed; thumbnails inside done tiles.
      </p>
      <p class="cog-status" data-cog-state=${cog.state} data-crs=${crs ?? undefined} aria-live="polite">
        ${cog.state === 'none' ? 'No tile is done yet: its COG will be drawn here.' : null}
        ${cog.state === 'loading' ? html`Reading the COG of <code>${cog.itemId}</code>…` : null}
        ${cog.state === 'drawn'
          ? html`The COG of <code>${cog.itemId}</code> is drawn from its blob (range requests), ${cog.stretch.mode === 'rgb' && cog.stretch.ranges.every((range) => range.low === 0 && range.high === 255)
                ? 'as 8-bit RGB'
                : html`stretched from its 2nd to its 98th percentile (<span class="stretch">${cog.stretch.ranges.map(formatRange).join('; ')}</span>)`}; nodata is transparent.
              Select another done tile to draw its COG.`
          : null}
        ${cog.state === 'not-drawn' ? html`The COG of <code>${cog.itemId}</code> is not drawn: ${cog.reason}.` : null}
      </p>
    </div>
  `;
}
