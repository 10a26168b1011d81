/**
 * The job's map (OpenLayers): an offline base layer of country outlines (world-atlas), the tiles'
 * footprints coloured by state, their PNG thumbnails, and the selected tile's COG itself, read
 * from the blob by geotiff.js with HTTP range requests (`ol/source/GeoTIFF` on `cogHref`).
 */
import { html } from 'htm/preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import Feature from 'ol/Feature.js';
import OlMap from 'ol/Map.js';
import View from 'ol/View.js';
import { defaults as defaultControls, ScaleLine } from 'ol/control.js';
import { createEmpty, extend, isEmpty, type Extent } from 'ol/extent.js';
import TopoJSON from 'ol/format/TopoJSON.js';
import { fromExtent } from 'ol/geom/Polygon.js';
import ImageLayer from 'ol/layer/Image.js';
import VectorLayer from 'ol/layer/Vector.js';
import WebGLTileLayer from 'ol/layer/WebGLTile.js';
import { getTransform, transformExtent } from 'ol/proj.js';
import GeoTIFF from 'ol/source/GeoTIFF.js';
import Static from 'ol/source/ImageStatic.js';
import VectorSource from 'ol/source/Vector.js';
import { Fill, Stroke, Style, Text } from 'ol/style.js';
import type ImageWrapper from 'ol/Image.js';
import { apiUrl, authHeaders, fetchObjectUrl } from './api.client.js';
import type { TileEntry } from '../src/api/contract.js';
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

type CogStatus = { state: 'none' } | { state: 'loading'; itemId: string } | { state: 'drawn'; itemId: string } | { state: 'not-drawn'; itemId: string; reason: string };

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

