/** The tile grid (one cell per tile, placed by row and column), its legend and the selected tile's details. */
import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { apiUrl, fetchObjectUrl } from './api.client.js';
import type { TileEntry } from '../src/api/contract.js';
import { gridWindows, layoutTileGrid, windowIndexOf } from './tile.grid.layout.js';
import { countByState, formatDuration, formatTime, tileDurationMs, tileStateClass, tileStateLabel, tileStateMark, tileWaitMs } from './tile.format.js';

export function TileLegend({ tiles }: { tiles: TileEntry[] }) {
  const counts = countByState(tiles);
  const reused = tiles.filter((tile) => tile.reused).length;
  return html`<ul class="legend" aria-label="Tiles by state">
    ${counts.map(({ state, count }) => html`<li><span class=${`swatch state-${tileStateClass(state)}`} aria-hidden="true">${tileStateMark(state)}</span> ${tileStateLabel(state)}: <strong>${count}</strong>${state === 'done' && reused ? ` (${reused} reused from the previous attempt)` : ''}</li>`)}
    ${tiles.length === 0 ? html`<li>No tiles planned yet.</li>` : null}
  </ul>`;
}

export function TileGrid({ tiles, selected, onSelect }: { tiles: TileEntry[]; selected: TileEntry | null; onSelect: (tile: TileEntry) => void }) {
  const grid = layoutTileGrid(tiles);
  const windows = gridWindows(grid.rows, grid.cols);
  const [pageIndex, setPageIndex] = useState(0);
  // A tile selected elsewhere (the map, the failures, the timeline) brings its part of the grid.
  useEffect(() => {
    // Its drawn row: a variable's later steps lie in blocks below the first (layoutTileGrid).
    const drawnRow = selected ? grid.cells.findIndex((row) => row[selected.col]?.index === selected.index) : -1;
    if (selected) setPageIndex(windowIndexOf(windows, drawnRow >= 0 ? drawnRow : selected.row, selected.col));
  }, [selected?.index, windows.length]);
  if (!grid.rows) return null;
  const page = Math.min(pageIndex, windows.length - 1);
  const shown = windows[page]!;
  const range = (start: number, end: number, total: number): string => (end - start === total ? `all ${total}` : `${start + 1}–${end} of ${total}`);
  return html`
    <p id="tile-grid-hint" class="hint">Tiles as they lie in the source, row by column (a netCDF source's further variables and time steps as blocks below). Select one for its details.</p>
    ${windows.length > 1
      ? html`<nav class="pager grid-pager" aria-label="Parts of the tile grid">
          <button type="button" disabled=${page === 0} onClick=${() => setPageIndex(page - 1)}>Previous part</button>
          <span class="grid-part" aria-live="polite">Part ${page + 1} of ${windows.length}: rows ${range(shown.rowStart, shown.rowEnd, grid.rows)}, columns ${range(shown.colStart, shown.colEnd, grid.cols)}</span>
          <button type="button" disabled=${page === windows.length - 1} onClick=${() => setPageIndex(page + 1)}>Next part</button>
        </nav>`
      : null}
    <table class="tile-grid" style=${`--cols: ${shown.colEnd - shown.colStart}`} aria-describedby="tile-grid-hint">
      <tbody>
        ${grid.cells.slice(shown.rowStart, shown.rowEnd).map(
          (row, i) => html`<tr>
            ${row.slice(shown.colStart, shown.colEnd).map((tile, j) => {
              const r = shown.rowStart + i;
              const c = shown.colStart + j;
              return tile
                ? html`<td class=${`tile state-${tileStateClass(tile.state)}${selected?.index === tile.index ? ' selected' : ''}`} data-item-id=${tile.itemId} data-state=${tile.state}>
                    <button type="button" aria-pressed=${selected?.index === tile.index} title=${`${tile.itemId}: ${tileStateLabel(tile.state)}`} onClick=${() => onSelect(tile)}>
                      <span aria-hidden="true">${tileStateMark(tile.state)}</span>
                      <span class="visually-hidden">Row ${r}, column ${c}: ${tileStateLabel(tile.state)}</span>
                    </button>
                  </td>`
                : html`<td class="tile state-none"><span class="visually-hidden">Row ${r}, column ${c}: not listed</span></td>`;
            })}
          </tr>`,
        )}
      </tbody>
    </table>
  `;
}

/** A thumbnail fetched with the function key (an <img src> cannot send headers). */
function Thumbnail({ href, alt }: { href: string; alt: string }) {
  const [url, setUrl] = useState<string | null>(null);
  useEffect(() => {
    const controller = new AbortController();
    let objectUrl: string | null = null;
    fetchObjectUrl(href, controller.signal)
      .then((created) => {
        objectUrl = created;
        setUrl(created);
      })
      .catch(() => setUrl(null));
    return () => {
      controller.abort();
      if (objectUrl) URL.revokeObjectURL(objectUrl);
    };
  }, [href]);
  return url ? html`<img class="thumbnail" src=${url} alt=${alt} data-href=${href} />` : null;
}

export function TileDetails({ tile }: { tile: TileEntry }) {
  const duration = tileDurationMs(tile, Date.now());
  const waited = tileWaitMs(tile, Date.now());
  return html`
    <section class="tile-details" aria-labelledby="tile-heading">
      <h3 id="tile-heading">Tile <code>${tile.itemId}</code></h3>
      <dl>
        <div><dt>State</dt><dd><span class=${`swatch state-${tileStateClass(tile.state)}`} aria-hidden="true">${tileStateMark(tile.state)}</span> ${tileStateLabel(tile.state)}</dd></div>
        <div><dt>Row, column</dt><dd>${tile.row}, ${tile.col}</dd></div>
        <div><dt>Source pixels</dt><dd>${tile.window.width} × ${tile.window.height} at (${tile.window.x}, ${tile.window.y})</dd></div>
        <div><dt>Bounding box</dt><dd>${tile.bbox ? tile.bbox.map((v) => v.toFixed(4)).join(', ') : 'not known yet'}</dd></div>
        <div><dt>Attempts</dt><dd>${tile.attempts}${tile.reused ? ' (reused from the previous attempt, not made again)' : ''}</dd></div>
        ${tile.queuedAt ? html`<div><dt>Queued</dt><dd>${formatTime(tile.queuedAt)}; waited ${waited === null ? '–' : formatDuration(waited)}${tile.startedAt ? '' : ' so far'}</dd></div>` : null}
        <div><dt>Started</dt><dd>${formatTime(tile.startedAt)}</dd></div>
        <div><dt>Ended</dt><dd>${formatTime(tile.endedAt)}</dd></div>
        <div><dt>Duration</dt><dd>${duration === null ? '–' : formatDuration(duration)}</dd></div>
        ${tile.error ? html`<div><dt>Error</dt><dd><code class="error-code">${tile.error.code}</code> ${tile.error.message}</dd></div>` : null}
        ${tile.cogHref ? html`<div><dt>COG</dt><dd><a href=${apiUrl(tile.cogHref)}>${tile.cogHref.split('/').at(-1)}</a></dd></div>` : null}
        ${tile.itemUrl ? html`<div><dt>STAC item</dt><dd><code>${tile.itemUrl}</code></dd></div>` : null}
      </dl>
      ${tile.thumbnailHref ? html`<${Thumbnail} href=${tile.thumbnailHref} alt=${`Thumbnail of ${tile.itemId}`} />` : null}
    </section>
  `;
}