export function JobMap({ tiles, selected, onSelect }: { tiles: TileEntry[]; selected: TileEntry | null; onSelect: (tile: TileEntry) => void }) {
  const target = useRef<HTMLDivElement>(null);
  const mapRef = useRef<OlMap | null>(null);
  const footprints = useRef(new VectorSource());
  const thumbnailLayers = useRef(new Map<string, ImageLayer<Static>>());
  const cogLayer = useRef<{ href: string; layer: WebGLTileLayer } | null>(null);
  /** The view follows the tiles until the user pans or zooms it. */
  const userMoved = useRef(false);
  const fittedCount = useRef(0);
  const onSelectRef = useRef(onSelect);
  onSelectRef.current = onSelect;
  const tilesRef = useRef(tiles);
  tilesRef.current = tiles;
  const [baseLayer, setBaseLayer] = useState<'loading' | 'ready' | 'failed'>('loading');
  const [cog, setCog] = useState<CogStatus>({ state: 'none' });

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
      view: new View({ center: [0, 0], zoom: 1 }),
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
        countries.addFeatures(new TopoJSON().readFeatures(topology, { featureProjection: 'EPSG:3857' }));
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

  // Footprints and thumbnails follow the ledger.
  useEffect(() => {
    const map = mapRef.current;
    if (!map) return;
    const selectedId = selected?.itemId ?? null;
    const extent: Extent = createEmpty();
    const features: Feature[] = [];
    for (const tile of tiles) {
      if (!tile.bbox) continue;
      const box = transformExtent(tile.bbox, 'EPSG:4326', 'EPSG:3857');
      extend(extent, box);
      const feature = new Feature({ geometry: fromExtent(box), itemId: tile.itemId, state: tile.state });
      feature.setStyle((f) => footprintStyle(f as Feature, selectedId));
      features.push(feature);
      if (tile.thumbnailHref && !thumbnailLayers.current.has(tile.itemId)) {
        const layer = new ImageLayer({
          source: new Static({ url: apiUrl(tile.thumbnailHref), imageExtent: tile.bbox, projection: 'EPSG:4326', imageLoadFunction: keyedImageLoad }),
          opacity: 0.85,
          zIndex: 5,
        });
        thumbnailLayers.current.set(tile.itemId, layer);
        map.addLayer(layer);
      }
    }
    footprints.current.clear(true);
    footprints.current.addFeatures(features);
    if (!userMoved.current && features.length !== fittedCount.current && !isEmpty(extent)) {
      fittedCount.current = features.length;
      map.getView().fit(extent, { padding: [30, 30, 30, 30], maxZoom: 16 });
    }
  }, [tiles, selected?.itemId]);

  // One COG on the map, read from its blob with range requests: the selected tile's, or the first done one's.
  const cogTile = selected?.state === 'done' && selected.cogHref ? selected : tiles.find((tile) => tile.state === 'done' && tile.cogHref);
  const cogHref = cogTile?.cogHref ?? null;
  const cogItemId = cogTile?.itemId ?? '';
  useEffect(() => {
    const map = mapRef.current;
    if (!map) return;
    if (cogLayer.current && cogLayer.current.href !== cogHref) {
      map.removeLayer(cogLayer.current.layer);
      cogLayer.current.layer.dispose();
      cogLayer.current = null;
    }
    if (!cogHref) {
      setCog({ state: 'none' });
      return;
    }
    if (cogLayer.current) return;
    const source = new GeoTIFF({ sources: [{ url: apiUrl(cogHref) }], sourceOptions: { headers: authHeaders() }, convertToRGB: 'auto', wrapX: false });
    const layer = new WebGLTileLayer({ source, zIndex: 10 });
    cogLayer.current = { href: cogHref, layer };
    setCog({ state: 'loading', itemId: cogItemId });
    let current = true;
    let drawn = false;
    source.on('tileloadend', () => {
      if (!current || drawn) return;
      drawn = true;
      setCog({ state: 'drawn', itemId: cogItemId });
    });
    source.on('tileloaderror', () => current && setCog({ state: 'not-drawn', itemId: cogItemId, reason: 'a part of it could not be read' }));
    source
      .getView()
      .then((viewOptions) => {
        if (!current) return;
        const projection = viewOptions.projection;
        // Without a projection library the bundle knows EPSG:4326 and EPSG:3857 only.
        if (projection && !getTransform(projection, map.getView().getProjection())) {
          const code = typeof projection === 'string' ? projection : projection.getCode();
          setCog({ state: 'not-drawn', itemId: cogItemId, reason: `its CRS ${code} cannot be drawn on this map (the dashboard bundles EPSG:4326 and EPSG:3857 only); the thumbnail shows it instead` });
          return;
        }
        map.addLayer(layer);
      })
      .catch(() => current && setCog({ state: 'not-drawn', itemId: cogItemId, reason: 'it could not be read' }));
    return () => {
      current = false;
    };
  }, [cogHref]);

  const zoomToTiles = (): void => {
    const map = mapRef.current;
    const extent = footprints.current.getExtent();
    if (map && extent && !isEmpty(extent)) map.getView().fit(extent, { padding: [30, 30, 30, 30], maxZoom: 16, duration: 250 });
  };

  return html`
    <div class="map-wrap">
      <div ref=${target} class="map" role="img" aria-label="Map of the tiles' footprints over country outlines"></div>
      <p class="map-notes">
        <button type="button" onClick=${zoomToTiles}>Zoom to tiles</button>
        ${baseLayer === 'failed' ? ' Country outlines could not be loaded.' : ''}
        Outlines: solid when done, dashed otherwise, red for failed; thumbnails inside done tiles.
      </p>
      <p class="cog-status" data-cog-state=${cog.state} aria-live="polite">
        ${cog.state === 'none' ? 'No tile is done yet: its COG will be drawn here.' : null}
        ${cog.state === 'loading' ? html`Reading the COG of <code>${cog.itemId}</code>…` : null}
        ${cog.state === 'drawn' ? html`The COG of <code>${cog.itemId}</code> is drawn from its blob (range requests). Select another done tile to draw its COG.` : null}
        ${cog.state === 'not-drawn' ? html`The COG of <code>${cog.itemId}</code> is not drawn: ${cog.reason}.` : null}
      </p>
    </div>
  `;
}
